// Settings loading (config/settings.hpp): defaults < file < environment, strict validation with
// messages that name the setting, listen parsing, and the shipped example file.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <string>

#include "maeul/config/settings.hpp"

namespace {

namespace cfg = maeul::config;

// An environment made of exactly these variables.
cfg::env_lookup env_of(std::map<std::string, std::string> vars) {
  return [vars = std::move(vars)](const std::string& name) -> std::optional<std::string> {
    auto it = vars.find(name);
    if (it == vars.end()) return std::nullopt;
    return it->second;
  };
}

const cfg::env_lookup no_env = env_of({});

cfg::settings load(const std::string& toml, std::map<std::string, std::string> env = {}) {
  return cfg::load_from_string(toml, "test.toml", env_of(std::move(env)));
}

// The config_error message for loading `toml` with `env`; fails the test when it loads.
std::string error_of(const std::string& toml, std::map<std::string, std::string> env = {}) {
  try {
    load(toml, std::move(env));
  } catch (const cfg::config_error& e) {
    return e.what();
  } catch (const std::exception& e) {
    ADD_FAILURE() << "not a config_error: " << e.what();
    return {};
  }
  ADD_FAILURE() << "loaded, expected a config_error for:\n" << toml;
  return {};
}

bool contains(const std::string& hay, const std::string& needle) { return hay.find(needle) != std::string::npos; }

// The repository root, from the build (not __FILE__, which ccache or a relative build may shorten).
std::filesystem::path source_root() { return std::filesystem::path(MAEUL_SOURCE_DIR); }

std::string read_file(const std::filesystem::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// The documented defaults (docs/api-notes.md "Running the daemon").
void expect_documented_defaults(const cfg::settings& s) {
  EXPECT_EQ(s.db.url, "postgresql:///maeul");
  EXPECT_EQ(s.db.pool_size, 4);
  EXPECT_EQ(s.db.connect_timeout_s, 5);
  EXPECT_EQ(s.db.statement_timeout_ms, 30000);
  EXPECT_EQ(s.http.listen, "127.0.0.1:8080");
  EXPECT_EQ(s.http.host, "127.0.0.1");
  EXPECT_EQ(s.http.port, 8080);
  EXPECT_EQ(s.http.threads, 0);
  EXPECT_EQ(s.http.body_limit, 8388608);
  EXPECT_EQ(s.http.header_limit, 16384);
  EXPECT_EQ(s.http.read_timeout_ms, 15000);
  EXPECT_EQ(s.http.idle_timeout_ms, 60000);
  EXPECT_EQ(s.http.shutdown_grace_ms, 10000);
  EXPECT_EQ(s.auth.bootstrap_token, "");
  EXPECT_EQ(s.auth.token_cache_s, 5);
  EXPECT_EQ(s.log.level, "info");
  EXPECT_EQ(s.log.format, "auto");
  EXPECT_EQ(s.city.name, "Sokcho");
  EXPECT_EQ(s.city.timezone, "Asia/Seoul");
  // A deployment delivers webhooks to public addresses only unless it says otherwise.
  EXPECT_FALSE(s.webhooks.allow_private);
  EXPECT_EQ(s.webhooks.max_pending_per_webhook, 10000);
  EXPECT_EQ(s.webhooks.max_in_flight_per_webhook, 4);
  EXPECT_EQ(s.webhooks.secret_key_file, "");
  EXPECT_EQ(s.webhooks.previous_secret_key_file, "");
}

}  // namespace

TEST(settings, empty_text_and_no_environment_give_the_documented_defaults) {
  expect_documented_defaults(load(""));
}

TEST(settings, the_file_overrides_defaults) {
  auto s = load(R"(
[db]
url = "postgresql://maeul@db.example/maeul"
pool_size = 8
[http]
listen = "0.0.0.0:9000"
threads = 2
body_limit = 1048576
[log]
level = "debug"
format = "json"
[city]
timezone = "UTC"
)");
  EXPECT_EQ(s.db.url, "postgresql://maeul@db.example/maeul");
  EXPECT_EQ(s.db.pool_size, 8);
  EXPECT_EQ(s.db.connect_timeout_s, 5);  // untouched keys keep their defaults
  EXPECT_EQ(s.http.listen, "0.0.0.0:9000");
  EXPECT_EQ(s.http.host, "0.0.0.0");
  EXPECT_EQ(s.http.port, 9000);
  EXPECT_EQ(s.http.threads, 2);
  EXPECT_EQ(s.http.body_limit, 1048576);
  EXPECT_EQ(s.log.level, "debug");
  EXPECT_EQ(s.log.format, "json");
  EXPECT_EQ(s.city.timezone, "UTC");
  EXPECT_EQ(s.city.name, "Sokcho");
}

TEST(settings, the_environment_overrides_the_file) {
  const std::string file = "[db]\npool_size = 8\nurl = \"postgresql:///file\"\n[http]\nlisten = \"0.0.0.0:9000\"\n";
  auto s = load(file, {{"MAEUL_DB_POOL_SIZE", "16"},
                       {"MAEUL_HTTP_LISTEN", "127.0.0.1:0"},
                       {"MAEUL_LOG_LEVEL", "warn"},
                       {"MAEUL_HTTP_BODY_LIMIT", "4096"},
                       {"MAEUL_CITY_TIMEZONE", "Europe/Paris"}});
  EXPECT_EQ(s.db.pool_size, 16);
  EXPECT_EQ(s.db.url, "postgresql:///file");  // no variable: the file's value stays
  EXPECT_EQ(s.http.listen, "127.0.0.1:0");
  EXPECT_EQ(s.http.port, 0);
  EXPECT_EQ(s.log.level, "warn");
  EXPECT_EQ(s.http.body_limit, 4096);
  EXPECT_EQ(s.city.timezone, "Europe/Paris");
}

TEST(settings, environment_names_are_upper_case_section_and_key) {
  auto names = cfg::setting_names();
  std::map<std::string, std::string> m(names.begin(), names.end());
  EXPECT_EQ(m.at("db.url"), "MAEUL_DB_URL");
  EXPECT_EQ(m.at("db.pool_size"), "MAEUL_DB_POOL_SIZE");
  EXPECT_EQ(m.at("http.read_timeout_ms"), "MAEUL_HTTP_READ_TIMEOUT_MS");
  EXPECT_EQ(m.at("auth.bootstrap_token"), "MAEUL_AUTH_BOOTSTRAP_TOKEN");
  EXPECT_EQ(m.at("city.timezone"), "MAEUL_CITY_TIMEZONE");
  EXPECT_EQ(names.size(), m.size()) << "no setting is listed twice";
  // Every listed variable really overrides: string settings set through their variables show up.
  const std::map<std::string, std::string> values = {
      {"db.url", "postgresql://env@db.example/maeul"}, {"city.name", "Gangneung"}, {"city.timezone", "Europe/Paris"}};
  for (const auto& [key, var] : names) {
    auto v = values.find(key);
    if (v == values.end()) continue;
    auto s = load("", {{var, v->second}});
    std::string got = key == "db.url" ? s.db.url : key == "city.name" ? s.city.name : s.city.timezone;
    EXPECT_EQ(got, v->second) << var;
  }
}

TEST(settings, the_bootstrap_token_alias_sets_auth_bootstrap_token) {
  auto s = load("", {{"MAEUL_BOOTSTRAP_TOKEN", "0123456789abcdef-secret"}});
  EXPECT_EQ(s.auth.bootstrap_token, "0123456789abcdef-secret");
  // Alias over the file.
  s = load("[auth]\nbootstrap_token = \"file-token-0123456789\"\n", {{"MAEUL_BOOTSTRAP_TOKEN", "env-token-0123456789"}});
  EXPECT_EQ(s.auth.bootstrap_token, "env-token-0123456789");
  // Both names set: the systematic one wins.
  s = load("", {{"MAEUL_BOOTSTRAP_TOKEN", "alias-token-0123456789"},
                {"MAEUL_AUTH_BOOTSTRAP_TOKEN", "systematic-token-0123456789"}});
  EXPECT_EQ(s.auth.bootstrap_token, "systematic-token-0123456789");
}

TEST(settings, a_short_bootstrap_token_is_refused) {
  auto msg = error_of("", {{"MAEUL_BOOTSTRAP_TOKEN", "short"}});
  EXPECT_TRUE(contains(msg, "auth.bootstrap_token")) << msg;
  EXPECT_EQ(load("", {{"MAEUL_BOOTSTRAP_TOKEN", std::string(16, 'k')}}).auth.bootstrap_token, std::string(16, 'k'));
}

TEST(settings, unknown_keys_are_errors_naming_the_key) {
  auto msg = error_of("[db]\nurl = \"postgresql:///x\"\npoolsize = 4\n");
  EXPECT_TRUE(contains(msg, "db.poolsize")) << msg;
  EXPECT_TRUE(contains(msg, "test.toml")) << msg;
  msg = error_of("[database]\nurl = \"x\"\n");
  EXPECT_TRUE(contains(msg, "database.url")) << msg;
  msg = error_of("listen = \"0.0.0.0:80\"\n");
  EXPECT_TRUE(contains(msg, "listen")) << msg;
}

TEST(settings, wrong_types_are_errors_naming_the_key) {
  auto msg = error_of("[db]\npool_size = \"4\"\n");
  EXPECT_TRUE(contains(msg, "db.pool_size")) << msg;
  EXPECT_TRUE(contains(msg, "integer")) << msg;
  msg = error_of("[db]\nurl = 5\n");
  EXPECT_TRUE(contains(msg, "db.url")) << msg;
  EXPECT_TRUE(contains(msg, "string")) << msg;
  msg = error_of("[http]\nthreads = 1.5\n");
  EXPECT_TRUE(contains(msg, "http.threads")) << msg;
  msg = error_of("[log]\nlevel = true\n");
  EXPECT_TRUE(contains(msg, "log.level")) << msg;
  msg = error_of("", {{"MAEUL_DB_POOL_SIZE", "four"}});
  EXPECT_TRUE(contains(msg, "MAEUL_DB_POOL_SIZE")) << msg;
  msg = error_of("", {{"MAEUL_HTTP_THREADS", "2x"}});
  EXPECT_TRUE(contains(msg, "MAEUL_HTTP_THREADS")) << msg;
}

TEST(settings, out_of_range_integers_are_errors_naming_the_key_and_the_range) {
  auto msg = error_of("[db]\npool_size = 0\n");
  EXPECT_TRUE(contains(msg, "db.pool_size")) << msg;
  EXPECT_TRUE(contains(msg, "between 1 and 256")) << msg;
  msg = error_of("[db]\npool_size = 257\n");
  EXPECT_TRUE(contains(msg, "db.pool_size")) << msg;
  msg = error_of("[http]\nbody_limit = 1023\n");
  EXPECT_TRUE(contains(msg, "http.body_limit")) << msg;
  msg = error_of("[http]\nthreads = -1\n");
  EXPECT_TRUE(contains(msg, "http.threads")) << msg;
  msg = error_of("", {{"MAEUL_DB_POOL_SIZE", "999"}});
  EXPECT_TRUE(contains(msg, "db.pool_size")) << msg;
  EXPECT_TRUE(contains(msg, "MAEUL_DB_POOL_SIZE")) << msg;
  // The bounds themselves are accepted.
  auto s = load("[db]\npool_size = 256\n[http]\nthreads = 0\nbody_limit = 1024\n");
  EXPECT_EQ(s.db.pool_size, 256);
  EXPECT_EQ(s.http.body_limit, 1024);
}

TEST(settings, listen_must_be_host_and_port) {
  for (const char* bad : {"nonsense", "host:99999", ":80", "127.0.0.1:", "127.0.0.1:http", "127.0.0.1:-1",
                          "127.0.0.1:65536"}) {
    auto msg = error_of(std::string("[http]\nlisten = \"") + bad + "\"\n");
    EXPECT_TRUE(contains(msg, "http.listen")) << bad << ": " << msg;
    EXPECT_TRUE(contains(msg, bad)) << bad << ": " << msg;
  }
  auto msg = error_of("", {{"MAEUL_HTTP_LISTEN", "nonsense"}});
  EXPECT_TRUE(contains(msg, "http.listen")) << msg;
}

TEST(settings, listen_parses_into_host_and_port) {
  struct c {
    const char* listen;
    const char* host;
    unsigned port;
  };
  for (auto [listen, host, port] : {c{"127.0.0.1:8080", "127.0.0.1", 8080}, c{"0.0.0.0:0", "0.0.0.0", 0},
                                    c{"[::1]:8080", "::1", 8080}, c{"[::]:65535", "::", 65535},
                                    c{"localhost:1", "localhost", 1}}) {
    auto s = load("", {{"MAEUL_HTTP_LISTEN", listen}});
    EXPECT_EQ(s.http.listen, listen);
    EXPECT_EQ(s.http.host, host) << listen;
    EXPECT_EQ(s.http.port, port) << listen;
  }
}

TEST(settings, bad_log_level_and_format_are_errors_naming_the_setting) {
  auto msg = error_of("[log]\nlevel = \"verbose\"\n");
  EXPECT_TRUE(contains(msg, "log.level")) << msg;
  EXPECT_TRUE(contains(msg, "verbose")) << msg;
  msg = error_of("", {{"MAEUL_LOG_LEVEL", "INFO"}});
  EXPECT_TRUE(contains(msg, "log.level")) << msg;
  msg = error_of("[log]\nformat = \"xml\"\n");
  EXPECT_TRUE(contains(msg, "log.format")) << msg;
  for (const char* level : {"trace", "debug", "info", "warn", "error"})
    EXPECT_EQ(load("", {{"MAEUL_LOG_LEVEL", level}}).log.level, level);
}

TEST(settings, empty_url_or_timezone_are_errors) {
  EXPECT_TRUE(contains(error_of("[db]\nurl = \"\"\n"), "db.url"));
  EXPECT_TRUE(contains(error_of("", {{"MAEUL_CITY_TIMEZONE", ""}}), "city.timezone"));
}

TEST(settings, the_timezone_must_be_a_known_iana_name) {
  for (const char* bad : {"Mars/Olympus_Mons", "Asia/Seoul/", "../../etc/passwd", "/etc/localtime", "Asia/Se oul"}) {
    auto msg = error_of(std::string("[city]\ntimezone = \"") + bad + "\"\n");
    EXPECT_TRUE(contains(msg, "city.timezone")) << bad << ": " << msg;
  }
  EXPECT_EQ(load("[city]\ntimezone = \"Asia/Seoul\"\n").city.timezone, "Asia/Seoul");
  EXPECT_EQ(load("", {{"MAEUL_CITY_TIMEZONE", "UTC"}}).city.timezone, "UTC");
}

TEST(settings, web_tiles_must_be_an_https_xyz_template) {
  EXPECT_EQ(load("").web.tiles, "");
  EXPECT_EQ(load("").web.tiles_max_zoom, 18);
  auto s = load("[web]\ntiles = \"https://{s}.tiles.example.org/{z}/{x}/{y}.png\"\ntiles_attribution = \"© City\"\n");
  EXPECT_EQ(s.web.tiles, "https://{s}.tiles.example.org/{z}/{x}/{y}.png");
  EXPECT_EQ(s.web.tiles_attribution, "© City");
  EXPECT_EQ(load("", {{"MAEUL_WEB_TILES", "https://t.example/{z}/{y}/{x}.png"}, {"MAEUL_WEB_TILES_MAX_ZOOM", "19"}}).web.tiles_max_zoom, 19);
  for (const char* bad : {"http://t.example/{z}/{x}/{y}.png", "https://t.example/tiles.png", "https://t.example/{z}/{x}.png",
                          "t.example/{z}/{x}/{y}", "https://t.example/{z}/{x}/{y}.png?a=\"<b>", "https://t.example/{z}/{x}/{y} .png"}) {
    auto msg = error_of("", {{"MAEUL_WEB_TILES", bad}});
    EXPECT_TRUE(contains(msg, "web.tiles")) << bad << ": " << msg;
  }
  EXPECT_TRUE(contains(error_of("[web]\ntiles_max_zoom = 30\n"), "web.tiles_max_zoom"));
}

TEST(settings, a_toml_syntax_error_names_the_source_and_line) {
  auto msg = error_of("[db]\npool_size = 4\nurl = \"unterminated\n");
  EXPECT_TRUE(contains(msg, "test.toml:3")) << msg;
  msg = error_of("[http]\nlisten = \"a:1\"\n[http]\nthreads = 1\n");  // a table defined twice
  EXPECT_TRUE(contains(msg, "test.toml")) << msg;
}

TEST(settings, load_reads_a_file_and_reports_a_missing_one) {
  auto s = cfg::load("", no_env);  // no file: defaults
  expect_documented_defaults(s);
  try {
    cfg::load((source_root() / "config" / "no-such-file.toml").string(), no_env);
    FAIL() << "a missing file loaded";
  } catch (const cfg::config_error& e) {
    EXPECT_TRUE(contains(e.what(), "no-such-file.toml")) << e.what();
  }
}

TEST(settings, the_example_file_loads_and_gives_the_documented_defaults) {
  auto path = source_root() / "config" / "maeul.example.toml";
  ASSERT_TRUE(std::filesystem::exists(path)) << path;
  auto text = read_file(path);
  cfg::settings s;
  ASSERT_NO_THROW(s = cfg::load_from_string(text, path.string(), no_env));
  expect_documented_defaults(s);
  ASSERT_NO_THROW(s = cfg::load(path.string(), no_env));
  expect_documented_defaults(s);
}

TEST(settings, the_example_file_documents_every_setting) {
  auto text = read_file(source_root() / "config" / "maeul.example.toml");
  for (const auto& [key, var] : cfg::setting_names()) {
    auto dot = key.find('.');
    std::string section = "[" + key.substr(0, dot) + "]";
    std::string line = "\n" + key.substr(dot + 1) + " = ";
    auto sec = text.find(section);
    ASSERT_NE(sec, std::string::npos) << section;
    auto next = text.find("\n[", sec + 1);
    auto at = text.find(line, sec);
    EXPECT_TRUE(at != std::string::npos && (next == std::string::npos || at < next)) << key << " not under " << section;
  }
}

TEST(settings, spool_is_off_by_default_and_its_keys_load_and_are_checked) {
  auto d = load("");
  EXPECT_EQ(d.spool.dir, "");
  EXPECT_EQ(d.spool.max_bytes, std::int64_t(1) << 30);
  EXPECT_EQ(d.spool.segment_bytes, std::int64_t(64) << 20);
  EXPECT_EQ(d.spool.fsync_interval_ms, 0);
  auto s = load("[spool]\ndir = \"/var/lib/maeul/spool\"\nmax_bytes = 1000000\nsegment_bytes = 4096\n",
                {{"MAEUL_SPOOL_FSYNC_INTERVAL_MS", "5"}});
  EXPECT_EQ(s.spool.dir, "/var/lib/maeul/spool");
  EXPECT_EQ(s.spool.max_bytes, 1000000);
  EXPECT_EQ(s.spool.segment_bytes, 4096);
  EXPECT_EQ(s.spool.fsync_interval_ms, 5);
  EXPECT_NE(error_of("[spool]\ndir = \"x\"\nmax_bytes = 8192\nsegment_bytes = 16384\n").find("spool.segment_bytes"),
            std::string::npos);
  EXPECT_NE(error_of("[spool]\nmax_bytes = 100\n").find("spool.max_bytes"), std::string::npos);
  EXPECT_NE(error_of("", {{"MAEUL_SPOOL_FSYNC_INTERVAL_MS", "5000"}}).find("spool.fsync_interval_ms"), std::string::npos);
}

TEST(settings, webhook_bounds_and_key_files_load_and_are_checked) {
  auto s = load("[webhooks]\nallow_private = true\nmax_pending_per_webhook = 3\nsecret_key_file = \"/k/w.key\"\n",
                {{"MAEUL_WEBHOOKS_MAX_IN_FLIGHT_PER_WEBHOOK", "2"},
                 {"MAEUL_WEBHOOKS_PREVIOUS_SECRET_KEY_FILE", "/k/old.key"}});
  EXPECT_TRUE(s.webhooks.allow_private);
  EXPECT_EQ(s.webhooks.max_pending_per_webhook, 3);
  EXPECT_EQ(s.webhooks.max_in_flight_per_webhook, 2);
  EXPECT_EQ(s.webhooks.secret_key_file, "/k/w.key");
  EXPECT_EQ(s.webhooks.previous_secret_key_file, "/k/old.key");
  EXPECT_NE(error_of("[webhooks]\nmax_pending_per_webhook = 0\n").find("webhooks.max_pending_per_webhook"),
            std::string::npos);
  EXPECT_NE(error_of("[webhooks]\nmax_in_flight_per_webhook = 65\n").find("webhooks.max_in_flight_per_webhook"),
            std::string::npos);
}
