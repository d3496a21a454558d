// The response bytes (src/net/wire.hpp): status line, fields, Content-Length and body in one
// string; keep-alive per HTTP version; no body for 204/304; no CR/LF smuggled through a field;
// the IMF-fixdate. Each serialized response is also read back by Beast's parser.
#include "net/wire.hpp"

#include <gtest/gtest.h>

#include <boost/beast/http.hpp>

namespace {
namespace d = maeul::net::detail;
namespace http = boost::beast::http;
using fields = std::vector<std::pair<std::string, std::string>>;

// Parses `wire` as one whole response with Beast; fails the test when it is not one.
http::response<http::string_body> parse(const std::string& wire) {
  http::response_parser<http::string_body> p;
  p.eager(true);
  boost::beast::error_code ec;
  auto used = p.put(boost::asio::buffer(wire), ec);
  EXPECT_FALSE(ec) << ec.message() << " in\n" << wire;
  EXPECT_TRUE(p.is_done()) << wire;
  EXPECT_EQ(used, wire.size()) << "trailing bytes in\n" << wire;
  return p.release();
}

}  // namespace

TEST(wire, a_json_answer_is_one_whole_response_with_its_length) {
  d::wire_head h;
  h.date = "Mon, 07 Dec 2026 21:00:00 GMT";
  h.content_type = "application/json";
  auto wire = d::serialize_response(h, {{"ETag", "\"abc\""}}, R"({"status":"ok"})");
  EXPECT_EQ(wire,
            "HTTP/1.1 200 OK\r\nServer: maeul\r\nDate: Mon, 07 Dec 2026 21:00:00 GMT\r\n"
            "Content-Type: application/json\r\nETag: \"abc\"\r\nContent-Length: 15\r\n\r\n{\"status\":\"ok\"}");
  auto m = parse(wire);
  EXPECT_EQ(m.result_int(), 200);
  EXPECT_TRUE(m.keep_alive());
  EXPECT_EQ(m.body(), R"({"status":"ok"})");
  EXPECT_EQ(m[http::field::etag], "\"abc\"");
}

TEST(wire, keep_alive_and_close_follow_the_http_version) {
  d::wire_head h;
  h.keep_alive = false;
  auto m = parse(d::serialize_response(h, {}, "x"));
  EXPECT_FALSE(m.keep_alive());
  EXPECT_EQ(m[http::field::connection], "close");
  h.version = 10;
  m = parse(d::serialize_response(h, {}, "x"));
  EXPECT_EQ(m.version(), 10u);
  EXPECT_FALSE(m.keep_alive());
  h.keep_alive = true;
  m = parse(d::serialize_response(h, {}, "x"));
  EXPECT_TRUE(m.keep_alive());
  EXPECT_EQ(m[http::field::connection], "keep-alive");
  h.version = 11;
  m = parse(d::serialize_response(h, {}, "x"));
  EXPECT_TRUE(m.keep_alive());
  EXPECT_EQ(m.count(http::field::connection), 0u);
}

TEST(wire, status_lines_hsts_and_bodiless_statuses) {
  d::wire_head h;
  h.status = 429;
  h.hsts = true;
  auto wire = d::serialize_response(h, {{"Retry-After", "3"}}, "{}");
  EXPECT_EQ(wire.rfind("HTTP/1.1 429 Too Many Requests\r\n", 0), 0u) << wire;
  auto m = parse(wire);
  EXPECT_EQ(m[http::field::strict_transport_security], "max-age=31536000");
  EXPECT_EQ(m[http::field::retry_after], "3");
  EXPECT_EQ(m.count(http::field::date), 0u);  // no date given, none sent
  h.status = 304;
  wire = d::serialize_response(h, {}, "a body that must not leave");
  EXPECT_EQ(wire.find("a body"), std::string::npos);
  EXPECT_EQ(wire.find("Content-Length"), std::string::npos) << "none on a 304 (RFC 9110 8.6)";
  EXPECT_EQ(wire.substr(wire.size() - 4), "\r\n\r\n");
  auto no_content = d::serialize_response({.status = 204}, {}, "");
  EXPECT_EQ(no_content.rfind("HTTP/1.1 204 No Content\r\n", 0), 0u);
  EXPECT_EQ(no_content.find("Content-Length"), std::string::npos) << "none on a 204";
  EXPECT_EQ(d::serialize_response({.status = 299}, {}, "").rfind("HTTP/1.1 299 \r\n", 0), 0u);
}

TEST(wire, a_field_cannot_split_the_response) {
  d::wire_head h;
  auto wire = d::serialize_response(h, {{"Location", "/a\r\nSet-Cookie: evil=1"}}, "");
  auto m = parse(wire);
  EXPECT_EQ(m.count(http::field::set_cookie), 0u);
  EXPECT_EQ(m[http::field::location], "/aSet-Cookie: evil=1");
}

TEST(wire, the_head_alone_announces_the_body_that_follows) {
  d::wire_head h;
  h.content_type = "application/zip";
  std::string body(100000, 'z');
  auto head = d::serialize_head(h, {{"Content-Disposition", "attachment"}}, body.size());
  EXPECT_EQ(head.substr(head.size() - 4), "\r\n\r\n");
  auto m = parse(head + body);
  EXPECT_EQ(m.body().size(), body.size());
  EXPECT_EQ(m[http::field::content_disposition], "attachment");
}

TEST(wire, dates_are_imf_fixdates_in_gmt) {
  EXPECT_EQ(d::http_date(784111777), "Sun, 06 Nov 1994 08:49:37 GMT");
  EXPECT_EQ(d::http_date(0), "Thu, 01 Jan 1970 00:00:00 GMT");
  auto now = d::cached_http_date();
  EXPECT_EQ(now.size(), 29u);
  EXPECT_EQ(now.substr(now.size() - 4), " GMT");
}
