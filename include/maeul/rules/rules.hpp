// Alert rules: their validation, and the pure evaluation engine that turns readings and clock
// ticks into open/clear transitions (with `for` durations and hysteresis). No I/O, no clock: time
// comes in with the readings and the ticks.
#pragma once
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <unordered_map>
#include <variant>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "maeul/domain/problem.hpp"
#include "maeul/domain/registry.hpp"
#include "maeul/rules/routine.hpp"

namespace maeul::rules {

enum class op { gt, ge, lt, le };
bool compare(op o, double value, double threshold);
std::optional<op> parse_op(std::string_view s);
const char* op_text(op o);

inline constexpr std::int64_t max_duration_us = 366LL * 86400 * 1000000;  // any rule duration
inline constexpr std::int64_t max_rate_window_us = 86400LL * 1000000;      // a rate rule's window
inline constexpr std::size_t max_rate_entries = 100000;                    // readings kept per window

// Parses "90s", "5m", "6h", "1d" (or a number of seconds) into microseconds; nullopt when
// malformed, negative or longer than max_duration_us (never overflows).
std::optional<std::int64_t> parse_duration_us(const nlohmann::json& v);

struct selector {
  std::string sensor, kind, domain, zone;  // empty: any
};

struct condition {
  std::string metric;
  op o = op::gt;
  double value = 0;
  std::string kind;  // optional: only sensors of this kind
};

// One stage of a staged threshold rule (API §12): reached when the value is beyond `value` (in the
// rule's `op` direction); left, stepping down, when it is back beyond `clear` (default: `value`).
struct stage {
  double value = 0;
  std::string severity;  // info, warning or critical
  std::optional<double> clear;
};
inline constexpr std::size_t max_stages = 8;

struct threshold_rule {
  std::string metric;
  op o = op::gt;
  double value = 0;  // with stages: stages.front().value
  std::int64_t for_us = 0;
  std::optional<double> clear;  // the alert clears beyond it (with stages: below stage 0)
  std::vector<stage> stages;    // empty: one level, `value`, at the rule's severity
};

// The pure stage step of a staged threshold rule for one subject. `level`: the stage reached (-1:
// none, the alert is not open), `pending_since`: when the value first went beyond a stage above
// `level` (-1: it is not). Rising needs the value beyond a higher stage for `for_us` without a
// break, and then reaches the highest stage the value was beyond for all that time (a stage reached
// later in the window starts its own `for` then); falling is at once, stage by stage
// while the value is beyond each stage's clear (stage 0's: its own clear, else the rule's `clear`,
// else its value). Returns the new level; updates `pending_since` and `pending_stage`.
struct stage_state {
  int level = -1;
  std::int64_t pending_since = -1;  // since when the value has been beyond a stage above `level`
  int pending_stage = -1;           // the lowest stage it has been beyond for all that time
};
int stage_step(const threshold_rule& t, stage_state& st, double value, std::int64_t ts_us);
// The threshold that stage `k` clears at (see stage_step).
double stage_clear(const threshold_rule& t, int k);

struct rate_rule {
  std::string metric;
  double delta = 0;
  std::int64_t window_us = 0;
};

struct silence_rule {
  std::int64_t for_us = 0;
};

struct composite_rule {
  std::vector<condition> conditions;
  std::int64_t window_us = 0;
};

// Routine-aware inactivity (rules/routine.hpp): opens when the gap since a sensor's last activity
// is unusual for the hour it is in, as learned from that sensor's own recent weeks; clears at the
// next activity. Activity: any reading of the sensor, or, with `metric`, a reading of that metric
// with a value above 0 (a monitor that reports 0 motion every 15 minutes is not active).
struct inactivity_rule {
  std::string metric;  // empty: any reading
  routine_params model;
};

// Bus bunching (docs/transit.md "Bunching"): a headway at a stop of `route` below `ratio` times
// the scheduled one, or (with `distance_m`) two vehicles of the route within that many metres.
// Not evaluated by this engine: the transit module judges each stop arrival and opens and clears
// the alerts through the operations service.
struct bunching_rule {
  std::string route;
  double ratio = 0.5;
  std::optional<double> distance_m;
};

// What a rule watches, one alternative per kind.
using rule_spec = std::variant<threshold_rule, rate_rule, silence_rule, composite_rule, inactivity_rule, bunching_rule>;

// The kind's name as stored and returned: threshold, rate, silence, composite, inactivity or bunching.
const char* kind_name(const rule_spec& s);

struct rule {
  std::string id;
  domain::localized_name name;
  std::string kind;  // kind_name(spec), kept for storage and answers
  selector sel;
  std::string severity = "warning";  // a staged rule: its highest stage's
  bool enabled = true;
  rule_spec spec;
  std::string spec_json;  // the normalized rule, as stored and returned
  std::string incident_category;  // "incident":{"category"}: a critical alert opens/joins one; "" none
};

// The title and text of an alert, in Korean and English (API §12), from its rule's name and
// condition: `value` the reading (nullopt: none), `unit` the metric's unit ("" when unknown),
// `severity` the alert's now, `stage` the stage reached (-1: not staged). Pure.
struct alert_words {
  domain::localized_name title, text;
};
alert_words describe_alert(const rule& r, const std::string& sensor, const std::string& metric,
                           std::optional<double> value, const std::string& unit, const std::string& severity,
                           int stage, const std::string& message);

// Validates a rule body; `path_id` from the URL for PUT. Generates no id: an absent id is left empty.
domain::outcome<rule> parse_rule(const nlohmann::json& body, std::string_view path_id = {});
// Rebuilds a rule from its stored spec (trusted).
rule rule_from_spec(const std::string& spec_json);

struct sensor_info {
  std::string id, kind, domain, zone;
  std::int64_t last_ts_us = 0;  // newest reading of any metric; 0: none yet
};

// A sensor as a reading names it: views into the caller's strings, valid for the call only, so
// that handing a committed batch to the engine copies no string.
struct sensor_ref {
  std::string_view id, kind, domain, zone;
  sensor_ref() = default;
  sensor_ref(std::string_view id_, std::string_view kind_, std::string_view domain_, std::string_view zone_)
      : id(id_), kind(kind_), domain(domain_), zone(zone_) {}
  sensor_ref(const sensor_info& s)  // NOLINT(google-explicit-constructor): a sensor_info is a sensor
      : id(s.id), kind(s.kind), domain(s.domain), zone(s.zone) {}
};

struct reading {
  sensor_ref sensor;
  std::string_view metric;
  std::int64_t ts_us = 0;
  double value = 0;
};

struct transition {
  std::string rule_id;
  std::string subject;  // sensor id, or zone id for composite rules
  bool open = true;     // false: the condition cleared
  // A staged rule: true when an open alert moved to another stage (open is true too); `severity`
  // is the stage's ("" for unstaged rules: the rule's), `stage` its index (-1: unstaged).
  bool severity_change = false;
  std::string severity;
  int stage = -1;
  std::string sensor, zone, domain, metric;
  std::optional<double> value;
  std::string message;
  std::int64_t at_us = 0;
  // The message in Korean, when the rule's judge writes one (the bunching judge does): the alert's
  // Korean text; otherwise describe_alert makes it.
  std::string message_ko;
};

bool matches(const selector& s, const sensor_ref& info);

// Per-rule, per-subject state, and an index from (sensor kind, metric) to the rules a reading can
// concern, so a reading is checked only against those. Not thread-safe: the caller serializes calls.
class engine {
 public:
  engine() = default;
  // `routine_subject_weeks`: the routine memory bound of each inactivity rule (see below).
  explicit engine(std::int64_t routine_subject_weeks) : routine_budget_(routine_subject_weeks) {}

  // Replaces the rule set; state of rules whose spec did not change is kept.
  void set_rules(std::vector<rule> rules);
  const std::vector<rule>& rules() const { return rules_; }
  // Whether on_tick has anything to do (a silence, composite or inactivity rule is enabled).
  bool has_timed_rules() const { return !timed_.empty(); }

  // Evaluates committed readings (in time order per sensor).
  std::vector<transition> on_readings(const std::vector<reading>& batch);

  // Time-driven rules: silence (no reading for `for`), composite windows expiring, and inactivity
  // (the gap since the last activity unusual at now's hour; the routine learns up to now).
  // `sensors` is every known sensor with its newest reading time. `started_us`: when watching
  // began (a sensor that never reported counts as silent since then; an inactivity rule with no
  // routine for a sensor yet, as after a restart, counts its gap from the sensor's newest reading,
  // or from `started_us` when it has a `metric`, against `cold_start`).
  std::vector<transition> on_tick(std::int64_t now_us, const std::vector<sensor_info>& sensors,
                                  std::int64_t started_us);

  bool active(const std::string& rule_id, const std::string& subject) const;

  // Marks (rule, subject) active, as found in the database at start (an open alert whose
  // condition had not cleared), so that the next reading that ends the condition clears it.
  // Ignored for an unknown rule.
  // `stage`: the stage an open alert of a staged rule had reached (-1: unknown or unstaged; clamped
  // to the rule's stages).
  void restore_active(const std::string& rule_id, const std::string& subject, int stage = -1);

  // (rule, reading) pairs evaluated so far: what the index saves shows here.
  std::int64_t evaluations() const { return evaluated_; }

  // The routine an inactivity rule learned for a subject (sensor id); nullptr when none.
  const routine* routine_of(const std::string& rule_id, const std::string& subject) const;
  // Activities not learned because the rule already had its most subjects (below); each counts.
  // Such a subject gets no alert either.
  std::int64_t routines_refused() const { return routines_refused_; }
  // Routine memory bound: an inactivity rule keeps at most this many subject-weeks (each week is
  // 168 slots of 5 bytes: 50,000 subjects at 4 weeks, 16,666 at 12, about 168 MB either way).
  static constexpr std::int64_t default_routine_subject_weeks = 200000;

 private:
  // Subjects (sensor ids, zone ids) are interned: state is keyed by a small number, so the
  // per-rule lookups of a reading hash an integer, not a string.
  using subject_id = std::uint32_t;
  struct rate_state {
    std::deque<std::pair<std::int64_t, double>> window;   // monotonic (ts, value), in time order
    std::deque<std::pair<std::int64_t, double>> history;  // every (ts, value) in the window, in time order
  };
  // Only subjects whose condition holds (or held) have state: a reading that is normal for a
  // subject with no state costs no allocation.
  struct subject_state {
    bool active = false;
    int pending_stage = -1;                                 // staged threshold: see stage_state
    std::int64_t pending_since = -1;                        // threshold `for`
    int level = -1;                                         // staged threshold: the stage reached
    std::unique_ptr<rate_state> rate;                       // rate rules only
    std::vector<std::pair<bool, std::int64_t>> conditions;  // composite: holds, at
    std::unique_ptr<routine> model;                         // inactivity rules only
  };
  using state_map = std::unordered_map<subject_id, subject_state>;
  struct text_hash {
    using is_transparent = void;
    std::size_t operator()(std::string_view s) const noexcept { return std::hash<std::string_view>{}(s); }
  };
  template <class T>
  using text_map = std::unordered_map<std::string, T, text_hash, std::equal_to<>>;
  static constexpr subject_id no_subject = ~subject_id(0);

  // Indexes into rules_ of the rules a reading of (kind, metric) may concern, in rule order, each
  // once; computed once per (kind, metric) and cached until the rules change.
  const std::vector<std::uint32_t>& candidates(std::string_view kind, std::string_view metric);
  subject_id find_subject(std::string_view name) const;
  subject_id intern(std::string_view name);
  void evaluate(std::size_t i, const reading& rd, std::vector<transition>& out, subject_id& sensor_sid,
                subject_id& zone_sid);

  std::vector<rule> rules_;
  std::vector<state_map> state_;  // per rule: subject -> state
  text_map<std::size_t> by_id_;
  text_map<std::vector<std::uint32_t>> by_key_;  // "kind\nmetric" ("" kind: any)
  std::vector<std::uint32_t> any_metric_;       // every reading concerns them (silence, inactivity)
  std::vector<std::uint32_t> timed_;            // the clock drives them
  text_map<std::vector<std::uint32_t>> merged_;  // candidates() cache, at most max_cached_keys
  std::string key_;                              // reused lookup key
  text_map<subject_id> subject_ids_;
  std::vector<std::string> subject_names_;
  std::int64_t evaluated_ = 0;
  std::int64_t routines_refused_ = 0;
  std::int64_t routine_budget_ = default_routine_subject_weeks;
  static constexpr std::size_t max_cached_keys = 65536;
};

}  // namespace maeul::rules
