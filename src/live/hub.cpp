// The live hub: subscriptions, one serialization per event, fan-out to bounded session queues.
#include "maeul/live/hub.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

#include "maeul/domain/time.hpp"

namespace maeul::live {
namespace asio = boost::asio;
using json = nlohmann::ordered_json;

hub::hub(asio::any_io_executor ex, replay_fn replay, std::int64_t last_event_id)
    : ex_(std::move(ex)), replay_(std::move(replay)), last_event_id_(last_event_id) {}

void hub::note_event_id(std::int64_t id) {
  auto cur = last_event_id_.load();
  while (id > cur && !last_event_id_.compare_exchange_weak(cur, id)) {
  }
}

bool subscription_matches(const subscription& s, const std::string& sensor, const std::string& zone,
                          const std::string& domain) {
  return (s.sensors.empty() || s.sensors.count(sensor)) && (s.zones.empty() || s.zones.count(zone)) &&
         (s.domains.empty() || s.domains.count(domain)) && s.grant.admits_reading(zone, domain);
}

bool hub::matches(const subscription& s, const std::string& sensor, const std::string& zone, const std::string& domain) {
  return subscription_matches(s, sensor, zone, domain);
}

fanout_index::fanout_index(std::vector<fanout_target> targets) : targets_(std::move(targets)) {
  for (std::uint32_t i = 0; i < targets_.size(); ++i) {
    const auto& sensors = targets_[i].sub->sensors;
    if (sensors.empty())
      any_sensor_.push_back(i);
    else
      for (const auto& s : sensors) by_sensor_[s].push_back(i);
  }
}

std::string hub::observation_frame(const domain::reading_event& r) {
  json j = {{"type", "observation"},
            {"sensor", r.sensor},
            {"metric", r.metric},
            {"ts", domain::format_rfc3339_ms(r.ts_us)},
            {"value", r.value},
            {"zone", r.zone.empty() ? json(nullptr) : json(r.zone)},
            {"domain", r.domain}};
  return j.dump();
}

std::string hub::alert_frame(const domain::alert_event& e) {
  return "{\"type\":\"alert\",\"event_id\":" + std::to_string(e.event_id) + ",\"event\":\"" + e.event +
         "\",\"alert\":" + e.alert_json + "}";
}

std::shared_ptr<net::ws_handler> hub::handler(domain::event_grant grant) {
  auto h = std::make_shared<net::ws_handler>();
  h->on_open = [this, grant = std::move(grant)](std::shared_ptr<net::ws_peer> peer) {
    {
      std::lock_guard lock(mutex_);
      client c{peer, {}, false};
      c.grant = grant;
      clients_[peer.get()] = std::move(c);
    }
    json hello = {{"type", "hello"},
                  {"event_id", last_event_id_.load()},
                  {"server_time", domain::format_rfc3339_ms(std::chrono::duration_cast<std::chrono::microseconds>(
                                                    std::chrono::system_clock::now().time_since_epoch())
                                                    .count())}};
    peer->send_event(std::make_shared<const std::string>(hello.dump()));
  };
  h->on_message = [this](const std::shared_ptr<net::ws_peer>& peer, std::string text) { on_message(peer, std::move(text)); };
  h->on_close = [this](const std::shared_ptr<net::ws_peer>& peer, bool) {
    std::lock_guard lock(mutex_);
    auto it = clients_.find(peer.get());
    if (it == clients_.end()) return;
    if (it->second.observing) index_stale_ = true;
    clients_.erase(it);
  };
  return h;
}

namespace {

// Reads an optional array of strings (entries that are not strings are ignored); false when
// present and not an array.
bool string_set(const json& j, const char* key, std::set<std::string>& out) {
  auto it = j.find(key);
  if (it == j.end() || it->is_null()) return true;
  if (!it->is_array() || it->size() > 10000) return false;
  for (const auto& v : *it)
    if (v.is_string()) out.insert(v.get<std::string>());  // other entries are ignored
  return true;
}

// Reads an optional boolean; false when present and not a boolean.
bool boolean(const json& j, const char* key, bool& out) {
  auto it = j.find(key);
  if (it == j.end() || it->is_null()) return true;
  if (!it->is_boolean()) return false;
  out = it->get<bool>();
  return true;
}

}  // namespace

asio::awaitable<void> hub::replay_loop(std::weak_ptr<net::ws_peer> weak, std::int64_t since, subscription sub) {
  for (;;) {
    try {
      // Pages of 500 until caught up; live events may interleave (clients dedupe by event_id).
      for (int pages = 0; pages < max_replay_pages; ++pages) {
        auto peer = weak.lock();
        if (!peer || !peer->is_open()) break;  // gone: stop reading for it
        peer.reset();
        auto events = co_await replay_(since);
        peer = weak.lock();
        if (!peer || !peer->is_open()) break;
        for (const auto& e : events) {
          since = e.event_id;
          if ((!sub.zones.empty() && !sub.zones.count(e.zone)) || (!sub.domains.empty() && !sub.domains.count(e.domain)) ||
              !sub.grant.admits(e.zone, e.domain))
            continue;
          std::shared_ptr<const std::string> masked;
          auto frame = frame_for(e, sub.grant, std::make_shared<const std::string>(hub::alert_frame(e)), masked);
          if (frame) peer->send_event(std::move(frame));
        }
        if (events.size() < 500) break;
      }
    } catch (const std::exception& e) {
      spdlog::warn("live: replay failed: {}", e.what());
      if (auto peer = weak.lock())
        peer->send_event(std::make_shared<const std::string>(
            R"({"type":"error","code":"replay_failed","detail":"missed events could not be replayed; retry"})"));
    }
    std::lock_guard lock(mutex_);
    auto peer = weak.lock();
    auto it = peer ? clients_.find(peer.get()) : clients_.end();
    if (it == clients_.end() || !it->second.pending_since) {
      if (it != clients_.end()) it->second.replaying = false;
      --replays_;
      co_return;
    }
    since = *it->second.pending_since;
    sub = it->second.pending_sub;
    it->second.pending_since.reset();
  }
}

void hub::on_message(const std::shared_ptr<net::ws_peer>& peer, std::string text) {
  json msg = json::parse(text, nullptr, false);
  auto reply_error = [&](const std::string& detail) {
    json e = {{"type", "error"}, {"detail", detail}};
    peer->send_event(std::make_shared<const std::string>(e.dump()));
  };
  if (msg.is_discarded() || !msg.is_object() || !msg.contains("type") || !msg["type"].is_string())
    return reply_error("messages are JSON objects with a \"type\"");
  auto type = msg["type"].get<std::string>();
  if (type == "ping") {
    peer->send_event(std::make_shared<const std::string>(R"({"type":"pong"})"));
    return;
  }
  if (type != "subscribe") return reply_error("unknown message type \"" + type + "\"");
  subscription sub;
  for (const char* key : {"domains", "zones", "sensors"}) {
    std::set<std::string>& target = key[0] == 'd' ? sub.domains : key[0] == 'z' ? sub.zones : sub.sensors;
    if (!string_set(msg, key, target)) return reply_error(std::string("\"") + key + "\" must be an array of strings");
  }
  sub.alerts = false;
  sub.observations = true;
  if (!boolean(msg, "alerts", sub.alerts)) return reply_error("\"alerts\" must be true or false");
  if (!boolean(msg, "observations", sub.observations)) return reply_error("\"observations\" must be true or false");
  if (!boolean(msg, "vehicles", sub.vehicles)) return reply_error("\"vehicles\" must be true or false");
  if (!string_set(msg, "routes", sub.routes)) return reply_error("\"routes\" must be an array of strings");
  auto since = msg.find("since");
  if (since != msg.end() && !since->is_null() && !(since->is_number_integer() && since->get<std::int64_t>() >= 0))
    return reply_error("\"since\" must be an event id (a non-negative integer)");
  bool replay = sub.alerts && since != msg.end() && since->is_number_integer() && replay_;
  bool busy = false;
  {
    std::lock_guard lock(mutex_);
    auto it = clients_.find(peer.get());
    if (it == clients_.end()) return;
    sub.grant = it->second.grant;  // the principal's limits go with every subscription
    it->second.sub = sub;
    it->second.subscribed = true;
    if (it->second.observing || sub.observations) index_stale_ = true;
    it->second.observing = sub.observations ? std::make_shared<const subscription>(sub) : nullptr;
    if (replay) {
      if (it->second.replaying) {  // one at a time: remember the newest request
        it->second.pending_since = since->get<std::int64_t>();
        it->second.pending_sub = sub;
        replay = false;
      } else if (replays_.load() >= max_replays) {
        busy = true;
        replay = false;
      } else {
        it->second.replaying = true;
        ++replays_;
      }
    }
  }
  json ack = {{"type", "subscribed"},
              {"domains", sub.domains},
              {"zones", sub.zones},
              {"sensors", sub.sensors},
              {"alerts", sub.alerts},
              {"observations", sub.observations}};
  if (sub.vehicles) {
    ack["vehicles"] = true;
    ack["routes"] = sub.routes;
  }
  peer->send_event(std::make_shared<const std::string>(ack.dump()));
  if (busy)
    peer->send_event(std::make_shared<const std::string>(
        R"({"type":"error","code":"replay_busy","detail":"too many replays at once; subscribe with since again shortly"})"));
  if (replay)
    asio::co_spawn(ex_, replay_loop(std::weak_ptr<net::ws_peer>(peer), since->get<std::int64_t>(), sub), asio::detached);
}

void hub::publish_readings(domain::reading_batch readings) {
  std::shared_ptr<const fanout_index> index;
  {
    std::lock_guard lock(mutex_);
    if (index_stale_) {
      std::vector<fanout_target> targets;
      for (auto& [p, c] : clients_)
        if (c.observing) targets.push_back({c.peer, c.observing});
      index_ = std::make_shared<const fanout_index>(std::move(targets));
      index_stale_ = false;
    }
    index = index_;
  }
  if (!index || index->empty()) return;
  std::int64_t sent = 0;
  for (const auto& r : *readings) {
    std::shared_ptr<const std::string> frame;  // serialized once, only if someone wants it
    std::string key;
    index->for_each_match(r.sensor, r.zone, r.domain, [&](const fanout_target& t) {
      auto peer = t.peer.lock();
      if (!peer) return;  // closed since the index was built
      if (!frame) {
        frame = std::make_shared<const std::string>(observation_frame(r));
        key = r.sensor + "\n" + r.metric;
      }
      peer->send_observation(key, frame);
      ++sent;
    });
  }
  published_ += sent;
}

std::shared_ptr<const std::string> hub::frame_for(const domain::alert_event& e, const domain::event_grant& grant,
                                                 const std::shared_ptr<const std::string>& plain,
                                                 std::shared_ptr<const std::string>& masked) const {
  if (grant.welfare_readings || e.domain != "welfare") return plain;
  if (!masker_) return nullptr;
  if (!masked) {
    auto m = masker_(e.alert_json);
    if (m.empty()) return plain;
    domain::alert_event copy = e;
    copy.alert_json = std::move(m);
    masked = std::make_shared<const std::string>(alert_frame(copy));
  }
  return masked;
}

void hub::publish_alert(const domain::alert_event& e) {
  note_event_id(e.event_id);
  auto frame = std::make_shared<const std::string>(alert_frame(e));
  std::shared_ptr<const std::string> masked;
  std::lock_guard lock(mutex_);
  for (auto& [p, c] : clients_) {
    if (!c.subscribed || !c.sub.alerts) continue;
    if (!c.sub.zones.empty() && !c.sub.zones.count(e.zone)) continue;
    if (!c.sub.domains.empty() && !c.sub.domains.count(e.domain)) continue;
    if (!c.sub.grant.admits(e.zone, e.domain)) continue;
    auto f = frame_for(e, c.sub.grant, frame, masked);
    if (!f) continue;
    if (auto peer = c.peer.lock()) {
      peer->send_event(std::move(f));
      ++published_;
    }
  }
}

void hub::publish_vehicles(const std::vector<vehicle_frame>& frames) {
  std::vector<std::pair<std::shared_ptr<net::ws_peer>, std::set<std::string>>> targets;
  {
    std::lock_guard lock(mutex_);
    for (auto& [p, c] : clients_)
      if (c.subscribed && c.sub.vehicles && c.sub.grant.admits("", "mobility"))
        if (auto peer = c.peer.lock()) targets.emplace_back(std::move(peer), c.sub.routes);
  }
  for (const auto& f : frames)
    for (auto& [peer, routes] : targets) {
      if (!routes.empty() && !routes.count(f.route)) continue;
      peer->send_observation("vehicle\n" + f.vehicle, f.frame);
      ++published_;
    }
}

std::size_t hub::clients() const {
  std::lock_guard lock(mutex_);
  return clients_.size();
}

std::size_t hub::revoke_holder(const std::string& holder) {
  return close_if([&](const domain::event_grant& g) { return !holder.empty() && g.holder == holder; },
                  "credential revoked");
}

std::size_t hub::revoke_session(const std::string& session_hash) {
  return close_if([&](const domain::event_grant& g) { return !session_hash.empty() && g.session == session_hash; },
                  "session ended");
}

std::size_t hub::expire(std::int64_t now_us) {
  return close_if([&](const domain::event_grant& g) { return g.ends_at_us > 0 && g.ends_at_us <= now_us; },
                  "session expired");
}

std::size_t hub::close_if(const std::function<bool(const domain::event_grant&)>& pred, const char* reason) {
  std::vector<std::shared_ptr<net::ws_peer>> doomed;
  {
    std::lock_guard lock(mutex_);
    for (auto& [p, c] : clients_)
      if (pred(c.grant))
        if (auto peer = c.peer.lock()) doomed.push_back(std::move(peer));
  }
  for (auto& peer : doomed) peer->close(reason);  // outside the lock: close posts to the peer's strand
  return doomed.size();
}

}  // namespace maeul::live
