// The bytes of an HTTP/1.x response (pure, no I/O, no Beast): status line, header fields and body
// in ONE string, so that a response leaves in one write (one send on plain TCP, one SSL_write and
// one TLS record under TLS) with no serializer state or per-field allocation. Internal to src/net;
// unit-tested in tests/unit/wire_test.cpp.
#pragma once
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <ctime>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace maeul::net::detail {

// The reason phrase of `status` (RFC 9110 §15), "" for a code without one (the status line then
// ends "NNN "), which clients accept.
inline std::string_view reason_phrase(int status) {
  switch (status) {
    case 101: return "Switching Protocols";
    case 200: return "OK";
    case 201: return "Created";
    case 202: return "Accepted";
    case 204: return "No Content";
    case 206: return "Partial Content";
    case 301: return "Moved Permanently";
    case 302: return "Found";
    case 303: return "See Other";
    case 304: return "Not Modified";
    case 307: return "Temporary Redirect";
    case 308: return "Permanent Redirect";
    case 400: return "Bad Request";
    case 401: return "Unauthorized";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 406: return "Not Acceptable";
    case 408: return "Request Timeout";
    case 409: return "Conflict";
    case 410: return "Gone";
    case 411: return "Length Required";
    case 412: return "Precondition Failed";
    case 413: return "Content Too Large";
    case 414: return "URI Too Long";
    case 415: return "Unsupported Media Type";
    case 416: return "Range Not Satisfiable";
    case 422: return "Unprocessable Content";
    case 428: return "Precondition Required";
    case 429: return "Too Many Requests";
    case 431: return "Request Header Fields Too Large";
    case 500: return "Internal Server Error";
    case 501: return "Not Implemented";
    case 502: return "Bad Gateway";
    case 503: return "Service Unavailable";
    case 504: return "Gateway Timeout";
    default: return "";
  }
}

// An IMF-fixdate (RFC 9110 §5.6.7) of `t`: "Sun, 06 Nov 1994 08:49:37 GMT", 29 characters.
inline std::string http_date(std::time_t t) {
  std::tm tm{};
  gmtime_r(&t, &tm);
  // English names whatever the process's locale (strftime's %a and %b follow LC_TIME).
  static constexpr const char* days[] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
  static constexpr const char* months[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                           "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
  char buf[40];
  int n = std::snprintf(buf, sizeof buf, "%s, %02d %s %04d %02d:%02d:%02d GMT", days[tm.tm_wday % 7], tm.tm_mday,
                        months[tm.tm_mon % 12], tm.tm_year + 1900, tm.tm_hour, tm.tm_min, tm.tm_sec);
  return std::string(buf, n > 0 ? std::size_t(n) : 0);
}

// The Date header's value for now, formatted at most once a second per thread (a thread's
// cache; the caller's thread is its connection's I/O thread).
inline std::string_view cached_http_date() {
  thread_local std::time_t last = -1;
  thread_local std::string text;
  auto now = std::chrono::system_clock::to_time_t(std::chrono::system_clock::now());
  if (now != last) {
    text = http_date(now);
    last = now;
  }
  return text;
}

// Appends `v` without CR, LF or NUL: a header value that slipped them in cannot split the
// response (the fields come from our handlers, but a reflected value must stay one line).
inline void append_field_text(std::string& out, std::string_view v) {
  for (char ch : v)
    if (ch != '\r' && ch != '\n' && ch != '\0') out += ch;
}

struct wire_head {
  int status = 200;
  unsigned version = 11;       // 10 or 11
  bool keep_alive = true;      // false: "Connection: close" (1.1); true on 1.0: "Connection: keep-alive"
  bool hsts = false;           // add Strict-Transport-Security (TLS listeners)
  std::string_view date;       // the Date value ("" to leave it out)
  std::string_view content_type;  // "" to leave it out
};

// A 1xx, 204 or 304 answer carries no body (RFC 9110 §6.4.1): one given is not sent.
inline bool bodiless_status(int status) { return (status >= 100 && status < 200) || status == 204 || status == 304; }

// Status line and fields, up to and including the blank line, in a fixed order (Server, Date,
// Strict-Transport-Security, Content-Type, then `extra` as given, Connection, Content-Length).
// Content-Length is `body_size`, and not sent for a bodiless status (a HEAD answer's body is
// emptied by the router before this, so it says 0). `reserve_body` bytes are reserved beyond
// the head so that the caller can append the body without a reallocation.
inline std::string serialize_head(const wire_head& h, const std::vector<std::pair<std::string, std::string>>& extra,
                                  std::size_t body_size, std::size_t reserve_body = 0) {
  if (bodiless_status(h.status)) body_size = 0;
  std::string out;
  std::size_t size = 160 + h.content_type.size() + reserve_body;
  for (const auto& [k, v] : extra) size += k.size() + v.size() + 4;
  out.reserve(size);
  out += h.version == 10 ? "HTTP/1.0 " : "HTTP/1.1 ";
  int st = h.status >= 100 && h.status <= 999 ? h.status : 500;
  out += char('0' + st / 100);
  out += char('0' + st / 10 % 10);
  out += char('0' + st % 10);
  out += ' ';
  out += reason_phrase(st);
  out += "\r\nServer: maeul\r\n";
  if (!h.date.empty()) {
    out += "Date: ";
    out += h.date;
    out += "\r\n";
  }
  if (h.hsts) out += "Strict-Transport-Security: max-age=31536000\r\n";
  if (!h.content_type.empty()) {
    out += "Content-Type: ";
    append_field_text(out, h.content_type);
    out += "\r\n";
  }
  for (const auto& [k, v] : extra) {
    append_field_text(out, k);
    out += ": ";
    append_field_text(out, v);
    out += "\r\n";
  }
  if (h.version == 10 && h.keep_alive) out += "Connection: keep-alive\r\n";
  if (h.version != 10 && !h.keep_alive) out += "Connection: close\r\n";
  // RFC 9110 §8.6: none on a 1xx or 204; on a 304 it would have to be the length of the GET's body,
  // which this answer does not know, so none there either.
  if (!bodiless_status(h.status)) {
    out += "Content-Length: ";
    out += std::to_string(body_size);
    out += "\r\n";
  }
  out += "\r\n";
  return out;
}

// The whole response, head and body, in one string (what a small answer is written as).
inline std::string serialize_response(const wire_head& h,
                                      const std::vector<std::pair<std::string, std::string>>& extra,
                                      std::string_view body) {
  if (bodiless_status(h.status)) body = {};
  std::string out = serialize_head(h, extra, body.size(), body.size());
  out += body;
  return out;
}

}  // namespace maeul::net::detail
