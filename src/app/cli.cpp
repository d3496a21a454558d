// maeuld's commands: serve, migrate, token create. The one place that reads config and wires
// the modules together; strict at start (one clear line and a non-zero exit), forgiving after.
#include <atomic>
#include <csignal>
#include <filesystem>
#include <functional>
#include <cstdio>
#include <iostream>
#include <map>
#include <thread>

#include <sodium.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/thread_pool.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/use_future.hpp>
#include <boost/system/system_error.hpp>
#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

#include "maeul/api/routes.hpp"
#include "maeul/api/static_files.hpp"
#include "maeul/domain/events.hpp"
#include "maeul/domain/time.hpp"
#include "maeul/ingest/ingest.hpp"
#include "maeul/live/hub.hpp"
#include "maeul/mqtt/client.hpp"
#include "maeul/net/client.hpp"
#include "maeul/ops/ops.hpp"
#include "maeul/services/people.hpp"
#include "maeul/services/services.hpp"
#include "maeul/services/welfare.hpp"
#include "maeul/privacy/vault.hpp"
#include "maeul/storage/residents.hpp"
#include "maeul/storage/transit.hpp"
#include "maeul/transit/planning.hpp"
#include "maeul/transit/service.hpp"
#include "maeul/spool/spool.hpp"
#include "maeul/storage/users.hpp"
#include "maeul/domain/people.hpp"
#include "maeul/storage/operations.hpp"
#include "maeul/storage/kpi_store.hpp"
#include "maeul/storage/observations.hpp"
#include "maeul/app/app.hpp"
#include "maeul/storage/db_pool.hpp"
#include "maeul/storage/dead_letters.hpp"
#include "maeul/storage/migrations.hpp"
#include "maeul/storage/registry.hpp"

namespace maeul::app {
namespace {

namespace asio = boost::asio;

constexpr const char* usage_text = R"(maeuld - Maeul urban operations center daemon

usage:
  maeuld [serve] [--config FILE] [options]      serve the API and dashboard
  maeuld migrate [--config FILE] [options]      apply pending database migrations and exit
  maeuld token create --role ROLE --name NAME [--sensor ID]... [--config FILE]
                                                print a new API token (only its hash is stored)
  maeuld mqtt acl [--config FILE]               print a mosquitto ACL file granting each device
                                                token's sensors (docs/operations.md, MQTT)
  maeuld user create --username U --role ROLE --display-name NAME [--zone ID]... [--domain D]... [--config FILE]
                                                create a user account; the password is read from
                                                MAEUL_USER_PASSWORD or else the first line of stdin
  maeuld keys rotate [--config FILE]            move every resident's data key to a new key in
                                                privacy.key_file, online (docs/operations.md)
  maeuld --version | --help

options (each also settable in the config file and as MAEUL_<SECTION>_<KEY>):
  --listen HOST:PORT     http.listen
  --db-url URL           db.url
  --log-level LEVEL      log.level
  --log-format FORMAT    log.format (auto, text, json)
  --set SECTION.KEY=VALUE   any setting

roles: admin, operator, analyst, device, welfare_officer
)";

struct cli {
  std::string command = "serve";
  std::string config_path;
  std::map<std::string, std::string> overrides;  // env-style names -> values
  std::string role, name;
  std::vector<std::string> sensors;
  std::string username, display_name;
  std::vector<std::string> zones, domains;
};

std::string env_name_of(const std::string& dotted) {
  std::string n = "MAEUL_";
  for (char c : dotted) n += c == '.' ? '_' : char(std::toupper(static_cast<unsigned char>(c)));
  return n;
}

// Throws std::invalid_argument with a message for the user.
cli parse_args(int argc, char** argv) {
  cli c;
  std::vector<std::string> args(argv + 1, argv + argc);
  std::size_t i = 0;
  if (i < args.size() && !args[i].empty() && args[i][0] != '-') {
    c.command = args[i++];
    if (c.command == "token") {
      if (i >= args.size() || args[i] != "create") throw std::invalid_argument("expected: maeuld token create ...");
      c.command = "token-create";
      ++i;
    } else if (c.command == "mqtt") {
      if (i >= args.size() || args[i] != "acl") throw std::invalid_argument("expected: maeuld mqtt acl");
      c.command = "mqtt-acl";
      ++i;
    } else if (c.command == "user") {
      if (i >= args.size() || args[i] != "create") throw std::invalid_argument("expected: maeuld user create ...");
      c.command = "user-create";
      ++i;
    } else if (c.command == "keys") {
      if (i >= args.size() || args[i] != "rotate") throw std::invalid_argument("expected: maeuld keys rotate");
      c.command = "keys-rotate";
      ++i;
    }
  }
  auto value = [&](const std::string& flag) -> std::string {
    if (i + 1 >= args.size()) throw std::invalid_argument(flag + " needs a value");
    return args[++i];
  };
  for (; i < args.size(); ++i) {
    const auto& a = args[i];
    if (a == "--config" || a == "-c") c.config_path = value(a);
    else if (a == "--listen") c.overrides["MAEUL_HTTP_LISTEN"] = value(a);
    else if (a == "--db-url") c.overrides["MAEUL_DB_URL"] = value(a);
    else if (a == "--log-level") c.overrides["MAEUL_LOG_LEVEL"] = value(a);
    else if (a == "--log-format") c.overrides["MAEUL_LOG_FORMAT"] = value(a);
    else if (a == "--set") {
      auto kv = value(a);
      auto eq = kv.find('=');
      if (eq == std::string::npos) throw std::invalid_argument("--set needs SECTION.KEY=VALUE");
      bool known = false;
      for (const auto& [dotted, env] : config::setting_names()) known = known || dotted == kv.substr(0, eq);
      if (!known) throw std::invalid_argument("--set: unknown setting \"" + kv.substr(0, eq) + "\"");
      c.overrides[env_name_of(kv.substr(0, eq))] = kv.substr(eq + 1);
    } else if (a == "--role") c.role = value(a);
    else if (a == "--name") c.name = value(a);
    else if (a == "--sensor") c.sensors.push_back(value(a));
    else if (a == "--username") c.username = value(a);
    else if (a == "--display-name") c.display_name = value(a);
    else if (a == "--zone") c.zones.push_back(value(a));
    else if (a == "--domain") c.domains.push_back(value(a));
    else if (a == "--password") throw std::invalid_argument("--password is not taken: a flag shows in the process list; use MAEUL_USER_PASSWORD or stdin");
    else if (a == "--help" || a == "-h") c.command = "help";
    else if (a == "--version") c.command = "version";
    else throw std::invalid_argument("unknown argument \"" + a + "\"");
  }
  if (c.command != "serve" && c.command != "migrate" && c.command != "token-create" && c.command != "mqtt-acl" &&
      c.command != "user-create" && c.command != "keys-rotate" && c.command != "help" &&
      c.command != "version")
    throw std::invalid_argument("unknown command \"" + c.command + "\"");
  return c;
}

// Prints one line (the first line of `text`: PostgreSQL errors carry DETAIL/HINT lines) and
// returns the exit code.
int fail(int code, const std::string& text) {
  std::string line = text.substr(0, text.find('\n'));
  std::fprintf(stderr, "maeuld: %s\n", line.c_str());
  return code;
}

// Runs a command's database work: its result is the exit code, and each way the database can
// fail maps to one exit code and one line, the same for every command.
template <class F>
int with_database(const std::string& what, F&& work) {
  try {
    return work();
  } catch (const storage::unavailable& e) {
    return fail(exit_database, e.what());
  } catch (const storage::schema_too_new& e) {
    return fail(exit_schema, e.what());
  } catch (const std::exception& e) {
    return fail(exit_database, what + " failed: " + e.what());
  }
}

// A refused command-line body as one line: "field detail; field detail".
std::string field_errors(const domain::problem& p) {
  std::string why;
  for (const auto& e : p.errors) why += (why.empty() ? "" : "; ") + e.pointer.substr(1) + " " + e.detail;
  return why;
}

// After shutdown(): waits until every connection has answered and closed, or the grace period
// ends, then stops the I/O threads.
asio::awaitable<void> drain(net::server* server, net::io_pool* io, int grace_ms) {
  asio::steady_timer timer(co_await asio::this_coro::executor);
  auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(grace_ms);
  while (server->counters().active.load() > 0 && std::chrono::steady_clock::now() < deadline) {
    timer.expires_after(std::chrono::milliseconds(20));
    co_await timer.async_wait(asio::use_awaitable);
  }
  if (auto left = server->counters().active.load(); left > 0)
    spdlog::warn("{} connection(s) still open after the grace period; closing them", left);
  io->stop();
}

// On SIGTERM with MQTT on: stop reading the broker and let the messages in flight commit, then
// drain HTTP as usual.
asio::awaitable<void> stop_mqtt_then_drain(mqtt::client* m, net::server* server, net::io_pool* io, int grace_ms) {
  if (m) co_await m->stop(grace_ms);
  co_await drain(server, io, grace_ms);
}

// The ACL for mosquitto's acl_file: maeuld reads every observation topic and every vehicle
// position topic (API §10, §11); each device token (by its name, the broker username) writes the
// observation topics of its sensors and the AVL topic maeul/v1/avl/{id} of each id it names (a
// device token's list names the vehicles it may post positions for, as POST /transit/positions
// checks). Names mosquitto cannot parse (blank, or with spaces) are left out with a comment.
std::string mqtt_acl(const config::settings& s, const std::vector<storage::device_grant>& grants) {
  std::string out = "# mosquitto acl_file generated by `maeuld mqtt acl`: regenerate after token changes.\n";
  out += "# maeuld itself\n";
  out += "user " + (s.mqtt.username.empty() ? std::string("maeuld") : s.mqtt.username) + "\n";
  out += "topic read maeul/v1/obs/#\n";
  out += "topic read maeul/v1/avl/#\n";
  for (const auto& g : grants) {
    out += "\n";
    if (g.token_name.empty() || g.token_name.find_first_of(" \t\r\n") != std::string::npos) {
      out += "# skipped device token \"" + g.token_name + "\": a broker username cannot hold spaces\n";
      continue;
    }
    out += "user " + g.token_name + "\n";
    if (g.sensors.empty()) out += "# (names no sensors: may write nothing)\n";
    for (const auto& sensor : g.sensors) {
      out += "topic write maeul/v1/obs/" + sensor + "\n";
      out += "topic write maeul/v1/obs/" + sensor + "/+\n";
    }
    for (const auto& vehicle : g.sensors) out += "topic write maeul/v1/avl/" + vehicle + "\n";
  }
  return out;
}

// Runs an awaitable to completion on a private io_context (start-up work before serving).
template <class T>
T run_now(asio::awaitable<T> a) {
  asio::io_context tmp;
  auto f = asio::co_spawn(tmp, std::move(a), asio::use_future);
  tmp.run();
  return f.get();
}

// Creates the coming months' partitions every hour (idempotent; several instances may run it).
asio::awaitable<void> partition_upkeep(storage::observation_store* store, int months_ahead) {
  asio::steady_timer timer(co_await asio::this_coro::executor);
  for (;;) {
    timer.expires_after(std::chrono::hours(1));
    auto [ec] = co_await timer.async_wait(asio::as_tuple(asio::use_awaitable));
    if (ec) co_return;
    try {
      co_await store->ensure_partitions(ingest::system_now_us(), months_ahead);
    } catch (const std::exception& e) {
      spdlog::warn("partition upkeep failed (will retry in an hour): {}", e.what());
    }
  }
}

// Retention (API §9): once at start, then every interval, the partitions past each domain's
// horizon are dropped; each drop is logged and counted.
asio::awaitable<void> retention_upkeep(storage::observation_store* store, std::vector<std::pair<std::string, int>> days,
                                       int interval_s, std::atomic<std::int64_t>* dropped) {
  asio::steady_timer timer(co_await asio::this_coro::executor);
  for (bool first = true;; first = false) {
    timer.expires_after(first ? std::chrono::seconds(2) : std::chrono::seconds(interval_s));
    auto [ec] = co_await timer.async_wait(asio::as_tuple(asio::use_awaitable));
    if (ec) co_return;
    try {
      auto call = store->drop_expired(days, ingest::system_now_us());
      auto drops = co_await std::move(call);
      for (const auto& d : drops)
        spdlog::info("retention: dropped partition {} ({} readings of {}, about {} rows)", d.partition,
                     domain::format_rfc3339_ms(d.month_us).substr(0, 7), d.domain, d.est_rows);
      *dropped += std::int64_t(drops.size());
    } catch (const std::exception& e) {
      spdlog::warn("retention: the drop failed (will retry at the next run): {}", e.what());
    }
  }
}

// Moves the withheld-reading counts of lapsed households into the database every 10 s.
asio::awaitable<void> welfare_upkeep(services::welfare_service* welfare) {
  asio::steady_timer timer(co_await asio::this_coro::executor);
  for (;;) {
    timer.expires_after(std::chrono::seconds(10));
    auto [ec] = co_await timer.async_wait(asio::as_tuple(asio::use_awaitable));
    if (ec) co_return;
    try {
      co_await welfare->flush_withheld();
    } catch (const std::exception& e) {
      spdlog::warn("welfare: withheld counts not flushed (kept for the next try): {}", e.what());
    }
  }
}

// Closes live connections whose session passed its hard end or went idle, every 500 ms (API §8:
// within 2 s).
asio::awaitable<void> live_expiry(live::hub* hub, api::authenticator* auth) {
  asio::steady_timer timer(co_await asio::this_coro::executor);
  for (;;) {
    timer.expires_after(std::chrono::milliseconds(500));
    auto [ec] = co_await timer.async_wait(asio::as_tuple(asio::use_awaitable));
    if (ec) co_return;
    try {
      hub->expire(ingest::system_now_us());
      for (const auto& session : auth->sweep_idle())
        if (auto n = hub->revoke_session(session); n > 0)
          spdlog::info("live: {} connection(s) of an idle session closed", n);
    } catch (const std::exception& e) {
      spdlog::warn("live: closing expired feeds failed (will retry): {}", e.what());
    }
  }
}

// Folds rollup deltas into the rollups every interval. A failure is an alarm: logged once when
// raised and once when cleared.
asio::awaitable<void> rollup_compactor(storage::observation_store* store, int interval_ms) {
  asio::steady_timer timer(co_await asio::this_coro::executor);
  bool failing = false;
  for (;;) {
    timer.expires_after(std::chrono::milliseconds(interval_ms));
    auto [ec] = co_await timer.async_wait(asio::as_tuple(asio::use_awaitable));
    if (ec) co_return;
    try {
      co_await store->compact_rollups();
      if (failing) spdlog::info("rollup compaction works again");
      failing = false;
    } catch (const std::exception& e) {
      if (!failing) spdlog::warn("rollup compaction failed (readings stay safe in rollup_delta): {}", e.what());
      failing = true;
    }
  }
}

int serve(const config::settings& s) {
  // 1. the schema: connect and migrate before anything listens
  if (int rc = with_database("database migration", [&]() -> int {
        auto report = storage::migrate(s.db.url, storage::embedded_migrations(), s.db.migration_lock_timeout_s);
        if (!report.applied.empty())
          spdlog::info("database schema migrated from version {} to {}", report.before, report.after);
        else
          spdlog::info("database schema at version {}", report.after);
        return exit_ok;
      });
      rc != exit_ok)
    return rc;

  // 2. the modules
  storage::db_pool pool({s.db.url, s.db.pool_size, s.db.connect_timeout_s, s.db.statement_timeout_ms});
  storage::db_pool writer_pool({s.db.url, s.ingest.writers, s.db.connect_timeout_s, s.db.statement_timeout_ms});
  storage::observation_store observations(writer_pool, pool);
  storage::registry registry(pool);
  storage::token_store tokens(pool);
  api::authenticator auth(tokens, s.auth.bootstrap_token, s.auth.token_cache_s);
  storage::user_store users(pool);
  auth.enable_sessions(users, s.auth.session_idle_s);
  api::metrics request_metrics;
  api::router router(auth, request_metrics);

  int threads = s.http.threads > 0 ? s.http.threads : int(std::max(1u, std::thread::hardware_concurrency()));
  net::io_pool io(threads);
  ingest::options io_opts;
  io_opts.writers = s.ingest.writers;
  io_opts.max_batch_rows = std::size_t(s.ingest.max_batch_rows);
  io_opts.max_pending_rows = std::size_t(s.ingest.max_pending_rows);
  const std::vector<std::pair<std::string, int>> retention_days = {
      {"mobility", s.retention.mobility_days}, {"energy", s.retention.energy_days}, {"welfare", s.retention.welfare_days},
      {"disaster", s.retention.disaster_days}, {"environment", s.retention.environment_days}};
  for (const auto& [domain, days] : retention_days) io_opts.retention_days[std::size_t(storage::domain_code(domain))] = days;
  ingest::service ingest(observations, ingest::system_now_us, io.at(0).get_executor(), io_opts);
  // The spool (spool.dir set): where readings go while the database is away (flow 5, flow 8).
  std::unique_ptr<spool::spool> spooler;
  if (!s.spool.dir.empty()) {
    try {
      spooler = std::make_unique<spool::spool>(spool::options{s.spool.dir, std::uint64_t(s.spool.max_bytes),
                                                              std::uint64_t(s.spool.segment_bytes), s.spool.fsync_interval_ms});
    } catch (const std::exception& e) {
      return fail(exit_config, std::string("spool: ") + e.what());
    }
    ingest.set_spool(*spooler);
    auto st = spooler->current();
    spdlog::info("spool in {}: {} readings in {} segments to replay{}", s.spool.dir, st.readings, st.segments,
                 st.truncated_bytes ? " (a torn tail of " + std::to_string(st.truncated_bytes) + " bytes cut off)" : "");
  }
  const auto started = std::chrono::steady_clock::now();
  storage::operations_store operations(pool);
  storage::kpi_store kpis(pool);
  // Committed events flow through one bus: ingest and the operations service emit, the live hub
  // and the rule engine subscribe (docs/architecture.md, flow 1 and 3).
  domain::event_bus events;
  live::hub hub(io.at(0).get_executor(),
                [&operations](std::int64_t since) { return operations.events_since(since, 500); });
  asio::thread_pool rules_thread(1);  // the rule engine's own thread: never an I/O thread
  // The key that seals webhook secrets (docs/security.md): created at the first start when its file
  // does not exist; a bad one stops the start.
  std::shared_ptr<const ops::secret_box> secrets, previous_secrets;
  try {
    if (!s.webhooks.secret_key_file.empty()) {
      bool created = false;
      secrets = std::make_shared<ops::secret_box>(ops::secret_box::read_key_file(s.webhooks.secret_key_file, true, &created));
      if (created)
        spdlog::warn("webhooks: created a new secret key in {} (key id {}); back it up apart from the database dumps "
                     "(docs/operations.md)", s.webhooks.secret_key_file, secrets->key_id());
      else
        spdlog::info("webhooks: secrets sealed with the key in {} (key id {})", s.webhooks.secret_key_file, secrets->key_id());
    } else {
      spdlog::warn("webhooks: webhooks.secret_key_file is not set; webhooks cannot be registered (503) until it is");
    }
    if (!s.webhooks.previous_secret_key_file.empty()) {
      if (!secrets) return fail(exit_config, "webhooks.previous_secret_key_file needs webhooks.secret_key_file too");
      previous_secrets = std::make_shared<ops::secret_box>(
          ops::secret_box::read_key_file(s.webhooks.previous_secret_key_file, false));
    }
  } catch (const std::exception& e) {
    return fail(exit_config, e.what());
  }
  ops::options oo;
  oo.secrets = secrets;
  oo.webhook_max_pending = s.webhooks.max_pending_per_webhook;
  oo.webhook_in_flight_per_receiver = s.webhooks.max_in_flight_per_webhook;
  oo.tick_ms = s.alerts.tick_ms;
  oo.escalate_after_s = s.alerts.escalate_after_s;
  oo.welfare = {s.welfare.officer_after_s, s.welfare.visit_after_s, s.welfare.emergency_after_s};
  oo.webhook_allow_private = s.webhooks.allow_private;
  oo.webhook_timeout_ms = s.webhooks.timeout_ms;
  oo.webhook_max_attempts = s.webhooks.max_attempts;
  try {
    oo.webhook_tls = net::make_client_tls(s.webhooks.ca_file);
  } catch (const std::exception& e) {
    return fail(exit_config, e.what());
  }
  // The households of the welfare vault (filled once the vault is open, below).
  domain::household_book households;
  ops::service ops(
      operations,
      [&ingest, &households] {
        auto seen = ingest.seen();
        auto now = ingest::system_now_us();
        std::vector<rules::sensor_info> infos;
        infos.reserve(seen.size());
        for (auto& x : seen) {
          // A home whose consent has lapsed, or whose resident was erased, is not watched: its
          // readings are withheld or refused, so its silence means nothing (and must not send a
          // care worker, or 119, to a home that said no).
          if (x.domain == "welfare") {
            auto hh = households.household_of(x.id);
            if (!hh.empty() && households.check(hh, now) != domain::household_book::status::active) continue;
          }
          infos.push_back({std::move(x.id), std::move(x.kind), std::move(x.domain), std::move(x.zone), x.last_ts_us});
        }
        return infos;
      },
      events, io.at(0).get_executor(), rules_thread.get_executor(), oo, ingest::system_now_us);
  events.subscribe(hub);
  hub.set_masker([&operations](const std::string& alert_json) { return operations.masked(alert_json); });
  // A revoked token, a changed or disabled user, an ended session: its live connections close too.
  auth.on_forget = [&hub](const std::string& kind, const std::string& key) {
    if (kind == "session")
      hub.revoke_session(key);
    else
      hub.revoke_holder(kind + ":" + key);
  };
  events.subscribe(ops);
  ingest.set_sink(events);
  try {
    // Partitions ahead, the sensor index, the latest values and the rules, before anything listens.
    run_now(observations.ensure_partitions(ingest::system_now_us(), s.ingest.partitions_ahead));
    run_now(observations.compact_rollups());
    // The daily rollups in the city's calendar (rebuilt from the hourly ones if city.timezone changed).
    if (auto rebuilt = run_now(kpis.ensure_daily_calendar(s.city.timezone)); rebuilt >= 0)
      spdlog::info("daily rollups rebuilt in the {} calendar: {} rows", s.city.timezone, rebuilt);
    run_now(ingest.warm());
    run_now(ops.load_rules());
    run_now(ops.restore_open_alerts());
    run_now(operations.load_pseudonym_key());
    hub.note_event_id(run_now(operations.last_event_id()));
    // Webhook secrets: seal those still in clear (written before migration 0011), and those sealed
    // under the previous key during a rotation; the clear column is emptied in the same transaction.
    int in_clear = 0, resealed = 0, foreign = 0;
    run_now(operations.reseal_webhook_secrets(
        [&secrets, &previous_secrets, &in_clear, &resealed, &foreign](const storage::webhook_secret& w) -> std::optional<std::string> {
          if (!secrets) {
            if (w.plain) ++in_clear;
            return std::nullopt;
          }
          if (w.plain) return secrets->seal(*w.plain, w.id);
          if (w.sealed.empty() || secrets->is_mine(w.sealed)) return std::nullopt;
          if (previous_secrets)
            if (auto plain = previous_secrets->open(w.sealed, w.id)) {
              ++resealed;
              return secrets->seal(*plain, w.id);
            }
          ++foreign;
          return std::nullopt;
        }));
    if (in_clear > 0)
      spdlog::warn("webhooks: {} secret(s) are still stored in clear: set webhooks.secret_key_file to seal them", in_clear);
    if (resealed > 0) spdlog::info("webhooks: {} secret(s) sealed again with the new key", resealed);
    if (foreign > 0)
      spdlog::error("webhooks: {} secret(s) are sealed under a key that is neither webhooks.secret_key_file nor "
                    "webhooks.previous_secret_key_file; their deliveries fail until that key is set", foreign);
  } catch (const std::exception& e) {
    return fail(exit_database, std::string("cannot load the sensor index and rules: ") + e.what());
  }
  // The application services: every state change goes through them (services/services.hpp).
  services::registry_service registry_svc(registry, ingest);
  services::observation_service observation_svc(ingest);
  services::operations_service operations_svc(operations, ops);
  services::token_service token_svc(tokens, [&auth](const std::string& id) { auth.forget(id); });
  services::kpi_service kpi_svc(kpis);
  services::query_service query_svc(registry, ingest, operations);
  // Password hashes on their own two threads, never an I/O or DB thread (docs/security.md).
  services::password_hasher hasher(
      services::hash_params{static_cast<unsigned long long>(s.auth.password_ops), std::size_t(s.auth.password_mem_kib) * 1024},
      2, 64);
  services::people_options po;
  po.session_idle_s = s.auth.session_idle_s;
  po.session_max_s = s.auth.session_max_s;
  services::people_service people_svc(
      users, hasher, po, [&auth](const std::string& username) { auth.forget_user(username); },
      [&auth](const std::string& session_hash) { auth.forget_session(session_hash); });
  // The welfare vault (API §9): its key file, the household book, the service. A bad key file, or
  // sealed residents and no key, stops the start with one clear line.
  std::shared_ptr<services::key_source> vault_keys;
  storage::resident_store residents(pool);
  std::atomic<std::int64_t> partitions_dropped{0};
  try {
    auto sealed = run_now(residents.sealed_count());
    // The first start makes the key file (like webhooks.secret_key_file); once anything is sealed, a
    // missing file is an error, never replaced.
    if (!s.privacy.key_file.empty())
      vault_keys = std::make_shared<services::key_source>(s.privacy.key_file, sealed == 0);
    if (vault_keys && vault_keys->created())
      spdlog::warn("welfare: created the key file {} (mode 0600): back it up apart from the database, without it "
                   "no resident record can be opened (docs/operations.md)", s.privacy.key_file);
    if (!vault_keys && sealed > 0)
      return fail(exit_config, std::to_string(sealed) + " resident record(s) are sealed in the database but "
                               "privacy.key_file is not set: maeuld will not start without their key");
    if (vault_keys) {
      auto ring = vault_keys->ring();
      auto state = run_now(residents.key_state(ring->current_id()));
      if (state == "retired")
        return fail(exit_config, "privacy.key_file's current key (id " + ring->current_id() + ") was retired by "
                                 "`maeuld keys rotate`: " + s.privacy.key_file + " is an older copy; use the rotated file");
      if (state.empty()) run_now(residents.register_key(ring->current_id()));
      for (const auto& id : run_now(residents.key_ids()))
        if (!ring->has(id))
          return fail(exit_config, "residents are sealed under key id " + id + ", which " + s.privacy.key_file +
                                   " does not hold: maeuld will not start with the wrong key file");
      spdlog::info("welfare: vault open, key id {} ({} sealed record(s))", ring->current_id(), sealed);
    } else {
      spdlog::warn("welfare: privacy.key_file is not set; the resident routes answer 503 until it is");
    }
  } catch (const storage::unavailable& e) {
    return fail(exit_database, std::string("cannot read the welfare vault: ") + e.what());
  } catch (const std::exception& e) {
    return fail(exit_config, e.what());
  }
  services::welfare_service welfare_svc(residents, operations, households, vault_keys, ingest::system_now_us);
  try {
    run_now(welfare_svc.load_book());
  } catch (const std::exception& e) {
    return fail(exit_database, std::string("cannot load the households: ") + e.what());
  }
  registry_svc.set_welfare(welfare_svc);
  ingest.set_households(households);
  operations.set_households(households);
  net::server_options so;
  so.host = s.http.host;
  so.port = s.http.port;
  so.body_limit = std::uint64_t(s.http.body_limit);
  so.header_limit = std::uint32_t(s.http.header_limit);
  so.read_timeout_ms = s.http.read_timeout_ms;
  so.idle_timeout_ms = s.http.idle_timeout_ms;
  so.min_body_rate = std::uint64_t(s.http.min_body_rate);
  so.max_connections = std::size_t(s.http.max_connections);
  so.max_connections_per_ip = std::size_t(s.http.max_connections_per_ip);
  so.tls_cert = s.http.tls_cert;
  so.tls_key = s.http.tls_key;
  net::server server(
      io, so, [&router](net::request r) { return router.dispatch(std::move(r)); }, api::early_error);

  api::services services{registry, tokens, auth, request_metrics, [&pool, &server, &ingest, &observations, &hub, &ops, &spooler, &hasher, &people_svc] {
                           auto st = pool.stats();
                           const auto& c = server.counters();
                           auto is = ingest.stats();
                           auto ws = observations.stats();
                           auto os = ops.stats();
                           auto ps = people_svc.stats();
                           std::string out;
                           // name, type, help, samples (label set -> value)
                           auto metric = [&out](const char* name, const char* type, const char* help,
                                                std::vector<std::pair<std::string, std::int64_t>> samples) {
                             out += std::string("# HELP ") + name + " " + help + "\n# TYPE " + name + " " + type + "\n";
                             for (const auto& [labels, v] : samples) out += name + labels + " " + std::to_string(v) + "\n";
                           };
                           metric("maeul_db_pool_size", "gauge", "Database connections the pool may open.", {{"", st.size}});
                           metric("maeul_db_pool_in_use", "gauge", "Database connections running a job.", {{"", st.in_use}});
                           metric("maeul_db_pool_waiting", "gauge", "Jobs waiting for a database connection.", {{"", st.waiting}});
                           metric("maeul_db_pool_connected", "gauge", "Open database connections.", {{"", st.connected}});
                           metric("maeul_http_connections_active", "gauge", "Open HTTP connections.", {{"", c.active.load()}});
                           metric("maeul_http_connections_accepted_total", "counter", "HTTP connections accepted.",
                                  {{"", c.accepted.load()}});
                           metric("maeul_http_connections_timed_out_total", "counter",
                                  "Connections closed for a deadline: a request or TLS handshake that did not arrive in time, or an answer not read in time.", {{"", c.timed_out.load()}});
                           metric("maeul_http_requests_rejected_total", "counter",
                                  "Requests rejected before routing (400, 413, 431).", {{"", c.rejected.load()}});
                           metric("maeul_http_connections_refused_total", "counter",
                                  "Connections answered 503 and closed for a connection cap.",
                                  {{"{limit=\"max_connections\"}", c.refused_total.load()},
                                   {"{limit=\"max_connections_per_ip\"}", c.refused_per_ip.load()}});
                           metric("maeul_http_accept_errors_total", "counter",
                                  "accept() failures (out of descriptors or memory: the accept loop backs off).",
                                  {{"", c.accept_errors.load()}});
                           metric("maeul_tls_handshakes_failed_total", "counter",
                                  "TLS handshakes that failed or did not finish in time.", {{"", c.tls_failed.load()}});
                           metric("maeul_tls_reloads_total", "counter", "Certificate reloads on SIGHUP by outcome.",
                                  {{"{outcome=\"ok\"}", c.tls_reloads.load()},
                                   {"{outcome=\"refused\"}", c.tls_reload_failures.load()}});
                           metric("maeul_ingest_readings_total", "counter", "Readings by outcome.",
                                  {{"{outcome=\"accepted\"}", is.accepted},
                                   {"{outcome=\"duplicate\"}", is.duplicates},
                                   {"{outcome=\"rejected\"}", is.rejected}});
                           metric("maeul_ingest_pending_rows", "gauge", "Rows waiting for a writer.",
                                  {{"", std::int64_t(is.pending_rows)}});
                           metric("maeul_ingest_batches_total", "counter", "Batch transactions committed or attempted.",
                                  {{"", ws.batches}});
                           metric("maeul_ingest_fallbacks_total", "counter",
                                  "Batches that held a stored reading and took the staging path.", {{"", ws.fallbacks}});
                           metric("maeul_live_clients", "gauge", "Open WebSocket subscribers.",
                                  {{"", std::int64_t(hub.clients())}});
                           metric("maeul_live_frames_total", "counter", "Frames handed to WebSocket sessions.",
                                  {{"", hub.frames_published()}});
                           metric("maeul_live_coalesced_total", "counter",
                                  "Readings replaced by a newer one for a slow client.", {{"", c.ws_coalesced.load()}});
                           metric("maeul_live_disconnects_total", "counter", "WebSocket clients closed by the server.",
                                  {{"{reason=\"slow\"}", c.ws_slow_closed.load()}});
                           metric("maeul_alert_events_total", "counter", "Alert events committed and pushed.",
                                  {{"", os.events}});
                           metric("maeul_rules_readings_total", "counter", "Readings by rule-evaluation outcome.",
                                  {{"{outcome=\"evaluated\"}", os.readings_evaluated},
                                   {"{outcome=\"dropped\"}", os.readings_dropped}});
                           metric("maeul_rules_evaluations_total", "counter",
                                  "(rule, reading) pairs the engine evaluated after its index.", {{"", os.rule_evaluations}});
                           metric("maeul_rules_routines_refused_total", "counter",
                                  "Activities an inactivity rule did not learn: it already had its most households.",
                                  {{"", os.routines_refused}});
                           metric("maeul_queue_depth", "gauge", "Items waiting in each bounded queue.",
                                  {{"{queue=\"rules\"}", os.pending_readings},
                                   {"{queue=\"alert_transitions\"}", os.pending_transitions},
                                   {"{queue=\"webhook_deliveries\"}", os.deliveries_in_flight},
                                   {"{queue=\"ingest_rows\"}", std::int64_t(is.pending_rows)},
                                   {"{queue=\"password_hashes\"}", hasher.queued()}});
                           metric("maeul_queue_overflow_total", "counter",
                                  "Items each bounded queue shed by its overflow policy.",
                                  {{"{queue=\"rules\",policy=\"skip_evaluation\"}", os.readings_dropped},
                                   {"{queue=\"alert_transitions\",policy=\"coalesce\"}", os.transitions_coalesced},
                                   {"{queue=\"ingest_rows\",policy=\"reject_503\"}", is.overflowed},
                                   {"{queue=\"live_readings\",policy=\"coalesce\"}", c.ws_coalesced.load()},
                                   {"{queue=\"live_events\",policy=\"close_client\"}", c.ws_slow_closed.load()},
                                   {"{queue=\"password_hashes\",policy=\"reject_503\"}", hasher.overflowed()}});
                           metric("maeul_sign_ins_total", "counter", "Sign-in attempts by outcome.",
                                  {{"{outcome=\"ok\"}", ps.sign_ins_ok},
                                   {"{outcome=\"refused\"}", ps.sign_ins_refused},
                                   {"{outcome=\"locked\"}", ps.sign_ins_locked}});
                           metric("maeul_sign_in_lockouts_total", "counter",
                                  "Usernames locked after too many failed sign-ins (each an alarm).", {{"", ps.lockouts}});
                           if (spooler) {
                             auto sp = spooler->current();
                             metric("maeul_spool_bytes", "gauge", "Bytes in the local spool, waiting for the database.",
                                    {{"", std::int64_t(sp.bytes)}});
                             metric("maeul_spool_readings", "gauge", "Readings in the local spool, waiting for the database.",
                                    {{"", std::int64_t(sp.readings)}});
                             metric("maeul_spool_segments", "gauge", "Segment files in the local spool.",
                                    {{"", std::int64_t(sp.segments)}});
                             metric("maeul_spool_readings_total", "counter", "Readings through the spool by stage.",
                                    {{"{stage=\"spooled\"}", is.spooled},
                                     {"{stage=\"replayed\"}", is.replayed},
                                     {"{stage=\"published\"}", is.replay_published},
                                     {"{stage=\"refused\"}", is.replay_refused}});
                             metric("maeul_spool_fsyncs_total", "counter", "fsyncs of spool segments (each serves many requests).",
                                    {{"", sp.fsyncs}});
                             metric("maeul_spool_refused_total", "counter", "Requests answered 503 because the spool was full.",
                                    {{"", sp.refused_full}});
                           }
                           metric("maeul_database_up", "gauge",
                                  "1 when the last write or replay reached the database, 0 while it cannot be reached.",
                                  {{"", is.database_up ? 1 : 0}});
                           metric("maeul_webhook_deliveries_total", "counter", "Webhook delivery attempts by outcome.",
                                  {{"{outcome=\"ok\"}", os.deliveries_ok},
                                   {"{outcome=\"failed\"}", os.deliveries_failed},
                                   {"{outcome=\"dead\"}", os.deliveries_dead},
                                   {"{outcome=\"dropped\"}", os.deliveries_dropped},
                                   {"{outcome=\"refused\"}", os.deliveries_refused}});
                           return out;
                         },
                         ingest, observations, ingest::system_now_us, operations, [&hub](domain::event_grant g) { return hub.handler(std::move(g)); }, kpis,
                         s.city.timezone, s.city.name, registry_svc, observation_svc, operations_svc, token_svc, kpi_svc,
                         query_svc};
  // MQTT input (API.md §10; docs/architecture.md, flow "An MQTT reading"): off while mqtt.url is empty.
  storage::dead_letter_store dead_letters(pool, s.mqtt.dead_letters_keep);
  std::unique_ptr<mqtt::client> mqtt_in;
  if (!s.mqtt.url.empty()) {
    mqtt::options mo{s.mqtt.host, s.mqtt.port, s.mqtt.tls, s.mqtt.ca_file, s.mqtt.client_id, s.mqtt.username,
                     s.mqtt.password, s.mqtt.keepalive_s, s.mqtt.reconnect_min_ms, s.mqtt.reconnect_max_ms,
                     s.mqtt.max_in_flight};
    try {
      mqtt_in = std::make_unique<mqtt::client>(io.at(0).get_executor(), mo, observation_svc, dead_letters,
                                               ingest::system_now_us);
      // Reading messages are parsed and ingested on every I/O context, not only the strand's.
      mqtt_in->set_workers([&io]() -> boost::asio::any_io_executor { return io.next().get_executor(); });
    } catch (const std::exception& e) {
      return fail(exit_config, e.what());
    }
    services.extra_metrics = [prev = services.extra_metrics, m = mqtt_in.get()] { return prev() + m->metrics_text(); };
  }
  services.dead_letters = &dead_letters;
  services.people = &people_svc;
  services.welfare = &welfare_svc;
  services.retention_days = retention_days;
  services.extra_metrics = [prev = services.extra_metrics, &welfare_svc, &households, &partitions_dropped, &residents] {
    auto w = welfare_svc.stats();
    std::string out = prev();
    auto ap = residents.appender_state();
    out += "# HELP maeul_access_appender_records_total Card reads' access records by outcome (the appender's group commit).\n"
           "# TYPE maeul_access_appender_records_total counter\n"
           "maeul_access_appender_records_total{outcome=\"appended\"} " + std::to_string(ap.appended) + "\n"
           "maeul_access_appender_records_total{outcome=\"refused\"} " + std::to_string(ap.refused) + "\n"
           "maeul_access_appender_records_total{outcome=\"failed\"} " + std::to_string(ap.failed) + "\n"
           "# HELP maeul_access_appender_commits_total Commits of grouped access records.\n"
           "# TYPE maeul_access_appender_commits_total counter\nmaeul_access_appender_commits_total " +
           std::to_string(ap.batches) + "\n# HELP maeul_access_appender_waiting Access records waiting for a commit.\n"
           "# TYPE maeul_access_appender_waiting gauge\nmaeul_access_appender_waiting " + std::to_string(ap.waiting) + "\n";
    out += "# HELP maeul_retention_partitions_dropped_total Monthly partitions dropped past their domain's retention.\n"
           "# TYPE maeul_retention_partitions_dropped_total counter\nmaeul_retention_partitions_dropped_total " +
           std::to_string(partitions_dropped.load()) + "\n";
    out += "# HELP maeul_welfare_access_total Reads of personal data by kind (each in the access records).\n"
           "# TYPE maeul_welfare_access_total counter\n";
    out += "maeul_welfare_access_total{action=\"read\"} " + std::to_string(w.reads) + "\n";
    out += "maeul_welfare_access_total{action=\"reveal\"} " + std::to_string(w.reveals) + "\n";
    out += "maeul_welfare_access_total{action=\"reveal_refused\"} " + std::to_string(w.refused_reveals) + "\n";
    out += "maeul_welfare_access_total{action=\"erase\"} " + std::to_string(w.erasures) + "\n";
    out += "# HELP maeul_welfare_households Registered households (consenting or lapsed).\n"
           "# TYPE maeul_welfare_households gauge\nmaeul_welfare_households " +
           std::to_string(households.households()) + "\n";
    out += "# HELP maeul_welfare_withheld_readings_total Readings of households whose consent had lapsed, kept as a count only.\n"
           "# TYPE maeul_welfare_withheld_readings_total counter\nmaeul_welfare_withheld_readings_total " +
           std::to_string(households.withheld_total()) + "\n";
    return out;
  };
  services.metrics_public = s.metrics.is_public;
  // Bus operations (API §11, docs/transit.md): the network in memory for matching positions.
  storage::transit_store transit_store(pool);
  transit::options topts;
  topts.timezone = s.city.timezone;
  transit::service transit_svc(transit_store, topts);
  // Bunching rules (docs/transit.md): the rule set as the operations service loads it, and the
  // alerts opened and cleared through its ordered queue.
  ops.on_rules = [&transit_svc](const std::vector<rules::rule>& rs) { transit_svc.set_rules(rs); };
  transit_svc.on_transitions = [&ops](std::vector<rules::transition> ts) { ops.submit(std::move(ts)); };
  try {
    run_now(ops.load_rules());
    run_now(transit_svc.load());
  } catch (const std::exception& e) {
    return fail(exit_database, std::string("cannot load the bus network: ") + e.what());
  }
  services.transit = &transit_svc;
  // The demand forecast and plan (docs/transit.md): the city's calendar and the planner's inputs.
  storage::transit_demand_store demand_store(pool);
  transit::planning_options popts;
  popts.timezone = s.city.timezone;
  popts.cal.holidays = s.city.holidays;
  popts.cal.tourist_peaks = s.city.tourist_peaks;
  popts.forecast.use_weather = false;  // no weather series is read by the live service yet
  popts.plan.vehicle_capacity = s.transit.vehicle_capacity;
  popts.plan.target_load_factor = s.transit.target_load_factor;
  popts.plan.max_wait_min = s.transit.max_wait_min;
  popts.plan.min_headway_min = s.transit.min_headway_min;
  popts.plan.vehicles = s.transit.vehicles;
  popts.layover_min = s.transit.layover_min;
  popts.history_days = s.transit.history_days;
  for (const auto& p : s.transit.periods) popts.periods.push_back({p.name, p.start_hour, p.end_hour});
  if (auto bad = transit::validate(popts.plan)) return fail(exit_config, "transit: " + *bad);
  transit::planning planning_svc(transit_svc, transit_store, demand_store, popts);
  services.planning = &planning_svc;
  services.extra_metrics = [prev = services.extra_metrics, &planning_svc] {
    return prev() + "# HELP maeul_transit_plan_pending Bus demand forecasts waiting or running.\n"
           "# TYPE maeul_transit_plan_pending gauge\nmaeul_transit_plan_pending " +
           std::to_string(planning_svc.pending()) +
           "\n# HELP maeul_transit_plan_refused_total Forecast requests refused (503): the planning queue was full.\n"
           "# TYPE maeul_transit_plan_refused_total counter\nmaeul_transit_plan_refused_total " +
           std::to_string(planning_svc.overflowed()) + "\n";
  };
  transit_svc.on_vehicles = [&hub](std::vector<transit::vehicle_event> events) {
    std::vector<live::hub::vehicle_frame> frames;
    frames.reserve(events.size());
    for (const auto& e : events)
      frames.push_back({e.vehicle, e.route, std::make_shared<const std::string>(transit::vehicle_frame(e))});
    hub.publish_vehicles(frames);
  };
  if (mqtt_in)
    mqtt_in->set_avl([&transit_svc](std::string vehicle, std::string payload, std::int64_t now_us) {
      return transit_svc.ingest_message(std::move(vehicle), std::move(payload), now_us);
    });
  api::add_routes(router, services);
  router.set_rate_limit(s.limits.requests_per_s, s.limits.burst);
  std::error_code exe_ec;
  auto exe = std::filesystem::read_symlink("/proc/self/exe", exe_ec);
  auto web_root = api::find_web_root(s.http.web_root, exe);
  std::vector<std::pair<std::string, std::string>> web_meta;  // the dashboard's settings (web/src/config.js)
  if (!s.web.tiles.empty()) {
    web_meta.emplace_back("maeul-tile-url", s.web.tiles);
    web_meta.emplace_back("maeul-tile-attribution", s.web.tiles_attribution);
    web_meta.emplace_back("maeul-tile-max-zoom", std::to_string(s.web.tiles_max_zoom));
  }
  auto web = std::make_shared<api::static_files>(web_root, web_meta);
  if (web->empty())
    spdlog::warn("no dashboard files in {} (run scripts/build); the API works without them", web_root.string());
  else
    spdlog::info("dashboard: {} files from {}", web->size(), web_root.string());
  router.set_fallback([web](const net::request& r) { return web->get(r.path, r.if_none_match, r.accept); });
  services.status = [&spooler, &ingest, &ops, &server, started, m = mqtt_in.get()] {
    api::status_info i;
    i.tls = server.tls();
    if (m) {
      auto ms = m->snapshot();
      i.mqtt_enabled = true;
      i.mqtt_connected = ms.connected;
      i.mqtt_stored = ms.stored;
      i.mqtt_dead = ms.dead;
      i.mqtt_in_flight = ms.in_flight;
      i.mqtt_reconnects = ms.reconnects;
    }
    if (spooler) {
      auto sp = spooler->current();
      i.spool_enabled = true;
      i.spool_bytes = sp.bytes;
      i.spool_readings = sp.readings;
      i.spool_segments = sp.segments;
      i.replaying = ingest.stats().replaying;
    }
    auto os = ops.stats();
    i.webhooks_in_flight = os.deliveries_in_flight;
    i.webhooks_delivered = os.deliveries_ok;
    i.webhooks_failed = os.deliveries_failed;
    i.webhooks_dead = os.deliveries_dead;
    i.version = "0.1.0";
    i.uptime_s = std::chrono::duration_cast<std::chrono::seconds>(std::chrono::steady_clock::now() - started).count();
    return i;
  };
  asio::co_spawn(io.at(0), ops.run_ticks(), asio::detached);
  asio::co_spawn(io.at(0), ops.run_webhooks(), asio::detached);
  asio::co_spawn(io.at(0), partition_upkeep(&observations, s.ingest.partitions_ahead), asio::detached);
  asio::co_spawn(io.at(0), rollup_compactor(&observations, s.ingest.rollup_interval_ms), asio::detached);
  asio::co_spawn(io.at(0), live_expiry(&hub, &auth), asio::detached);
  asio::co_spawn(io.at(0), welfare_upkeep(&welfare_svc), asio::detached);
  asio::co_spawn(io.at(0), retention_upkeep(&observations, retention_days, s.retention.interval_s, &partitions_dropped),
                 asio::detached);
  if (spooler) asio::co_spawn(io.at(0), ingest.run_replay(200, 250, 5000), asio::detached);

  // Signals are caught from here on (queued until the wait below): a SIGTERM that arrives right
  // after "listening" is a clean shutdown, never the default action.
  asio::signal_set signals(io.at(0), SIGINT, SIGTERM);
  // SIGHUP: reload the TLS certificate and key (new connections get them; open ones keep theirs).
  asio::signal_set hangups(io.at(0), SIGHUP);

  // 3. listen
  std::uint16_t port = 0;
  try {
    port = server.start();
  } catch (const boost::system::system_error& e) {
    return fail(exit_bind, "cannot listen on " + s.http.listen + ": " + e.code().message());
  } catch (const std::runtime_error& e) {
    return fail(exit_config, std::string("TLS: ") + e.what());
  }
  spdlog::info("listening on {}://{}:{}", server.tls() ? "https" : "http",
               s.http.host.find(':') != std::string::npos ? "[" + s.http.host + "]" : s.http.host, port);
  std::function<void()> await_hangup = [&] {
    hangups.async_wait([&](const boost::system::error_code& ec, int) {
      if (ec) return;
      if (!server.tls()) {
        spdlog::info("SIGHUP: TLS is off, nothing to reload");
      } else {
        std::string summary;
        if (auto why = server.reload_tls(summary); why.empty())
          spdlog::info("SIGHUP: TLS certificate reloaded for new connections: {}", summary);
        else
          spdlog::error("SIGHUP: TLS certificate not reloaded, keeping the current one: {}", why);
      }
      await_hangup();
    });
  };
  await_hangup();
  if (mqtt_in) mqtt_in->start();

  // 4. signals: stop accepting, let in-flight requests finish, then stop
  signals.async_wait([&](const boost::system::error_code& ec, int sig) {
    if (ec) return;
    spdlog::info("signal {}: shutting down", sig);
    hangups.cancel();
    server.shutdown();
    asio::co_spawn(io.at(0), stop_mqtt_then_drain(mqtt_in.get(), &server, &io, s.http.shutdown_grace_ms),
                   asio::detached);
  });

  io.run();
  rules_thread.stop();
  rules_thread.join();
  if (spooler) spooler->stop();
  hasher.stop();
  writer_pool.stop();
  pool.stop();
  spdlog::info("stopped");
  return exit_ok;
}

}  // namespace

int run(int argc, char** argv) {
  cli c;
  try {
    c = parse_args(argc, argv);
  } catch (const std::invalid_argument& e) {
    std::fprintf(stderr, "maeuld: %s (see maeuld --help)\n", e.what());
    return exit_usage;
  }
  if (c.command == "help") {
    std::fputs(usage_text, stdout);
    return exit_ok;
  }
  if (c.command == "version") {
    std::puts("maeuld 0.1.0");
    return exit_ok;
  }
  config::settings s;
  try {
    auto base = config::process_env();
    auto overrides = c.overrides;
    s = config::load(c.config_path, [base, overrides](const std::string& name) -> std::optional<std::string> {
      if (auto it = overrides.find(name); it != overrides.end()) return it->second;
      return base(name);
    });
  } catch (const config::config_error& e) {
    return fail(exit_config, std::string("config error: ") + e.what());
  }
  setup_logging(s.log);
  // libpq's connect timeout for every connection, the start-up ones included (a URL may override it).
  ::setenv("PGCONNECT_TIMEOUT", std::to_string(s.db.connect_timeout_s).c_str(), 0);

  if (c.command == "migrate") {
    return with_database("migration", [&]() -> int {
      auto r = storage::migrate(s.db.url, storage::embedded_migrations(), s.db.migration_lock_timeout_s);
      for (const auto& name : r.applied) spdlog::info("applied migration {}", name);
      spdlog::info("database schema at version {}", r.after);
      return exit_ok;
    });
  }
  if (c.command == "token-create") {
    nlohmann::json body = {{"name", c.name}, {"role", c.role}, {"sensors", c.sensors}};
    auto v = domain::validate_token(body);
    if (!v) return fail(exit_usage, "token create: " + field_errors(v.error()));
    return with_database("token create", [&]() -> int {
      storage::migrate(s.db.url, storage::embedded_migrations(), s.db.migration_lock_timeout_s);
      auto created = storage::create_token_now(s.db.url, *v);
      std::cout << created.token << std::endl;
      return exit_ok;
    });
  }
  if (c.command == "mqtt-acl") {
    return with_database("mqtt acl", [&]() -> int {
      std::cout << mqtt_acl(s, storage::device_grants_now(s.db.url)) << std::flush;
      return exit_ok;
    });
  }
  if (c.command == "user-create") {
    std::string password;
    if (const char* p = std::getenv("MAEUL_USER_PASSWORD"); p && *p) {
      password = p;
    } else if (!std::getline(std::cin, password)) {
      return fail(exit_usage, "user create: no password (set MAEUL_USER_PASSWORD or write it on stdin)");
    }
    if (!password.empty() && password.back() == '\r') password.pop_back();
    nlohmann::json body = {{"username", c.username}, {"display_name", c.display_name}, {"role", c.role},
                           {"zones", c.zones},       {"domains", c.domains},           {"password", password}};
    auto v = domain::validate_user(body);
    if (!v) return fail(exit_usage, "user create: " + field_errors(v.error()));
    return with_database("user create", [&]() -> int {
      storage::migrate(s.db.url, storage::embedded_migrations(), s.db.migration_lock_timeout_s);
      auto hash = services::password_hasher::hash_now(
          v->password, {static_cast<unsigned long long>(s.auth.password_ops), std::size_t(s.auth.password_mem_kib) * 1024});
      auto created = storage::create_user_now(s.db.url, *v, hash);
      if (!created) return fail(exit_usage, "user create: " + created.error().detail);
      std::cout << *created << std::endl;
      return exit_ok;
    });
  }
  if (c.command == "keys-rotate") {
    if (s.privacy.key_file.empty()) return fail(exit_config, "keys rotate: privacy.key_file is not set");
    return with_database("keys rotate", [&]() -> int {
      // 1. a new current key in front of the old ones in the file (a running maeuld re-reads it
      // when it changes, and whenever a record names a key it lacks); 2. the new id made the active
      // one in vault_keys and the old ones retired, in a transaction that waits for registrations
      // under them (after it no record can be sealed under an old key); 3. every data key re-wrapped,
      // first skipping rows a change holds, then waiting for them; 4. only when no record is left
      // under an old key, the old keys leave the file. Interrupted: run it again (a run only ever
      // adds one key; records under any key still in the file are moved).
      auto keys = privacy::read_key_file(s.privacy.key_file, false, nullptr, "privacy.key_file");
      storage::migrate(s.db.url, storage::embedded_migrations(), s.db.migration_lock_timeout_s);
      keys.insert(keys.begin(), privacy::random_key());
      privacy::write_key_file(s.privacy.key_file, keys, "privacy.key_file");
      privacy::keyring ring(keys);
      spdlog::info("keys rotate: new key id {} written to {}", ring.current_id(), s.privacy.key_file);
      storage::retire_keys_now(s.db.url, ring.current_id());
      auto moved = storage::rotate_keys_now(s.db.url, ring);
      moved += storage::rotate_remaining_now(s.db.url, ring);
      if (auto left = storage::not_under_now(s.db.url, ring.current_id()); left > 0)
        return fail(exit_config, "keys rotate: " + std::to_string(left) + " record(s) are still under older keys; the "
                                 "older keys stay in " + s.privacy.key_file + ": run it again");
      privacy::write_key_file(s.privacy.key_file, {keys.front()}, "privacy.key_file");
      for (auto& k : keys) sodium_memzero(k.data(), k.size());
      spdlog::info("keys rotate: {} record(s) moved to key id {}; older keys removed from {}", moved, ring.current_id(),
                   s.privacy.key_file);
      std::cout << ring.current_id() << std::endl;
      return exit_ok;
    });
  }
  return serve(s);
}

}  // namespace maeul::app
