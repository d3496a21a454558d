// The spool: segment encoding, crash recovery at open, and the one thread that writes, fsyncs,
// rolls, reads and deletes segment files (so no file descriptor is shared between threads).
#include "maeul/spool/spool.hpp"

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <optional>
#include <sstream>

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <boost/asio/async_result.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/use_awaitable.hpp>

namespace maeul::spool {
namespace asio = boost::asio;
namespace fs = std::filesystem;

// ---- format

namespace {

std::array<std::uint32_t, 256> make_crc_table() {
  std::array<std::uint32_t, 256> t{};
  for (std::uint32_t i = 0; i < 256; ++i) {
    std::uint32_t c = i;
    for (int k = 0; k < 8; ++k) c = (c & 1) ? (c >> 1) ^ 0x82F63B78u : c >> 1;
    t[i] = c;
  }
  return t;
}

void put32(std::string& out, std::uint32_t v) {
  for (int i = 0; i < 4; ++i) out += char((v >> (8 * i)) & 0xff);
}
void put64(std::string& out, std::uint64_t v) {
  for (int i = 0; i < 8; ++i) out += char((v >> (8 * i)) & 0xff);
}
std::uint32_t get32(const char* p) {
  std::uint32_t v = 0;
  for (int i = 0; i < 4; ++i) v |= std::uint32_t(static_cast<unsigned char>(p[i])) << (8 * i);
  return v;
}
std::uint64_t get64(const char* p) {
  std::uint64_t v = 0;
  for (int i = 0; i < 8; ++i) v |= std::uint64_t(static_cast<unsigned char>(p[i])) << (8 * i);
  return v;
}

std::string errno_text(const std::string& what, const fs::path& p) {
  return what + " " + p.string() + ": " + std::strerror(errno);
}

// Writes all of `data` at the end of `fd`; false on error (errno set).
bool write_all(int fd, const char* data, std::size_t size) {
  while (size > 0) {
    auto n = ::write(fd, data, size);
    if (n < 0) {
      if (errno == EINTR) continue;
      return false;
    }
    data += n;
    size -= std::size_t(n);
  }
  return true;
}

void fsync_dir(const fs::path& dir) {
  int d = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (d < 0) return;
  ::fsync(d);
  ::close(d);
}

std::string read_file(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  if (!in) throw io_error("cannot read spool segment " + p.string());
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// seg-0000000000000042.spool -> 42; nullopt for other names.
std::optional<std::uint64_t> seq_of(const fs::path& p) {
  auto name = p.filename().string();
  if (name.size() != 4 + 16 + 6 || name.rfind("seg-", 0) != 0 || name.substr(20) != ".spool") return std::nullopt;
  std::uint64_t v = 0;
  for (char c : name.substr(4, 16)) {
    if (c < '0' || c > '9') return std::nullopt;
    v = v * 10 + std::uint64_t(c - '0');
  }
  return v;
}

}  // namespace

std::uint32_t crc32c(const void* data, std::size_t size, std::uint32_t crc) {
  static const auto table = make_crc_table();
  auto p = static_cast<const unsigned char*>(data);
  crc = ~crc;
  for (std::size_t i = 0; i < size; ++i) crc = table[(crc ^ p[i]) & 0xff] ^ (crc >> 8);
  return ~crc;
}

std::string encode_record(const std::vector<storage::obs_row>& rows) {
  std::string payload;
  payload.reserve(4 + rows.size() * row_bytes);
  put32(payload, std::uint32_t(rows.size()));
  for (const auto& r : rows) {
    put32(payload, std::uint32_t(r.series_id));
    put64(payload, std::uint64_t(r.ts_us));
    std::uint64_t bits;
    std::memcpy(&bits, &r.value, sizeof bits);
    put64(payload, bits);
  }
  std::string out;
  out.reserve(record_header_bytes + payload.size());
  put32(out, std::uint32_t(payload.size()));
  put32(out, crc32c(payload.data(), payload.size()));
  out += payload;
  return out;
}

decoded_segment decode_segment(std::string_view bytes) {
  decoded_segment out;
  std::size_t pos = 0;
  while (pos < bytes.size()) {
    if (bytes.size() - pos < record_header_bytes) break;
    std::uint32_t len = get32(bytes.data() + pos);
    std::uint32_t crc = get32(bytes.data() + pos + 4);
    if (len < 4 || len > 4 + std::uint64_t(max_record_rows) * row_bytes) break;
    if (bytes.size() - pos - record_header_bytes < len) break;
    const char* p = bytes.data() + pos + record_header_bytes;
    if (crc32c(p, len) != crc) break;
    std::uint32_t count = get32(p);
    if (4 + std::uint64_t(count) * row_bytes != len) break;
    std::vector<storage::obs_row> rows(count);
    for (std::uint32_t i = 0; i < count; ++i) {
      const char* q = p + 4 + std::size_t(i) * row_bytes;
      rows[i].series_id = std::int32_t(get32(q));
      rows[i].ts_us = std::int64_t(get64(q + 4));
      std::uint64_t bits = get64(q + 12);
      std::memcpy(&rows[i].value, &bits, sizeof bits);
    }
    out.records.push_back(std::move(rows));
    pos += record_header_bytes + len;
    out.valid_bytes = pos;
  }
  out.torn = out.valid_bytes < bytes.size();
  return out;
}

// ---- the spool

spool::spool(options opts) : opts_(std::move(opts)) {
  std::error_code ec;
  fs::create_directories(opts_.dir, ec);
  if (ec) throw std::runtime_error("cannot create spool directory " + opts_.dir.string() + ": " + ec.message());
  auto lock_path = opts_.dir / "LOCK";
  lock_fd_ = ::open(lock_path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (lock_fd_ < 0) throw std::runtime_error(errno_text("cannot open", lock_path));
  if (::flock(lock_fd_, LOCK_EX | LOCK_NB) != 0) {
    ::close(lock_fd_);
    throw std::runtime_error("spool directory " + opts_.dir.string() + " is in use by another maeuld");
  }
  // Recovery: every segment left from before is closed; a torn tail is cut off, an empty one removed.
  std::vector<std::pair<std::uint64_t, fs::path>> found;
  for (const auto& e : fs::directory_iterator(opts_.dir))
    if (auto s = seq_of(e.path())) found.emplace_back(*s, e.path());
  std::sort(found.begin(), found.end());
  for (const auto& [seq, p] : found) {
    auto bytes = read_file(p);
    auto d = decode_segment(bytes);
    if (d.torn) {
      counters_.truncated_bytes += std::int64_t(bytes.size() - d.valid_bytes);
      if (::truncate(p.c_str(), off_t(d.valid_bytes)) != 0) throw std::runtime_error(errno_text("cannot truncate", p));
      int fd = ::open(p.c_str(), O_RDWR | O_CLOEXEC);
      if (fd >= 0) {
        ::fsync(fd);
        ::close(fd);
      }
    }
    next_seq_ = std::max(next_seq_, seq + 1);
    if (d.records.empty()) {
      fs::remove(p, ec);
      continue;
    }
    std::uint64_t rows = 0;
    for (const auto& r : d.records) rows += r.size();
    closed_.push_back({seq, d.valid_bytes, rows});
    bytes_ += d.valid_bytes;
    rows_ += rows;
  }
  fsync_dir(opts_.dir);
  thread_ = std::thread([this] { run(); });
}

spool::~spool() {
  stop();
  if (lock_fd_ >= 0) ::close(lock_fd_);
}

void spool::stop() {
  {
    std::lock_guard lock(mutex_);
    if (stopping_) return;
    stopping_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
  if (fd_ >= 0) {
    ::fsync(fd_);
    ::close(fd_);
    fd_ = -1;
  }
}

fs::path spool::path_of(std::uint64_t seq) const {
  char name[32];
  std::snprintf(name, sizeof name, "seg-%016llu.spool", static_cast<unsigned long long>(seq));
  return opts_.dir / name;
}

void spool::append(storage::row_batch rows, std::function<void(std::exception_ptr)> done) {
  auto bytes = encode_record(*rows);
  std::exception_ptr refused;
  {
    std::lock_guard lock(mutex_);
    if (stopping_) {
      refused = std::make_exception_ptr(io_error("the spool is stopping"));
    } else if (bytes_ + bytes.size() > opts_.max_bytes) {
      ++counters_.refused_full;
      refused = std::make_exception_ptr(full("the local spool is full"));
    } else {
      bytes_ += bytes.size();
      rows_ += rows->size();
      queue_.push_back({std::move(bytes), rows->size(), std::move(done)});
    }
  }
  if (refused) {
    done(refused);  // outside the lock: a callback never runs under the spool's mutex
    return;
  }
  cv_.notify_one();
}

task<void> spool::append(storage::row_batch rows) {
  auto init = [this, rows = std::move(rows)](auto handler) mutable {
    auto h = std::make_shared<decltype(handler)>(std::move(handler));
    append(std::move(rows), [h](std::exception_ptr ep) {
      auto ex = asio::get_associated_executor(*h);
      asio::post(ex, [h, ep]() mutable { (*h)(ep); });
    });
  };
  return asio::async_initiate<decltype(asio::use_awaitable), void(std::exception_ptr)>(std::move(init),
                                                                                       asio::use_awaitable);
}

void spool::on_thread(std::function<void()> job, std::function<void(std::exception_ptr)> done) {
  {
    std::lock_guard lock(mutex_);
    if (!stopping_) {
      jobs_.emplace_back(std::move(job), std::move(done));
      done = nullptr;
    }
  }
  if (done) {
    done(std::make_exception_ptr(io_error("the spool is stopping")));
    return;
  }
  cv_.notify_one();
}

task<bool> spool::next_segment(segment* out) {
  auto init = [this, out](auto handler) mutable {
    auto h = std::make_shared<decltype(handler)>(std::move(handler));
    auto got = std::make_shared<bool>(false);
    on_thread([this, out, got] { *got = take_segment(*out); },
              [h, got](std::exception_ptr ep) {
                auto ex = asio::get_associated_executor(*h);
                asio::post(ex, [h, ep, got]() mutable { (*h)(ep, *got); });
              });
  };
  return asio::async_initiate<decltype(asio::use_awaitable), void(std::exception_ptr, bool)>(std::move(init),
                                                                                             asio::use_awaitable);
}

task<void> spool::remove_segment(std::uint64_t seq) {
  auto init = [this, seq](auto handler) mutable {
    auto h = std::make_shared<decltype(handler)>(std::move(handler));
    on_thread([this, seq] { drop_segment(seq); },
              [h](std::exception_ptr ep) {
                auto ex = asio::get_associated_executor(*h);
                asio::post(ex, [h, ep]() mutable { (*h)(ep); });
              });
  };
  return asio::async_initiate<decltype(asio::use_awaitable), void(std::exception_ptr)>(std::move(init),
                                                                                       asio::use_awaitable);
}

namespace {
// Submits a job through `submit` and waits for its completion (tests; never on an I/O thread).
template <class F>
void wait_on(F&& submit) {
  std::mutex m;
  std::condition_variable cv;
  bool finished = false;
  std::exception_ptr err;
  submit([&](std::exception_ptr ep) {
    std::lock_guard lock(m);
    err = ep;
    finished = true;
    cv.notify_one();
  });
  std::unique_lock lock(m);
  cv.wait(lock, [&] { return finished; });
  if (err) std::rethrow_exception(err);
}
}  // namespace

bool spool::next_segment_now(segment& out) {
  bool got = false;
  wait_on([&](std::function<void(std::exception_ptr)> done) {
    on_thread([this, &out, &got] { got = take_segment(out); }, std::move(done));
  });
  return got;
}

void spool::remove_segment_now(std::uint64_t seq) {
  wait_on([&](std::function<void(std::exception_ptr)> done) {
    on_thread([this, seq] { drop_segment(seq); }, std::move(done));
  });
}

bool spool::take_segment(segment& out) {
  std::uint64_t seq = 0;
  {
    std::lock_guard lock(mutex_);
    if (closed_.empty() && fd_ >= 0 && fd_bytes_ > 0) {
      // Appends are written on this thread, so the open segment is complete here: close it.
      ::fsync(fd_);
      ::close(fd_);
      fd_ = -1;
      closed_.push_back({fd_seq_, fd_bytes_, fd_rows_});
      open_has_data_ = false;
    }
    if (closed_.empty()) return false;
    seq = closed_.front().seq;
  }
  auto bytes = read_file(path_of(seq));
  auto d = decode_segment(bytes);
  out.seq = seq;
  out.path = path_of(seq);
  out.records = std::move(d.records);
  out.skipped_bytes = bytes.size() - d.valid_bytes;
  return true;
}

void spool::drop_segment(std::uint64_t seq) {
  std::error_code ec;
  fs::remove(path_of(seq), ec);
  if (ec) throw io_error("cannot remove spool segment " + path_of(seq).string() + ": " + ec.message());
  fsync_dir(opts_.dir);
  std::lock_guard lock(mutex_);
  auto it = std::find_if(closed_.begin(), closed_.end(), [seq](const seg_info& s) { return s.seq == seq; });
  if (it == closed_.end()) return;
  bytes_ -= it->bytes;
  rows_ -= it->rows;
  counters_.replayed_readings += std::int64_t(it->rows);
  closed_.erase(it);
}

void spool::write_batch(std::vector<pending>& batch) {
  std::exception_ptr err;
  std::uint64_t start = fd_bytes_;
  try {
    if (fd_ >= 0 && fd_bytes_ >= opts_.segment_bytes) {
      ::close(fd_);  // already fsync'd with its last batch
      fd_ = -1;
      std::lock_guard lock(mutex_);
      closed_.push_back({fd_seq_, fd_bytes_, fd_rows_});
      open_has_data_ = false;
    }
    if (fd_ < 0) {
      std::uint64_t seq;
      {
        std::lock_guard lock(mutex_);
        seq = next_seq_++;
      }
      auto p = path_of(seq);
      fd_ = ::open(p.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_APPEND | O_CLOEXEC, 0644);
      if (fd_ < 0) throw io_error(errno_text("cannot create spool segment", p));
      fsync_dir(opts_.dir);
      fd_seq_ = seq;
      fd_bytes_ = fd_rows_ = 0;
      start = 0;
    }
    std::string all;
    std::uint64_t rows = 0;
    for (const auto& p : batch) {
      all += p.bytes;
      rows += p.rows;
    }
    if (!write_all(fd_, all.data(), all.size())) throw io_error(errno_text("cannot write spool segment", path_of(fd_seq_)));
    if (::fdatasync(fd_) != 0) throw io_error(errno_text("cannot fsync spool segment", path_of(fd_seq_)));
    fd_bytes_ += all.size();
    fd_rows_ += rows;
    std::lock_guard lock(mutex_);
    open_has_data_ = true;
    ++counters_.fsyncs;
    counters_.appended_records += std::int64_t(batch.size());
  } catch (...) {
    err = std::current_exception();
    std::lock_guard lock(mutex_);
    if (fd_ >= 0 && ::ftruncate(fd_, off_t(start)) != 0) {
      // A segment we cannot trim is closed (its good records stay queued for replay); its torn
      // tail is cut off at the next start.
      ::close(fd_);
      fd_ = -1;
      if (fd_bytes_ > 0) closed_.push_back({fd_seq_, fd_bytes_, fd_rows_});
      open_has_data_ = false;
    }
    for (const auto& p : batch) {
      bytes_ -= p.bytes.size();
      rows_ -= p.rows;
    }
  }
  for (auto& p : batch) p.done(err);
}

void spool::run() {
  for (;;) {
    std::vector<pending> batch;
    std::deque<std::pair<std::function<void()>, std::function<void(std::exception_ptr)>>> jobs;
    {
      std::unique_lock lock(mutex_);
      cv_.wait(lock, [this] { return stopping_ || !queue_.empty() || !jobs_.empty(); });
      if (queue_.empty() && jobs_.empty()) return;  // stopping, nothing left
      batch.assign(std::make_move_iterator(queue_.begin()), std::make_move_iterator(queue_.end()));
      queue_.clear();
      jobs.swap(jobs_);
    }
    if (!batch.empty()) write_batch(batch);
    for (auto& [job, done] : jobs) {
      std::exception_ptr ep;
      try {
        job();
      } catch (...) {
        ep = std::current_exception();
      }
      done(ep);
    }
    if (opts_.fsync_interval_ms > 0 && !batch.empty())
      std::this_thread::sleep_for(std::chrono::milliseconds(opts_.fsync_interval_ms));
  }
}

bool spool::engaged() const {
  std::lock_guard lock(mutex_);
  return bytes_ > 0;
}

stats spool::current() const {
  std::lock_guard lock(mutex_);
  stats s = counters_;
  s.bytes = bytes_;
  s.readings = rows_;
  s.segments = closed_.size() + (open_has_data_ ? 1 : 0);
  return s;
}

}  // namespace maeul::spool
