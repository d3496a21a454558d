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

hub::hub(asio::any_io_executor ex, replay_fn replay, std::function<std::int64_t()> last_event_id)
    : ex_(std::move(ex)), replay_(std::move(replay)), last_event_id_(std::move(last_event_id)) {}

bool hub::matches(const subscription& s, const std::string& sensor, const std::string& zone, const std::string& domain) {
  return (s.sensors.empty() || s.sensors.count(sensor)) && (s.zones.empty() || s.zones.count(zone)) &&
         (s.domains.empty() || s.domains.count(domain));
}

std::string hub::observation_frame(const ingest::committed_reading& r) {
  json j = {{"type", "observation"},
            {"sensor", r.sensor},
            {"metric", r.metric},
            {"ts", domain::format_rfc3339_ms(r.ts_us)},
            {"value", r.value},
            {"zone", r.zone.empty() ? json(nullptr) : json(r.zone)},
            {"domain", r.domain}};
  return j.dump();
}

std::string hub::alert_frame(const storage::alert_event& e) {
  return "{\"type\":\"alert\",\"event_id\":" + std::to_string(e.event_id) + ",\"event\":\"" + e.event +
         "\",\"alert\":" + e.alert_json + "}";
}

std::shared_ptr<net::ws_handler> hub::handler() {
  auto h = std::make_shared<net::ws_handler>();
  h->on_open = [this](std::shared_ptr<net::ws_peer> peer) {
    {
      std::lock_guard lock(mutex_);
      clients_[peer.get()] = client{peer, {}, false};
    }
    json hello = {{"type", "hello"},
                  {"event_id", last_event_id_ ? last_event_id_() : 0},
                  {"server_time", domain::format_rfc3339_ms(ingest::system_now_us())}};
    peer->send_event(std::make_shared<const std::string>(hello.dump()));
  };
  h->on_message = [this](const std::shared_ptr<net::ws_peer>& peer, std::string text) { on_message(peer, std::move(text)); };
  h->on_close = [this](const std::shared_ptr<net::ws_peer>& peer, bool) {
    std::lock_guard lock(mutex_);
    clients_.erase(peer.get());
  };
  return h;
}

namespace {
std::set<std::string> string_set(const json& j, const char* key) {
  std::set<std::string> out;
  auto it = j.find(key);
  if (it != j.end() && it->is_array())
    for (const auto& v : *it)
      if (v.is_string()) out.insert(v.get<std::string>());
  return out;
}

asio::awaitable<void> replay_to(std::shared_ptr<net::ws_peer> peer, replay_fn replay, std::int64_t since,
                                subscription sub) {
  try {
    // Pages of 500 until caught up; live events may interleave (clients dedupe by event_id).
    for (int pages = 0; pages < 100; ++pages) {
      auto events = co_await replay(since);
      for (const auto& e : events) {
        since = e.event_id;
        if ((!sub.zones.empty() && !sub.zones.count(e.zone)) || (!sub.domains.empty() && !sub.domains.count(e.domain)))
          continue;
        peer->send_event(std::make_shared<const std::string>(hub::alert_frame(e)));
      }
      if (events.size() < 500) break;
    }
  } catch (const std::exception& e) {
    spdlog::warn("live: replay failed: {}", e.what());
    peer->send_event(std::make_shared<const std::string>(
        R"({"type":"error","code":"replay_failed","detail":"missed events could not be replayed; retry"})"));
  }
}
}  // namespace

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
  sub.domains = string_set(msg, "domains");
  sub.zones = string_set(msg, "zones");
  sub.sensors = string_set(msg, "sensors");
  sub.alerts = msg.value("alerts", false);
  sub.observations = msg.value("observations", true);
  {
    std::lock_guard lock(mutex_);
    auto it = clients_.find(peer.get());
    if (it == clients_.end()) return;
    it->second.sub = sub;
    it->second.subscribed = true;
  }
  json ack = {{"type", "subscribed"},
              {"domains", sub.domains},
              {"zones", sub.zones},
              {"sensors", sub.sensors},
              {"alerts", sub.alerts},
              {"observations", sub.observations}};
  peer->send_event(std::make_shared<const std::string>(ack.dump()));
  auto since = msg.find("since");
  if (sub.alerts && since != msg.end() && since->is_number_integer() && replay_)
    asio::co_spawn(ex_, replay_to(peer, replay_, since->get<std::int64_t>(), sub), asio::detached);
}

void hub::publish_readings(std::shared_ptr<const std::vector<ingest::committed_reading>> readings) {
  std::vector<std::pair<std::shared_ptr<net::ws_peer>, subscription>> targets;
  {
    std::lock_guard lock(mutex_);
    for (auto& [p, c] : clients_)
      if (c.subscribed && c.sub.observations)
        if (auto peer = c.peer.lock()) targets.emplace_back(std::move(peer), c.sub);
  }
  if (targets.empty()) return;
  for (const auto& r : *readings) {
    std::shared_ptr<const std::string> frame;  // serialized once, only if someone wants it
    for (auto& [peer, sub] : targets) {
      if (!matches(sub, r.sensor, r.zone, r.domain)) continue;
      if (!frame) frame = std::make_shared<const std::string>(observation_frame(r));
      peer->send_observation(r.sensor + "\n" + r.metric, frame);
      ++published_;
    }
  }
}

void hub::publish_alert(const storage::alert_event& e) {
  auto frame = std::make_shared<const std::string>(alert_frame(e));
  std::lock_guard lock(mutex_);
  for (auto& [p, c] : clients_) {
    if (!c.subscribed || !c.sub.alerts) continue;
    if (!c.sub.zones.empty() && !c.sub.zones.count(e.zone)) continue;
    if (!c.sub.domains.empty() && !c.sub.domains.count(e.domain)) continue;
    if (auto peer = c.peer.lock()) {
      peer->send_event(frame);
      ++published_;
    }
  }
}

std::size_t hub::clients() const {
  std::lock_guard lock(mutex_);
  return clients_.size();
}

}  // namespace maeul::live
