// GTFS import limits and encoding (transit/gtfs.hpp): a file that is not UTF-8 or passes a limit is
// refused by name (the import answers 422), never carried into the answer or the database.
#include <gtest/gtest.h>

#include <map>
#include <stdexcept>
#include <string>

#include "maeul/transit/gtfs.hpp"

namespace mt = maeul::transit;

namespace {

std::map<std::string, std::string> minimal_feed() {
  return {
      {"agency.txt", "agency_name,agency_url,agency_timezone\nA,https://a,Asia/Seoul\n"},
      {"stops.txt", "stop_id,stop_name,stop_lat,stop_lon\nS1,One,38.2,128.59\n"},
      {"routes.txt", "route_id,route_short_name,route_type\nR1,1,3\n"},
      {"trips.txt", "route_id,service_id,trip_id\nR1,WK,T1\n"},
      {"stop_times.txt", "trip_id,arrival_time,departure_time,stop_id,stop_sequence\nT1,08:00:00,08:00:00,S1,1\n"},
      {"calendar_dates.txt", "service_id,date,exception_type\nWK,20261207,1\n"},
  };
}

TEST(TransitGtfs, Utf8IsAccepted) {
  auto files = minimal_feed();
  files["stops.txt"] = "stop_id,stop_name,stop_lat,stop_lon\nS1,\xEC\x86\x8D\xEC\xB4\x88,38.2,128.59\n";  // 속초
  auto r = mt::parse_gtfs(files);
  EXPECT_EQ(r.fatal, "");
  ASSERT_EQ(r.feed.stops.size(), 1u);
}

TEST(TransitGtfs, NonUtf8FileIsRefusedByName) {
  auto files = minimal_feed();
  // 속초 in CP949/EUC-KR: not UTF-8 (json::dump would throw on it)
  files["stops.txt"] = "stop_id,stop_name,stop_lat,stop_lon\nS1,\xBC\xD3\xC3\xCA,38.2,128.59\n";
  auto r = mt::parse_gtfs(files);
  EXPECT_EQ(r.fatal.rfind("stops.txt: is not UTF-8 (line 2)", 0), 0u) << r.fatal;
  EXPECT_TRUE(r.feed.stops.empty());
  EXPECT_THROW(mt::parse_csv("a\n\xED\xA0\x80\n"), std::runtime_error);  // a UTF-16 surrogate
  EXPECT_THROW(mt::parse_csv("a\n\xE2\x82"), std::runtime_error);        // cut short
  EXPECT_THROW(mt::parse_csv("a\n\xC0\xAF\n"), std::runtime_error);      // overlong
}

TEST(TransitGtfs, FieldsPerRowAreCapped) {
  auto files = minimal_feed();
  files["shapes.txt"] = "shape_id\n" + std::string(100000, ',') + "\n";
  auto r = mt::parse_gtfs(files);
  EXPECT_EQ(r.fatal, "shapes.txt: line 2 has more than 64 fields");
}

TEST(TransitGtfs, RowsAndFieldsPerImportAreCapped) {
  mt::csv_limits lim;
  lim.max_rows = 10;
  lim.max_fields = 1000;
  auto files = minimal_feed();
  std::string many = "shape_id\n";
  for (int i = 0; i < 11; ++i) many += "x\n";
  files["shapes.txt"] = many;
  auto r = mt::parse_gtfs(files, 1000, lim);
  EXPECT_EQ(r.fatal.rfind("shapes.txt: the feed holds more than 10 rows", 0), 0u) << r.fatal;
  lim.max_rows = 1000;
  lim.max_fields = 41;  // the six small files hold 42 fields: the limit is over the import
  r = mt::parse_gtfs(minimal_feed(), 1000, lim);
  EXPECT_NE(r.fatal.find("the feed holds more than 41 fields"), std::string::npos) << r.fatal;
  lim.max_fields = 42;
  r = mt::parse_gtfs(minimal_feed(), 1000, lim);
  EXPECT_EQ(r.fatal, "");
}

}  // namespace
