// The Ordonez ADL data set (../shared/data/ordonez-adl: binary home sensors and labelled daily
// activities in two single-resident homes) read into activity times, and replayed through the real
// rule engine (rules::engine) with ticks, with or without an injected stop of the resident. Used
// by maeul_welfare_validate (docs/welfare.md) and its unit test; no clock, no I/O but the reading
// of the files.
#pragma once
#include <cstdint>
#include <istream>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "maeul/rules/rules.hpp"

namespace maeul::adl {

// One sensor activation: the sensor went on at start and off at end.
struct activation {
  std::int64_t start_us = 0, end_us = 0;
  std::string location, type, place;  // "Basin", "PIR", "Bathroom"
};

// One labelled activity: "Sleeping", "Leaving", "Spare_Time/TV"...
struct label {
  std::int64_t start_us = 0, end_us = 0;
  std::string activity;
};

// What a read kept and what it skipped (each skipped line with its number and why).
struct read_report {
  std::size_t lines = 0, rows = 0;
  std::vector<std::string> skipped;
};

// "2011-11-28" "02:27:59" as microseconds since the epoch, the wall-clock time taken as UTC (the
// files carry no time zone); nullopt when malformed.
std::optional<std::int64_t> parse_time(std::string_view date, std::string_view time);

// The files are tab-separated with varying runs of tabs, CRLF, two header lines and trailing
// blanks: fields are split on any run of blanks. A line whose fields do not parse (the headers) is
// skipped and reported; an end before its start is skipped too.
std::vector<activation> read_sensors(std::istream& in, read_report& report);
std::vector<label> read_labels(std::istream& in, read_report& report);

struct home {
  std::string name;  // "A"
  std::vector<activation> sensors;
  std::vector<label> labels;
  read_report sensors_report, labels_report;
};

// Reads dir/Ordonez<name>_Sensors.txt and dir/Ordonez<name>_ADLs.txt. Throws std::runtime_error
// naming the file when one cannot be opened.
home load_home(const std::string& dir, const std::string& name);

// Every start and every end of an activation: the times the resident did something, sorted, each
// once.
std::vector<std::int64_t> activity_times(const home& h);

// The label covering t ("" when none).
std::string label_at(const home& h, std::int64_t t_us);

// One replay of one home's activity through one rule: readings of a single welfare sensor at the
// activity times, ticks every tick_us, in time order (a reading before a tick at the same time).
struct replay_options {
  std::int64_t begin_us = 0;  // first tick; also when monitoring began (engine::on_tick's started)
  std::int64_t end_us = 0;    // last tick at or before it
  std::int64_t tick_us = 60LL * 1000000;
  // Readings before this are replayed without ticks between them (the routine still learns: its
  // activity rolls the hour slots); ticks start at the first tick at or after it. 0: begin_us.
  std::int64_t ticks_from_us = 0;
  // The injected stop: no reading in (stop_us, stop_us + stop_for_us]. stop_for_us 0: none.
  std::int64_t stop_us = 0, stop_for_us = 0;
};

struct replay_result {
  std::vector<std::int64_t> opened, cleared;  // when the rule's alerts opened and cleared
  std::vector<std::string> opened_messages;   // the message of each opening, in order
  std::int64_t learned_at_us = -1;            // inactivity: first tick its routine had learned; -1: never
  std::int64_t readings = 0, ticks = 0;
};

inline constexpr const char* sensor_id = "adl-home";

replay_result replay(const rules::rule& rule, const std::vector<std::int64_t>& times, const replay_options& o);

}  // namespace maeul::adl
