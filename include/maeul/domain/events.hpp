// The events of the domain, as every module sees them: a committed reading and a committed alert
// change. Producers (ingest, the operations service) emit them to an event_sink injected at start;
// consumers (the rule engine, the live hub) subscribe. No module reads another's state to learn
// what happened.
#pragma once
#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

namespace maeul::domain {

// A reading after its commit, with the registry facts listeners filter on.
struct reading_event {
  std::string sensor, metric, zone, domain, kind;  // zone "" when the sensor has none
  std::int64_t ts_us = 0;
  double value = 0;
};
using reading_batch = std::shared_ptr<const std::vector<reading_event>>;

// An alert change after its commit: the event id (ordered, from the database), what happened
// (opened, acknowledged, resolved, cleared, escalated) and the alert after the change, as the
// API's JSON object.
// A welfare alert as seen by those who may not read welfare data (API §8): `household` (the
// pseudonym "hh-...") in place of the sensor, no value or note, an empty message. Other fields kept.
std::string masked_welfare_alert(std::string_view alert_json, std::string_view household);

struct alert_event {
  std::int64_t event_id = 0;
  std::string event;
  std::string alert_json;
  std::string zone, domain;
};

// What one consumer of events may see (the access matrix, API §8): zones and domains (empty: all;
// a thing with no zone is outside every zone limit), and whether welfare readings reach it.
// Built from the principal by services::access::grant_of; the live hub applies it to every frame.
struct event_grant {
  std::vector<std::string> zones, domains;
  bool welfare_readings = true;
  // Whose it is, so that a revocation closes the connections it opened: "token:<id>" or
  // "user:<username>", the session's hash ("" for tokens), and the session's hard end (0: none).
  std::string holder, session;
  std::int64_t ends_at_us = 0;

  bool admits(std::string_view zone, std::string_view domain) const {
    auto in = [](const std::vector<std::string>& list, std::string_view v) {
      for (const auto& x : list)
        if (x == v) return true;
      return false;
    };
    return (zones.empty() || (!zone.empty() && in(zones, zone))) && (domains.empty() || in(domains, domain));
  }
  bool admits_reading(std::string_view zone, std::string_view domain) const {
    return admits(zone, domain) && (welfare_readings || domain != "welfare");
  }
};

// Where committed events go. Implementations must not block: they hand work to their own
// bounded queues and return.
class event_sink {
 public:
  virtual ~event_sink() = default;
  virtual void on_readings(reading_batch readings) = 0;
  virtual void on_alert(const alert_event& e) = 0;
};

// An event_sink that forwards every event to the sinks subscribed to it, in subscription order.
// Subscribing copies the list (rare, at start); each event reads the current list without a lock
// and without copying it.
class event_bus final : public event_sink {
 public:
  void subscribe(event_sink& s) {
    std::lock_guard lock(subscribe_mutex_);  // one subscriber at a time: none is lost
    auto next = std::make_shared<std::vector<event_sink*>>(*sinks_.load());
    next->push_back(&s);
    sinks_.store(std::move(next));
  }
  void on_readings(reading_batch readings) override {
    auto sinks = sinks_.load();
    for (auto* s : *sinks) s->on_readings(readings);
  }
  void on_alert(const alert_event& e) override {
    auto sinks = sinks_.load();
    for (auto* s : *sinks) s->on_alert(e);
  }

 private:
  std::mutex subscribe_mutex_;
  std::atomic<std::shared_ptr<const std::vector<event_sink*>>> sinks_{
      std::make_shared<const std::vector<event_sink*>>()};
};

}  // namespace maeul::domain
