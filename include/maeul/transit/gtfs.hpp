// GTFS text files to the feed's rows (pure): an RFC 4180 CSV reader forgiving about what real feeds
// get wrong (a byte-order mark, CRLF or LF, quoted fields holding commas, quotes and newlines,
// spaces around header names, trailing empty lines), and per-file row checks that are strict about
// what GTFS requires. A bad row is reported and skipped; the rest is imported.
#pragma once
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "maeul/storage/transit.hpp"

namespace maeul::transit {

struct csv_table {
  std::vector<std::string> header;
  std::vector<std::vector<std::string>> rows;
  std::vector<int> lines;  // the line each row starts on (1-based, the header is line 1)
  // The column index of `name`, or -1.
  int column(std::string_view name) const;
};

// What one import may hold (parse_gtfs): each field costs a std::string (~32 B) whatever its size,
// so a file of bare commas would otherwise grow thirtyfold in memory.
struct csv_limits {
  std::size_t max_fields_per_row = 64;
  std::size_t max_rows = 3'000'000;     // over all files of the import
  std::size_t max_fields = 24'000'000;  // over all files of the import
};

// Parses CSV text; throws std::runtime_error naming the line of an unterminated quote, of a byte
// that is not UTF-8 (GTFS files are UTF-8), or where a limit is passed. `used` counts the rows and
// fields parsed so far in the import (limits over several files).
struct csv_usage {
  std::size_t rows = 0, fields = 0;
};
csv_table parse_csv(std::string_view text, const csv_limits& limits, csv_usage& used);
csv_table parse_csv(std::string_view text);

// "HH:MM:SS" (H may be one digit, hours may pass 24) to seconds; nullopt when malformed.
std::optional<int> parse_gtfs_time(std::string_view text);
// "YYYYMMDD" to "YYYY-MM-DD"; nullopt when not a real date.
std::optional<std::string> parse_gtfs_date(std::string_view text);

struct row_error {
  std::string file;
  int row = 0;   // 0-based data row
  int line = 0;  // line in the file
  std::string field, detail;
};

struct file_count {
  int rows = 0, imported = 0, errors = 0;
  bool present = false;
};

struct gtfs_result {
  storage::gtfs_feed feed;
  std::map<std::string, file_count> files;  // by file name
  std::vector<row_error> errors;            // the first max_errors
  int total_errors = 0;
  std::vector<std::string> missing;         // required files absent (the import is refused)
  std::string fatal;                        // a file that cannot be read at all (the import is refused)
};

// The files of a feed (name -> content, as unpacked) to checked rows. Required: agency.txt,
// stops.txt, routes.txt, trips.txt, stop_times.txt, and calendar.txt or calendar_dates.txt;
// optional: frequencies.txt, shapes.txt (other files are ignored). Files may sit in one folder.
// A file that is not UTF-8 or passes a limit of `limits` makes the result `fatal`, naming the file.
// Each file's text is freed once parsed.
gtfs_result parse_gtfs(std::map<std::string, std::string> files, std::size_t max_errors = 1000,
                       const csv_limits& limits = {});

}  // namespace maeul::transit
