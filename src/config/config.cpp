// Settings loading: one table of keys drives the file, the environment and the validation.
#include <algorithm>
#include <cctype>
#include <cmath>
#include <string_view>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <tuple>

#include <toml++/toml.h>

#include "maeul/config/settings.hpp"
#include "maeul/domain/civil_date.hpp"
#include "maeul/domain/encoding.hpp"

namespace maeul::config {
namespace {

// list: a TOML array of strings (comma-joined for the setter; in the environment, comma-separated);
// number: a TOML float or integer (its text for the setter).
enum class kind { string, integer, boolean, list, number };

struct key_def {
  const char* section;
  const char* key;
  kind type;
  std::int64_t min;
  std::int64_t max;
  std::function<void(settings&, const std::string&, std::int64_t)> set;
};

const std::vector<key_def>& keys() {
  static const std::vector<key_def> all = {
      {"db", "url", kind::string, 0, 0, [](settings& s, const std::string& v, std::int64_t) { s.db.url = v; }},
      {"db", "pool_size", kind::integer, 1, 256, [](settings& s, const std::string&, std::int64_t v) { s.db.pool_size = int(v); }},
      {"db", "connect_timeout_s", kind::integer, 1, 600, [](settings& s, const std::string&, std::int64_t v) { s.db.connect_timeout_s = int(v); }},
      {"db", "migration_lock_timeout_s", kind::integer, 1, 3600, [](settings& s, const std::string&, std::int64_t v) { s.db.migration_lock_timeout_s = int(v); }},
      {"db", "sslmode", kind::string, 0, 0, [](settings& s, const std::string& v, std::int64_t) { s.db.sslmode = v; }},
      {"db", "statement_timeout_ms", kind::integer, 0, 3600000, [](settings& s, const std::string&, std::int64_t v) { s.db.statement_timeout_ms = int(v); }},
      {"http", "listen", kind::string, 0, 0, [](settings& s, const std::string& v, std::int64_t) { s.http.listen = v; }},
      {"http", "threads", kind::integer, 0, 256, [](settings& s, const std::string&, std::int64_t v) { s.http.threads = int(v); }},
      {"http", "body_limit", kind::integer, 1024, std::int64_t(1) << 32, [](settings& s, const std::string&, std::int64_t v) { s.http.body_limit = v; }},
      {"http", "header_limit", kind::integer, 1024, 1 << 20, [](settings& s, const std::string&, std::int64_t v) { s.http.header_limit = v; }},
      {"http", "read_timeout_ms", kind::integer, 100, 3600000, [](settings& s, const std::string&, std::int64_t v) { s.http.read_timeout_ms = int(v); }},
      {"http", "idle_timeout_ms", kind::integer, 100, 3600000, [](settings& s, const std::string&, std::int64_t v) { s.http.idle_timeout_ms = int(v); }},
      {"http", "shutdown_grace_ms", kind::integer, 0, 600000, [](settings& s, const std::string&, std::int64_t v) { s.http.shutdown_grace_ms = int(v); }},
      {"http", "web_root", kind::string, 0, 0, [](settings& s, const std::string& v, std::int64_t) { s.http.web_root = v; }},
      {"http", "min_body_rate", kind::integer, 0, std::int64_t(1) << 30, [](settings& s, const std::string&, std::int64_t v) { s.http.min_body_rate = v; }},
      {"http", "max_connections", kind::integer, 1, 1000000, [](settings& s, const std::string&, std::int64_t v) { s.http.max_connections = v; }},
      {"http", "max_connections_per_ip", kind::integer, 1, 1000000, [](settings& s, const std::string&, std::int64_t v) { s.http.max_connections_per_ip = v; }},
      {"http", "tls_cert", kind::string, 0, 0, [](settings& s, const std::string& v, std::int64_t) { s.http.tls_cert = v; }},
      {"http", "tls_key", kind::string, 0, 0, [](settings& s, const std::string& v, std::int64_t) { s.http.tls_key = v; }},
      {"ingest", "writers", kind::integer, 1, 32, [](settings& s, const std::string&, std::int64_t v) { s.ingest.writers = int(v); }},
      {"ingest", "max_batch_rows", kind::integer, 100, 10000000, [](settings& s, const std::string&, std::int64_t v) { s.ingest.max_batch_rows = v; }},
      {"ingest", "max_pending_rows", kind::integer, 1000, 100000000, [](settings& s, const std::string&, std::int64_t v) { s.ingest.max_pending_rows = v; }},
      {"ingest", "partitions_ahead", kind::integer, 1, 24, [](settings& s, const std::string&, std::int64_t v) { s.ingest.partitions_ahead = int(v); }},
      {"ingest", "rollup_interval_ms", kind::integer, 50, 600000, [](settings& s, const std::string&, std::int64_t v) { s.ingest.rollup_interval_ms = int(v); }},
      {"spool", "dir", kind::string, 0, 0, [](settings& s, const std::string& v, std::int64_t) { s.spool.dir = v; }},
      {"spool", "max_bytes", kind::integer, 4096, std::int64_t(1) << 50, [](settings& s, const std::string&, std::int64_t v) { s.spool.max_bytes = v; }},
      {"spool", "segment_bytes", kind::integer, 1024, std::int64_t(1) << 40, [](settings& s, const std::string&, std::int64_t v) { s.spool.segment_bytes = v; }},
      {"spool", "fsync_interval_ms", kind::integer, 0, 1000, [](settings& s, const std::string&, std::int64_t v) { s.spool.fsync_interval_ms = int(v); }},
      {"alerts", "escalate_after_s", kind::integer, 1, 7 * 86400, [](settings& s, const std::string&, std::int64_t v) { s.alerts.escalate_after_s = int(v); }},
      {"alerts", "tick_ms", kind::integer, 50, 60000, [](settings& s, const std::string&, std::int64_t v) { s.alerts.tick_ms = int(v); }},
      {"webhooks", "allow_private", kind::boolean, 0, 1, [](settings& s, const std::string&, std::int64_t v) { s.webhooks.allow_private = v != 0; }},
      {"webhooks", "timeout_ms", kind::integer, 100, 120000, [](settings& s, const std::string&, std::int64_t v) { s.webhooks.timeout_ms = int(v); }},
      {"webhooks", "max_attempts", kind::integer, 1, 100, [](settings& s, const std::string&, std::int64_t v) { s.webhooks.max_attempts = int(v); }},
      {"webhooks", "ca_file", kind::string, 0, 0, [](settings& s, const std::string& v, std::int64_t) { s.webhooks.ca_file = v; }},
      {"webhooks", "max_pending_per_webhook", kind::integer, 1, 100000000, [](settings& s, const std::string&, std::int64_t v) { s.webhooks.max_pending_per_webhook = v; }},
      {"webhooks", "max_in_flight_per_webhook", kind::integer, 1, 64, [](settings& s, const std::string&, std::int64_t v) { s.webhooks.max_in_flight_per_webhook = int(v); }},
      {"webhooks", "secret_key_file", kind::string, 0, 0, [](settings& s, const std::string& v, std::int64_t) { s.webhooks.secret_key_file = v; }},
      {"webhooks", "previous_secret_key_file", kind::string, 0, 0, [](settings& s, const std::string& v, std::int64_t) { s.webhooks.previous_secret_key_file = v; }},
      {"auth", "bootstrap_token", kind::string, 0, 0, [](settings& s, const std::string& v, std::int64_t) { s.auth.bootstrap_token = v; }},
      {"auth", "token_cache_s", kind::integer, 0, 3600, [](settings& s, const std::string&, std::int64_t v) { s.auth.token_cache_s = int(v); }},
      {"mqtt", "url", kind::string, 0, 0, [](settings& s, const std::string& v, std::int64_t) { s.mqtt.url = v; }},
      {"mqtt", "client_id", kind::string, 0, 0, [](settings& s, const std::string& v, std::int64_t) { s.mqtt.client_id = v; }},
      {"mqtt", "username", kind::string, 0, 0, [](settings& s, const std::string& v, std::int64_t) { s.mqtt.username = v; }},
      {"mqtt", "password", kind::string, 0, 0, [](settings& s, const std::string& v, std::int64_t) { s.mqtt.password = v; }},
      {"mqtt", "ca_file", kind::string, 0, 0, [](settings& s, const std::string& v, std::int64_t) { s.mqtt.ca_file = v; }},
      {"mqtt", "keepalive_s", kind::integer, 5, 3600, [](settings& s, const std::string&, std::int64_t v) { s.mqtt.keepalive_s = int(v); }},
      {"mqtt", "reconnect_min_ms", kind::integer, 100, 600000, [](settings& s, const std::string&, std::int64_t v) { s.mqtt.reconnect_min_ms = int(v); }},
      {"mqtt", "reconnect_max_ms", kind::integer, 100, 3600000, [](settings& s, const std::string&, std::int64_t v) { s.mqtt.reconnect_max_ms = int(v); }},
      {"mqtt", "max_in_flight", kind::integer, 1, 1000000, [](settings& s, const std::string&, std::int64_t v) { s.mqtt.max_in_flight = int(v); }},
      {"mqtt", "dead_letters_keep", kind::integer, 1, 100000000, [](settings& s, const std::string&, std::int64_t v) { s.mqtt.dead_letters_keep = v; }},
      {"auth", "session_idle_s", kind::integer, 1, 7 * 86400, [](settings& s, const std::string&, std::int64_t v) { s.auth.session_idle_s = int(v); }},
      {"auth", "session_max_s", kind::integer, 1, 30 * 86400, [](settings& s, const std::string&, std::int64_t v) { s.auth.session_max_s = int(v); }},
      {"auth", "password_ops", kind::integer, 1, 20, [](settings& s, const std::string&, std::int64_t v) { s.auth.password_ops = int(v); }},
      {"auth", "password_mem_kib", kind::integer, 8192, 4 * 1024 * 1024, [](settings& s, const std::string&, std::int64_t v) { s.auth.password_mem_kib = int(v); }},
      {"log", "level", kind::string, 0, 0, [](settings& s, const std::string& v, std::int64_t) { s.log.level = v; }},
      {"log", "format", kind::string, 0, 0, [](settings& s, const std::string& v, std::int64_t) { s.log.format = v; }},
      {"city", "name", kind::string, 0, 0, [](settings& s, const std::string& v, std::int64_t) { s.city.name = v; }},
      {"city", "timezone", kind::string, 0, 0, [](settings& s, const std::string& v, std::int64_t) { s.city.timezone = v; }},
      {"retention", "mobility_days", kind::integer, 0, 36500, [](settings& s, const std::string&, std::int64_t v) { s.retention.mobility_days = int(v); }},
      {"retention", "energy_days", kind::integer, 0, 36500, [](settings& s, const std::string&, std::int64_t v) { s.retention.energy_days = int(v); }},
      {"retention", "welfare_days", kind::integer, 0, 36500, [](settings& s, const std::string&, std::int64_t v) { s.retention.welfare_days = int(v); }},
      {"retention", "disaster_days", kind::integer, 0, 36500, [](settings& s, const std::string&, std::int64_t v) { s.retention.disaster_days = int(v); }},
      {"retention", "environment_days", kind::integer, 0, 36500, [](settings& s, const std::string&, std::int64_t v) { s.retention.environment_days = int(v); }},
      {"retention", "interval_s", kind::integer, 60, 604800, [](settings& s, const std::string&, std::int64_t v) { s.retention.interval_s = int(v); }},
      {"welfare", "officer_after_s", kind::integer, 1, 604800, [](settings& s, const std::string&, std::int64_t v) { s.welfare.officer_after_s = int(v); }},
      {"welfare", "visit_after_s", kind::integer, 1, 604800, [](settings& s, const std::string&, std::int64_t v) { s.welfare.visit_after_s = int(v); }},
      {"welfare", "emergency_after_s", kind::integer, 1, 604800, [](settings& s, const std::string&, std::int64_t v) { s.welfare.emergency_after_s = int(v); }},
      {"privacy", "key_file", kind::string, 0, 0, [](settings& s, const std::string& v, std::int64_t) { s.privacy.key_file = v; }},
      {"metrics", "public", kind::boolean, 0, 1, [](settings& s, const std::string&, std::int64_t v) { s.metrics.is_public = v != 0; }},
      {"limits", "requests_per_s", kind::integer, 0, 1000000, [](settings& s, const std::string&, std::int64_t v) { s.limits.requests_per_s = int(v); }},
      {"web", "tiles", kind::string, 0, 0, [](settings& s, const std::string& v, std::int64_t) { s.web.tiles = v; }},
      {"web", "tiles_attribution", kind::string, 0, 0, [](settings& s, const std::string& v, std::int64_t) { s.web.tiles_attribution = v; }},
      {"web", "tiles_max_zoom", kind::integer, 1, 22, [](settings& s, const std::string&, std::int64_t v) { s.web.tiles_max_zoom = int(v); }},
      {"limits", "burst", kind::integer, 1, 10000000, [](settings& s, const std::string&, std::int64_t v) { s.limits.burst = int(v); }},
      {"city", "holidays", kind::list, 0, 0, [](settings& s, const std::string& v, std::int64_t) { s.city.holidays_spec = v; }},
      {"city", "tourist_peaks", kind::list, 0, 0, [](settings& s, const std::string& v, std::int64_t) { s.city.tourist_peaks_spec = v; }},
      {"transit", "vehicle_capacity", kind::integer, 1, 1000, [](settings& s, const std::string&, std::int64_t v) { s.transit.vehicle_capacity = int(v); }},
      {"transit", "target_load_factor", kind::number, 0, 0, [](settings& s, const std::string& v, std::int64_t) { s.transit.target_load_factor = std::stod(v); }},
      {"transit", "max_wait_min", kind::number, 0, 0, [](settings& s, const std::string& v, std::int64_t) { s.transit.max_wait_min = std::stod(v); }},
      {"transit", "min_headway_min", kind::number, 0, 0, [](settings& s, const std::string& v, std::int64_t) { s.transit.min_headway_min = std::stod(v); }},
      {"transit", "vehicles", kind::integer, 0, 10000, [](settings& s, const std::string&, std::int64_t v) { s.transit.vehicles = int(v); }},
      {"transit", "layover_min", kind::number, 0, 0, [](settings& s, const std::string& v, std::int64_t) { s.transit.layover_min = std::stod(v); }},
      {"transit", "history_days", kind::integer, 28, 366, [](settings& s, const std::string&, std::int64_t v) { s.transit.history_days = int(v); }},
      {"transit", "periods", kind::list, 0, 0, [](settings& s, const std::string& v, std::int64_t) { s.transit.periods_spec = v; }},
  };
  return all;
}

// Environment names fixed by the public contract (API.md section 2) besides MAEUL_<SECTION>_<KEY>.
const std::vector<std::tuple<std::string, std::string, std::string>>& aliases() {
  static const std::vector<std::tuple<std::string, std::string, std::string>> all = {
      {"MAEUL_BOOTSTRAP_TOKEN", "auth", "bootstrap_token"},
  };
  return all;
}

std::string env_name(const key_def& k) {
  std::string n = "MAEUL_";
  for (const char* p = k.section; *p; ++p) n += char(std::toupper(static_cast<unsigned char>(*p)));
  n += '_';
  for (const char* p = k.key; *p; ++p) n += char(std::toupper(static_cast<unsigned char>(*p)));
  return n;
}

const key_def* find_key(const std::string& section, const std::string& key) {
  for (const auto& k : keys())
    if (section == k.section && key == k.key) return &k;
  return nullptr;
}

void apply(settings& s, const key_def& k, const std::string& text, std::int64_t number, const std::string& where) {
  std::string name = std::string(k.section) + "." + k.key;
  if (k.type == kind::integer && (number < k.min || number > k.max))
    throw config_error(where + ": " + name + " must be between " + std::to_string(k.min) + " and " +
                       std::to_string(k.max) + ", got " + std::to_string(number));
  k.set(s, text, number);
}

void apply_env(settings& s, const key_def& k, const std::string& value, const std::string& var) {
  std::string where = "environment " + var;
  if (k.type == kind::string || k.type == kind::list) return apply(s, k, value, 0, where);
  if (k.type == kind::number) {
    char* end = nullptr;
    double d = std::strtod(value.c_str(), &end);
    if (value.empty() || end != value.c_str() + value.size() || !std::isfinite(d))
      throw config_error(where + ": expected a number, got \"" + value + "\"");
    return apply(s, k, value, 0, where);
  }
  if (k.type == kind::boolean) {
    if (value == "true" || value == "1" || value == "yes" || value == "on") return apply(s, k, value, 1, where);
    if (value == "false" || value == "0" || value == "no" || value == "off") return apply(s, k, value, 0, where);
    throw config_error(where + ": expected true or false, got \"" + value + "\"");
  }
  auto n = domain::parse_number<std::int64_t>(value);
  if (!n) throw config_error(where + ": expected an integer, got \"" + value + "\"");
  apply(s, k, value, *n, where);
}

void parse_listen(settings& s) {
  const std::string& l = s.http.listen;
  auto colon = l.rfind(':');
  if (colon == std::string::npos || colon == 0)
    throw config_error("http.listen must be host:port, got \"" + l + "\"");
  std::string host = l.substr(0, colon);
  if (host.size() > 2 && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
  std::string port = l.substr(colon + 1);
  auto v = domain::parse_number<unsigned>(port);
  if (!v || *v > 65535)
    throw config_error("http.listen must be host:port with a port in 0-65535, got \"" + l + "\"");
  s.http.host = host;
  s.http.port = static_cast<std::uint16_t>(*v);
}

// An IANA name such as "Asia/Seoul" that the system's tz database (package tzdata) holds.
bool is_known_timezone(const std::string& tz) {
  if (tz.empty() || tz.size() > 64 || tz.front() == '/' || tz.find("..") != std::string::npos) return false;
  for (char c : tz)
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '/' && c != '_' && c != '-' && c != '+') return false;
  const char* dir = std::getenv("TZDIR");
  std::ifstream f(std::string(dir && *dir ? dir : "/usr/share/zoneinfo") + "/" + tz, std::ios::binary);
  char magic[4] = {};
  return f.read(magic, 4) && std::string_view(magic, 4) == "TZif";
}

// mqtt.url: empty (off), mqtt://HOST[:PORT] or mqtts://HOST[:PORT] (IPv6 hosts in brackets).
void parse_mqtt_url(settings& s) {
  auto& m = s.mqtt;
  if (m.url.empty()) return;
  auto bad = [&m](const std::string& why) {
    return config_error("mqtt.url must be mqtt://HOST[:PORT] or mqtts://HOST[:PORT] (" + why + "), got \"" + m.url + "\"");
  };
  std::string rest;
  if (m.url.rfind("mqtt://", 0) == 0) {
    m.tls = false;
    rest = m.url.substr(7);
  } else if (m.url.rfind("mqtts://", 0) == 0) {
    m.tls = true;
    rest = m.url.substr(8);
  } else {
    throw bad("unknown scheme");
  }
  if (!rest.empty() && rest.back() == '/') rest.pop_back();
  if (rest.find('/') != std::string::npos || rest.find('@') != std::string::npos)
    throw bad("no path or credentials: use mqtt.username and mqtt.password");
  std::string host = rest, port;
  if (!rest.empty() && rest.front() == '[') {
    auto close = rest.find(']');
    if (close == std::string::npos) throw bad("unclosed [");
    host = rest.substr(1, close - 1);
    if (close + 1 < rest.size()) {
      if (rest[close + 1] != ':') throw bad("junk after ]");
      port = rest.substr(close + 2);
    }
  } else if (auto colon = rest.rfind(':'); colon != std::string::npos) {
    host = rest.substr(0, colon);
    port = rest.substr(colon + 1);
  }
  if (host.empty()) throw bad("no host");
  unsigned v = m.tls ? 8883 : 1883;
  if (!port.empty()) {
    auto n = domain::parse_number<unsigned>(port);
    if (!n || *n == 0 || *n > 65535) throw bad("port 1-65535");
    v = *n;
  }
  m.host = host;
  m.port = static_cast<std::uint16_t>(v);
  if (m.client_id.empty() || m.client_id.size() > 23 * 4)
    throw config_error("mqtt.client_id must be 1 to 92 characters");
  if (m.reconnect_max_ms < m.reconnect_min_ms)
    throw config_error("mqtt.reconnect_max_ms must not be below mqtt.reconnect_min_ms");
  if (!m.ca_file.empty() && !std::ifstream(m.ca_file))
    throw config_error("mqtt.ca_file " + m.ca_file + " cannot be read");
}

// http.tls_cert and http.tls_key: both or neither, and readable (they are parsed when the server
// starts, which names OpenSSL's reason for a bad file).
void check_tls(const settings& s) {
  const auto& h = s.http;
  if (h.tls_cert.empty() != h.tls_key.empty())
    throw config_error("http.tls_cert and http.tls_key must be set together (or both left empty)");
  for (const auto& [name, file] : {std::pair<const char*, const std::string&>{"http.tls_cert", h.tls_cert},
                                   {"http.tls_key", h.tls_key}, {"webhooks.ca_file", s.webhooks.ca_file}})
    if (!file.empty() && !std::ifstream(file)) throw config_error(std::string(name) + " " + file + " cannot be read");
}

// web.tiles: empty, or an https:// URL template naming {z}, {x} and {y}, without characters that would
// need escaping in a page (quotes, angle brackets, spaces, controls).
void check_web(const web_settings& w) {
  if (w.tiles.empty()) return;
  const std::string& u = w.tiles;
  if (u.rfind("https://", 0) != 0 || u.size() <= 8)
    throw config_error("web.tiles must be an https:// tile URL template; got \"" + u + "\"");
  for (const char* part : {"{z}", "{x}", "{y}"})
    if (u.find(part) == std::string::npos)
      throw config_error("web.tiles must contain {z}, {x} and {y} (an XYZ tile URL template); got \"" + u + "\"");
  for (unsigned char c : u)
    if (c <= 0x20 || c == 0x7f || c == '"' || c == '\'' || c == '<' || c == '>' || c == '\\' || c == '`')
      throw config_error("web.tiles must not contain spaces, quotes, angle brackets or control characters");
  for (unsigned char c : w.tiles_attribution)
    if (c < 0x20 || c == 0x7f) throw config_error("web.tiles_attribution must not contain control characters");
}

// [transit]: the planner's numbers within their documented ranges, and its periods.
void check_transit(transit_settings& t) {
  auto range = [](const char* name, double v, double lo, double hi, bool lo_open) {
    if (!std::isfinite(v) || (lo_open ? v <= lo : v < lo) || v > hi) {
      std::ostringstream ss;
      ss << "transit." << name << " must be " << (lo_open ? "above " : "at least ") << lo << " and at most " << hi
         << ", got " << v;
      throw config_error(ss.str());
    }
  };
  range("target_load_factor", t.target_load_factor, 0, 1.5, true);
  range("max_wait_min", t.max_wait_min, 0, 120, true);
  range("min_headway_min", t.min_headway_min, 0, 120, true);
  range("layover_min", t.layover_min, 0, 120, false);
  t.periods = parse_periods(t.periods_spec, "transit.periods");
}

void validate(settings& s) {
  parse_listen(s);
  check_web(s.web);
  parse_mqtt_url(s);
  check_tls(s);
  if (s.db.url.empty()) throw config_error("db.url must not be empty");
  if (!s.db.sslmode.empty()) {
    static const char* modes[] = {"disable", "allow", "prefer", "require", "verify-ca", "verify-full"};
    bool known = false;
    for (auto* m : modes) known = known || s.db.sslmode == m;
    if (!known)
      throw config_error("db.sslmode must be one of disable, allow, prefer, require, verify-ca, verify-full; got \"" +
                         s.db.sslmode + "\"");
    s.db.url = with_sslmode(s.db.url, s.db.sslmode);
  }
  if (!s.spool.dir.empty() && s.spool.segment_bytes > s.spool.max_bytes)
    throw config_error("spool.segment_bytes must not exceed spool.max_bytes");
  static const char* levels[] = {"trace", "debug", "info", "warn", "error", "critical", "off"};
  bool ok = false;
  for (auto* l : levels) ok = ok || s.log.level == l;
  if (!ok)
    throw config_error("log.level must be one of trace, debug, info, warn, error, critical, off; got \"" + s.log.level +
                       "\"");
  if (s.log.format != "auto" && s.log.format != "text" && s.log.format != "json")
    throw config_error("log.format must be auto, text or json; got \"" + s.log.format + "\"");
  if (!s.auth.bootstrap_token.empty() && s.auth.bootstrap_token.size() < 16)
    throw config_error("auth.bootstrap_token must be at least 16 characters long");
  if (!is_known_timezone(s.city.timezone))
    throw config_error("city.timezone \"" + s.city.timezone + "\" is not an IANA time zone known to this system");
  s.city.holidays = parse_day_list(s.city.holidays_spec, "city.holidays");
  s.city.tourist_peaks = parse_day_list(s.city.tourist_peaks_spec, "city.tourist_peaks");
  check_transit(s.transit);
}

}  // namespace

env_lookup process_env() {
  return [](const std::string& name) -> std::optional<std::string> {
    const char* v = std::getenv(name.c_str());
    if (!v) return std::nullopt;
    return std::string(v);
  };
}

settings load_from_string(const std::string& text, const std::string& source, const env_lookup& env) {
  settings s;
  toml::table root;
  try {
    root = toml::parse(text, source);
  } catch (const toml::parse_error& e) {
    const auto& b = e.source().begin;
    throw config_error(source + ":" + std::to_string(b.line) + ":" + std::to_string(b.column) + ": " +
                       std::string(e.description()));
  }
  for (auto& [sec_key, sec_node] : root) {
    std::string section(sec_key.str());
    auto* table = sec_node.as_table();
    if (!table) throw config_error(source + ": top-level key \"" + section + "\" must be a [section]");
    for (auto& [key_key, node] : *table) {
      std::string key(key_key.str());
      const key_def* k = find_key(section, key);
      if (!k) throw config_error(source + ": unknown setting " + section + "." + key);
      if (k->type == kind::string) {
        auto v = node.value<std::string>();
        if (!v || !node.is_string()) throw config_error(source + ": " + section + "." + key + " must be a string");
        apply(s, *k, *v, 0, source);
      } else if (k->type == kind::list) {
        auto* arr = node.as_array();
        if (!arr) throw config_error(source + ": " + section + "." + key + " must be an array of strings");
        std::string joined;
        for (auto& el : *arr) {
          auto v = el.value<std::string>();
          if (!v || !el.is_string() || v->find(',') != std::string::npos)
            throw config_error(source + ": " + section + "." + key + " must be an array of strings without commas");
          joined += (joined.empty() ? "" : ",") + *v;
        }
        apply(s, *k, joined, 0, source);
      } else if (k->type == kind::number) {
        if (!node.is_integer() && !node.is_floating_point())
          throw config_error(source + ": " + section + "." + key + " must be a number");
        double d = node.is_integer() ? double(*node.value<std::int64_t>()) : *node.value<double>();
        std::ostringstream ss;
        ss.precision(17);
        ss << d;
        apply(s, *k, ss.str(), 0, source);
      } else if (k->type == kind::boolean) {
        if (!node.is_boolean()) throw config_error(source + ": " + section + "." + key + " must be true or false");
        apply(s, *k, {}, *node.value<bool>() ? 1 : 0, source);
      } else {
        if (!node.is_integer()) throw config_error(source + ": " + section + "." + key + " must be an integer");
        apply(s, *k, {}, *node.value<std::int64_t>(), source);
      }
    }
  }
  // The contract's short names come first, so the systematic name wins when both are set.
  for (const auto& [alias, section, key] : aliases())
    if (auto v = env(alias)) apply_env(s, *find_key(section, key), *v, alias);
  for (const auto& k : keys())
    if (auto v = env(env_name(k))) apply_env(s, k, *v, env_name(k));
  validate(s);
  return s;
}

settings load(const std::string& path, const env_lookup& env) {
  std::string text;
  if (!path.empty()) {
    std::ifstream in(path, std::ios::binary);
    if (!in) throw config_error("cannot read config file " + path);
    std::ostringstream ss;
    ss << in.rdbuf();
    text = ss.str();
  }
  return load_from_string(text, path.empty() ? "defaults" : path, env);
}

std::string with_sslmode(const std::string& url, const std::string& sslmode) {
  if (sslmode.empty()) return url;
  if (url.find("sslmode=") != std::string::npos)
    throw config_error("db.sslmode is set and db.url names an sslmode too: keep one");
  bool uri = url.rfind("postgresql://", 0) == 0 || url.rfind("postgres://", 0) == 0;
  if (!uri) return url + (url.empty() ? "" : " ") + "sslmode=" + sslmode;
  auto hash = url.find('#');
  std::string base = url.substr(0, hash), fragment = hash == std::string::npos ? "" : url.substr(hash);
  return base + (base.find('?') == std::string::npos ? "?" : "&") + "sslmode=" + sslmode + fragment;
}

namespace {

std::string trimmed(std::string v) {
  while (!v.empty() && std::isspace(static_cast<unsigned char>(v.front()))) v.erase(v.begin());
  while (!v.empty() && std::isspace(static_cast<unsigned char>(v.back()))) v.pop_back();
  return v;
}

std::vector<std::string> split_list(const std::string& spec) {
  std::vector<std::string> out;
  std::string cur;
  std::istringstream in(spec);
  while (std::getline(in, cur, ','))
    if (auto t = trimmed(cur); !t.empty()) out.push_back(t);
  return out;
}

}  // namespace

std::vector<std::int64_t> parse_day_list(const std::string& spec, const std::string& name) {
  std::vector<std::int64_t> days;
  for (const auto& el : split_list(spec)) {
    auto dots = el.find("..");
    auto first = domain::parse_civil_date(trimmed(el.substr(0, dots)));
    auto last = dots == std::string::npos ? first : domain::parse_civil_date(trimmed(el.substr(dots + 2)));
    if (!first || !last)
      throw config_error(name + ": \"" + el + "\" is not a date YYYY-MM-DD or a range YYYY-MM-DD..YYYY-MM-DD");
    if (*last < *first || *last - *first > 365)
      throw config_error(name + ": the range \"" + el + "\" must run forwards over at most 366 days");
    for (auto d = *first; d <= *last; ++d) days.push_back(d);
    if (days.size() > 100000) throw config_error(name + ": more than 100000 days listed");
  }
  std::sort(days.begin(), days.end());
  days.erase(std::unique(days.begin(), days.end()), days.end());
  return days;
}

std::vector<transit_period> parse_periods(const std::string& spec, const std::string& name) {
  std::vector<transit_period> out;
  for (const auto& el : split_list(spec)) {
    auto bad = [&](const std::string& why) {
      return config_error(name + ": \"" + el + "\" " + why + " (expected \"NAME START-END\", hours 0-24, e.g. \"am_peak 7-9\")");
    };
    auto sp = el.rfind(' ');
    if (sp == std::string::npos) throw bad("has no hours");
    transit_period p;
    p.name = trimmed(el.substr(0, sp));
    std::string hours = el.substr(sp + 1);
    auto dash = hours.find('-');
    auto a = dash == std::string::npos ? std::nullopt : domain::parse_number<unsigned>(hours.substr(0, dash));
    auto b = dash == std::string::npos ? std::nullopt : domain::parse_number<unsigned>(hours.substr(dash + 1));
    if (p.name.empty() || p.name.size() > 64) throw bad("needs a name of 1-64 characters");
    if (!a || !b || *a >= *b || *b > 24) throw bad("needs hours START-END with 0 <= START < END <= 24");
    p.start_hour = int(*a);
    p.end_hour = int(*b);
    if (!out.empty() && p.start_hour < out.back().end_hour) throw bad("overlaps or precedes the period before it");
    out.push_back(p);
  }
  return out;
}

std::vector<std::pair<std::string, std::string>> setting_names() {
  std::vector<std::pair<std::string, std::string>> out;
  for (const auto& k : keys()) out.emplace_back(std::string(k.section) + "." + k.key, env_name(k));
  return out;
}

}  // namespace maeul::config
