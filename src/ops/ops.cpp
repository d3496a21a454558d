// Live operations service: rule evaluation, ordered alert persistence, escalation, webhooks.
#include "maeul/ops/ops.hpp"

#include <openssl/hmac.h>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <spdlog/spdlog.h>

#include <unordered_map>

#include "maeul/domain/encoding.hpp"
#include "maeul/net/client.hpp"
#include "maeul/ops/webhook_policy.hpp"

#include <nlohmann/json.hpp>

namespace maeul::ops {
namespace asio = boost::asio;

std::string sign(const std::string& secret, const std::string& body) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  HMAC(EVP_sha256(), secret.data(), int(secret.size()), reinterpret_cast<const unsigned char*>(body.data()),
       body.size(), md, &len);
  return domain::hex(std::string_view(reinterpret_cast<const char*>(md), len));
}

service::service(storage::operations_store& store, sensors_fn sensors, domain::event_sink& sink,
                 asio::any_io_executor ex, asio::any_io_executor rules_ex, options o, clock_fn clock)
    : store_(store), sensors_(std::move(sensors)), sink_(sink), ex_(std::move(ex)), rules_ex_(std::move(rules_ex)),
      opts_(o), clock_(std::move(clock)), started_us_(clock_()) {}

task<void> service::load_rules() {
  auto mine = ++reload_started_;
  auto rules = co_await store_.all_rules();
  auto home = co_await asio::this_coro::executor;
  // On the engine's thread, after every reading queued before this point: the next one sees them.
  co_await asio::post(rules_ex_, asio::use_awaitable);
  {
    std::lock_guard lock(engine_mutex_);
    if (mine >= reload_applied_) {  // else a reload that started later (saw newer rules) won
      reload_applied_ = mine;
      if (on_rules) on_rules(rules);  // here: a stale reload must not win for the bunching rules either
      engine_.set_rules(std::move(rules));
      timed_rules_ = engine_.has_timed_rules();
    }
  }
  co_await asio::post(home, asio::use_awaitable);
}

task<void> service::restore_open_alerts() {
  auto subjects = co_await store_.active_subject_stages();
  std::lock_guard lock(engine_mutex_);
  for (const auto& a : subjects) engine_.restore_active(a.rule, a.subject, a.stage);
  if (!subjects.empty()) spdlog::info("rules: {} open alert(s) restored as active conditions", subjects.size());
}

void service::on_readings(domain::reading_batch readings) {
  const auto n = std::int64_t(readings->size());
  if (pending_readings_.load() + n > std::int64_t(opts_.max_pending_readings)) {
    // Overflow policy: the newest readings skip rule evaluation (they are stored and live);
    // counted, and the alarm is logged once until the queue drains.
    dropped_ += n;
    if (!overflow_.exchange(true))
      spdlog::warn("rules: evaluation queue full ({} readings); readings skip rule evaluation until it drains",
                   opts_.max_pending_readings);
    return;
  }
  pending_readings_ += n;
  asio::post(rules_ex_, [this, readings = std::move(readings), n] {
    evaluate(readings);
    auto left = pending_readings_ -= n;
    if (left < std::int64_t(opts_.max_pending_readings / 2) && overflow_.exchange(false))
      spdlog::info("rules: evaluation queue drained; every reading is evaluated again");
  });
}

void service::evaluate(domain::reading_batch readings) {
  // Views into the committed batch, which outlives the call: no string is copied.
  std::vector<rules::reading> batch;
  batch.reserve(readings->size());
  for (const auto& r : *readings) batch.push_back({{r.sensor, r.kind, r.domain, r.zone}, r.metric, r.ts_us, r.value});
  std::vector<rules::transition> ts;
  {
    std::lock_guard lock(engine_mutex_);
    evaluated_ += std::int64_t(batch.size());
    if (engine_.rules().empty()) return;
    ts = engine_.on_readings(batch);
  }
  if (!ts.empty()) enqueue(std::move(ts));
}

void service::enqueue(std::vector<rules::transition> ts) {
  transitions_ += std::int64_t(ts.size());
  bool start = false;
  {
    std::lock_guard lock(queue_mutex_);
    for (auto& t : ts) queue_.push_back(std::move(t));
    if (queue_.size() > opts_.max_pending_transitions) {
      // Overflow policy (the database is away for long): keep only the newest transition per
      // (rule, subject) — the alerts' end state is right, the flapping in between is lost; counted.
      std::unordered_map<std::string, std::size_t> last;
      for (std::size_t i = 0; i < queue_.size(); ++i) last[queue_[i].rule_id + '\n' + queue_[i].subject] = i;
      std::deque<rules::transition> kept;
      for (std::size_t i = 0; i < queue_.size(); ++i)
        if (last[queue_[i].rule_id + '\n' + queue_[i].subject] == i) kept.push_back(std::move(queue_[i]));
      coalesced_ += std::int64_t(queue_.size() - kept.size());
      spdlog::warn("alerts: {} transitions waiting; coalesced to {} (newest per rule and subject)", queue_.size(),
                   kept.size());
      queue_ = std::move(kept);
    }
    start = !draining_;
    draining_ = true;
  }
  // Outside the lock: co_spawn may run drain() at once on this thread.
  if (start) asio::co_spawn(ex_, drain(), asio::detached);
}

// Persists queued transitions in order, up to 1,000 at a time, so an alert's open and clear keep
// their order.
task<void> service::drain() {
  for (;;) {
    std::vector<rules::transition> ts;
    {
      std::lock_guard lock(queue_mutex_);
      if (queue_.empty()) {
        draining_ = false;
        co_return;
      }
      while (!queue_.empty() && ts.size() < 1000) {
        ts.push_back(std::move(queue_.front()));
        queue_.pop_front();
      }
    }
    std::vector<rules::rule> rs;
    {
      std::lock_guard lock(engine_mutex_);
      rs = engine_.rules();
    }
    for (int attempt = 0;; ++attempt) {
      bool failed = false;
      try {
        auto events = co_await store_.apply(ts, rs);
        publish(events);
      } catch (const std::exception& e) {
        // The database is away: keep the transitions and retry (they are idempotent).
        if (attempt == 0) spdlog::warn("alerts: cannot record {} transition(s), retrying: {}", ts.size(), e.what());
        failed = true;
      }
      if (!failed) break;
      asio::steady_timer t(ex_);
      t.expires_after(std::chrono::seconds(std::min(30, 1 << std::min(attempt, 5))));
      co_await t.async_wait(asio::use_awaitable);
    }
  }
}

void service::publish(const std::vector<domain::alert_event>& events) {
  for (const auto& e : events) {
    sink_.on_alert(e);
    ++events_;
  }
}

task<void> service::run_ticks() {
  asio::steady_timer timer(ex_);
  int n = 0;
  bool failing = false;  // an alarm: logged once when it starts and once when it clears
  for (;;) {
    timer.expires_after(std::chrono::milliseconds(opts_.tick_ms));
    co_await timer.async_wait(asio::use_awaitable);
    try {
      if (timed_rules_) {  // listing every sensor costs; only silence, composite and inactivity rules need it
        auto infos = std::make_shared<std::vector<rules::sensor_info>>(sensors_());
        auto now = clock_();
        asio::post(rules_ex_, [this, infos, now] {
          std::vector<rules::transition> ts;
          {
            std::lock_guard lock(engine_mutex_);
            ts = engine_.on_tick(now, *infos, started_us_);
          }
          if (!ts.empty()) enqueue(std::move(ts));
        });
      }
      if (++n % 5 == 0) publish(co_await store_.escalate(opts_.escalate_after_s));
      {
        auto call = store_.welfare_ladder(opts_.welfare);
        auto step = co_await std::move(call);
        publish(std::move(step.escalated));
        for (auto id : step.incidents) spdlog::info("welfare care loop: incident {} opened", id);
      }
      if (failing) spdlog::info("operations ticks work again");
      failing = false;
    } catch (const std::exception& e) {
      if (!failing) spdlog::warn("operations tick failed (logged once until it works again): {}", e.what());
      failing = true;
    }
  }
}

namespace {
// The body's "id" (a UUID, the same in every retry): receivers dedupe on it.
std::string delivery_id_of(const storage::delivery& d) {
  auto j = nlohmann::json::parse(d.body, nullptr, false);
  if (j.is_object() && j.contains("id") && j["id"].is_string()) return j["id"].get<std::string>();
  return std::to_string(d.id);
}
}  // namespace

std::optional<std::string> service::seal_secret(std::string_view secret, std::string_view webhook_id) const {
  if (!opts_.secrets) return std::nullopt;
  return opts_.secrets->seal(secret, webhook_id);
}

task<std::string> service::refused_destination(std::string url) {
  constexpr auto tuple = asio::as_tuple(asio::use_awaitable);
  net::url_parts u;
  if (!net::parse_url(url, u)) co_return "not an http:// or https:// URL";
  // Every address the name has now (not at registration: DNS answers change); the client resolves
  // again and refuses the private ones it knows (docs/security.md, "DNS rebinding").
  asio::ip::tcp::resolver resolver(ex_);
  auto [ec, results] = co_await resolver.async_resolve(u.host, u.port, tuple);
  if (ec) co_return "cannot resolve " + u.host + ": " + ec.message();
  std::vector<std::string> addresses;
  for (const auto& r : results) addresses.push_back(r.endpoint().address().to_string());
  auto why = refuse_destination(u.host, addresses);
  co_return why ? *why : std::string();
}

task<void> service::deliver(storage::delivery d) {
  struct in_flight_guard {
    service& s;
    std::string hook;
    ~in_flight_guard() {
      --s.in_flight_;
      std::lock_guard lock(s.hooks_mutex_);
      if (auto it = s.in_flight_by_hook_.find(hook); it != s.in_flight_by_hook_.end() && --it->second <= 0)
        s.in_flight_by_hook_.erase(it);
    }
  } guard{*this, d.webhook_id};
  // The secret: sealed (opened with the key, bound to this webhook), or in clear when written before
  // sealing and not sealed yet (no key at start).
  std::string secret = d.secret, refused;
  if (!d.sealed_secret.empty()) {
    auto opened = opts_.secrets ? opts_.secrets->open(d.sealed_secret, d.webhook_id) : std::nullopt;
    if (opened)
      secret = std::move(*opened);
    else if (opts_.secrets)
      refused = "cannot open the webhook's secret: it was sealed under another key than webhooks.secret_key_file";
    else
      refused = "cannot open the webhook's secret: webhooks.secret_key_file is not set";
  }
  if (refused.empty() && !opts_.webhook_allow_private) refused = co_await refused_destination(d.url);
  net::client_result res;
  if (refused.empty()) {
    // (g++ 12 miscompiles initializer lists inside coroutines: build the vector step by step)
    std::vector<std::pair<std::string, std::string>> headers;
    headers.emplace_back("X-Maeul-Signature", "sha256=" + sign(secret, d.body));
    headers.emplace_back("X-Maeul-Event", d.event);
    headers.emplace_back("X-Maeul-Delivery", delivery_id_of(d));
    res = co_await net::post(ex_, d.url, headers, d.body, std::chrono::milliseconds(opts_.webhook_timeout_ms),
                             opts_.webhook_allow_private, opts_.webhook_tls);
  } else {
    ++refused_;
    res.error = refused;
  }
  bool ok = res.status >= 200 && res.status < 300;
  (ok ? ok_ : failed_)++;
  try {
    // (no temporaries of a ?: inside a co_await expression: g++ 12 destroys them wrongly)
    std::string error = ok ? std::string() : res.error;
    bool dead = co_await store_.finish_delivery(d.id, res.status, std::move(error), opts_.webhook_max_attempts);
    if (dead) {
      ++dead_;
      spdlog::warn("webhook delivery {} to {} is dead after {} attempts: {}", d.id, d.url, d.attempts + 1, res.error);
    }
  } catch (const std::exception& e) {
    spdlog::warn("webhook delivery {}: cannot record the outcome: {}", d.id, e.what());
  }
}

// Holds every webhook's pending deliveries to webhooks.max_pending_per_webhook: the oldest past it
// are marked dead (dropped). An alarm per webhook: logged when its dropping starts and when it stops.
task<void> service::trim_outbox() {
  auto dropped = co_await store_.drop_excess_deliveries(opts_.webhook_max_pending);
  std::unordered_set<std::string> now;
  for (const auto& [hook, n] : dropped) {
    dropped_deliveries_ += n;
    now.insert(hook);
  }
  std::lock_guard lock(hooks_mutex_);
  for (const auto& [hook, n] : dropped)
    if (overflowing_.insert(hook).second)
      spdlog::warn("webhook {}: more than {} deliveries pending (its receiver is down or slow); dropping the oldest "
                   "({} so far), counted in maeul_webhook_deliveries_total{{outcome=\"dropped\"}}",
                   hook, opts_.webhook_max_pending, n);
  for (auto it = overflowing_.begin(); it != overflowing_.end();)
    if (!now.count(*it)) {
      spdlog::info("webhook {}: pending deliveries back under {}; none dropped any more", *it, opts_.webhook_max_pending);
      it = overflowing_.erase(it);
    } else {
      ++it;
    }
}

task<void> service::run_webhooks() {
  asio::steady_timer timer(ex_);
  auto last_trim = std::chrono::steady_clock::now() - std::chrono::hours(1);
  for (;;) {
    timer.expires_after(std::chrono::milliseconds(250));
    co_await timer.async_wait(asio::use_awaitable);
    try {
      if (std::chrono::steady_clock::now() - last_trim >= std::chrono::milliseconds(opts_.webhook_trim_every_ms)) {
        last_trim = std::chrono::steady_clock::now();
        co_await trim_outbox();
      }
      // Each delivery is its own coroutine: one slow or failing receiver delays no other.
      // Bounded: at most max_deliveries_in_flight at once, and webhook_in_flight_per_receiver to one
      // webhook; the rest wait in the outbox (claimed later).
      int room = opts_.max_deliveries_in_flight - in_flight_.load();
      if (room <= 0) continue;
      std::vector<std::pair<std::string, int>> busy;
      {
        std::lock_guard lock(hooks_mutex_);
        for (const auto& [hook, n] : in_flight_by_hook_) busy.emplace_back(hook, n);
      }
      auto due = co_await store_.claim_deliveries(std::min(50, room), opts_.webhook_timeout_ms / 1000 + 30,
                                                  opts_.webhook_in_flight_per_receiver, std::move(busy));
      for (auto& d : due) {
        ++in_flight_;
        {
          std::lock_guard lock(hooks_mutex_);
          ++in_flight_by_hook_[d.webhook_id];
        }
        asio::co_spawn(ex_, deliver(std::move(d)), asio::detached);
      }
    } catch (const std::exception& e) {
      spdlog::debug("webhooks: cannot claim deliveries: {}", e.what());
    }
  }
}

ops_stats service::stats() const {
  ops_stats s;
  s.transitions = transitions_.load();
  s.events = events_.load();
  s.deliveries_ok = ok_.load();
  s.deliveries_failed = failed_.load();
  s.deliveries_dead = dead_.load();
  s.readings_evaluated = evaluated_.load();
  s.readings_dropped = dropped_.load();
  s.transitions_coalesced = coalesced_.load();
  s.pending_readings = pending_readings_.load();
  s.deliveries_in_flight = in_flight_.load();
  s.deliveries_dropped = dropped_deliveries_.load();
  s.deliveries_refused = refused_.load();
  {
    std::lock_guard lock(queue_mutex_);
    s.pending_transitions = std::int64_t(queue_.size());
  }
  {
    std::lock_guard lock(engine_mutex_);
    s.rule_evaluations = engine_.evaluations();
    s.routines_refused = engine_.routines_refused();
  }
  return s;
}

}  // namespace maeul::ops
