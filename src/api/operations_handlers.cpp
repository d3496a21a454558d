// Live-operations routes: the WebSocket feed, rules, alerts and their events, incidents, webhooks.

#include <nlohmann/json.hpp>

#include "maeul/services/access.hpp"
#include "maeul/api/routes.hpp"
#include "maeul/domain/encoding.hpp"
#include "maeul/domain/time.hpp"
#include "maeul/net/client.hpp"
#include "maeul/rules/playbook.hpp"
#include "maeul/rules/rules.hpp"
#include "maeul/services/services.hpp"
#include "maeul/storage/operations.hpp"

namespace maeul::api {
namespace {

using json = nlohmann::json;
using domain::make_problem;
using domain::problem_kind;

std::optional<std::int64_t> id_of(const std::string& s) {
  auto v = domain::parse_number<std::int64_t>(s);
  if (!v || *v <= 0) return std::nullopt;
  return v;
}

template <class T>
net::response answer(const domain::outcome<T>& o) {
  if (!o) return problem_response(o.error());
  if constexpr (std::is_same_v<T, bool>)
    return no_content();
  else
    return json_response(200, o.value());
}

domain::outcome<std::optional<std::int64_t>> time_field(const json& body, const char* key) {
  auto it = body.find(key);
  if (it == body.end() || it->is_null()) return std::optional<std::int64_t>{};
  if (!it->is_string()) return domain::invalid({{std::string("/") + key, {}, "must be an RFC 3339 time with an offset"}});
  auto t = domain::parse_rfc3339(it->get_ref<const std::string&>());
  if (!t) return domain::invalid({{std::string("/") + key, {}, "must be an RFC 3339 time with an offset"}});
  return std::optional<std::int64_t>(*t);
}

// An optional free-text note: a string of at most max_note_bytes with no NUL character.
inline constexpr std::size_t max_note_bytes = 2000;
std::optional<std::string> note_field(const json& body, std::vector<domain::field_error>& errors) {
  auto n = body.find("note");
  if (n == body.end() || n->is_null()) return std::nullopt;
  if (!n->is_string() || n->get_ref<const std::string&>().size() > max_note_bytes ||
      n->get_ref<const std::string&>().find('\0') != std::string::npos) {
    errors.push_back({"/note", {}, "must be a string of at most 2000 bytes without NUL characters"});
    return std::nullopt;
  }
  return n->get<std::string>();
}

// POST /api/v1/alerts/{id}/ack and /resolve: `action` is "ack" or "resolve".
task<net::response> change_alert(::maeul::services::operations_service* svc, std::string action, context ctx) {
  auto id = id_of(ctx.params[0]);
  if (!id) co_return problem_response(make_problem(problem_kind::not_found, "no alert with this id"));
  auto body = json_body(ctx.req, true);
  if (!body) co_return problem_response(body.error());
  std::vector<domain::field_error> errors;
  std::string note = note_field(*body, errors).value_or("");
  if (!errors.empty()) co_return problem_response(domain::invalid(std::move(errors)));
  auto res = co_await svc->change_alert(ctx.who, action, *id, std::move(note));
  if (!res) co_return problem_response(res.error());
  co_return json_response(200, res.value().alert_json);
}

const std::vector<std::string> webhook_events = {"alert.opened",    "alert.acknowledged", "alert.resolved",
                                                 "alert.cleared",   "alert.escalated",    "alert.severity_changed",
                                                 "alert.assigned",  "incident.opened",    "incident.updated"};

inline constexpr std::size_t max_bulk_ids = 100;

}  // namespace

// Named handlers; routes.cpp puts them in the route table.

// GET /api/v1/live
task<net::response> get_live([[maybe_unused]] services* sp, context ctx) {
  auto live = sp->live;

    if (!ctx.req.websocket_upgrade) {
      net::response res;
      res.status = 426;
      res.content_type = "application/problem+json";
      res.body = R"x({"type":"https://maeul.city/problems/upgrade-required","title":"Upgrade required","status":426,)x"
                 R"x("detail":"this is a WebSocket endpoint: connect with a WebSocket client (Upgrade: websocket)"})x";
      res.headers.emplace_back("Upgrade", "websocket");
      co_return res;
    }
    net::response res;
    res.status = 101;
    res.upgrade = live(::maeul::services::access::grant_of(ctx.who));
    co_return res;
}

// GET /api/v1/rules
task<net::response> get_rules([[maybe_unused]] services* sp, context ctx) {
  auto* query = &sp->query_svc;

    auto p = page_params(ctx);
    if (!p) co_return problem_response(p.error());
    co_return list_response(co_await query->rules(ctx.who, *p));
}

// POST /api/v1/rules
task<net::response> post_rules([[maybe_unused]] services* sp, context ctx) {
  auto* svc = &sp->operations_svc;

    auto body = json_body(ctx.req, true);
    if (!body) co_return problem_response(body.error());
    auto rule = rules::parse_rule(*body);
    if (!rule) co_return problem_response(rule.error());
    auto res = co_await svc->create_rule(ctx.who, std::move(rule.value()));
    if (!res) co_return problem_response(res.error());
    auto resp = json_response(201, res.value());
    resp.headers.emplace_back("Location", "/api/v1/rules/" + json::parse(res.value())["id"].get<std::string>());
    co_return resp;
}

// GET /api/v1/rules/{id}
task<net::response> get_rules_by_id([[maybe_unused]] services* sp, context ctx) {
  auto* query = &sp->query_svc;

    co_return answer(co_await query->rule(ctx.who, ctx.params[0]));
}

// PUT /api/v1/rules/{id}
task<net::response> put_rules_by_id([[maybe_unused]] services* sp, context ctx) {
  auto* svc = &sp->operations_svc;

    auto body = json_body(ctx.req, true);
    if (!body) co_return problem_response(body.error());
    auto rule = rules::parse_rule(*body, ctx.params[0]);
    if (!rule) co_return problem_response(rule.error());
    co_return answer(co_await svc->replace_rule(ctx.who, std::move(rule.value())));
}

// DELETE /api/v1/rules/{id}
task<net::response> delete_rules_by_id([[maybe_unused]] services* sp, context ctx) {
  auto* svc = &sp->operations_svc;

    co_return answer(co_await svc->delete_rule(ctx.who, ctx.params[0]));
}

// GET /api/v1/alerts
task<net::response> get_alerts([[maybe_unused]] services* sp, context ctx) {
  auto* store = &sp->operations;

    auto p = page_params(ctx, id_kind::numeric);
    if (!p) co_return problem_response(p.error());
    storage::alert_filter f{ctx.query.get("state").value_or(""), ctx.query.get("zone").value_or(""),
                            ctx.query.get("domain").value_or(""), ctx.query.get("severity").value_or("")};
    if (!f.state.empty() && f.state != "open" && f.state != "acknowledged" && f.state != "resolved" && f.state != "active")
      co_return problem_response(param_problem("state", "must be open, acknowledged, resolved or active"));
    if (!f.domain.empty() && !domain::is_domain(f.domain))
      co_return problem_response(param_problem("domain", "must be one of mobility, energy, welfare, disaster, environment"));
    if (!f.severity.empty() && f.severity != "info" && f.severity != "warning" && f.severity != "critical")
      co_return problem_response(param_problem("severity", "must be info, warning or critical"));
    if (auto a = ctx.query.get("assignee"); a && !a->empty()) {
      if (*a == "me") f.assignee = ctx.who.name.empty() ? std::string("-") : ctx.who.name;
      else if (*a == "none") f.assignee = "-";
      else if (domain::is_valid_id(*a)) f.assignee = *a;
      else co_return problem_response(param_problem("assignee", "must be me, none or a username"));
    }
    co_return list_response(co_await sp->query_svc.alerts(ctx.who, std::move(f), *p));
}

// GET /api/v1/alerts/{id}
task<net::response> get_alerts_by_id([[maybe_unused]] services* sp, context ctx) {
  auto* store = &sp->operations;

    auto id = id_of(ctx.params[0]);
    if (!id) co_return problem_response(make_problem(problem_kind::not_found, "no alert with this id"));
    co_return answer(co_await sp->query_svc.alert(ctx.who, *id));
}

// GET /api/v1/alerts/{id}/events
task<net::response> get_alerts_by_id_events([[maybe_unused]] services* sp, context ctx) {
  auto* store = &sp->operations;

    auto id = id_of(ctx.params[0]);
    if (!id) co_return problem_response(make_problem(problem_kind::not_found, "no alert with this id"));
    co_return answer(co_await sp->query_svc.alert_events(ctx.who, *id));
}

// POST /api/v1/alerts/{id}/ack
task<net::response> post_alerts_by_id_ack([[maybe_unused]] services* sp, context ctx) {
  auto* svc = &sp->operations_svc;
 return change_alert(svc, "ack", std::move(ctx));
}

// POST /api/v1/alerts/{id}/resolve
task<net::response> post_alerts_by_id_resolve([[maybe_unused]] services* sp, context ctx) {
  auto* svc = &sp->operations_svc;
 return change_alert(svc, "resolve", std::move(ctx));
}

// POST /api/v1/alerts/{id}/assign {"to": USERNAME|null}
task<net::response> post_alerts_by_id_assign([[maybe_unused]] services* sp, context ctx) {
  auto id = id_of(ctx.params[0]);
  if (!id) co_return problem_response(make_problem(problem_kind::not_found, "no alert with this id"));
  auto body = json_body(ctx.req, true);
  if (!body) co_return problem_response(body.error());
  auto to = body->find("to");
  if (to == body->end())
    co_return problem_response(domain::invalid({{"/to", {}, "is required: a username, or null to unassign"}}));
  std::string user;
  if (!to->is_null()) {
    if (!to->is_string() || to->get_ref<const std::string&>().empty() || to->get_ref<const std::string&>().size() > 200)
      co_return problem_response(domain::invalid({{"/to", {}, "must be a username, or null to unassign"}}));
    user = to->get<std::string>();
  }
  auto res = co_await sp->operations_svc.assign_alert(ctx.who, *id, std::move(user));
  if (!res) co_return problem_response(res.error());
  co_return json_response(200, res.value().alert_json);
}

// POST /api/v1/alerts/ack {"ids":[...], "note"}
task<net::response> post_alerts_ack([[maybe_unused]] services* sp, context ctx) {
  auto body = json_body(ctx.req, true);
  if (!body) co_return problem_response(body.error());
  std::vector<domain::field_error> errors;
  std::vector<std::int64_t> ids;
  auto a = body->find("ids");
  if (a == body->end() || !a->is_array() || a->empty() || a->size() > max_bulk_ids) {
    errors.push_back({"/ids", {}, "is required: an array of 1-100 alert ids"});
  } else {
    for (std::size_t i = 0; i < a->size(); ++i) {
      const auto& v = (*a)[i];
      if (!v.is_number_integer() || v.get<std::int64_t>() <= 0) {
        errors.push_back({"/ids/" + std::to_string(i), {}, "must be an alert id (a positive integer)"});
        continue;
      }
      auto n = v.get<std::int64_t>();
      if (std::find(ids.begin(), ids.end(), n) != ids.end())
        errors.push_back({"/ids/" + std::to_string(i), {}, "is given twice"});
      else
        ids.push_back(n);
    }
  }
  std::string note = note_field(*body, errors).value_or("");
  if (!errors.empty()) co_return problem_response(domain::invalid(std::move(errors)));
  auto results = co_await sp->operations_svc.ack_alerts(ctx.who, std::move(ids), std::move(note));
  std::string out = "{\"items\":[";
  int acked = 0;
  for (std::size_t i = 0; i < results.size(); ++i) {
    const auto& r = results[i];
    acked += r.outcome == "acknowledged";
    out += (i ? "," : "") + std::string("{\"id\":") + std::to_string(r.id) + ",\"outcome\":\"" + r.outcome +
           "\",\"alert\":" + (r.alert_json.empty() ? std::string("null") : r.alert_json) + "}";
  }
  out += "],\"acknowledged\":" + std::to_string(acked) + "}";
  co_return json_response(200, std::move(out));
}

// GET /api/v1/events
task<net::response> get_events([[maybe_unused]] services* sp, context ctx) {
  auto* store = &sp->operations;

    std::int64_t since = 0;
    if (auto v = ctx.query.get("since"); v && !v->empty()) {
      auto n = domain::parse_number<std::int64_t>(*v);
      if (!n || *n < 0) co_return problem_response(param_problem("since", "must be an event id (a non-negative integer)"));
      since = *n;
    }
    int limit = 100;
    if (auto l = ctx.query.get("limit")) {
      auto n = domain::parse_number<int>(*l);
      if (!n || *n < 1 || *n > 1000) co_return problem_response(param_problem("limit", "must be an integer from 1 to 1000"));
      limit = *n;
    }
    auto events = co_await sp->query_svc.events(ctx.who, since, limit);
    std::string body = "{\"items\":[";
    for (std::size_t i = 0; i < events.size(); ++i)
      body += (i ? "," : "") + std::string("{\"event_id\":") + std::to_string(events[i].event_id) + ",\"event\":\"" +
              events[i].event + "\",\"alert\":" + events[i].alert_json + "}";
    body += "]}";
    co_return json_response(200, std::move(body));
}

// POST /api/v1/incidents
task<net::response> post_incidents([[maybe_unused]] services* sp, context ctx) {
  auto* svc = &sp->operations_svc;
  auto now = sp->now_us;

    auto body = json_body(ctx.req, true);
    if (!body) co_return problem_response(body.error());
    std::vector<domain::field_error> errors;
    storage::incident_input in;
    auto cat = body->find("category");
    if (cat == body->end() || !cat->is_string() || !domain::is_valid_name_token(cat->get_ref<const std::string&>()))
      errors.push_back({"/category", {}, "is required: e.g. flood, fire, medical, welfare_check, traffic"});
    else
      in.category = cat->get<std::string>();
    if (auto z = body->find("zone"); z != body->end() && !z->is_null()) {
      if (!z->is_string() || !domain::is_valid_id(z->get_ref<const std::string&>()))
        errors.push_back({"/zone", {}, "must be a zone id"});
      else
        in.zone = z->get<std::string>();
    }
    if (auto l = body->find("location"); l != body->end() && !l->is_null()) in.location = domain::check_point(*l, "/location", errors);
    if (in.zone.empty() && !in.location) errors.push_back({"/zone", {}, "give a zone or a location"});
    auto rep = time_field(*body, "reported_at");
    if (!rep) co_return problem_response(rep.error());
    in.reported_us = rep.value().value_or(now());
    if (in.reported_us > now() + domain::max_future_us)
      errors.push_back({"/reported_at", {}, "is in the future"});
    if (auto a = body->find("alerts"); a != body->end() && !a->is_null()) {
      if (!a->is_array()) errors.push_back({"/alerts", {}, "must be an array of alert ids"});
      else
        for (std::size_t i = 0; i < a->size(); ++i) {
          if (!(*a)[i].is_number_integer()) errors.push_back({"/alerts/" + std::to_string(i), {}, "must be an alert id"});
          else in.alerts.push_back((*a)[i].get<std::int64_t>());
        }
    }
    in.note = note_field(*body, errors).value_or("");
    if (!errors.empty()) co_return problem_response(domain::invalid(std::move(errors)));
    auto res = co_await svc->create_incident(ctx.who, std::move(in));
    if (!res) co_return problem_response(res.error());
    auto resp = json_response(201, res.value());
    resp.headers.emplace_back("Location", "/api/v1/incidents/" + std::to_string(json::parse(res.value())["id"].get<std::int64_t>()));
    co_return resp;
}

// GET /api/v1/incidents
task<net::response> get_incidents([[maybe_unused]] services* sp, context ctx) {
  auto* store = &sp->operations;

    auto p = page_params(ctx, id_kind::numeric);
    if (!p) co_return problem_response(p.error());
    auto state = ctx.query.get("state").value_or("");
    if (!state.empty() && state != "open" && state != "resolved")
      co_return problem_response(param_problem("state", "must be open or resolved"));
    co_return list_response(co_await sp->query_svc.incidents(ctx.who, state, ctx.query.get("zone").value_or(""), *p));
}

// GET /api/v1/incidents/{id}
task<net::response> get_incidents_by_id([[maybe_unused]] services* sp, context ctx) {
  auto* store = &sp->operations;

    auto id = id_of(ctx.params[0]);
    if (!id) co_return problem_response(make_problem(problem_kind::not_found, "no incident with this id"));
    co_return answer(co_await sp->query_svc.incident(ctx.who, *id));
}

// PATCH /api/v1/incidents/{id}
task<net::response> patch_incidents_by_id([[maybe_unused]] services* sp, context ctx) {
  auto* svc = &sp->operations_svc;

    auto id = id_of(ctx.params[0]);
    if (!id) co_return problem_response(make_problem(problem_kind::not_found, "no incident with this id"));
    auto body = json_body(ctx.req, true);
    if (!body) co_return problem_response(body.error());
    storage::incident_patch p;
    for (auto [key, slot] : {std::pair{"dispatched_at", &p.dispatched_us}, std::pair{"on_scene_at", &p.on_scene_us},
                             std::pair{"resolved_at", &p.resolved_us}}) {
      auto t = time_field(*body, key);
      if (!t) co_return problem_response(t.error());
      *slot = t.value();
    }
    std::vector<domain::field_error> errors;
    p.note = note_field(*body, errors);
    if (!errors.empty()) co_return problem_response(domain::invalid(std::move(errors)));
    co_return answer(co_await svc->patch_incident(ctx.who, *id, std::move(p)));
}

// GET /api/v1/playbooks
task<net::response> get_playbooks([[maybe_unused]] services* sp, context ctx) {
  auto items = co_await sp->operations.list_playbooks();
  std::string body = "{\"items\":[";
  for (std::size_t i = 0; i < items.size(); ++i) body += (i ? "," : "") + items[i];
  body += "]}";
  co_return json_response(200, std::move(body));
}

// GET /api/v1/playbooks/{category}
task<net::response> get_playbooks_by_id([[maybe_unused]] services* sp, context ctx) {
  if (!rules::is_playbook_category(ctx.params[0]))
    co_return problem_response(make_problem(problem_kind::not_found, "no playbook for this category"));
  co_return answer(co_await sp->operations.get_playbook(ctx.params[0]));
}

// PUT /api/v1/playbooks/{category}
task<net::response> put_playbooks_by_id([[maybe_unused]] services* sp, context ctx) {
  auto body = json_body(ctx.req, true);
  if (!body) co_return problem_response(body.error());
  std::vector<domain::field_error> errors;
  const auto& category = ctx.params[0];
  if (!rules::is_playbook_category(category))
    errors.push_back({"", {}, "the category in the path must be a lower-case name of at most 64 characters (a-z, 0-9, _)"});
  if (auto c = body->find("category"); c != body->end() && !c->is_null() && (!c->is_string() || *c != category))
    errors.push_back({"/category", {}, "must match the category in the path"});
  auto steps = rules::parse_playbook_steps(*body);
  if (!steps) errors.insert(errors.end(), steps.error().errors.begin(), steps.error().errors.end());
  if (!errors.empty()) co_return problem_response(domain::invalid(std::move(errors)));
  bool created = false;
  auto out = co_await sp->operations_svc.put_playbook(ctx.who, category, steps.value(), &created);
  auto resp = json_response(created ? 201 : 200, std::move(out));
  if (created) resp.headers.emplace_back("Location", "/api/v1/playbooks/" + category);
  co_return resp;
}

// POST /api/v1/incidents/{id}/steps/{step} {"done":true,"note"}
task<net::response> post_incidents_by_id_steps_by_id([[maybe_unused]] services* sp, context ctx) {
  auto id = id_of(ctx.params[0]);
  if (!id) co_return problem_response(make_problem(problem_kind::not_found, "no incident with this id"));
  auto body = json_body(ctx.req, true);
  if (!body) co_return problem_response(body.error());
  std::vector<domain::field_error> errors;
  bool done = true;
  if (auto d = body->find("done"); d != body->end() && !d->is_null()) {
    if (!d->is_boolean()) errors.push_back({"/done", {}, "must be true or false"});
    else done = d->get<bool>();
  }
  std::string note = note_field(*body, errors).value_or("");
  if (!errors.empty()) co_return problem_response(domain::invalid(std::move(errors)));
  co_return answer(co_await sp->operations_svc.set_step(ctx.who, *id, ctx.params[1], done, std::move(note)));
}

// GET /api/v1/handover?since=
task<net::response> get_handover([[maybe_unused]] services* sp, context ctx) {
  const auto now = sp->now_us();
  std::int64_t since = now - 12LL * 3600 * 1000000;  // default: the last 12 hours (a shift)
  if (auto v = ctx.query.get("since"); v && !v->empty()) {
    auto t = domain::parse_rfc3339(*v);
    if (!t) co_return problem_response(param_problem("since", "must be an RFC 3339 time with an offset"));
    if (*t > now + domain::max_future_us) co_return problem_response(param_problem("since", "is in the future"));
    since = *t;
  }
  co_return json_response(200, co_await sp->query_svc.handover(ctx.who, since, now));
}

// POST /api/v1/webhooks
task<net::response> post_webhooks([[maybe_unused]] services* sp, context ctx) {
  auto* svc = &sp->operations_svc;

    auto body = json_body(ctx.req, true);
    if (!body) co_return problem_response(body.error());
    std::vector<domain::field_error> errors;
    std::string url, secret;
    std::vector<std::string> events;
    net::url_parts u;
    std::optional<std::string> refused;
    // https:// receivers are verified at delivery (system CAs or webhooks.ca_file, and the host name).
    if (auto it = body->find("url"); it == body->end() || !it->is_string())
      errors.push_back({"/url", {}, "must be an http:// or https:// URL"});
    else if ((refused = svc->refuse_webhook_url(it->get<std::string>())) || !net::parse_url(it->get<std::string>(), u))
      errors.push_back({"/url", {}, refused.value_or("must be an http:// or https:// URL")});
    else
      url = it->get<std::string>();
    if (auto it = body->find("events"); it == body->end() || !it->is_array() || it->empty()) {
      errors.push_back({"/events", {}, "is required: a non-empty array of event names"});
    } else {
      for (std::size_t i = 0; i < it->size(); ++i) {
        const auto& e = (*it)[i];
        if (!e.is_string() || std::find(webhook_events.begin(), webhook_events.end(), e.get<std::string>()) == webhook_events.end())
          errors.push_back({"/events/" + std::to_string(i), {}, "unknown event; known: alert.opened, alert.acknowledged, "
                                                                 "alert.resolved, alert.cleared, alert.escalated, "
                                                                 "alert.severity_changed, alert.assigned, "
                                                                 "incident.opened, incident.updated"});
        else
          events.push_back(e.get<std::string>());
      }
    }
    if (auto it = body->find("secret"); it == body->end() || !it->is_string() || it->get_ref<const std::string&>().size() < 16)
      errors.push_back({"/secret", {}, "is required: at least 16 characters, used to sign each delivery"});
    else
      secret = it->get<std::string>();
    if (!errors.empty()) co_return problem_response(domain::invalid(std::move(errors)));
    auto created = co_await svc->create_webhook(ctx.who, url, events, secret);
    if (!created) co_return problem_response(created.error());
    auto resp = json_response(201, created.value());
    resp.headers.emplace_back("Location", "/api/v1/webhooks/" + json::parse(created.value())["id"].get<std::string>());
    co_return resp;
}

// GET /api/v1/webhooks
task<net::response> get_webhooks([[maybe_unused]] services* sp, context ctx) {
  auto* store = &sp->operations;

    auto p = page_params(ctx);
    if (!p) co_return problem_response(p.error());
    co_return list_response(co_await store->list_webhooks(*p));
}

// DELETE /api/v1/webhooks/{id}
task<net::response> delete_webhooks_by_id([[maybe_unused]] services* sp, context ctx) {
  auto* svc = &sp->operations_svc;

    if (!co_await svc->delete_webhook(ctx.who, ctx.params[0]))
      co_return problem_response(make_problem(problem_kind::not_found, "no webhook with this id"));
    co_return no_content();
}

// GET /api/v1/webhooks/{id}/deliveries
task<net::response> get_webhooks_by_id_deliveries([[maybe_unused]] services* sp, context ctx) {
  auto* store = &sp->operations;

    co_return answer(co_await store->deliveries_of(ctx.params[0], 100));
}


}  // namespace maeul::api
