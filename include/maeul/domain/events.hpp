// The events of the domain, as every module sees them: a committed reading and a committed alert
// change. Producers (ingest, the operations service) emit them to an event_sink injected at start;
// consumers (the rule engine, the live hub) subscribe. No module reads another's state to learn
// what happened.
#pragma once
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
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
struct alert_event {
  std::int64_t event_id = 0;
  std::string event;
  std::string alert_json;
  std::string zone, domain;
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
// Subscribe everything before the first event; subscribing later is safe but not ordered.
class event_bus final : public event_sink {
 public:
  void subscribe(event_sink& s) {
    std::lock_guard lock(mutex_);
    sinks_.push_back(&s);
  }
  void on_readings(reading_batch readings) override {
    for (auto* s : snapshot()) s->on_readings(readings);
  }
  void on_alert(const alert_event& e) override {
    for (auto* s : snapshot()) s->on_alert(e);
  }

 private:
  std::vector<event_sink*> snapshot() const {
    std::lock_guard lock(mutex_);
    return sinks_;
  }
  mutable std::mutex mutex_;
  std::vector<event_sink*> sinks_;
};

}  // namespace maeul::domain
