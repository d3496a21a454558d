// Live-operations storage: rules, alerts and their events, incidents, webhooks and the delivery
// outbox. Every alert or incident change and its webhook deliveries commit in one transaction.
#pragma once
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include <boost/asio/awaitable.hpp>

#include "maeul/domain/events.hpp"
#include "maeul/domain/problem.hpp"
#include "maeul/domain/welfare.hpp"
#include "maeul/rules/rules.hpp"
#include "maeul/storage/registry.hpp"

namespace maeul::storage {

class db_pool;

// A committed alert change (domain/events.hpp).
using alert_event = domain::alert_event;

struct alert_filter {
  std::string state, zone, domain, severity;
  scope sc;  // the principal's scope (storage::scope): zones and domains
  std::string assignee;  // a username; "-": none; "": any
};

// An alert whose condition holds, to rebuild the engine's state at start: its rule, subject and
// the stage a staged rule had reached (-1: none recorded).
struct active_subject {
  std::string rule, subject;
  int stage = -1;
};

struct incident_input {
  std::string category, zone;
  std::optional<domain::point> location;
  std::int64_t reported_us = 0;
  std::vector<std::int64_t> alerts;
  std::string note;
};

struct welfare_ladder_options {
  int officer_after_s = 600, visit_after_s = 1800, emergency_after_s = 3600;
};

struct welfare_ladder_result {
  std::vector<alert_event> escalated;
  std::vector<std::int64_t> incidents;  // opened by this step
};

struct incident_patch {
  std::optional<std::int64_t> dispatched_us, on_scene_us, resolved_us;
  std::optional<std::string> note;
};

struct delivery {
  std::int64_t id = 0;
  std::string url, secret, event, body;  // secret: in clear only for a webhook not sealed yet (migration 0011)
  int attempts = 0;
  std::string webhook_id;
  std::string sealed_secret;  // the sealed form (ops::secret_box), empty when not sealed yet
};

// A webhook's secret as stored: sealed, or (written before migration 0011) in clear.
struct webhook_secret {
  std::string id;
  std::optional<std::string> plain;
  std::string sealed;  // empty when none
};

class operations_store {
 public:
  explicit operations_store(db_pool& pool) : pool_(pool) {}

  // rules
  task<outcome<std::string>> create_rule(rules::rule r);   // id generated when empty
  task<outcome<std::string>> replace_rule(rules::rule r);
  // `in`: the reader's scope; a rule whose selector names a zone or domain outside it is absent
  // (404 by id). Rules that name none apply everywhere and are in every scope.
  task<outcome<std::string>> get_rule(std::string id, scope in = {});
  task<outcome<bool>> delete_rule(std::string id);
  task<page> list_rules(page_request req, scope in = {});
  task<std::vector<rules::rule>> all_rules();
  // (rule id, subject) of every alert not resolved whose condition has not cleared: the engine's
  // active state to rebuild at start.
  task<std::vector<std::pair<std::string, std::string>>> active_subjects();
  // The same with the stage each reached.
  task<std::vector<active_subject>> active_subject_stages();

  // alerts: transitions from the engine (idempotent: one open alert per rule and subject)
  task<std::vector<alert_event>> apply(std::vector<rules::transition> ts, std::vector<rules::rule> rules);
  task<outcome<alert_event>> acknowledge(std::int64_t id, std::string actor, std::string note);
  task<outcome<alert_event>> resolve(std::int64_t id, std::string actor, std::string note);
  // Critical open alerts not acknowledged within `after_s` of becoming critical (opening, or a
  // staged alert's rise) are escalated.
  task<std::vector<alert_event>> escalate(int after_s);
  // Assigns an alert not resolved to the user `to` ("" unassigns): 422 /to for an unknown or
  // disabled user or one whose role cannot act on alerts; 404 unknown alert; 409 resolved. An
  // "assigned" event, with its webhooks.
  task<outcome<alert_event>> assign(std::int64_t id, std::string to, std::string actor);
  // The welfare care loop, one step of each rung for whatever is due: an open welfare alert not
  // acknowledged after officer_after_s is escalated (to the welfare officer); a critical alert of
  // a fire sensor or an emergency button opens an incident at once (fire / welfare_emergency); an
  // alert still not acknowledged after visit_after_s opens a welfare_visit task; a visit task not on
  // the scene nor resolved after emergency_after_s opens a welfare_emergency incident (119). A
  // lapsed consent opens one warning alert (rule "welfare:consent-lapsed", subject the household)
  // per lapse, resolved by the system when the consent is renewed. `escalated` holds every alert
  // event of the step.
  task<welfare_ladder_result> welfare_ladder(welfare_ladder_options o);
  task<outcome<std::string>> get_alert(std::int64_t id);
  task<page> list_alerts(alert_filter f, page_request req);  // newest first; cursor on id
  task<outcome<std::string>> alert_events_of(std::int64_t id);
  task<std::vector<alert_event>> events_since(std::int64_t since, int limit);
  task<std::int64_t> last_event_id();

  // incidents
  task<outcome<std::string>> create_incident(incident_input in, std::string actor);
  task<outcome<std::string>> patch_incident(std::int64_t id, incident_patch p, std::string actor);
  task<outcome<std::string>> get_incident(std::int64_t id);
  task<page> list_incidents(std::string state, std::string zone, page_request req, scope sc = {});

  // playbooks (API §12): the steps of an incident category
  task<std::vector<std::string>> list_playbooks();  // by category, at most 1000
  task<outcome<std::string>> get_playbook(std::string category);
  // Creates or replaces; `steps_json` validated by the caller. `created` tells which.
  task<std::string> put_playbook(std::string category, std::string steps_json, std::string actor, bool* created);
  // Marks a step of an incident's playbook done (or not): 404 unknown incident or step (not in the
  // playbook of its category), 409 the incident is resolved. A step_done / step_undone entry in
  // its timeline, incident.updated to webhooks. Returns the incident.
  task<outcome<std::string>> set_step(std::int64_t incident, std::string step, bool done, std::string note,
                                      std::string actor);

  // The shift handover (API §12) since `since_us`, within `sc`: alerts not resolved or with an event
  // since (at most 500, newest first), incidents open or changed since (at most 200), and the notes
  // written since on alerts and incidents (at most 500, oldest first).
  struct handover_note {
    std::string json;  // {"at","by","note","alert"|"incident"}
    std::string zone, domain;
  };
  struct handover_data {
    std::vector<std::string> alerts, incidents;
    std::vector<handover_note> notes;
  };
  task<handover_data> handover(std::int64_t since_us, scope sc);

  // webhooks
  // `id` ("wh_" and 12 hex digits) chosen by the caller, who bound it into `sealed_secret`. Only the
  // sealed secret is stored; the answer never holds it.
  task<std::string> create_webhook(std::string id, std::string url, std::vector<std::string> events,
                                   std::string sealed_secret);
  task<page> list_webhooks(page_request req);
  task<bool> delete_webhook(std::string id);
  task<outcome<std::string>> deliveries_of(std::string id, int limit);
  // Claims due deliveries for `lease_s` seconds (several instances may dispatch at once), oldest due
  // first, at most `per_webhook` of one webhook less what `busy` says it has in flight already.
  task<std::vector<delivery>> claim_deliveries(int limit, int lease_s, int per_webhook = 1 << 30,
                                               std::vector<std::pair<std::string, int>> busy = {});
  task<bool> finish_delivery(std::int64_t id, int status, std::string error, int max_attempts);
  // Marks dead the oldest pending deliveries of every webhook that has more than `keep` pending
  // (last_error says they were dropped). Returns how many, per webhook id.
  task<std::vector<std::pair<std::string, std::int64_t>>> drop_excess_deliveries(std::int64_t keep);
  // Rewrites stored secrets in one transaction: `reseal` gives a webhook's new sealed secret (its
  // clear column is then emptied) or nullopt to leave it as it is. Returns how many were rewritten.
  task<int> reseal_webhook_secrets(std::function<std::optional<std::string>(const webhook_secret&)> reseal);

  // The key of household pseudonyms: read from the database, created there (random, 32 bytes)
  // by the first instance that starts. Call once before serving.
  task<void> load_pseudonym_key();
  // The alert object as others than admin and welfare_officer see it: for a welfare alert, the
  // household's pseudonym ("hh-" + 16 hex digits of HMAC-SHA256(key, sensor)) in place of the
  // sensor and no readings (domain::masked_welfare_alert); "" for any other alert.
  // A sensor that names its household (attributes.household, in `book`) is shown by that pseudonym.
  std::string masked(const std::string& alert_json) const;
  std::string pseudonym(const std::string& subject) const;
  void set_households(const domain::household_book& book) { households_ = &book; }

 private:
  db_pool& pool_;
  const domain::household_book* households_ = nullptr;
  std::string pseudonym_key_;
};

}  // namespace maeul::storage
