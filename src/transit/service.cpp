// The bus operations service (transit/service.hpp).
#include "maeul/transit/service.hpp"

#include <algorithm>
#include <charconv>
#include <chrono>
#include <cmath>
#include <map>

#include <boost/asio/post.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

#include "maeul/domain/encoding.hpp"
#include "maeul/domain/registry.hpp"
#include "maeul/domain/time.hpp"
#include "maeul/services/access.hpp"
#include "maeul/transit/gtfs.hpp"
#include "maeul/transit/metrics.hpp"

namespace maeul::transit {

using json = nlohmann::json;
using domain::make_problem;
using domain::problem_kind;

domain::outcome<parsed_positions> parse_positions(const json& body, std::int64_t now_us, std::size_t max_positions) {
  if (!body.is_object() || !body.contains("positions") || !body["positions"].is_array())
    return domain::invalid({{"/positions", {}, "must be an array of positions"}});
  const auto& arr = body["positions"];
  if (arr.size() > max_positions)
    return domain::invalid({{"/positions", {}, "holds more than " + std::to_string(max_positions) + " positions"}});
  parsed_positions out;
  out.total = int(arr.size());
  for (std::size_t i = 0; i < arr.size(); ++i) {
    const auto& p = arr[i];
    std::string base = "/positions/" + std::to_string(i);
    auto reject = [&](const std::string& field, const std::string& msg) {
      out.rejected.push_back({int(i), base + (field.empty() ? "" : "/" + field), (field.empty() ? "" : field + " ") + msg});
    };
    if (!p.is_object()) { reject("", "must be an object"); continue; }
    auto str = [&](const char* k) { return p.contains(k) && p[k].is_string() ? p[k].get<std::string>() : std::string(); };
    position x;
    x.vehicle = str("vehicle");
    x.route = str("route");
    x.trip = str("trip");
    if (!domain::is_valid_id(x.vehicle)) { reject("vehicle", "must be an id (letters, digits, . _ : -, at most 128)"); continue; }
    if (x.route.empty() || x.route.size() > 255) { reject("route", "must be a route id of the feed"); continue; }
    if (p.contains("trip") && !p["trip"].is_null() && (!p["trip"].is_string() || x.trip.size() > 255)) {
      reject("trip", "must be a trip id"); continue;
    }
    if (!p.contains("lon") || !p["lon"].is_number() || !std::isfinite(p["lon"].get<double>()) ||
        std::fabs(p["lon"].get<double>()) > 180) { reject("lon", "must be a longitude in degrees"); continue; }
    if (!p.contains("lat") || !p["lat"].is_number() || !std::isfinite(p["lat"].get<double>()) ||
        std::fabs(p["lat"].get<double>()) > 90) { reject("lat", "must be a latitude in degrees"); continue; }
    x.lon = p["lon"].get<double>();
    x.lat = p["lat"].get<double>();
    auto ts = p.contains("ts") && p["ts"].is_string() ? domain::parse_rfc3339(p["ts"].get<std::string>()) : std::nullopt;
    if (!ts) { reject("ts", "must be an RFC 3339 time with an offset"); continue; }
    if (*ts > now_us + 300'000'000) { reject("ts", "is more than 5 minutes in the future"); continue; }
    x.ts_us = *ts;
    if (p.contains("occupancy") && !p["occupancy"].is_null()) {
      const auto& o = p["occupancy"];
      if (o.is_string() && !o.get<std::string>().empty() && o.get<std::string>().size() <= 64)
        x.occupancy = o.get<std::string>();
      else if (o.is_number() && o.get<double>() >= 0 && o.get<double>() <= 100000)
        x.occupancy = o.dump();
      else { reject("occupancy", "must be a count, a share, or a GTFS-realtime occupancy status"); continue; }
    }
    out.positions.push_back(std::move(x));
    out.indexes.push_back(int(i));
  }
  return out;
}

domain::outcome<parsed_positions> parse_avl_message(const std::string& vehicle, std::string_view payload,
                                                    std::int64_t now_us, std::size_t max_positions) {
  if (domain::json_nesting_depth(payload) > domain::max_json_depth)
    return make_problem(problem_kind::malformed, "JSON nested too deeply");
  auto j = json::parse(payload, nullptr, false);
  if (j.is_discarded() || !j.is_object()) return make_problem(problem_kind::malformed, "the payload is not a JSON object");
  bool single = !j.contains("positions");
  json body = single ? json{{"positions", json::array({j})}} : j;
  if (body["positions"].is_array())
    for (auto& p : body["positions"])
      if (p.is_object() && !p.contains("vehicle")) p["vehicle"] = vehicle;
  auto parsed = parse_positions(body, now_us, max_positions);
  if (!parsed) return parsed;
  // the topic names the vehicle: a position for another is refused (as a device token's would be)
  parsed_positions out;
  out.total = parsed->total;
  out.rejected = std::move(parsed->rejected);
  for (std::size_t i = 0; i < parsed->positions.size(); ++i) {
    if (parsed->positions[i].vehicle != vehicle) {
      out.rejected.push_back({parsed->indexes[i], "/positions/" + std::to_string(parsed->indexes[i]) + "/vehicle",
                              "vehicle must be the topic's (" + vehicle + ")"});
      continue;
    }
    out.positions.push_back(std::move(parsed->positions[i]));
    out.indexes.push_back(parsed->indexes[i]);
  }
  if (single)
    for (auto& r : out.rejected) r.pointer = r.pointer.substr(std::string("/positions/0").size());
  return out;
}

namespace {

// A JSON string literal (the text is UTF-8: it came in as JSON); null when empty.
void json_string_or_null(std::string& out, const std::string& v) {
  if (v.empty()) {
    out += "null";
    return;
  }
  out += '"';
  for (char ch : v) {
    auto c = static_cast<unsigned char>(ch);
    if (ch == '"' || ch == '\\') {
      out += '\\';
      out += ch;
    } else if (c < 0x20) {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\u%04x", c);
      out += buf;
    } else {
      out += ch;
    }
  }
  out += '"';
}

void json_number(std::string& out, double v) {
  char buf[32];
  auto r = std::to_chars(buf, buf + sizeof buf, v);
  out.append(buf, r.ptr);
}

}  // namespace

// Written by hand rather than through a JSON object: one frame per accepted position, on the
// ingest path (tens of thousands a second).
std::string vehicle_frame(const vehicle_event& e) {
  std::string out;
  out.reserve(256);
  out += "{\"type\":\"vehicle\",\"vehicle\":";
  json_string_or_null(out, e.vehicle);
  out += ",\"route\":";
  json_string_or_null(out, e.route);
  out += ",\"trip\":";
  json_string_or_null(out, e.trip);
  out += ",\"lon\":";
  json_number(out, e.lon);
  out += ",\"lat\":";
  json_number(out, e.lat);
  out += ",\"ts\":\"";
  out += domain::format_rfc3339_ms(e.ts_us);
  out += "\",\"occupancy\":";
  json_string_or_null(out, e.occupancy);
  out += ",\"progress_m\":";
  if (e.progress_m < 0) out += "null";
  else json_number(out, std::round(e.progress_m * 10) / 10);
  out += e.off_route ? ",\"off_route\":true,\"next_stop\":" : ",\"off_route\":false,\"next_stop\":";
  json_string_or_null(out, e.next_stop);
  out += '}';
  return out;
}

task<std::string> service::ingest_message(std::string vehicle, std::string payload, std::int64_t now_us) {
  auto parsed = parse_avl_message(vehicle, payload, now_us, opts_.max_positions);
  if (!parsed) co_return parsed.error().describe();
  int total = parsed->total;
  auto call = ingest(std::move(*parsed), std::vector<std::string>{vehicle});
  auto res = co_await std::move(call);
  if (res.rejected.empty()) co_return std::string();
  std::string why = res.accepted == 0 ? "no position could be accepted: "
                                      : std::to_string(res.rejected.size()) + " of " + std::to_string(total) +
                                            " positions refused (the others were stored): ";
  for (std::size_t i = 0; i < res.rejected.size() && i < 10; ++i)
    why += (i ? "; " : "") + res.rejected[i].pointer + ": " + res.rejected[i].error;
  co_return why;
}

service::service(storage::transit_store& store, options o)
    : store_(store), opts_(o), net_(std::make_shared<const network>()) {}

bool service::in_scope(const storage::principal& who) {
  return services::access::in_scope(who, "", "mobility");
}

task<std::vector<std::string>> service::routes(storage::principal who) {
  if (!in_scope(who)) co_return std::vector<std::string>{};
  auto call = store_.routes_json();
  co_return co_await std::move(call);
}

task<std::optional<std::string>> service::route(storage::principal who, std::string id) {
  if (!in_scope(who)) co_return std::nullopt;
  auto call = store_.route_json(std::move(id));
  co_return co_await std::move(call);
}

task<std::vector<std::string>> service::stops_near(storage::principal who, double lon, double lat, double radius_m,
                                                   int limit) {
  if (!in_scope(who)) co_return std::vector<std::string>{};
  auto call = store_.stops_near_json(lon, lat, radius_m, limit);
  co_return co_await std::move(call);
}

task<std::optional<service::series_map>> service::route_series(storage::principal who, std::string route,
                                                               std::string stop, std::int64_t from,
                                                               std::int64_t to) {
  if (!in_scope(who)) co_return std::nullopt;
  auto e_call = store_.route_exists(route);
  if (!co_await std::move(e_call)) co_return std::nullopt;
  series_map out;
  auto a_call = store_.arrivals(route, stop, from, to);
  auto arrivals = co_await std::move(a_call);
  for (const auto& a : arrivals) out[{a.stop_id, a.direction}].arrivals_us.push_back(a.ts_us);
  auto d_call = store_.service_days(from, to, opts_.timezone);
  auto days = co_await std::move(d_call);
  auto v_call = store_.scheduled_visits(route);
  auto visits = co_await std::move(v_call);
  auto f_call = store_.scheduled_frequencies(route);
  auto freqs = co_await std::move(f_call);
  using key = std::pair<std::string, int>;
  for (const auto& day : days) {
    std::set<std::string> active(day.services.begin(), day.services.end());
    std::map<key, std::vector<int>> timetabled;
    std::map<key, std::vector<frequency_window>> windows;
    for (const auto& v : visits)
      if (active.count(v.service_id) && (stop.empty() || v.stop_id == stop)) timetabled[{v.stop_id, v.direction}].push_back(v.time_s);
    for (const auto& f : freqs)
      if (active.count(f.service_id) && (stop.empty() || f.stop_id == stop))
        windows[{f.stop_id, f.direction}].push_back({f.start_s, f.end_s, f.headway_s, f.offset_s});
    std::set<key> keys;
    for (const auto& [k, _] : timetabled) keys.insert(k);
    for (const auto& [k, _] : windows) keys.insert(k);
    for (const auto& k : keys) {
      for (int t : scheduled_times(timetabled[k], windows[k])) {
        std::int64_t at = day.midnight_us + std::int64_t(t) * 1000000;
        if (at >= from && at < to) out[k].scheduled_us.push_back(at);
      }
    }
  }
  for (auto& [_, s] : out) {
    std::sort(s.arrivals_us.begin(), s.arrivals_us.end());
    std::sort(s.scheduled_us.begin(), s.scheduled_us.end());
  }
  co_return out;
}

std::shared_ptr<const network> service::current() const {
  std::lock_guard lock(mutex_);
  return net_;
}

task<bool> service::load() {
  auto patterns = co_await store_.patterns();
  if (patterns.size() > opts_.max_patterns) {
    spdlog::error("transit: the feed holds {} route patterns, more than {}; positions are not matched",
                  patterns.size(), opts_.max_patterns);
    patterns.clear();
  }
  auto net = std::make_shared<const network>(build_network(patterns));
  auto open_call = store_.open_bunching_alerts();
  auto open = co_await std::move(open_call);
  {
    std::lock_guard judge(judge_mutex_);
    opened_.clear();
    opened_order_.clear();
    for (const auto& [rule, subject] : open) remember_opened(rule + '\n' + subject);
  }
  std::lock_guard lock(mutex_);
  net_ = std::move(net);
  vehicles_.clear();  // progress along the old patterns means nothing on the new ones
  by_seen_.clear();
  std::lock_guard judge(judge_mutex_);
  schedule_cache_.clear();
  co_return true;
}

void service::set_vehicle(const std::string& vehicle, std::optional<vehicle_state> state) {
  if (auto it = vehicles_.find(vehicle); it != vehicles_.end()) {
    by_seen_.erase({it->second.ts_us, vehicle});
    vehicles_.erase(it);
  }
  if (!state) return;
  by_seen_.emplace(state->ts_us, vehicle);
  vehicles_.emplace(vehicle, std::move(*state));
}

std::size_t service::vehicles_known() const {
  std::lock_guard lock(mutex_);
  return vehicles_.size();
}

void service::remember_opened(const std::string& key) {
  if (opened_.count(key)) return;
  if (opened_.size() >= max_cached) {  // forget the oldest only
    opened_.erase(opened_order_.front());
    opened_order_.pop_front();
  }
  opened_order_.push_back(key);
  opened_[key] = std::prev(opened_order_.end());
}

void service::set_rules(const std::vector<rules::rule>& all) {
  std::vector<bunching> mine;
  for (const auto& r : all)
    if (const auto* b = std::get_if<rules::bunching_rule>(&r.spec); b && r.enabled)
      mine.push_back({r.id, b->route, b->ratio, b->distance_m});
  std::lock_guard lock(judge_mutex_);
  bunching_ = std::move(mine);
}

task<std::vector<std::int64_t>> service::scheduled_visits(std::string route, std::string stop, int direction,
                                                          std::int64_t at_us) {
  constexpr std::int64_t day = 86400LL * 1000000;
  std::int64_t d0 = at_us / day * day;
  std::string key = route + '\x1f' + stop + '\x1f' + std::to_string(direction) + '\x1f' + std::to_string(d0);
  {
    std::lock_guard lock(judge_mutex_);
    if (auto it = schedule_cache_.find(key); it != schedule_cache_.end()) co_return it->second;
  }
  std::int64_t from = d0 - day, to = d0 + 2 * day;
  auto days_call = store_.service_days(from, to, opts_.timezone);
  auto days = co_await std::move(days_call);
  auto v_call = store_.scheduled_visits(route);
  auto visits = co_await std::move(v_call);
  auto f_call = store_.scheduled_frequencies(route);
  auto freqs = co_await std::move(f_call);
  std::vector<std::int64_t> out;
  for (const auto& d : days) {
    std::vector<int> timetabled;
    std::vector<frequency_window> windows;
    for (const auto& v : visits)
      if (v.stop_id == stop && v.direction == direction &&
          std::find(d.services.begin(), d.services.end(), v.service_id) != d.services.end())
        timetabled.push_back(v.time_s);
    for (const auto& f : freqs)
      if (f.stop_id == stop && f.direction == direction &&
          std::find(d.services.begin(), d.services.end(), f.service_id) != d.services.end())
        windows.push_back({f.start_s, f.end_s, f.headway_s, f.offset_s});
    for (int t : scheduled_times(timetabled, windows)) {
      std::int64_t at = d.midnight_us + std::int64_t(t) * 1000000;
      if (at >= from && at < to) out.push_back(at);
    }
  }
  std::sort(out.begin(), out.end());
  std::lock_guard lock(judge_mutex_);
  if (schedule_cache_.size() >= max_cached) schedule_cache_.clear();
  schedule_cache_[key] = out;
  co_return out;
}

task<bool> service::judge_bunching(std::vector<storage::arrival_row> arrivals) {
  std::vector<rules::transition> out;
  // In time order: a batch may list a later arrival before an earlier one at the same stop.
  std::stable_sort(arrivals.begin(), arrivals.end(), [](const auto& x, const auto& y) { return x.ts_us < y.ts_us; });
  for (const auto& a : arrivals) {
    std::vector<bunching> rs;
    std::optional<std::pair<std::int64_t, std::string>> prev;
    std::string subject = a.route_id + "/" + a.stop_id + "/" + std::to_string(a.direction);
    {
      std::lock_guard lock(judge_mutex_);
      for (const auto& b : bunching_)
        if (b.route == a.route_id) rs.push_back(b);
      auto it = last_arrival_.find(subject);
      if (it != last_arrival_.end()) prev = it->second;
      if (!prev || a.ts_us > prev->first) {
        if (last_arrival_.size() >= max_cached) last_arrival_.clear();
        last_arrival_[subject] = {a.ts_us, a.vehicle};
      }
    }
    // An arrival older than the newest one at the stop (a late batch) judges nothing.
    if (rs.empty() || !prev || a.ts_us <= prev->first || prev->second == a.vehicle) continue;
    double h = double(a.ts_us - prev->first) / 1e6;
    auto sched_call = scheduled_visits(a.route_id, a.stop_id, a.direction, a.ts_us);
    auto times = co_await std::move(sched_call);
    std::vector<int> rel;
    for (auto t : times) rel.push_back(int((t - times.front()) / 1000000));
    auto sched = times.empty() ? std::nullopt : scheduled_headway_at(rel, double(a.ts_us - times.front()) / 1e6);
    if (!sched) continue;
    for (const auto& b : rs) {
      std::string key = b.rule_id + '\n' + subject;
      bool bunched = is_bunched(h, *sched, b.ratio);
      rules::transition t;
      t.rule_id = b.rule_id;
      t.subject = subject;
      t.domain = "mobility";
      t.metric = "headway_s";
      t.value = h;
      t.at_us = a.ts_us;
      char buf[400];
      std::lock_guard lock(judge_mutex_);
      if (bunched) {
        double hold = std::ceil(hold_minutes(h, *sched));
        std::snprintf(buf, sizeof buf,
                      "bunching on route %s at stop %s: %s arrived %.1f min after %s (scheduled headway %.1f min); "
                      "hold %s at the next timing point for %.0f minutes",
                      a.route_id.c_str(), a.stop_id.c_str(), a.vehicle.c_str(), h / 60, prev->second.c_str(),
                      *sched / 60, a.vehicle.c_str(), hold);
        t.open = true;
        t.message = buf;
        remember_opened(key);
        out.push_back(std::move(t));
      } else if (auto o = opened_.find(key); o != opened_.end()) {
        opened_order_.erase(o->second);
        opened_.erase(o);
        std::snprintf(buf, sizeof buf, "headway on route %s at stop %s back to %.1f min (scheduled %.1f min)",
                      a.route_id.c_str(), a.stop_id.c_str(), h / 60, *sched / 60);
        t.open = false;
        t.message = buf;
        out.push_back(std::move(t));
      }
    }
  }
  if (!out.empty() && on_transitions) on_transitions(std::move(out));
  co_return true;
}

namespace {

// What an import's unzip and parse give: the feed to write and the answer, or a problem.
struct prepared_import {
  std::optional<domain::problem> problem;
  storage::gtfs_feed feed;
  std::string answer;  // the JSON answer (counts, errors)
};

// Pure: unzips and parses a GTFS zip (runs on the parse thread).
prepared_import prepare_import(const std::string& zip, const zip_limits& limits) {
  prepared_import out;
  std::map<std::string, std::string> files;
  std::string failure;
  try {
    auto entries = zip_entries(zip, limits);
    for (const auto& e : entries) {
      if (e.name.empty() || e.name.back() == '/') continue;
      auto slash = e.name.rfind('/');
      auto base = slash == std::string::npos ? e.name : e.name.substr(slash + 1);
      if (base.size() < 4 || base.substr(base.size() - 4) != ".txt") continue;
      files[e.name] = zip_read(zip, e, limits);
    }
  } catch (const zip_error& e) {
    failure = e.what();
  }
  if (!failure.empty()) {
    out.problem = domain::invalid({{"", {}, failure}}, "The body is not a GTFS zip this server accepts: " + failure);
    return out;
  }
  auto parsed = parse_gtfs(std::move(files));  // each text freed once parsed
  if (!parsed.fatal.empty()) {
    out.problem = domain::invalid({{"/" + parsed.fatal.substr(0, parsed.fatal.find(':')), {}, parsed.fatal}},
                                  "A file of the feed cannot be read: " + parsed.fatal);
    return out;
  }
  if (!parsed.missing.empty()) {
    std::vector<domain::field_error> errs;
    std::string names;
    for (const auto& m : parsed.missing) {
      errs.push_back({"/" + m.substr(0, m.find(' ')), {}, "required file " + m + " is missing"});
      names += (names.empty() ? "" : ", ") + m;
    }
    out.problem = domain::invalid(std::move(errs), "The feed lacks required files: " + names);
    return out;
  }
  json counts = json::object();
  for (const auto& [name, c] : parsed.files)
    counts[name] = {{"rows", c.rows}, {"imported", c.imported}, {"errors", c.errors}};
  json errors = json::array();
  for (const auto& e : parsed.errors)
    errors.push_back({{"file", e.file}, {"row", e.row}, {"line", e.line}, {"field", e.field},
                      {"pointer", "/" + e.file + "/" + std::to_string(e.row) + "/" + e.field}, {"detail", e.detail}});
  json summary = {{"agencies", parsed.feed.agencies.size()}, {"routes", parsed.feed.routes.size()},
                  {"stops", parsed.feed.stops.size()}, {"trips", parsed.feed.trips.size()},
                  {"stop_times", parsed.feed.stop_times.size()}, {"shapes", parsed.feed.shapes.size()}};
  out.answer = json{{"files", counts}, {"imported", summary}, {"errors", errors}, {"error_count", parsed.total_errors},
                    {"errors_truncated", parsed.total_errors > int(parsed.errors.size())}}.dump();
  out.feed = std::move(parsed.feed);
  return out;
}

// Runs f() on `pool` and resumes the caller on its own executor (as password_hasher::submit; not a
// coroutine itself: g++ 12 mishandles capturing lambdas passed by value into coroutines).
template <class R, class F>
task<R> run_on(boost::asio::thread_pool& pool, F f) {
  auto init = [&pool, f = std::move(f)](auto handler) mutable {
    using handler_t = decltype(handler);
    auto shared = std::make_shared<handler_t>(std::move(handler));
    auto ex = boost::asio::get_associated_executor(*shared);
    boost::asio::post(pool, [shared, ex, f = std::move(f)]() mutable {
      std::exception_ptr ep;
      std::optional<R> value;
      try {
        value.emplace(f());
      } catch (...) {
        ep = std::current_exception();
      }
      boost::asio::post(ex, [shared, ep, value = std::move(value)]() mutable {
        (*shared)(ep, value ? std::move(*value) : R{});
      });
    });
  };
  return boost::asio::async_initiate<decltype(boost::asio::use_awaitable), void(std::exception_ptr, R)>(
      std::move(init), boost::asio::use_awaitable);
}

}  // namespace

task<domain::outcome<std::string>> service::import_gtfs(std::string zip) {
  if (importing_.exchange(true))
    co_return make_problem(problem_kind::unavailable, "another GTFS import is running; try again when it has finished");
  struct release {
    std::atomic<bool>& flag;
    ~release() { flag = false; }
  } done{importing_};
  auto limits = opts_.zip;
  auto shared_zip = std::make_shared<std::string>(std::move(zip));
  auto job = [shared_zip, limits] {
    auto p = prepare_import(*shared_zip, limits);
    shared_zip->clear();
    shared_zip->shrink_to_fit();
    return std::make_shared<prepared_import>(std::move(p));
  };
  using clock = std::chrono::steady_clock;
  auto ms_since = [](clock::time_point t) { return std::chrono::duration<double, std::milli>(clock::now() - t).count(); };
  auto t0 = clock::now();
  auto parse_call = run_on<std::shared_ptr<prepared_import>>(parse_pool_, std::move(job));
  auto prepared = co_await std::move(parse_call);
  if (prepared->problem) co_return *prepared->problem;
  double parse_ms = ms_since(t0);
  std::size_t stop_times = prepared->feed.stop_times.size();
  auto t1 = clock::now();
  auto write = store_.replace_feed(std::move(prepared->feed));
  co_await std::move(write);
  double write_ms = ms_since(t1);
  auto t2 = clock::now();
  auto reload = load();
  co_await std::move(reload);
  spdlog::info("transit: imported a GTFS feed with {} stop times: unzip and parse {:.0f} ms, write {:.0f} ms, "
               "network reload {:.0f} ms", stop_times, parse_ms, write_ms, ms_since(t2));
  co_return std::move(prepared->answer);
}

task<positions_result> service::ingest(parsed_positions batch, std::optional<std::vector<std::string>> allowed) {
  positions_result res;
  res.rejected = std::move(batch.rejected);
  std::vector<storage::position_row> rows;
  std::vector<storage::arrival_row> arrivals;
  std::vector<vehicle_event> events;
  // Each vehicle's state before this batch (nullopt: not known), put back if the write fails so that
  // the retry is matched afresh rather than taken for positions out of order.
  std::unordered_map<std::string, std::optional<vehicle_state>> before;
  std::shared_ptr<const network> matched_on;
  {
    std::lock_guard lock(mutex_);
    matched_on = net_;
    const auto& net = *net_;
    for (std::size_t i = 0; i < batch.positions.size(); ++i) {
      const auto& p = batch.positions[i];
      int index = batch.indexes[i];
      std::string ptr = "/positions/" + std::to_string(index);
      if (allowed && std::find(allowed->begin(), allowed->end(), p.vehicle) == allowed->end()) {
        res.rejected.push_back({index, ptr + "/vehicle", "this token may not write vehicle \"" + p.vehicle + "\""});
        continue;
      }
      if (!net.has_route(p.route)) {
        res.rejected.push_back({index, ptr + "/route", "no route \"" + p.route + "\" in the imported feed"});
        continue;
      }
      auto it = vehicles_.find(p.vehicle);
      if (it == vehicles_.end()) {
        if (vehicles_.size() >= opts_.max_vehicles && !by_seen_.empty()) {  // at the cap: forget the vehicle seen longest ago
          vehicles_.erase(by_seen_.begin()->second);
          by_seen_.erase(by_seen_.begin());
        }
        it = vehicles_.emplace(p.vehicle, vehicle_state{}).first;
        by_seen_.emplace(it->second.ts_us, p.vehicle);
        before.try_emplace(p.vehicle, std::nullopt);
      } else if (!before.count(p.vehicle)) {
        before.emplace(p.vehicle, it->second);
      }
      const auto seen = it->second.ts_us;
      auto m = advance(net, it->second, {p.vehicle, p.route, p.trip, p.lon, p.lat, p.ts_us}, opts_.match);
      if (it->second.ts_us != seen) {
        by_seen_.erase({seen, p.vehicle});
        by_seen_.emplace(it->second.ts_us, p.vehicle);
      }
      storage::position_row row{p.vehicle, p.route, p.trip, p.occupancy, p.lon, p.lat, p.ts_us,
                                m.progress_m, m.offset_m, m.off_route, m.out_of_order};
      rows.push_back(std::move(row));
      ++res.accepted;
      res.off_route += m.off_route;
      res.out_of_order += m.out_of_order;
      vehicle_event ev{p.vehicle, p.route, p.trip, p.occupancy, p.lon, p.lat, p.ts_us, m.progress_m, m.off_route, {}};
      if (m.pattern < net.patterns.size()) {
        const auto& g = net.patterns[m.pattern];
        for (std::size_t s = 0; s < g.stop_along.size(); ++s)
          if (g.stop_along[s] > m.progress_m) {
            ev.next_stop = g.stop_ids[s];
            break;
          }
      }
      if (!m.out_of_order) events.push_back(std::move(ev));
      for (auto& a : m.arrivals) arrivals.push_back(std::move(a));
    }
  }
  std::sort(res.rejected.begin(), res.rejected.end(), [](const auto& a, const auto& b) { return a.index < b.index; });
  res.arrivals = int(arrivals.size());
  if (!rows.empty()) {
    std::exception_ptr failed;
    try {
      auto write = store_.write(std::move(rows), arrivals);
      co_await std::move(write);
    } catch (...) {
      failed = std::current_exception();
    }
    if (failed) {
      std::lock_guard lock(mutex_);
      if (net_ == matched_on)  // a reload since forgot every vehicle: nothing to put back
        for (auto& [vehicle, state] : before) set_vehicle(vehicle, std::move(state));
      std::rethrow_exception(failed);
    }
  }
  std::vector<std::pair<std::string, std::string>> moved;  // (vehicle, route) placed on a pattern by this batch
  for (const auto& ev : events)
    if (!ev.off_route && ev.progress_m >= 0) moved.emplace_back(ev.vehicle, ev.route);
  if (on_vehicles && !events.empty()) on_vehicles(std::move(events));
  if (on_arrivals && !arrivals.empty()) on_arrivals(arrivals);
  if (!arrivals.empty()) {
    bool any_rule = false;
    {
      std::lock_guard lock(judge_mutex_);
      any_rule = !bunching_.empty();
    }
    if (any_rule) {
      auto judge = judge_bunching(std::move(arrivals));
      co_await std::move(judge);
    }
  }
  if (!moved.empty()) {
    auto judge = judge_distance(std::move(moved));
    co_await std::move(judge);
  }
  co_return res;
}

task<bool> service::judge_distance(std::vector<std::pair<std::string, std::string>> moved) {
  std::vector<bunching> rs;
  {
    std::lock_guard lock(judge_mutex_);
    for (const auto& b : bunching_)
      if (b.distance_m) rs.push_back(b);
  }
  if (rs.empty()) co_return true;
  std::set<std::string> routes;
  for (const auto& b : rs) routes.insert(b.route);
  // Each moved vehicle once (its newest place), only on routes with a distance rule.
  std::set<std::string> seen;
  std::vector<std::pair<std::string, std::string>> followers;
  for (auto it = moved.rbegin(); it != moved.rend(); ++it)
    if (routes.count(it->second) && seen.insert(it->first).second) followers.push_back(*it);
  if (followers.empty()) co_return true;
  // The places of every vehicle on those routes, and of each follower its speed and next stop.
  struct follower_info {
    vehicle_place place;
    std::string route, next_stop;
    int direction = 0;
    double speed_mps = -1;
  };
  std::vector<vehicle_place> places;
  std::vector<follower_info> infos;
  {
    std::lock_guard lock(mutex_);
    const auto& net = *net_;
    for (const auto& [vehicle, st] : vehicles_)
      if (routes.count(st.route) && st.pattern < net.patterns.size() && st.along >= 0)
        places.push_back({vehicle, st.pattern, st.along, st.ts_us});
    for (const auto& [vehicle, route] : followers) {
      auto it = vehicles_.find(vehicle);
      if (it == vehicles_.end() || it->second.route != route || it->second.pattern >= net.patterns.size() ||
          it->second.along < 0)
        continue;
      const auto& st = it->second;
      const auto& g = net.patterns[st.pattern];
      follower_info f{{vehicle, st.pattern, st.along, st.ts_us}, route, {}, g.direction, st.speed_mps};
      for (std::size_t s = 0; s < g.stop_along.size(); ++s)
        if (g.stop_along[s] > st.along) {
          f.next_stop = g.stop_ids[s];
          break;
        }
      infos.push_back(std::move(f));
    }
  }
  std::vector<rules::transition> out;
  for (const auto& f : infos) {
    std::string subject = f.route + "/vehicle/" + f.place.vehicle;
    for (const auto& b : rs) {
      if (b.route != f.route) continue;
      auto lead = leader_within(places, f.place, *b.distance_m, distance_max_age_us);
      std::string key = b.rule_id + '\n' + subject;
      rules::transition t;
      t.rule_id = b.rule_id;
      t.subject = subject;
      t.domain = "mobility";
      t.metric = "gap_m";
      t.at_us = f.place.ts_us;
      char buf[500];
      if (lead) {
        const auto& leader_id = places[lead->index].vehicle;
        double gap_s = gap_seconds(lead->gap_m, f.speed_mps);
        std::optional<double> sched;
        if (!f.next_stop.empty()) {
          auto sched_call = scheduled_visits(f.route, f.next_stop, f.direction, f.place.ts_us);
          auto times = co_await std::move(sched_call);
          std::vector<int> rel;
          for (auto x : times) rel.push_back(int((x - times.front()) / 1000000));
          if (!times.empty()) sched = scheduled_headway_at(rel, double(f.place.ts_us - times.front()) / 1e6);
        }
        if (sched)
          std::snprintf(buf, sizeof buf,
                        "bunching on route %s: %s is %.0f m behind %s (about %.1f min; scheduled headway %.1f min); "
                        "hold %s at the next timing point for %.0f minutes",
                        f.route.c_str(), f.place.vehicle.c_str(), lead->gap_m, leader_id.c_str(), gap_s / 60,
                        *sched / 60, f.place.vehicle.c_str(), std::ceil(hold_minutes(gap_s, *sched)));
        else
          std::snprintf(buf, sizeof buf,
                        "bunching on route %s: %s is %.0f m behind %s (about %.1f min); hold %s at the next timing "
                        "point until the gap is restored",
                        f.route.c_str(), f.place.vehicle.c_str(), lead->gap_m, leader_id.c_str(), gap_s / 60,
                        f.place.vehicle.c_str());
        t.open = true;
        t.value = std::round(lead->gap_m * 10) / 10;
        t.message = buf;
        std::lock_guard lock(judge_mutex_);
        remember_opened(key);
        out.push_back(std::move(t));
      } else {
        std::lock_guard lock(judge_mutex_);
        auto o = opened_.find(key);
        if (o == opened_.end()) continue;
        opened_order_.erase(o->second);
        opened_.erase(o);
        std::snprintf(buf, sizeof buf, "%s on route %s no longer within %.0f m of the vehicle ahead",
                      f.place.vehicle.c_str(), f.route.c_str(), *b.distance_m);
        t.open = false;
        t.value = 0;
        t.message = buf;
        out.push_back(std::move(t));
      }
    }
  }
  if (!out.empty() && on_transitions) on_transitions(std::move(out));
  co_return true;
}

}  // namespace maeul::transit
