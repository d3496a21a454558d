// The strict ZIP reader and the GTFS CSV reader (src/transit/zip.cpp, gtfs.cpp): archives built
// here byte by byte (stored and deflated with zlib), real-feed quirks, and refusals.
#include <gtest/gtest.h>
#include <zlib.h>

#include <cstring>

#include "maeul/transit/gtfs.hpp"
#include "maeul/transit/zip.hpp"

namespace mt = maeul::transit;

namespace {

void put16(std::string& s, unsigned v) { s += char(v & 0xff); s += char((v >> 8) & 0xff); }
void put32(std::string& s, std::uint32_t v) { for (int i = 0; i < 4; ++i) s += char((v >> (8 * i)) & 0xff); }

std::string deflate_raw(const std::string& in) {
  z_stream zs;
  std::memset(&zs, 0, sizeof zs);
  deflateInit2(&zs, 9, Z_DEFLATED, -MAX_WBITS, 8, Z_DEFAULT_STRATEGY);
  std::string out(deflateBound(&zs, uLong(in.size())), '\0');
  zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data()));
  zs.avail_in = uInt(in.size());
  zs.next_out = reinterpret_cast<Bytef*>(out.data());
  zs.avail_out = uInt(out.size());
  deflate(&zs, Z_FINISH);
  out.resize(zs.total_out);
  deflateEnd(&zs);
  return out;
}

struct entry {
  std::string name, data;
  bool store = false;
  std::int64_t declared = -1;
};

std::string make_zip(const std::vector<entry>& es, const std::string& comment = "") {
  std::string out, cd;
  for (const auto& e : es) {
    std::string body = e.store ? e.data : deflate_raw(e.data);
    auto crc = ::crc32(0, reinterpret_cast<const Bytef*>(e.data.data()), uInt(e.data.size()));
    std::uint32_t usize = e.declared >= 0 ? std::uint32_t(e.declared) : std::uint32_t(e.data.size());
    std::uint32_t offset = std::uint32_t(out.size());
    put32(out, 0x04034b50); put16(out, 20); put16(out, 0); put16(out, e.store ? 0 : 8); put16(out, 0); put16(out, 0);
    put32(out, crc); put32(out, std::uint32_t(body.size())); put32(out, usize); put16(out, unsigned(e.name.size())); put16(out, 0);
    out += e.name + body;
    put32(cd, 0x02014b50); put16(cd, 20); put16(cd, 20); put16(cd, 0); put16(cd, e.store ? 0 : 8); put16(cd, 0); put16(cd, 0);
    put32(cd, crc); put32(cd, std::uint32_t(body.size())); put32(cd, usize); put16(cd, unsigned(e.name.size()));
    put16(cd, 0); put16(cd, 0); put16(cd, 0); put16(cd, 0); put32(cd, 0); put32(cd, offset);
    cd += e.name;
  }
  std::uint32_t cd_offset = std::uint32_t(out.size());
  out += cd;
  put32(out, 0x06054b50); put16(out, 0); put16(out, 0); put16(out, unsigned(es.size())); put16(out, unsigned(es.size()));
  put32(out, std::uint32_t(cd.size())); put32(out, cd_offset); put16(out, unsigned(comment.size()));
  return out + comment;
}

}  // namespace

TEST(TransitZip, ReadsStoredAndDeflatedEntries) {
  std::string text = "stop_id,stop_name\nS1,\"One, two\"\n";
  auto zip = make_zip({{"stops.txt", text, true}, {"gtfs/routes.txt", std::string(5000, 'r'), false}}, "a comment");
  auto es = mt::zip_entries(zip);
  ASSERT_EQ(es.size(), 2u);
  EXPECT_EQ(es[0].name, "stops.txt");
  EXPECT_EQ(es[0].method, 0);
  EXPECT_EQ(es[1].name, "gtfs/routes.txt");
  EXPECT_EQ(es[1].method, 8);
  EXPECT_EQ(mt::zip_read(zip, es[0]), text);
  EXPECT_EQ(mt::zip_read(zip, es[1]), std::string(5000, 'r'));
}

TEST(TransitZip, RefusesWhatItCannotTrust) {
  EXPECT_THROW(mt::zip_entries("not a zip at all, just some text of 40 bytes"), mt::zip_error);
  auto zip = make_zip({{"a.txt", "hello"}});
  EXPECT_THROW(mt::zip_entries(zip.substr(0, zip.size() - 5)), mt::zip_error);  // end record cut
  // a corrupted byte in the data fails the CRC (stored) or the inflate
  auto stored = make_zip({{"a.txt", "hello world", true}});
  stored[30 + 5 + 2] ^= 0x20;
  auto es = mt::zip_entries(stored);
  EXPECT_THROW(mt::zip_read(stored, es[0]), mt::zip_error);
}

TEST(TransitZip, RefusesBombsByDeclaredSizeAndRatio) {
  mt::zip_limits lim;
  lim.max_entry_bytes = 1 << 20;
  lim.max_total_bytes = 3 << 19;
  auto big = make_zip({{"a.txt", "x", false, 2 << 20}});
  EXPECT_THROW(mt::zip_entries(big, lim), mt::zip_error);
  auto total = make_zip({{"a.txt", std::string(1 << 19, 'a')}, {"b.txt", std::string(1 << 19, 'b')},
                         {"c.txt", std::string(1 << 19, 'c')}, {"d.txt", std::string(10, 'd')}});
  EXPECT_THROW(mt::zip_entries(total, lim), mt::zip_error);
  mt::zip_limits ratio;
  ratio.max_ratio = 100;
  auto zeros = make_zip({{"z.txt", std::string(4 << 20, '\0')}});
  try {
    mt::zip_entries(zeros, ratio);
    FAIL() << "a ratio above 100 passed";
  } catch (const mt::zip_error& e) {
    EXPECT_NE(std::string(e.what()).find("ratio"), std::string::npos);
  }
}

TEST(TransitZip, InflaterStopsAtTheDeclaredSize) {
  auto liar = make_zip({{"a.txt", std::string(100000, 'a'), false, 1000}});
  auto es = mt::zip_entries(liar);
  ASSERT_EQ(es[0].uncompressed_size, 1000u);
  try {
    mt::zip_read(liar, es[0]);
    FAIL() << "inflated past the declared size";
  } catch (const mt::zip_error& e) {
    EXPECT_NE(std::string(e.what()).find("more than its declared"), std::string::npos) << e.what();
  }
  auto shorter = make_zip({{"a.txt", std::string(500, 'a'), false, 1000}});
  EXPECT_THROW(mt::zip_read(shorter, mt::zip_entries(shorter)[0]), mt::zip_error);
}

TEST(TransitCsv, ForgivingAboutRealFeeds) {
  auto t = mt::parse_csv("\xEF\xBB\xBF" "route_id , route_long_name\r\nA,\"Ada \"\"L\"\", Bus\r\nLine\"\r\n\r\nB,Plain\n");
  ASSERT_EQ(t.header.size(), 2u);
  EXPECT_EQ(t.header[0], "route_id");
  EXPECT_EQ(t.header[1], "route_long_name");
  ASSERT_EQ(t.rows.size(), 2u);
  EXPECT_EQ(t.rows[0][1], "Ada \"L\", Bus\r\nLine");
  EXPECT_EQ(t.lines[0], 2);
  EXPECT_EQ(t.rows[1][0], "B");
  EXPECT_EQ(t.lines[1], 5);
  EXPECT_THROW(mt::parse_csv("a,b\n\"open,2\n"), std::runtime_error);
}

TEST(TransitCsv, TimesAndDates) {
  EXPECT_EQ(mt::parse_gtfs_time("25:55:00"), 25 * 3600 + 55 * 60);
  EXPECT_EQ(mt::parse_gtfs_time("8:05:09"), 8 * 3600 + 5 * 60 + 9);
  EXPECT_FALSE(mt::parse_gtfs_time("25:99:00"));
  EXPECT_FALSE(mt::parse_gtfs_time("12:00"));
  EXPECT_EQ(mt::parse_gtfs_date("20240229"), "2024-02-29");
  EXPECT_FALSE(mt::parse_gtfs_date("20230229"));
  EXPECT_FALSE(mt::parse_gtfs_date("2023-02-01"));
}

TEST(TransitGtfs, RequiredFilesAndRowErrors) {
  std::map<std::string, std::string> files = {
      {"agency.txt", "agency_name,agency_url,agency_timezone\nA,https://a,Asia/Seoul\n"},
      {"stops.txt", "stop_id,stop_name,stop_lat,stop_lon\nS1,One,38.2,128.59\nS2,Two,38.21,128.6\nS3,Bad,99,128\n"},
      {"routes.txt", "route_id,route_short_name,route_type\nR1,1,3\n"},
      {"trips.txt", "route_id,service_id,trip_id\nR1,WK,T1\nR9,WK,T2\n"},
      {"stop_times.txt", "trip_id,arrival_time,departure_time,stop_id,stop_sequence\nT1,08:00:00,08:00:00,S1,1\n"
                         "T1,24:10:00,,S2,2\nT1,08:20:00,08:20:00,S9,3\n"},
  };
  auto missing = mt::parse_gtfs(files);
  ASSERT_EQ(missing.missing.size(), 1u);
  EXPECT_EQ(missing.missing[0], "calendar.txt or calendar_dates.txt");
  files["calendar_dates.txt"] = "service_id,date,exception_type\nWK,20261207,1\n";
  auto r = mt::parse_gtfs(files);
  EXPECT_TRUE(r.missing.empty());
  EXPECT_EQ(r.feed.stops.size(), 2u);
  EXPECT_EQ(r.feed.trips.size(), 1u);
  ASSERT_EQ(r.feed.stop_times.size(), 2u);
  EXPECT_EQ(r.feed.stop_times[1].arrival_s, 24 * 3600 + 600);
  EXPECT_EQ(r.feed.stop_times[1].departure_s, 24 * 3600 + 600);
  EXPECT_EQ(r.files["stop_times.txt"].errors, 1);
  EXPECT_EQ(r.total_errors, 3);
  ASSERT_EQ(r.errors.size(), 3u);
  EXPECT_EQ(r.errors[0].file, "stops.txt");
  EXPECT_EQ(r.errors[0].field, "stop_lat");
  EXPECT_EQ(r.errors[0].line, 4);
  EXPECT_EQ(r.errors[2].file, "stop_times.txt");
  EXPECT_EQ(r.errors[2].field, "stop_id");
  EXPECT_EQ(r.errors[2].row, 2);
}
