// The event bus (domain/events.hpp): every subscribed sink gets every event, in subscription order,
// and subscribing while events flow loses none for the sinks already there.
#include <gtest/gtest.h>

#include <atomic>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "maeul/domain/events.hpp"

namespace {

namespace d = maeul::domain;

struct recording_sink : d::event_sink {
  std::string name;
  std::vector<std::string>* log = nullptr;
  std::atomic<long> readings{0}, alerts{0};
  void on_readings(d::reading_batch b) override {
    readings += long(b->size());
    if (log) log->push_back(name + ":readings");
  }
  void on_alert(const d::alert_event& e) override {
    ++alerts;
    if (log) log->push_back(name + ":" + e.event);
  }
};

d::reading_batch batch_of(std::size_t n) {
  return std::make_shared<const std::vector<d::reading_event>>(n, d::reading_event{"s", "m", "", "environment", "k", 1, 2});
}

TEST(event_bus, forwards_every_event_to_every_sink_in_subscription_order) {
  std::vector<std::string> log;
  recording_sink a, b;
  a.name = "a";
  b.name = "b";
  a.log = b.log = &log;
  d::event_bus bus;
  bus.on_readings(batch_of(1));  // no sink yet: nothing, no crash
  bus.subscribe(a);
  bus.subscribe(b);
  bus.on_readings(batch_of(3));
  bus.on_alert({7, "opened", "{}", "z1", "disaster"});
  EXPECT_EQ(log, (std::vector<std::string>{"a:readings", "b:readings", "a:opened", "b:opened"}));
  EXPECT_EQ(a.readings, 3);
  EXPECT_EQ(b.alerts, 1);
}

TEST(event_bus, a_sink_subscribed_while_events_flow_does_not_cost_the_others_an_event) {
  recording_sink first;
  std::vector<std::unique_ptr<recording_sink>> late;
  for (int i = 0; i < 50; ++i) late.push_back(std::make_unique<recording_sink>());
  d::event_bus bus;
  bus.subscribe(first);
  std::atomic<bool> go{false};
  const int batches = 20000;
  std::thread producer([&] {
    while (!go) std::this_thread::yield();
    for (int i = 0; i < batches; ++i) bus.on_readings(batch_of(1));
  });
  go = true;
  for (auto& s : late) bus.subscribe(*s);
  producer.join();
  EXPECT_EQ(first.readings, batches);
  bus.on_alert({1, "opened", "{}", "", ""});
  for (auto& s : late) EXPECT_EQ(s->alerts, 1) << "every late subscriber is on the list";
}

}  // namespace
