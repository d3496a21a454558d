// The local spool: readings accepted while PostgreSQL cannot be reached, kept in append-only,
// checksummed segment files under one directory until the replayer has committed them.
// Owns the file format, the group fsync (one dedicated thread, many requests per fsync), the
// byte bound and crash recovery (a torn tail is cut off at start). Knows nothing of SQL or HTTP.
#pragma once
#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <exception>
#include <filesystem>
#include <functional>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include <boost/asio/awaitable.hpp>

#include "maeul/asio/task.hpp"
#include "maeul/storage/observations.hpp"

namespace maeul::spool {

// ---- the segment format (pure: bytes in, bytes out)
//
// A segment file is a sequence of records, nothing else:
//   u32 payload_length (little-endian) | u32 crc32c(payload) | payload
// A payload is one request's rows: u32 count, then count x (i32 series_id, i64 ts_us, f64 value),
// all little-endian. A record whose length runs past the end of the file or whose checksum does not
// match ends the valid part of the segment: everything from there on is a torn tail.

inline constexpr std::size_t record_header_bytes = 8;
inline constexpr std::size_t row_bytes = 4 + 8 + 8;
inline constexpr std::uint32_t max_record_rows = 1u << 22;  // a payload above this is corrupt

// CRC-32C (Castagnoli) of `data`, continuing from `crc` (0 to start).
std::uint32_t crc32c(const void* data, std::size_t size, std::uint32_t crc = 0);

// The bytes of one record holding `rows`.
std::string encode_record(const std::vector<storage::obs_row>& rows);

struct decoded_segment {
  std::vector<std::vector<storage::obs_row>> records;  // in file order
  std::size_t valid_bytes = 0;                        // bytes up to the end of the last good record
  bool torn = false;                                  // bytes after valid_bytes (to be cut off)
};

// Decodes the records of a segment's bytes, stopping at the first torn or corrupt record.
decoded_segment decode_segment(std::string_view bytes);

// ---- the spool

// The spool is full: nothing of the request was written (answer 503 with Retry-After).
struct full : std::runtime_error {
  using std::runtime_error::runtime_error;
};
// The spool's disk failed (write or fsync error): nothing of the request is durable.
struct io_error : std::runtime_error {
  using std::runtime_error::runtime_error;
};

struct options {
  std::filesystem::path dir;
  std::uint64_t max_bytes = 1ull << 30;     // bytes on disk (segments, pending included) at most
  std::uint64_t segment_bytes = 64ull << 20;  // a segment is closed once it holds this much
  int fsync_interval_ms = 0;  // after an fsync, wait this long to gather more appends (0: at once)
};

struct stats {
  std::uint64_t bytes = 0;     // in unreplayed segments and queued appends
  std::uint64_t readings = 0;  // rows in them
  std::uint64_t segments = 0;  // segment files on disk
  std::int64_t appended_records = 0, fsyncs = 0, refused_full = 0, replayed_readings = 0;
  std::int64_t truncated_bytes = 0;  // torn tails cut off at start
};

// One closed segment, handed to the replayer.
struct segment {
  std::uint64_t seq = 0;
  std::filesystem::path path;
  std::vector<std::vector<storage::obs_row>> records;
  std::uint64_t skipped_bytes = 0;  // corrupt bytes after the last good record (should be 0)
};

class spool {
 public:
  // Creates the directory if needed, takes an exclusive lock on it (a second process on the same
  // directory is refused), reads every segment, cuts off a torn tail and starts the fsync thread.
  // Throws std::runtime_error with a message for the user (strict start).
  explicit spool(options opts);
  ~spool();
  spool(const spool&) = delete;
  spool& operator=(const spool&) = delete;

  // Appends one record of `rows` and completes once it is fsync'd. Throws full (nothing written)
  // when it would pass max_bytes, io_error when the disk fails. Resumes on the caller's executor.
  task<void> append(storage::row_batch rows);

  // Callback form of append (for tests and non-coroutine callers): `done` runs on the spool thread
  // once fsync'd, or at once on the calling thread when refused (full, stopping).
  void append(storage::row_batch rows, std::function<void(std::exception_ptr)> done);

  // True while anything is spooled or being appended: new readings must go to the spool too, so
  // they never overtake spooled ones.
  bool engaged() const;

  // On the spool's thread: closes the segment being appended to when no closed one is left (the
  // next append opens a new one), then reads the oldest closed segment. Returns false (and leaves
  // `out` alone) when nothing is spooled. Resumes on the caller's executor.
  task<bool> next_segment(segment* out);

  // On the spool's thread: deletes a segment whose every record is committed; its bytes and
  // readings leave the bound.
  task<void> remove_segment(std::uint64_t seq);

  // Synchronous forms of the two above, for tests (never on an I/O thread).
  bool next_segment_now(segment& out);
  void remove_segment_now(std::uint64_t seq);

  stats current() const;
  const options& opts() const { return opts_; }

  // Stops the fsync thread after the queued appends are written. Idempotent.
  void stop();

 private:
  struct pending {
    std::string bytes;
    std::uint64_t rows;
    std::function<void(std::exception_ptr)> done;
  };
  struct seg_info {
    std::uint64_t seq, bytes, rows;
  };
  void run();
  void write_batch(std::vector<pending>& batch);
  bool take_segment(segment& out);  // spool thread only
  void drop_segment(std::uint64_t seq);  // spool thread only
  // Runs `job` on the spool's thread; `done` gets what it threw (null when it returned).
  void on_thread(std::function<void()> job, std::function<void(std::exception_ptr)> done);
  std::filesystem::path path_of(std::uint64_t seq) const;

  options opts_;
  int lock_fd_ = -1;
  int fd_ = -1;             // segment being appended to (-1: none open)
  std::uint64_t fd_seq_ = 0, fd_bytes_ = 0, fd_rows_ = 0;
  std::uint64_t next_seq_ = 1;

  mutable std::mutex mutex_;
  std::condition_variable cv_;
  std::deque<pending> queue_;
  std::deque<std::pair<std::function<void()>, std::function<void(std::exception_ptr)>>> jobs_;
  std::deque<seg_info> closed_;  // on disk, closed, oldest first
  std::uint64_t bytes_ = 0, rows_ = 0;  // closed + open + queued
  bool open_has_data_ = false;          // the open segment holds a record
  bool stopping_ = false;
  stats counters_;
  std::thread thread_;
};

}  // namespace maeul::spool
