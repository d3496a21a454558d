// The spool's segment format and recovery: records read back as written, a flipped bit or a torn
// tail ends the valid part, a torn tail is cut off at open, the byte bound refuses without writing,
// and many appends share one fsync. Files live in a fresh temporary directory per test.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <filesystem>
#include <fstream>
#include <future>
#include <random>
#include <sstream>

#include "maeul/spool/spool.hpp"

namespace fs = std::filesystem;
using maeul::storage::obs_row;
namespace sp = maeul::spool;

namespace {

std::vector<obs_row> rows_of(int n, int series, std::int64_t t0) {
  std::vector<obs_row> out;
  for (int i = 0; i < n; ++i) out.push_back({series, t0 + i * 1000000LL, i * 0.5 - 3.25});
  return out;
}

struct temp_dir {
  fs::path path;
  temp_dir() {
    std::random_device rd;
    path = fs::temp_directory_path() / ("maeul-spool-test-" + std::to_string(rd()) + std::to_string(::getpid()));
    fs::create_directories(path);
  }
  ~temp_dir() {
    std::error_code ec;
    fs::remove_all(path, ec);
  }
};

std::string slurp(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::vector<fs::path> segments_in(const fs::path& dir) {
  std::vector<fs::path> out;
  for (const auto& e : fs::directory_iterator(dir))
    if (e.path().extension() == ".spool") out.push_back(e.path());
  std::sort(out.begin(), out.end());
  return out;
}

void append_now(sp::spool& s, std::vector<obs_row> rows) {
  std::promise<std::exception_ptr> p;
  s.append(std::make_shared<const std::vector<obs_row>>(std::move(rows)), [&p](std::exception_ptr ep) { p.set_value(ep); });
  if (auto ep = p.get_future().get()) std::rethrow_exception(ep);
}

bool same(const std::vector<obs_row>& a, const std::vector<obs_row>& b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i)
    if (a[i].series_id != b[i].series_id || a[i].ts_us != b[i].ts_us || a[i].value != b[i].value) return false;
  return true;
}

}  // namespace

TEST(spool_format, crc32c_matches_the_standard_check_value) {
  // The CRC-32C check value of "123456789" (RFC 3720 appendix B.4).
  EXPECT_EQ(sp::crc32c("123456789", 9), 0xE3069283u);
}

TEST(spool_format, records_read_back_as_written) {
  auto a = rows_of(3, 7, 1'700'000'000'000'000);
  auto b = rows_of(1, -2, -5);
  b[0].value = -0.0;
  auto bytes = sp::encode_record(a) + sp::encode_record(b);
  EXPECT_EQ(bytes.size(), 2 * sp::record_header_bytes + 8 + 4 * sp::row_bytes);
  auto d = sp::decode_segment(bytes);
  ASSERT_EQ(d.records.size(), 2u);
  EXPECT_TRUE(same(d.records[0], a));
  EXPECT_TRUE(same(d.records[1], b));
  EXPECT_TRUE(std::signbit(d.records[1][0].value));
  EXPECT_EQ(d.valid_bytes, bytes.size());
  EXPECT_FALSE(d.torn);
}

TEST(spool_format, a_flipped_bit_ends_the_valid_part_at_that_record) {
  auto first = sp::encode_record(rows_of(2, 1, 0));
  auto bytes = first + sp::encode_record(rows_of(2, 2, 0)) + sp::encode_record(rows_of(2, 3, 0));
  bytes[first.size() + sp::record_header_bytes + 10] ^= 0x01;  // inside the second record's payload
  auto d = sp::decode_segment(bytes);
  ASSERT_EQ(d.records.size(), 1u);
  EXPECT_EQ(d.records[0][0].series_id, 1);
  EXPECT_EQ(d.valid_bytes, first.size());
  EXPECT_TRUE(d.torn);
}

TEST(spool_format, a_torn_tail_at_every_cut_is_detected) {
  auto first = sp::encode_record(rows_of(2, 1, 0));
  auto second = sp::encode_record(rows_of(3, 2, 0));
  auto bytes = first + second;
  for (std::size_t cut = first.size() + 1; cut < bytes.size(); ++cut) {
    auto d = sp::decode_segment(std::string_view(bytes).substr(0, cut));
    ASSERT_EQ(d.records.size(), 1u) << "cut at " << cut;
    EXPECT_EQ(d.valid_bytes, first.size());
    EXPECT_TRUE(d.torn);
  }
  // a length field that claims more than a record may hold
  std::string huge = first + std::string("\xff\xff\xff\x7f\0\0\0\0", 8);
  auto d = sp::decode_segment(huge);
  EXPECT_EQ(d.records.size(), 1u);
  EXPECT_TRUE(d.torn);
}

TEST(spool, appends_survive_a_reopen_in_order_and_replayed_segments_leave_the_bound) {
  temp_dir t;
  {
    sp::spool s({t.path, 1 << 20, 4096, 0});
    EXPECT_FALSE(s.engaged());
    append_now(s, rows_of(2, 1, 0));
    append_now(s, rows_of(3, 2, 0));
    EXPECT_TRUE(s.engaged());
    auto st = s.current();
    EXPECT_EQ(st.readings, 5u);
    EXPECT_EQ(st.bytes, 2 * sp::record_header_bytes + 8 + 5 * sp::row_bytes);
    EXPECT_EQ(st.segments, 1u);
  }
  sp::spool s({t.path, 1 << 20, 4096, 0});
  EXPECT_TRUE(s.engaged());
  EXPECT_EQ(s.current().readings, 5u);
  append_now(s, rows_of(1, 3, 0));  // goes to a new segment, after the old one
  sp::segment seg;
  ASSERT_TRUE(s.next_segment_now(seg));
  ASSERT_EQ(seg.records.size(), 2u);
  EXPECT_TRUE(same(seg.records[0], rows_of(2, 1, 0)));
  EXPECT_TRUE(same(seg.records[1], rows_of(3, 2, 0)));
  s.remove_segment_now(seg.seq);
  EXPECT_EQ(s.current().readings, 1u);
  ASSERT_TRUE(s.next_segment_now(seg));  // closes the open segment and hands it over
  ASSERT_EQ(seg.records.size(), 1u);
  EXPECT_EQ(seg.records[0][0].series_id, 3);
  s.remove_segment_now(seg.seq);
  EXPECT_FALSE(s.engaged());
  EXPECT_EQ(s.current().bytes, 0u);
  EXPECT_FALSE(s.next_segment_now(seg));
  EXPECT_TRUE(segments_in(t.path).empty());
}

TEST(spool, a_torn_tail_is_cut_off_at_open_and_never_replayed) {
  temp_dir t;
  {
    sp::spool s({t.path, 1 << 20, 1 << 20, 0});
    append_now(s, rows_of(4, 9, 100));
  }
  auto files = segments_in(t.path);
  ASSERT_EQ(files.size(), 1u);
  auto good = slurp(files[0]).size();
  {
    // a crash in the middle of the next record: its header and half its payload
    auto torn = sp::encode_record(rows_of(5, 10, 0));
    std::ofstream out(files[0], std::ios::binary | std::ios::app);
    out.write(torn.data(), std::streamsize(torn.size() / 2));
  }
  sp::spool s({t.path, 1 << 20, 1 << 20, 0});
  auto st = s.current();
  EXPECT_EQ(st.truncated_bytes, std::int64_t(sp::encode_record(rows_of(5, 10, 0)).size() / 2));
  EXPECT_EQ(st.readings, 4u);
  EXPECT_EQ(fs::file_size(files[0]), good);
  sp::segment seg;
  ASSERT_TRUE(s.next_segment_now(seg));
  ASSERT_EQ(seg.records.size(), 1u);
  EXPECT_TRUE(same(seg.records[0], rows_of(4, 9, 100)));
  EXPECT_EQ(seg.skipped_bytes, 0u);
}

TEST(spool, a_segment_with_only_a_torn_record_is_removed_at_open) {
  temp_dir t;
  {
    auto rec = sp::encode_record(rows_of(2, 1, 0));
    std::ofstream out(t.path / "seg-0000000000000007.spool", std::ios::binary);
    out.write(rec.data(), 5);
  }
  sp::spool s({t.path, 1 << 20, 1 << 20, 0});
  EXPECT_FALSE(s.engaged());
  EXPECT_TRUE(segments_in(t.path).empty());
  append_now(s, rows_of(1, 1, 0));
  auto files = segments_in(t.path);
  ASSERT_EQ(files.size(), 1u);
  EXPECT_EQ(files[0].filename().string(), "seg-0000000000000008.spool");  // numbering continues
}

TEST(spool, the_bound_refuses_a_record_that_does_not_fit_and_writes_nothing) {
  temp_dir t;
  auto one = sp::encode_record(rows_of(10, 1, 0)).size();
  auto empty = sp::encode_record({}).size();  // 12 bytes: fits in the room left, a 10-row record does not
  sp::spool s({t.path, 2 * one + empty, 1 << 20, 0});
  append_now(s, rows_of(10, 1, 0));
  append_now(s, rows_of(10, 2, 0));
  EXPECT_THROW(append_now(s, rows_of(10, 3, 0)), sp::full);
  auto st = s.current();
  EXPECT_EQ(st.bytes, 2 * one);
  EXPECT_EQ(st.readings, 20u);
  EXPECT_EQ(st.refused_full, 1);
  auto files = segments_in(t.path);
  ASSERT_EQ(files.size(), 1u);
  EXPECT_EQ(fs::file_size(files[0]), 2 * one);
  // a smaller record still fits
  append_now(s, rows_of(0, 4, 0));
  EXPECT_EQ(s.current().bytes, 2 * one + empty);
}

TEST(spool, segments_roll_at_segment_bytes) {
  temp_dir t;
  auto one = sp::encode_record(rows_of(50, 1, 0)).size();
  sp::spool s({t.path, 1 << 20, one * 2, 0});
  for (int i = 0; i < 5; ++i) append_now(s, rows_of(50, i, 0));
  EXPECT_EQ(segments_in(t.path).size(), 3u);  // 2 + 2 + 1 records
  EXPECT_EQ(s.current().segments, 3u);
  int seen = 0;
  sp::segment seg;
  while (s.next_segment_now(seg)) {
    for (const auto& r : seg.records) EXPECT_EQ(r[0].series_id, seen++);
    s.remove_segment_now(seg.seq);
  }
  EXPECT_EQ(seen, 5);
}

TEST(spool, concurrent_appends_share_fsyncs) {
  temp_dir t;
  // A wait after each fsync lets the queue fill: 200 appends from 8 threads need far fewer fsyncs.
  sp::spool s({t.path, 1 << 24, 1 << 24, 20});
  std::vector<std::thread> threads;
  std::atomic<int> failures{0};
  for (int k = 0; k < 8; ++k)
    threads.emplace_back([&s, &failures, k] {
      for (int i = 0; i < 25; ++i) {
        try {
          append_now(s, rows_of(3, k, i * 10'000'000LL));
        } catch (...) {
          ++failures;
        }
      }
    });
  for (auto& th : threads) th.join();
  EXPECT_EQ(failures.load(), 0);
  auto st = s.current();
  EXPECT_EQ(st.appended_records, 200);
  EXPECT_EQ(st.readings, 600u);
  EXPECT_LT(st.fsyncs, 100);
  // and each thread's records are in its own order
  sp::segment seg;
  ASSERT_TRUE(s.next_segment_now(seg));
  std::vector<std::int64_t> last(8, -1);
  for (const auto& r : seg.records) {
    EXPECT_GT(r[0].ts_us, last[std::size_t(r[0].series_id)]);
    last[std::size_t(r[0].series_id)] = r[0].ts_us;
  }
  EXPECT_EQ(seg.records.size(), 200u);
}

TEST(spool, a_second_spool_on_the_same_directory_is_refused) {
  temp_dir t;
  sp::spool s({t.path, 1 << 20, 1 << 20, 0});
  EXPECT_THROW(sp::spool({t.path, 1 << 20, 1 << 20, 0}), std::runtime_error);
}
