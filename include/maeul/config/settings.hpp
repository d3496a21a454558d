// Typed settings: defaults < config file (TOML) < MAEUL_<SECTION>_<KEY> environment < CLI.
// Loading is strict: an unknown key, a wrong type or an out-of-range value is an error.
#pragma once
#include <cstdint>
#include <functional>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

namespace maeul::config {

struct db_settings {
  std::string url = "postgresql:///maeul";
  int pool_size = 4;
  int connect_timeout_s = 5;
  int statement_timeout_ms = 30000;
  int migration_lock_timeout_s = 60;  // how long to wait for another instance's migrations
  // libpq sslmode (disable|allow|prefer|require|verify-ca|verify-full), added to `url` by the
  // loader; empty: whatever the URL or PGSSLMODE says (libpq's default: prefer).
  std::string sslmode;
};

struct http_settings {
  std::string listen = "127.0.0.1:8080";
  std::string host = "127.0.0.1";  // derived from listen
  std::uint16_t port = 8080;       // derived from listen
  int threads = 0;                 // 0: one per core
  std::int64_t body_limit = 8 * 1024 * 1024;
  std::int64_t header_limit = 16 * 1024;
  int read_timeout_ms = 15000;
  int idle_timeout_ms = 60000;
  int shutdown_grace_ms = 10000;
  std::string web_root;            // dashboard files; empty: found next to the executable
  std::int64_t min_body_rate = 16 * 1024;      // bytes/s a body must keep up beyond read_timeout_ms
  std::int64_t max_connections = 10000;        // open connections at most; past it: 503 and close
  std::int64_t max_connections_per_ip = 256;   // ... from one IPv4 address or IPv6 /64
  std::string tls_cert;            // PEM certificate chain; with tls_key: HTTPS and WSS only
  std::string tls_key;             // PEM private key
};

struct ingest_settings {
  int writers = 2;                     // batch transactions in flight at once (own connections)
  std::int64_t max_batch_rows = 50000;
  std::int64_t max_pending_rows = 1000000;
  int partitions_ahead = 2;            // monthly partitions created ahead of now
  int rollup_interval_ms = 1000;       // how often rollup deltas are folded into the rollups
};

// The local spool for readings taken while the database is away (docs/operations.md).
struct spool_settings {
  std::string dir;                               // empty: no spool (503 while the database is away)
  std::int64_t max_bytes = std::int64_t(1) << 30;     // bytes on disk at most; full: 503 + Retry-After
  std::int64_t segment_bytes = std::int64_t(64) << 20;  // a segment file is closed at this size
  int fsync_interval_ms = 0;                     // extra wait after an fsync to gather more appends
};

struct alerts_settings {
  int escalate_after_s = 600;  // a critical alert not acknowledged within this escalates
  int tick_ms = 1000;          // silence and composite rules are checked this often
};

struct webhooks_settings {
  bool allow_private = false;  // true: deliver to loopback and private networks too (docs/security.md)
  int timeout_ms = 10000;
  int max_attempts = 12;
  std::string ca_file;         // https:// receivers: CA bundle (PEM); empty: the system's CAs
  std::int64_t max_pending_per_webhook = 10000;  // past it the oldest pending deliveries are dropped (dead)
  int max_in_flight_per_webhook = 4;             // deliveries to one receiver at once
  // The 32-byte key (hex or raw) sealing webhook secrets at rest; created (mode 0600) at the first
  // start when the file does not exist. Empty: webhooks cannot be registered (no secret is stored in clear).
  std::string secret_key_file;
  // During a key rotation: the old key; secrets it sealed are sealed again with secret_key_file at start.
  std::string previous_secret_key_file;
};

// MQTT input (API.md §10). Off while `url` is empty.
struct mqtt_settings {
  std::string url;                 // mqtt://HOST[:PORT] or mqtts://HOST[:PORT]; empty: MQTT off
  std::string host;                // derived from url
  std::uint16_t port = 0;          // derived from url (1883 for mqtt://, 8883 for mqtts://)
  bool tls = false;                // derived from url (mqtts://)
  std::string client_id = "maeuld";  // fixed: the broker keeps the persistent session under it
  std::string username, password;
  std::string ca_file;             // mqtts://: CA bundle (PEM); empty: the system's CAs
  int keepalive_s = 30;
  int reconnect_min_ms = 1000;     // back-off after a lost connection, doubling up to the max
  int reconnect_max_ms = 60000;
  int max_in_flight = 10000;       // messages handed to ingest and not yet committed
  std::int64_t dead_letters_keep = 10000;  // newest dead letters kept
};

struct auth_settings {
  std::string bootstrap_token;  // empty: off
  int token_cache_s = 5;
  int session_idle_s = 1800;    // a session ends after this long without a request
  int session_max_s = 43200;    // and this long after sign-in, whatever its use
  int password_ops = 3;         // argon2id passes (libsodium opslimit)
  int password_mem_kib = 40960; // argon2id memory per hash in KiB (40 MiB; libsodium memlimit / 1024)
};

struct metrics_settings {
  bool is_public = false;  // metrics.public: /metrics without an admin token
};

// The welfare vault (API §9, docs/security.md): the key-encryption key file (one 64-hex-digit key
// per line, the current first). Empty: the vault is closed (resident routes answer 503), and
// maeuld refuses to start when residents are stored.
// Retention of raw readings per domain (API §9): readings older than the days are refused at
// ingest, and their monthly partitions dropped daily; rollups and KPIs stay. 0 keeps for ever.
struct retention_settings {
  int mobility_days = 0, energy_days = 0, welfare_days = 90, disaster_days = 0, environment_days = 0;
  int interval_s = 86400;  // how often the drop runs (and once at start)
};

// The welfare care loop (docs/welfare.md): an alert not acknowledged goes to the welfare officer,
// then becomes a visit task, then an incident for 119.
struct welfare_settings {
  int officer_after_s = 600, visit_after_s = 1800, emergency_after_s = 3600;
};

struct privacy_settings {
  std::string key_file;
};

struct limits_settings {
  int requests_per_s = 100;  // per principal (and per address for anonymous requests); 0: no limit
  int burst = 200;           // requests at once after a quiet spell
};

struct log_settings {
  std::string level = "info";   // trace|debug|info|warn|error
  std::string format = "auto";  // auto|text|json
};

// The city's calendar: holidays and tourist-peak days (the demand forecast's covariates,
// docs/transit.md), each a list of "YYYY-MM-DD" or "YYYY-MM-DD..YYYY-MM-DD" (inclusive, at most 366
// days); the lists as written (comma-joined) and expanded to local days since 1970-01-01.
struct city_settings {
  std::string name = "Sokcho";
  std::string timezone = "Asia/Seoul";
  std::string holidays_spec, tourist_peaks_spec;
  std::vector<std::int64_t> holidays, tourist_peaks;
};

// One service period of the planner: hours [start, end) of the day.
struct transit_period {
  std::string name;
  int start_hour = 0, end_hour = 24;
};

// The recommended plan's inputs (docs/transit.md, "Recommended headways").
struct transit_settings {
  int vehicle_capacity = 80;        // riders per bus, seated + standing
  double target_load_factor = 0.8;  // (0, 1.5]
  double max_wait_min = 10;         // policy: average wait at most this (headway <= 2x)
  double min_headway_min = 2;       // never plan buses closer than this
  int vehicles = 0;                 // buses available per route; 0: not limited
  double layover_min = 5;           // added per direction to the timetable's running time (cycle)
  int history_days = 364;           // boardings history read for a forecast
  std::string periods_spec;         // "early 5-7,am_peak 7-9,..." as written; empty: the default periods
  std::vector<transit_period> periods;
};

// Parses a calendar list (see city_settings) into sorted, distinct local days; throws config_error
// naming `name` and the bad element.
std::vector<std::int64_t> parse_day_list(const std::string& spec, const std::string& name);
// Parses "NAME START-END,..." (hours 0-24, sorted, not overlapping); throws config_error naming `name`.
std::vector<transit_period> parse_periods(const std::string& spec, const std::string& name);

// The dashboard (docs/operations.md, web/README.md): a base map from a tile server. Empty `tiles`: no
// base map (the map draws what Maeul knows, offline).
struct web_settings {
  std::string tiles;              // XYZ template, https:// with {z}, {x} and {y}; empty: no base map
  std::string tiles_attribution;  // shown on the map (plain text)
  int tiles_max_zoom = 18;
};

struct settings {
  db_settings db;
  http_settings http;
  ingest_settings ingest;
  spool_settings spool;
  alerts_settings alerts;
  webhooks_settings webhooks;
  auth_settings auth;
  mqtt_settings mqtt;
  log_settings log;
  city_settings city;
  metrics_settings metrics;
  limits_settings limits;
  privacy_settings privacy;
  retention_settings retention;
  welfare_settings welfare;
  web_settings web;
  transit_settings transit;
};

struct config_error : std::runtime_error {
  using std::runtime_error::runtime_error;
};

using env_lookup = std::function<std::optional<std::string>(const std::string& name)>;

// The process environment.
env_lookup process_env();

// Parses TOML text (may be empty), applies environment overrides, validates.
// Throws config_error with one clear line naming the setting on any problem.
settings load_from_string(const std::string& toml_text, const std::string& source_name, const env_lookup& env);

// Reads the file (an empty path means: no file) and calls load_from_string.
settings load(const std::string& path, const env_lookup& env);

// `url` with `sslmode` added as libpq reads it: "?sslmode=..." or "&sslmode=..." on a URI, " sslmode=..."
// on a key=value string; `url` unchanged when `sslmode` is empty. Throws config_error when the URL
// already names an sslmode (two sources for one setting).
std::string with_sslmode(const std::string& url, const std::string& sslmode);

// Every setting as "section.key", with its environment variable name, for docs and --help.
std::vector<std::pair<std::string, std::string>> setting_names();

}  // namespace maeul::config
