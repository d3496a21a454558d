// Settings of the hardened edge (config/settings.hpp): TLS files, connection caps, the body rate,
// webhooks.ca_file and db.sslmode (added to the libpq connection string).
#include <gtest/gtest.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <string>

#include "maeul/config/settings.hpp"

namespace {

namespace cfg = maeul::config;

cfg::env_lookup env_of(std::map<std::string, std::string> vars) {
  return [vars = std::move(vars)](const std::string& name) -> std::optional<std::string> {
    auto it = vars.find(name);
    if (it == vars.end()) return std::nullopt;
    return it->second;
  };
}

cfg::settings load(const std::string& toml, std::map<std::string, std::string> env = {}) {
  return cfg::load_from_string(toml, "test.toml", env_of(std::move(env)));
}

std::string error_of(const std::string& toml, std::map<std::string, std::string> env = {}) {
  try {
    load(toml, std::move(env));
  } catch (const cfg::config_error& e) {
    return e.what();
  }
  ADD_FAILURE() << "loaded, expected a config_error for:\n" << toml;
  return {};
}

bool contains(const std::string& hay, const std::string& needle) { return hay.find(needle) != std::string::npos; }

// A readable file for the duration of a test.
struct temp_file {
  std::filesystem::path path;
  explicit temp_file(const std::string& name) : path(std::filesystem::temp_directory_path() / name) {
    std::ofstream(path) << "not checked by the loader\n";
  }
  ~temp_file() { std::filesystem::remove(path); }
};

}  // namespace

TEST(edge_settings, defaults_are_documented_values) {
  auto s = load("");
  EXPECT_EQ(s.http.max_connections, 10000);
  EXPECT_EQ(s.http.max_connections_per_ip, 256);
  EXPECT_EQ(s.http.min_body_rate, 16384);
  EXPECT_EQ(s.http.tls_cert, "");
  EXPECT_EQ(s.http.tls_key, "");
  EXPECT_EQ(s.webhooks.ca_file, "");
  EXPECT_EQ(s.db.sslmode, "");
  EXPECT_EQ(s.db.url, "postgresql:///maeul");  // no sslmode added
}

TEST(edge_settings, connection_caps_and_body_rate_load_from_file_and_environment_and_are_range_checked) {
  auto s = load("[http]\nmax_connections = 500\nmin_body_rate = 0\n", {{"MAEUL_HTTP_MAX_CONNECTIONS_PER_IP", "50"}});
  EXPECT_EQ(s.http.max_connections, 500);
  EXPECT_EQ(s.http.max_connections_per_ip, 50);
  EXPECT_EQ(s.http.min_body_rate, 0);
  EXPECT_TRUE(contains(error_of("[http]\nmax_connections = 0\n"), "http.max_connections"));
  EXPECT_TRUE(contains(error_of("", {{"MAEUL_HTTP_MAX_CONNECTIONS_PER_IP", "0"}}), "http.max_connections_per_ip"));
  EXPECT_TRUE(contains(error_of("[http]\nmin_body_rate = -1\n"), "http.min_body_rate"));
}

TEST(edge_settings, tls_files_are_set_together_and_must_be_readable) {
  temp_file cert("maeul-edge-test-cert.pem"), key("maeul-edge-test-key.pem");
  auto s = load("", {{"MAEUL_HTTP_TLS_CERT", cert.path.string()}, {"MAEUL_HTTP_TLS_KEY", key.path.string()}});
  EXPECT_EQ(s.http.tls_cert, cert.path.string());
  EXPECT_EQ(s.http.tls_key, key.path.string());
  EXPECT_TRUE(contains(error_of("[http]\ntls_cert = \"" + cert.path.string() + "\"\n"), "set together"));
  EXPECT_TRUE(contains(error_of("", {{"MAEUL_HTTP_TLS_KEY", key.path.string()}}), "set together"));
  auto missing = error_of("[http]\ntls_cert = \"/nonexistent/cert.pem\"\ntls_key = \"" + key.path.string() + "\"\n");
  EXPECT_TRUE(contains(missing, "http.tls_cert")) << missing;
  EXPECT_TRUE(contains(missing, "/nonexistent/cert.pem")) << missing;
}

TEST(edge_settings, webhooks_ca_file_must_be_readable) {
  temp_file ca("maeul-edge-test-ca.pem");
  EXPECT_EQ(load("[webhooks]\nca_file = \"" + ca.path.string() + "\"\n").webhooks.ca_file, ca.path.string());
  EXPECT_TRUE(contains(error_of("", {{"MAEUL_WEBHOOKS_CA_FILE", "/nonexistent/ca.pem"}}), "webhooks.ca_file"));
}

TEST(edge_settings, sslmode_is_added_to_the_connection_string_as_libpq_reads_it) {
  EXPECT_EQ(cfg::with_sslmode("postgresql:///maeul", ""), "postgresql:///maeul");
  EXPECT_EQ(cfg::with_sslmode("postgresql:///maeul", "require"), "postgresql:///maeul?sslmode=require");
  EXPECT_EQ(cfg::with_sslmode("postgres://u@db:5432/m?connect_timeout=3", "verify-full"),
            "postgres://u@db:5432/m?connect_timeout=3&sslmode=verify-full");
  EXPECT_EQ(cfg::with_sslmode("postgresql://u@db/m#frag", "disable"), "postgresql://u@db/m?sslmode=disable#frag");
  EXPECT_EQ(cfg::with_sslmode("host=db dbname=maeul", "verify-ca"), "host=db dbname=maeul sslmode=verify-ca");
  EXPECT_THROW(cfg::with_sslmode("postgresql://db/m?sslmode=require", "disable"), cfg::config_error);

  auto s = load("[db]\nurl = \"postgresql://maeul@db.example/maeul\"\nsslmode = \"verify-full\"\n");
  EXPECT_EQ(s.db.sslmode, "verify-full");
  EXPECT_EQ(s.db.url, "postgresql://maeul@db.example/maeul?sslmode=verify-full");
  EXPECT_EQ(load("", {{"MAEUL_DB_SSLMODE", "require"}}).db.url, "postgresql:///maeul?sslmode=require");
  auto bad = error_of("[db]\nsslmode = \"on\"\n");
  EXPECT_TRUE(contains(bad, "db.sslmode")) << bad;
  EXPECT_TRUE(contains(error_of("[db]\nurl = \"postgresql:///m?sslmode=disable\"\nsslmode = \"require\"\n"), "db.sslmode"));
}
