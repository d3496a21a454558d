// Ingest: validation against the sensor index, group commit, latest values, publication.
#include "maeul/ingest/ingest.hpp"

#include <algorithm>
#include <cstdio>
#include <string_view>
#include <unordered_map>
#include <unordered_set>

#include <boost/asio/async_result.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <spdlog/spdlog.h>

#include "maeul/spool/spool.hpp"
#include "maeul/storage/db_pool.hpp"

namespace maeul::ingest {
namespace asio = boost::asio;

std::int64_t system_now_us() {
  return std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// ---- batcher

batcher::batcher(storage::observation_store& store, options opts, asio::any_io_executor ex)
    : store_(store), opts_(opts), ex_(std::move(ex)) {}

task<storage::write_counts> batcher::submit(storage::row_batch rows) {
  auto init = [this, rows = std::move(rows)](auto handler) mutable {
    using handler_t = decltype(handler);
    auto h = std::make_shared<handler_t>(std::move(handler));
    auto done = [h](std::exception_ptr ep, storage::write_counts c) {
      auto ex = asio::get_associated_executor(*h);
      asio::post(ex, [h, ep, c]() mutable { (*h)(ep, c); });
    };
    std::lock_guard lock(mutex_);
    if (pending_rows_ + rows->size() > opts_.max_pending_rows) {
      overflowed_ += std::int64_t(rows->size());
      done(std::make_exception_ptr(queue_full("the ingest queue is full")), {});
      return;
    }
    pending_rows_ += rows->size();
    pending_.push_back({std::move(rows), std::move(done)});
    flush_locked();
  };
  return asio::async_initiate<decltype(asio::use_awaitable), void(std::exception_ptr, storage::write_counts)>(
      std::move(init), asio::use_awaitable);
}

void batcher::flush_locked() {
  while (in_flight_ < opts_.writers && !pending_.empty()) {
    // Take whole requests up to the batch size (at least one).
    std::size_t rows = 0, n = 0;
    while (n < pending_.size() && (n == 0 || rows + pending_[n].rows->size() <= opts_.max_batch_rows))
      rows += pending_[n++].rows->size();
    auto batch = std::make_shared<std::vector<waiter>>(std::make_move_iterator(pending_.begin()),
                                                       std::make_move_iterator(pending_.begin() + long(n)));
    pending_.erase(pending_.begin(), pending_.begin() + long(n));
    pending_rows_ -= rows;
    ++in_flight_;
    std::vector<storage::row_batch> requests;
    requests.reserve(batch->size());
    for (const auto& w : *batch) requests.push_back(w.rows);
    asio::co_spawn(ex_, store_.write(std::move(requests)),
                   [this, batch](std::exception_ptr ep, std::vector<storage::write_counts> counts) {
                     for (std::size_t i = 0; i < batch->size(); ++i)
                       (*batch)[i].done(ep, ep || i >= counts.size() ? storage::write_counts{} : counts[i]);
                     std::lock_guard lock(mutex_);
                     --in_flight_;
                     flush_locked();
                   });
  }
}

task<void> batcher::drain() {
  asio::steady_timer timer(co_await asio::this_coro::executor);
  while (pending_rows() > 0 || in_flight() > 0) {
    timer.expires_after(std::chrono::milliseconds(5));
    co_await timer.async_wait(asio::use_awaitable);
  }
}

std::size_t batcher::pending_rows() const {
  std::lock_guard lock(mutex_);
  return pending_rows_;
}

int batcher::in_flight() const {
  std::lock_guard lock(mutex_);
  return in_flight_;
}

// ---- service

service::service(storage::observation_store& store, clock_fn clock, asio::any_io_executor ex, options opts)
    : store_(store), clock_(std::move(clock)), opts_(opts), batcher_(store, opts, std::move(ex)) {}

task<void> service::warm() {
  auto all = co_await store_.all_sensors();
  std::vector<std::string> ids;
  for (const auto& s : all) ids.push_back(s.id);
  remember(all, ids);
  auto latest = co_await store_.latest_all();
  std::unique_lock lock(latest_mutex_);
  for (const auto& l : latest) latest_[l.series_id] = {l.ts_us, l.value};
}

std::shared_ptr<const storage::sensor_meta> service::cached(const std::string& id, bool& fresh) const {
  std::shared_lock lock(index_mutex_);
  auto it = sensors_.find(id);
  if (it == sensors_.end()) {
    fresh = false;
    return nullptr;
  }
  fresh = it->second.expires > std::chrono::steady_clock::now();
  return it->second.meta;
}

void service::remember(const std::vector<storage::sensor_meta>& metas, const std::vector<std::string>& asked) {
  auto now = std::chrono::steady_clock::now();
  std::unique_lock lock(index_mutex_);
  std::unordered_set<std::string> found;
  for (const auto& m : metas) {
    auto p = std::make_shared<const storage::sensor_meta>(m);
    sensors_[m.id] = {p, now + opts_.sensor_ttl};
    for (std::size_t i = 0; i < p->metrics.size(); ++i) by_series_[p->metrics[i].series_id] = {p, i};
    found.insert(m.id);
  }
  // Unknown ids are remembered briefly, so a flood of bad ids cannot hammer the database.
  for (const auto& id : asked)
    if (!found.count(id)) sensors_[id] = {nullptr, now + std::chrono::seconds(5)};
  if (sensors_.size() > 200000) {  // bounded: drop negative entries first
    for (auto it = sensors_.begin(); it != sensors_.end();)
      it = it->second.meta ? std::next(it) : sensors_.erase(it);
  }
}

task<void> service::resolve(std::vector<std::string> ids) {
  if (ids.empty()) co_return;
  auto metas = co_await store_.sensors(ids);
  remember(metas, ids);
}

void service::invalidate(const std::string& sensor) {
  std::unique_lock lock(index_mutex_);
  sensors_.erase(sensor);
}

task<result> service::ingest(domain::parsed_batch batch, std::optional<std::vector<std::string>> allowed) {
  ++requests_;
  result out;
  out.total = batch.total;
  out.rejected = std::move(batch.rejected);

  // 1. sensor metadata for every sensor named, fetching the unknown or stale ones in one query.
  // Sensors outside `allowed` are not looked up at all: to the caller they are unknown, in the
  // answer and in its timing. One index lookup per distinct sensor: each reading gets its sensor's
  // slot (a run of readings of one sensor, as an MQTT message is, costs one string compare each).
  std::unordered_set<std::string_view> allowed_set;
  if (allowed) allowed_set.insert(allowed->begin(), allowed->end());
  std::vector<std::shared_ptr<const storage::sensor_meta>> slot_meta;  // per distinct sensor
  std::vector<std::uint32_t> slot_of(batch.readings.size());           // per reading
  std::vector<std::string> missing;
  std::vector<std::uint32_t> missing_slot;
  {
    // The batch's distinct sensors in an open-addressed table of slot numbers (keys are views into
    // batch.readings, the frame's own): one allocation, not a node per sensor. At least twice as
    // many cells as readings, so probes stay short; at most 2^18 cells (100,000 readings).
    std::size_t cells = 16;
    while (cells < 2 * batch.readings.size()) cells *= 2;
    constexpr std::uint32_t empty = 0xFFFFFFFFu;
    std::vector<std::uint32_t> table(cells, empty);
    std::vector<std::string_view> slot_key;  // per slot
    slot_key.reserve(std::min<std::size_t>(batch.readings.size(), 4096));
    const std::string* prev = nullptr;
    std::uint32_t prev_slot = 0;
    for (std::size_t i = 0; i < batch.readings.size(); ++i) {
      const auto& c = batch.readings[i];
      if (!prev || *prev != c.sensor) {
        std::string_view key(c.sensor);
        std::size_t h = std::hash<std::string_view>{}(key) & (cells - 1);
        while (table[h] != empty && slot_key[table[h]] != key) h = (h + 1) & (cells - 1);
        if (table[h] == empty) {
          table[h] = std::uint32_t(slot_meta.size());
          slot_key.push_back(key);
          slot_meta.emplace_back();
          if (!allowed || allowed_set.count(c.sensor)) {
            bool fresh = false;
            slot_meta.back() = cached(c.sensor, fresh);
            if (!fresh) {
              missing.push_back(c.sensor);
              missing_slot.push_back(table[h]);
            }
          }
        }
        prev = &c.sensor;
        prev_slot = table[h];
      }
      slot_of[i] = prev_slot;
    }
  }
  if (!missing.empty()) {
    // Stale or unknown entries are looked up; while the database is away (and a spool is set) the
    // index is used as it stands: a sensor it does not hold is unknown.
    bool use_index = spool_ && !database_up_.load();
    if (!use_index) {
      std::exception_ptr failed;
      try {
        co_await resolve(missing);
      } catch (const queue_full&) {
        throw;
      } catch (const storage::unavailable&) {
        if (!spool_) throw;
        failed = std::current_exception();
      }
      if (failed) database_up_ = false;
    }
    for (std::size_t k = 0; k < missing.size(); ++k) {
      bool fresh = false;
      slot_meta[missing_slot[k]] = cached(missing[k], fresh);
    }
  }

  // 2. registry checks, reading by reading
  auto rows = std::make_shared<std::vector<storage::obs_row>>();
  rows->reserve(batch.readings.size());
  std::vector<std::size_t> kept;  // index into batch.readings of each row
  kept.reserve(batch.readings.size());
  auto reject = [&](const domain::candidate& c, std::string why, const char* field) {
    out.rejected.push_back({c.index, std::move(why), batch.pointer_prefix + std::to_string(c.index) + "/" + field});
  };
  const std::int64_t now = clock_();
  for (std::size_t i = 0; i < batch.readings.size(); ++i) {
    const auto& c = batch.readings[i];
    const auto& meta = slot_meta[slot_of[i]];
    if (!meta) {
      reject(c, "unknown sensor \"" + c.sensor + "\"", "sensor");
      continue;
    }
    const storage::metric_meta* m = nullptr;
    for (const auto& x : meta->metrics)
      if (x.name == c.metric) m = &x;
    if (!m) {
      reject(c, "unknown metric \"" + c.metric + "\" for sensor \"" + c.sensor + "\"", "metric");
      continue;
    }
    if ((m->min && c.value < *m->min) || (m->max && c.value > *m->max)) {
      char buf[160];
      std::snprintf(buf, sizeof buf, "value %g is outside the declared range [%g, %g]", c.value,
                    m->min ? *m->min : -INFINITY, m->max ? *m->max : INFINITY);
      reject(c, buf, "value");
      continue;
    }
    if (auto code = storage::domain_code(meta->domain); code > 0 && opts_.retention_days[std::size_t(code)] > 0) {
      const int days = opts_.retention_days[std::size_t(code)];
      if (c.ts_us < now - std::int64_t(days) * 86400 * 1000000) {
        reject(c, "ts is older than the " + std::to_string(days) + " days of " + meta->domain + " readings kept (retention." +
                      meta->domain + "_days)", "ts");
        continue;
      }
    }
    if (households_ && meta->domain == "welfare") {
      auto household = households_->household_of(c.sensor);
      if (!household.empty()) {
        auto st = households_->check(household, now);
        if (st == domain::household_book::status::unknown) {
          reject(c, "sensor \"" + c.sensor + "\" names household \"" + household + "\", which is not registered", "sensor");
          continue;
        }
        if (st == domain::household_book::status::lapsed) {
          // Consent has lapsed: the reading is taken in and kept only as a count (API §9).
          households_->count_withheld(household, 1);
          ++out.withheld;
          continue;
        }
      }
    }
    rows->push_back({m->series_id, c.ts_us, c.value});
    kept.push_back(i);
  }
  out.accepted = out.withheld;
  std::sort(out.rejected.begin(), out.rejected.end(),
            [](const domain::rejection& a, const domain::rejection& b) { return a.index < b.index; });
  rejected_ += std::int64_t(out.rejected.size());
  accepted_ += out.withheld;
  if (rows->empty()) co_return out;

  // 3. durable: the answer waits for the commit, or for the spool's fsync
  bool to_spool = spool_ && spool_->engaged();
  storage::write_counts counts;
  if (!to_spool) {
    std::exception_ptr failed;
    try {
      counts = co_await batcher_.submit(rows);
      database_up_ = true;
    } catch (const queue_full&) {
      throw;
    } catch (const storage::unavailable&) {
      if (!spool_) throw;
      failed = std::current_exception();
    }
    if (failed) {
      database_up_ = false;
      to_spool = true;
    }
  }
  if (to_spool) {
    co_await spool_->append(rows);  // throws spool::full with nothing written
    out.spooled = std::int64_t(rows->size());
    out.accepted = out.withheld + out.spooled;
    accepted_ += out.spooled;
    spooled_ += out.spooled;
    co_return out;
  }
  out.accepted = out.withheld + counts.accepted;
  out.duplicates = counts.duplicates;
  accepted_ += counts.accepted;
  duplicates_ += counts.duplicates;
  std::vector<bool> refused(rows->size(), false);
  for (const auto& r : counts.refused) {
    if (r.position >= rows->size()) continue;
    refused[r.position] = true;
    const auto& c = batch.readings[kept[r.position]];
    out.rejected.push_back({c.index, r.reason, batch.pointer_prefix + std::to_string(c.index)});
  }
  if (!counts.refused.empty()) {
    rejected_ += std::int64_t(counts.refused.size());
    std::sort(out.rejected.begin(), out.rejected.end(),
              [](const domain::rejection& a, const domain::rejection& b) { return a.index < b.index; });
  }

  // 4. after the commit: latest values, then listeners
  auto published = std::make_shared<std::vector<domain::reading_event>>();
  if (sink_) published->reserve(rows->size());  // no regrowth (each event holds five strings)
  {
    std::unique_lock lock(latest_mutex_);
    for (std::size_t k = 0; k < rows->size(); ++k) {
      if (refused[k]) continue;
      const auto& r = (*rows)[k];
      auto [it, inserted] = latest_.try_emplace(r.series_id, latest_value{r.ts_us, r.value});
      bool newer = inserted || r.ts_us > it->second.ts_us;
      if (newer && !inserted) it->second = {r.ts_us, r.value};
      // Without duplicates every row is new; with some, publish only what moved the latest value.
      if (sink_ && ((counts.duplicates == 0 && counts.refused.empty()) || newer)) {
        const auto& c = batch.readings[kept[k]];
        const auto& meta = slot_meta[slot_of[kept[k]]];
        published->push_back({c.sensor, c.metric, meta->zone, meta->domain, meta->kind, r.ts_us, r.value});
      }
    }
  }
  if (sink_ && !published->empty()) sink_->on_readings(std::move(published));
  co_return out;
}

void service::publish_committed(const std::vector<storage::obs_row>& rows, const storage::write_counts& counts) {
  std::vector<bool> refused(rows.size(), false);
  for (const auto& r : counts.refused)
    if (r.position < rows.size()) refused[r.position] = true;
  bool all_new = counts.duplicates == 0 && counts.refused.empty();
  if (!all_new && counts.accepted == 0) return;  // nothing new: every row was stored before
  std::vector<std::size_t> chosen;  // rows to publish (never two locks at once)
  {
    std::unique_lock lock(latest_mutex_);
    for (std::size_t k = 0; k < rows.size(); ++k) {
      if (refused[k]) continue;
      const auto& r = rows[k];
      auto it = latest_.find(r.series_id);
      bool newer = it == latest_.end() || r.ts_us > it->second.ts_us;
      if (newer) latest_[r.series_id] = {r.ts_us, r.value};
      if (all_new || newer) chosen.push_back(k);
    }
  }
  if (!sink_ || chosen.empty()) return;
  auto published = std::make_shared<std::vector<domain::reading_event>>();
  {
    std::shared_lock index_lock(index_mutex_);
    for (auto k : chosen) {
      const auto& r = rows[k];
      auto m = by_series_.find(r.series_id);
      if (m == by_series_.end()) continue;
      const auto& meta = *m->second.first;
      published->push_back({meta.id, meta.metrics[m->second.second].name, meta.zone, meta.domain, meta.kind, r.ts_us,
                            r.value});
    }
  }
  replay_published_ += std::int64_t(published->size());
  if (!published->empty()) sink_->on_readings(std::move(published));
}

task<void> service::run_replay(int idle_ms, int min_backoff_ms, int max_backoff_ms) {
  asio::steady_timer timer(co_await asio::this_coro::executor);
  int wait_ms = idle_ms;
  bool failing = false;
  for (;;) {
    timer.expires_after(std::chrono::milliseconds(wait_ms));
    co_await timer.async_wait(asio::use_awaitable);
    if (!spool_ || !spool_->engaged()) {
      replaying_ = false;
      wait_ms = idle_ms;
      continue;
    }
    replaying_ = true;
    std::string error;
    try {
      // Segments in order, each written in chunks of whole records, in order.
      for (;;) {
        spool::segment seg;
        if (!co_await spool_->next_segment(&seg)) break;
        if (seg.skipped_bytes > 0)
          spdlog::error("spool segment {} has {} bytes that fail their checksum after its last good record; "
                        "they cannot be replayed", seg.path.string(), seg.skipped_bytes);
        std::size_t i = 0;
        while (i < seg.records.size()) {
          std::vector<storage::row_batch> chunk;
          std::size_t rows = 0;
          while (i < seg.records.size() && (chunk.empty() || rows + seg.records[i].size() <= opts_.max_batch_rows)) {
            rows += seg.records[i].size();
            chunk.push_back(std::make_shared<const std::vector<storage::obs_row>>(std::move(seg.records[i++])));
          }
          auto counts = co_await store_.write(chunk);
          database_up_ = true;
          for (std::size_t k = 0; k < chunk.size() && k < counts.size(); ++k) {
            replayed_ += std::int64_t(chunk[k]->size());
            replay_refused_ += std::int64_t(counts[k].refused.size());
            for (const auto& r : counts[k].refused)
              spdlog::warn("spool replay: the database refused a reading of series {}: {}",
                           (*chunk[k])[r.position].series_id, r.reason);
            publish_committed(*chunk[k], counts[k]);
          }
        }
        co_await spool_->remove_segment(seg.seq);
      }
      if (failing) spdlog::info("spool replay: the database is back; the spool is drained");
      failing = false;
      wait_ms = idle_ms;
    } catch (const storage::unavailable& e) {
      database_up_ = false;
      error = e.what();
    } catch (const std::exception& e) {
      error = e.what();
    }
    if (!error.empty()) {
      if (!failing) spdlog::warn("spool replay paused (retrying with back-off): {}", error);
      failing = true;
      wait_ms = wait_ms < min_backoff_ms ? min_backoff_ms : std::min(wait_ms * 2, max_backoff_ms);
    }
  }
}

task<std::optional<std::vector<latest_item>>> service::latest_of(std::string sensor) {
  auto meta = co_await meta_of(std::move(sensor));
  if (!meta) co_return std::nullopt;
  std::vector<latest_item> out;
  std::shared_lock lock(latest_mutex_);
  for (const auto& m : meta->metrics) {
    auto it = latest_.find(m.series_id);
    if (it == latest_.end()) continue;
    out.push_back({meta->id, m.name, meta->zone, meta->domain, meta->kind, it->second.ts_us, it->second.value});
  }
  co_return out;
}

std::vector<latest_item> service::latest(const std::string& domain, const std::string& zone,
                                         const std::string& kind) const {
  std::vector<latest_item> out;
  std::shared_lock lock(latest_mutex_);
  std::shared_lock index_lock(index_mutex_);
  for (const auto& [series, v] : latest_) {
    auto it = by_series_.find(series);
    if (it == by_series_.end()) continue;
    const auto& meta = *it->second.first;
    if ((!domain.empty() && meta.domain != domain) || (!zone.empty() && meta.zone != zone) ||
        (!kind.empty() && meta.kind != kind))
      continue;
    // skip series of a sensor that was deleted or changed since (its current entry differs)
    auto cur = sensors_.find(meta.id);
    if (cur == sensors_.end() || cur->second.meta.get() != it->second.first.get()) continue;
    out.push_back({meta.id, meta.metrics[it->second.second].name, meta.zone, meta.domain, meta.kind, v.ts_us, v.value});
  }
  std::sort(out.begin(), out.end(), [](const latest_item& a, const latest_item& b) {
    return a.sensor != b.sensor ? a.sensor < b.sensor : a.metric < b.metric;
  });
  return out;
}

task<std::shared_ptr<const storage::sensor_meta>> service::meta_of(std::string sensor) {
  bool fresh = false;
  auto meta = cached(sensor, fresh);
  if (!fresh) {
    std::vector<std::string> one;  // (g++ 12: no braced lists into coroutine arguments)
    one.push_back(sensor);
    co_await resolve(std::move(one));
    meta = cached(sensor, fresh);
  }
  co_return meta;
}

task<std::optional<std::int32_t>> service::series_id(std::string sensor, std::string metric,
                                                     std::vector<std::string>* metrics_out) {
  auto meta = co_await meta_of(std::move(sensor));
  if (!meta) co_return std::nullopt;
  if (metrics_out)
    for (const auto& m : meta->metrics) metrics_out->push_back(m.name);
  if (metric.empty() && meta->metrics.size() == 1) co_return meta->metrics[0].series_id;
  for (const auto& m : meta->metrics)
    if (m.name == metric) co_return m.series_id;
  co_return 0;
}

std::vector<sensor_seen> service::seen() const {
  std::vector<sensor_seen> out;
  std::shared_lock index_lock(index_mutex_);
  std::shared_lock lock(latest_mutex_);
  for (const auto& [id, e] : sensors_) {
    if (!e.meta) continue;
    sensor_seen s{e.meta->id, e.meta->kind, e.meta->domain, e.meta->zone, 0};
    for (const auto& m : e.meta->metrics)
      if (auto it = latest_.find(m.series_id); it != latest_.end()) s.last_ts_us = std::max(s.last_ts_us, it->second.ts_us);
    out.push_back(std::move(s));
  }
  return out;
}

ingest_stats service::stats() const {
  ingest_stats s;
  s.requests = requests_.load();
  s.accepted = accepted_.load();
  s.duplicates = duplicates_.load();
  s.rejected = rejected_.load();
  s.pending_rows = batcher_.pending_rows();
  s.in_flight = batcher_.in_flight();
  s.overflowed = batcher_.overflowed_rows();
  s.spooled = spooled_.load();
  s.replayed = replayed_.load();
  s.replay_published = replay_published_.load();
  s.replay_refused = replay_refused_.load();
  s.database_up = database_up_.load();
  s.replaying = replaying_.load() && spool_ && spool_->engaged();
  return s;
}

}  // namespace maeul::ingest
