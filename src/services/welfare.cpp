// The welfare vault's service (services/welfare.hpp).
#include "maeul/services/welfare.hpp"

#include <sys/stat.h>

#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

#include "maeul/domain/time.hpp"
#include "maeul/services/access.hpp"
#include "maeul/services/services.hpp"
#include "maeul/storage/operations.hpp"

namespace maeul::services {
namespace {

using domain::make_problem;
using domain::problem_kind;
using json = nlohmann::json;

std::string iso(std::int64_t us) { return domain::format_rfc3339_ms(us); }

domain::problem no_resident(const std::string& id) {
  return make_problem(problem_kind::not_found, "no resident \"" + id + "\"");
}

// The index of a phone under the current key ("" for none or too short).
std::string phone_index(const privacy::keyring& ring, const json& identity) {
  if (!identity.contains("phone") || !identity["phone"].is_string()) return {};
  auto n = privacy::normalize_phone(identity["phone"].get<std::string>());
  return n.empty() ? std::string() : ring.blind_index(n);
}

}  // namespace

namespace {
// The key file's modification time and size: a changed pair means a rewritten file.
std::pair<std::int64_t, std::int64_t> stamp_of(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) return {-1, -1};
  return {std::int64_t(st.st_mtim.tv_sec) * 1000000000 + st.st_mtim.tv_nsec, std::int64_t(st.st_size)};
}
}  // namespace

key_source::key_source(std::string path, bool create) : path_(std::move(path)) {
  ring_ = std::make_shared<const privacy::keyring>(privacy::read_key_file(path_, create, &created_, "privacy.key_file"));
  stamp_ = stamp_of(path_);
  last_check_ = std::chrono::steady_clock::now();
}

void key_source::reload_locked() {
  try {
    auto stamp = stamp_of(path_);
    auto next = std::make_shared<const privacy::keyring>(privacy::read_key_file(path_, false, nullptr, "privacy.key_file"));
    if (next->current_id() != ring_->current_id())
      spdlog::info("welfare: privacy.key_file re-read: current key id {} ({} key(s))", next->current_id(), next->size());
    ring_ = std::move(next);
    stamp_ = stamp;
    if (failing_) spdlog::info("welfare: privacy.key_file can be read again");
    failing_ = false;
  } catch (const std::exception& e) {
    // An alarm: logged once when it starts (and once when it ends), not on every check.
    if (!failing_) spdlog::error("welfare: cannot re-read the key file (keeping the keys in memory): {}", e.what());
    failing_ = true;
  }
}

std::shared_ptr<const privacy::keyring> key_source::ring() {
  // A rotation (maeuld keys rotate) rewrites the file: new records are sealed under its new current
  // key within a second, so that none is left under a key the rotation is about to drop.
  std::lock_guard lock(mutex_);
  auto now = std::chrono::steady_clock::now();
  if (now - last_check_ >= std::chrono::seconds(1)) {
    last_check_ = now;
    if (stamp_of(path_) != stamp_) reload_locked();
  }
  return ring_;
}

std::shared_ptr<const privacy::keyring> key_source::reload() {
  std::lock_guard lock(mutex_);
  last_check_ = last_reload_ = std::chrono::steady_clock::now();
  reload_locked();
  return ring_;
}

std::shared_ptr<const privacy::keyring> key_source::ring_with(const std::string& key_id) {
  std::lock_guard lock(mutex_);
  if (ring_->has(key_id)) return ring_;
  auto now = std::chrono::steady_clock::now();
  if (now - last_reload_ < std::chrono::seconds(1)) return ring_;
  last_reload_ = now;
  reload_locked();
  return ring_;
}

welfare_service::welfare_service(storage::resident_store& store, storage::operations_store& ops,
                                 domain::household_book& book, std::shared_ptr<key_source> keys,
                                 std::function<std::int64_t()> now_us)
    : store_(store), ops_(ops), book_(book), keys_(std::move(keys)), now_us_(std::move(now_us)) {}

std::optional<domain::problem> welfare_service::closed() const {
  if (keys_) return std::nullopt;
  return make_problem(problem_kind::unavailable,
                      "the welfare vault is closed: privacy.key_file is not set (docs/operations.md)");
}

storage::access_entry welfare_service::entry(const storage::principal& who, const access_context& ctx,
                                             const char* action) const {
  return {actor_of(who), who.role, ctx.ip, action, ctx.purpose};
}

std::vector<std::string> welfare_service::zones_of(const storage::principal& who) const { return who.zones; }

bool welfare_service::sees_welfare(const storage::principal& who) const {
  return access::domain_in_scope(who, "welfare");
}

std::string welfare_service::card(const storage::resident_row& r, bool identity) {
  json out = {{"id", r.id},
              {"household", r.household},
              {"zone", r.zone},
              {"care_worker", r.care_worker},
              {"risk_level", r.risk_level}};
  bool lapsed = r.consent_expires_us && *r.consent_expires_us <= now_us_();
  out["consent"] = {{"purpose", r.consent_purpose},
                    {"basis", r.consent_basis},
                    {"granted_at", iso(r.consent_granted_us)},
                    {"expires_at", r.consent_expires_us ? json(iso(*r.consent_expires_us)) : json(nullptr)},
                    {"status", lapsed ? "lapsed" : "active"}};
  out["withheld_readings"] = r.withheld;
  out["created_at"] = iso(r.created_us);
  out["updated_at"] = iso(r.updated_us);
  if (identity) {
    auto ring = keys_->ring_with(r.sealed.key_id);
    auto plain = ring->open(r.sealed, r.id);
    if (!plain) {
      // Never a partial card: the identity is there whole or the read says why it is not.
      spdlog::error("welfare: resident {} does not open with key id {}", r.id, r.sealed.key_id);
      out["identity_error"] = "the record does not open with the keys of privacy.key_file";
    } else {
      auto id = json::parse(*plain, nullptr, false);
      for (const char* k : {"name", "birth_year", "phone", "address", "guardians", "notes"})
        out[k] = id.is_object() && id.contains(k) ? id[k] : json(nullptr);
      if (out["guardians"].is_null()) out["guardians"] = json::array();
    }
    out["key_id"] = r.sealed.key_id;
    out["open_alert"] = r.open_alert ? json(r.open_alert) : json(nullptr);
  }
  return out.dump();
}

task<domain::outcome<std::string>> welfare_service::create(storage::principal who, access_context ctx,
                                                           domain::resident_input in) {
  if (auto p = closed()) co_return *p;
  if (!sees_welfare(who) || !access::zone_in_scope(who, in.zone))
    co_return domain::invalid({{"/zone", {}, "is outside the zones you may register residents in"}},
                              "The resident is outside your scope.");
  auto ring = keys_->ring();
  for (int attempt = 0;; ++attempt) {
  storage::resident_row r;
  r.id = privacy::random_id("r-");
  r.household = privacy::random_id("hh-");
  r.zone = in.zone;
  r.care_worker = in.care_worker;
  r.risk_level = in.risk_level;
  r.consent_purpose = in.consent.purpose;
  r.consent_basis = in.consent.basis;
  r.consent_granted_us = in.consent.granted_at_us;
  r.consent_expires_us = in.consent.expires_at_us;
  r.sealed = ring->seal_new(in.identity.dump(), r.id);
  r.phone_index = phone_index(*ring, in.identity);
  auto call = store_.create(r, entry(who, ctx, "create"));
  bool retired = false;
  std::optional<domain::outcome<storage::resident_row>> res;
  try {
    res = co_await std::move(call);
  } catch (const storage::retired_key&) {
    retired = true;  // a rotation retired the key this record was sealed under: take the new one
  }
  if (retired) {
    auto fresh = keys_->reload();
    if (attempt > 0 || fresh->current_id() == ring->current_id())
      co_return make_problem(problem_kind::unavailable,
                             "the welfare vault's key was rotated and the new privacy.key_file cannot be read here "
                             "(docs/operations.md, \"The welfare vault\")");
    ring = std::move(fresh);
    continue;
  }
  if (!*res) co_return res->error();
  book_.put((*res)->household, {(*res)->zone, (*res)->consent_expires_us.value_or(0)});
  // The summary only: an identity is read (and recorded as read) through GET, never echoed.
  co_return card(**res, false);
  }
}

task<domain::outcome<storage::page>> welfare_service::list(storage::principal who, access_context ctx, std::string zone,
                                                           storage::page_request req) {
  if (auto p = closed()) co_return *p;
  storage::page out;
  if (!sees_welfare(who) || (!zone.empty() && !access::zone_in_scope(who, zone))) co_return out;
  auto call = store_.list(zones_of(who), zone, req, entry(who, ctx, "list"));
  auto rows = co_await std::move(call);
  for (int i = 0; i < int(rows.size()) && i < req.limit; ++i) out.items.push_back(card(rows[i], false));
  if (int(rows.size()) > req.limit) out.last_id = rows[req.limit - 1].id;
  co_return out;
}

task<domain::outcome<std::string>> welfare_service::get(storage::principal who, access_context ctx, std::string id) {
  if (auto p = closed()) co_return *p;
  if (!sees_welfare(who)) co_return no_resident(id);
  auto call = store_.read(id, zones_of(who), entry(who, ctx, "read"));
  auto row = co_await std::move(call);
  if (!row) co_return no_resident(id);
  ++reads_;
  co_return card(*row, true);
}

task<domain::outcome<std::string>> welfare_service::patch(storage::principal who, access_context ctx, std::string id,
                                                          domain::resident_patch p) {
  if (auto c = closed()) co_return *c;
  if (!sees_welfare(who)) co_return no_resident(id);
  if (p.zone && !access::zone_in_scope(who, *p.zone))
    co_return domain::invalid({{"/zone", {}, "is outside the zones you may move residents to"}},
                              "The resident would leave your scope.");
  auto keys = keys_;
  auto change = [keys, p](const storage::resident_row& cur) -> domain::outcome<storage::resident_row> {
    auto next = cur;
    if (p.zone) next.zone = *p.zone;
    if (p.care_worker) next.care_worker = *p.care_worker;
    if (p.risk_level) next.risk_level = *p.risk_level;
    if (p.consent) {
      next.consent_purpose = p.consent->purpose;
      next.consent_basis = p.consent->basis;
      next.consent_granted_us = p.consent->granted_at_us;
      next.consent_expires_us = p.consent->expires_at_us;
    }
    if (!p.identity.empty()) {
      auto ring = keys->ring_with(cur.sealed.key_id);
      auto plain = ring->open(cur.sealed, cur.id);
      if (!plain)
        return make_problem(problem_kind::unavailable, "the record does not open with the keys of privacy.key_file");
      auto identity = json::parse(*plain, nullptr, false);
      if (!identity.is_object()) identity = json::object();
      for (const auto& [k, v] : p.identity.items()) identity[k] = v;
      auto sealed = ring->reseal(cur.sealed, identity.dump(), cur.id);
      if (!sealed) return make_problem(problem_kind::unavailable, "the record's data key does not unwrap");
      next.sealed.sealed = *sealed;
      next.phone_index = phone_index(*ring, identity);
    }
    return next;
  };
  auto call = store_.update(id, zones_of(who), change, entry(who, ctx, "change"));
  auto res = co_await std::move(call);
  if (!res) co_return res.error();
  book_.put(res->household, {res->zone, res->consent_expires_us.value_or(0)});
  co_return card(*res, false);
}

task<domain::outcome<bool>> welfare_service::erase(storage::principal who, access_context ctx, std::string id) {
  if (auto c = closed()) co_return *c;
  if (!sees_welfare(who)) co_return no_resident(id);
  auto call = store_.erase(id, zones_of(who), entry(who, ctx, "erase"));
  auto row = co_await std::move(call);
  if (!row) co_return no_resident(id);
  // Readings of its sensors are refused from now on (an unknown household).
  book_.forget(row->household);
  ++erasures_;
  spdlog::info("welfare: resident {} erased by {} (household {} kept for aggregates)", id, actor_of(who),
               row->household);
  co_return true;
}

task<domain::outcome<std::string>> welfare_service::export_of(storage::principal who, access_context ctx,
                                                              std::string id) {
  if (auto c = closed()) co_return *c;
  if (!sees_welfare(who)) co_return no_resident(id);
  auto call = store_.read(id, zones_of(who), entry(who, ctx, "export"));
  auto row = co_await std::move(call);
  if (!row) co_return no_resident(id);
  auto held_call = store_.held_about(row->id, row->household);
  auto held = co_await std::move(held_call);
  json out = {{"resident", json::parse(card(*row, true))}, {"exported_at", iso(now_us_())}};
  auto h = json::parse(held);
  for (auto& [k, v] : h.items()) out[k] = v;
  co_return out.dump();
}

task<domain::outcome<std::string>> welfare_service::find_by_phone(storage::principal who, access_context ctx,
                                                                  std::string phone) {
  if (auto c = closed()) co_return *c;
  auto n = privacy::normalize_phone(phone);
  if (n.empty()) co_return domain::invalid({{{}, "phone", "must be a phone number of at least 7 digits"}});
  json items = json::array();
  if (sees_welfare(who)) {
    auto ring = keys_->ring();
    auto call = store_.by_phone(ring->blind_indexes(n), zones_of(who), entry(who, ctx, "lookup"));
    auto rows = co_await std::move(call);
    for (const auto& r : rows) items.push_back(json::parse(card(r, true)));
  }
  co_return json{{"items", items}}.dump();
}

task<domain::outcome<std::string>> welfare_service::reveal(storage::principal who, access_context ctx,
                                                           std::int64_t alert_id) {
  if (auto c = closed()) co_return *c;
  auto call = ops_.get_alert(alert_id);
  auto alert = co_await std::move(call);
  if (!alert) co_return alert.error();
  auto a = json::parse(*alert, nullptr, false);
  auto zone = a.value("zone", json());
  if (!access::in_scope(who, zone.is_string() ? zone.get<std::string>() : "", a.value("domain", "")))
    co_return make_problem(problem_kind::not_found, "no alert " + std::to_string(alert_id));
  auto refuse = [&](const std::string& why) {
    ++refused_reveals_;
    spdlog::warn("welfare: break-the-glass refused to {} on alert {}: {}", actor_of(who), alert_id, why);
    return make_problem(problem_kind::forbidden, why);
  };
  if (a.value("domain", "") != "welfare") co_return refuse("alert " + std::to_string(alert_id) + " is not a welfare alert");
  if (a.value("severity", "") != "critical") co_return refuse("the glass is broken only on a critical welfare alert");
  if (a.value("state", "") == "resolved") co_return refuse("the alert is resolved: the glass is broken only on an open alert");
  auto sensor = a.value("sensor", json());
  auto household = sensor.is_string() ? book_.household_of(sensor.get<std::string>()) : std::string();
  if (household.empty()) co_return refuse("the alert's sensor names no registered household");
  auto read = store_.read_household(household, alert_id, entry(who, ctx, "reveal"));
  auto row = co_await std::move(read);
  if (!row) co_return refuse("the household's resident is not registered (or was erased)");
  ++reveals_;
  spdlog::warn("welfare: break-the-glass by {} on alert {} (household {}): {}", actor_of(who), alert_id, household,
               ctx.purpose);
  auto full = json::parse(card(*row, true));
  json out = {{"alert", alert_id},
              {"household", row->household},
              {"resident", row->id},
              {"zone", row->zone},
              {"name", full.value("name", json())},
              {"address", full.value("address", json())},
              {"phone", full.value("phone", json())},
              {"guardians", full.value("guardians", json::array())},
              {"care_worker", row->care_worker},
              {"reason", ctx.purpose}};
  co_return out.dump();
}

task<storage::page> welfare_service::access_records(storage::access_filter f, storage::page_request req) {
  return store_.access(std::move(f), req);
}

task<storage::verify_result> welfare_service::verify() { return store_.verify(); }

task<std::string> welfare_service::review(std::int64_t from_us, std::int64_t to_us) {
  return store_.review(from_us, to_us);
}

task<void> welfare_service::load_book() {
  auto hh_call = store_.households();
  auto households = co_await std::move(hh_call);
  for (const auto& h : households) book_.put(h.household, {h.zone, h.consent_expires_us});
  auto s_call = store_.welfare_sensors();
  auto sensors = co_await std::move(s_call);
  for (const auto& [sensor, household] : sensors) book_.set_sensor(sensor, household);
}

task<void> welfare_service::flush_withheld() {
  auto counts = book_.take_withheld();
  if (counts.empty()) co_return;
  auto call = store_.add_withheld(std::move(counts));
  co_await std::move(call);
}

std::optional<domain::problem> welfare_service::check_sensor(const std::string& domain,
                                                             const nlohmann::json& attributes) const {
  if (domain != "welfare" || !attributes.is_object() || !attributes.contains("household")) return std::nullopt;
  const auto& h = attributes["household"];
  if (!h.is_string() || !domain::is_household_pseudonym(h.get_ref<const std::string&>()))
    return domain::invalid({{"/attributes/household", {}, "must be a household pseudonym (\"hh-\" and 16 hex digits)"}});
  if (book_.check(h.get<std::string>(), 0) == domain::household_book::status::unknown)
    return domain::invalid({{"/attributes/household", {}, "no registered household \"" + h.get<std::string>() + "\""}});
  return std::nullopt;
}

void welfare_service::sensor_changed(const std::string& id, const std::string& domain,
                                     const nlohmann::json& attributes) {
  std::string household;
  if (domain == "welfare" && attributes.is_object() && attributes.contains("household") &&
      attributes["household"].is_string())
    household = attributes["household"].get<std::string>();
  book_.set_sensor(id, household);
}

welfare_stats welfare_service::stats() const { return {reads_.load(), reveals_.load(), refused_reveals_.load(), erasures_.load()}; }

}  // namespace maeul::services
