// Position matching and arrival detection (transit/match.hpp).
#include "maeul/transit/match.hpp"

#include <cmath>

namespace maeul::transit {

local_projection local_projection::around(double lon0, double lat0) {
  constexpr double r = 6371008.8, deg = 3.14159265358979323846 / 180;
  return {lon0, lat0, r * deg * std::cos(lat0 * deg), r * deg};
}

polyline polyline::of(std::vector<xy> pts) {
  polyline l;
  l.pts = std::move(pts);
  l.cum.reserve(l.pts.size());
  double d = 0;
  for (std::size_t i = 0; i < l.pts.size(); ++i) {
    if (i > 0) d += std::hypot(l.pts[i].x - l.pts[i - 1].x, l.pts[i].y - l.pts[i - 1].y);
    l.cum.push_back(d);
  }
  return l;
}

projection_result project(const polyline& line, xy p, double from_m) {
  projection_result best;
  if (line.pts.empty()) return best;
  if (line.pts.size() == 1) return {0, std::hypot(p.x - line.pts[0].x, p.y - line.pts[0].y)};
  for (std::size_t i = 0; i + 1 < line.pts.size(); ++i) {
    if (line.cum[i + 1] < from_m) continue;
    const xy a = line.pts[i], b = line.pts[i + 1];
    double dx = b.x - a.x, dy = b.y - a.y, len2 = dx * dx + dy * dy;
    double t = len2 > 0 ? ((p.x - a.x) * dx + (p.y - a.y) * dy) / len2 : 0;
    t = t < 0 ? 0 : t > 1 ? 1 : t;
    double along = line.cum[i] + t * (line.cum[i + 1] - line.cum[i]);
    if (along < from_m) {  // clamp the segment's start to from_m
      t = (from_m - line.cum[i]) / (line.cum[i + 1] - line.cum[i]);
      along = from_m;
    }
    double qx = a.x + t * dx, qy = a.y + t * dy, off = std::hypot(p.x - qx, p.y - qy);
    if (off < best.offset_m) best = {along, off};
  }
  return best;
}

network build_network(const std::vector<storage::transit_pattern>& patterns) {
  network net;
  // The projection's origin: the mean of the first points (one city).
  double sx = 0, sy = 0;
  int n = 0;
  for (const auto& p : patterns)
    if (!p.line.empty()) sx += p.line[0].lon, sy += p.line[0].lat, ++n;
  net.proj = local_projection::around(n ? sx / n : 0, n ? sy / n : 0);
  for (const auto& p : patterns) {
    pattern_geometry g;
    g.route_id = p.route_id;
    g.key = p.key;
    g.direction = p.direction;
    std::vector<xy> pts;
    for (const auto& q : p.line) pts.push_back(net.proj.to_xy(q.lon, q.lat));
    g.line = polyline::of(std::move(pts));
    double from = 0;
    for (std::size_t i = 0; i < p.stop_ids.size(); ++i) {
      auto r = project(g.line, net.proj.to_xy(p.stop_points[i].lon, p.stop_points[i].lat), from);
      from = r.along_m;
      g.stop_ids.push_back(p.stop_ids[i]);
      g.stop_along.push_back(r.along_m);
    }
    std::size_t idx = net.patterns.size();
    net.by_route[g.route_id].push_back(idx);
    for (const auto& t : p.trip_ids) net.by_trip[t] = idx;
    net.patterns.push_back(std::move(g));
  }
  return net;
}

match_result advance(const network& net, vehicle_state& st, const position_input& p, const match_options& o) {
  match_result res;
  auto rit = net.by_route.find(p.route);
  xy q = net.proj.to_xy(p.lon, p.lat);
  // The candidate patterns: the trip's, else the route's.
  std::vector<std::size_t> candidates;
  if (!p.trip.empty()) {
    auto t = net.by_trip.find(p.trip);
    if (t != net.by_trip.end() && net.patterns[t->second].route_id == p.route) candidates.push_back(t->second);
  }
  if (candidates.empty() && rit != net.by_route.end()) candidates = rit->second;
  std::size_t best = std::numeric_limits<std::size_t>::max();
  projection_result best_r;
  projection_result current_r;
  bool keep_current = false;
  for (auto i : candidates) {
    auto r = project(net.patterns[i].line, q);
    if (i == st.pattern && st.route == p.route) {
      current_r = r;
      // Stay on the current pattern while near it and not moving back past the jitter.
      keep_current = r.offset_m <= o.max_offset_m && (st.along < 0 || r.along_m >= st.along - o.jitter_m);
    }
    // Otherwise the nearest pattern (within 1 m: the first listed).
    if (r.offset_m < best_r.offset_m - 1 || best == std::numeric_limits<std::size_t>::max()) {
      best = i;
      best_r = r;
    }
  }
  if (keep_current) {
    best = st.pattern;
    best_r = current_r;
  }
  if (best == std::numeric_limits<std::size_t>::max() || best_r.offset_m > o.max_offset_m) {
    res.off_route = true;
    res.offset_m = best == std::numeric_limits<std::size_t>::max() ? -1 : best_r.offset_m;
    if (st.ts_us != 0 && p.ts_us <= st.ts_us) res.out_of_order = true;
    return res;
  }
  res.pattern = best;
  res.progress_m = best_r.along_m;
  res.offset_m = best_r.offset_m;
  if (st.ts_us != 0 && p.ts_us <= st.ts_us) {
    res.out_of_order = true;
    return res;
  }
  const auto& g = net.patterns[best];
  double d1 = best_r.along_m;
  bool fresh = st.route != p.route || st.pattern != best || st.along < 0 || d1 < st.along - o.restart_m;
  double d0 = fresh ? d1 - o.first_fix_m : st.along;
  std::int64_t t0 = fresh ? p.ts_us : st.ts_us;
  if (!fresh && d1 <= d0) {  // standing, or a small step back (noise): time moves on, progress stays
    st.ts_us = p.ts_us;
    return res;
  }
  for (std::size_t i = 0; i < g.stop_along.size(); ++i) {
    double s = g.stop_along[i];
    if (s > d0 && s <= d1) {
      std::int64_t t = fresh ? p.ts_us
                             : t0 + std::int64_t(std::llround(double(p.ts_us - t0) * (s - d0) / (d1 - d0)));
      res.arrivals.push_back({g.route_id, g.stop_ids[i], p.vehicle, p.trip, g.key, g.direction, t});
    }
  }
  st.speed_mps = fresh || p.ts_us <= t0 ? -1 : (d1 - d0) / (double(p.ts_us - t0) / 1e6);
  st.route = p.route;
  st.pattern = best;
  st.along = d1;
  st.ts_us = p.ts_us;
  return res;
}

}  // namespace maeul::transit
