// Static files of the dashboard: loaded once at start, answered from memory.
#include "maeul/api/static_files.hpp"

#include <algorithm>
#include <fstream>
#include <sstream>

#include <openssl/evp.h>

#include "maeul/domain/encoding.hpp"

namespace maeul::api {
namespace {

std::string content_type(const std::filesystem::path& p) {
  static const std::map<std::string, std::string> types = {
      {".html", "text/html; charset=utf-8"}, {".js", "text/javascript; charset=utf-8"},
      {".mjs", "text/javascript; charset=utf-8"}, {".css", "text/css; charset=utf-8"},
      {".json", "application/json"}, {".svg", "image/svg+xml"}, {".png", "image/png"},
      {".jpg", "image/jpeg"}, {".ico", "image/x-icon"}, {".woff2", "font/woff2"}, {".woff", "font/woff"},
      {".txt", "text/plain; charset=utf-8"}, {".map", "application/json"}, {".webmanifest", "application/manifest+json"}};
  auto it = types.find(p.extension().string());
  return it == types.end() ? "application/octet-stream" : it->second;
}

std::string html_escape(const std::string& v) {
  std::string out;
  for (char c : v) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      case '\'': out += "&#39;"; break;
      default: out += c;
    }
  }
  return out;
}

}  // namespace

std::string etag_of(std::string_view body) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_Digest(body.data(), body.size(), md, &len, EVP_sha256(), nullptr);
  return "\"" + domain::hex(std::string_view(reinterpret_cast<const char*>(md), std::min(len, 12u))) + "\"";
}

static_files::static_files(const std::filesystem::path& root,
                           const std::vector<std::pair<std::string, std::string>>& meta) {
  std::error_code ec;
  if (!std::filesystem::is_directory(root, ec)) return;
  for (auto it = std::filesystem::recursive_directory_iterator(root, ec);
       !ec && it != std::filesystem::recursive_directory_iterator(); it.increment(ec)) {
    if (!it->is_regular_file()) continue;
    std::ifstream in(it->path(), std::ios::binary);
    std::ostringstream ss;
    ss << in.rdbuf();
    file f;
    f.body = ss.str();
    f.type = content_type(it->path());
    auto rel = "/" + std::filesystem::relative(it->path(), root).generic_string();
    if (rel == "/index.html" && !meta.empty()) {
      std::string tags;
      for (const auto& [name, content] : meta)
        tags += "<meta name=\"" + html_escape(name) + "\" content=\"" + html_escape(content) + "\">\n";
      auto head_end = f.body.find("</head>");
      f.body.insert(head_end == std::string::npos ? 0 : head_end, tags);
    }
    f.etag = etag_of(f.body);
    f.immutable = rel.rfind("/assets/", 0) == 0;
    files_[rel] = std::move(f);
  }
}

std::optional<net::response> static_files::get(const std::string& path, const std::string& if_none_match,
                                               const std::string& accept) const {
  auto it = files_.find(path == "/" ? "/index.html" : path);
  if (it == files_.end() && path.find('.', path.rfind('/')) == std::string::npos &&
      accept.find("text/html") != std::string::npos)
    it = files_.find("/index.html");  // a client-side route, reloaded in the browser
  net::response res;
  if (it == files_.end()) {
    if (path != "/") return std::nullopt;
    res.status = 503;
    res.content_type = "text/plain; charset=utf-8";
    res.body = "The dashboard is not built: run scripts/build (needs npm once). The API works without it.\n";
    return res;
  }
  const auto& f = it->second;
  res.headers.emplace_back("ETag", f.etag);
  res.headers.emplace_back("Cache-Control", f.immutable ? "public, max-age=31536000, immutable" : "no-cache");
  res.headers.emplace_back("X-Content-Type-Options", "nosniff");
  if (f.type.rfind("text/html", 0) == 0) {
    res.headers.emplace_back("Content-Security-Policy",
                             "default-src 'self'; img-src 'self' data: blob: https:; style-src 'self' 'unsafe-inline'; "
                             "connect-src 'self' ws: wss:; worker-src 'self' blob:");
    res.headers.emplace_back("Referrer-Policy", "no-referrer");
  }
  if (!if_none_match.empty() && if_none_match == f.etag) {
    res.status = 304;
    res.content_type.clear();
    return res;
  }
  res.content_type = f.type;
  res.body = f.body;
  return res;
}

std::filesystem::path find_web_root(const std::string& configured, const std::filesystem::path& exe) {
  if (!configured.empty()) return configured;
  std::error_code ec;
  auto dir = exe.parent_path();
  for (auto candidate : {dir / ".." / "web" / "dist", dir / "web", std::filesystem::current_path(ec) / "web" / "dist"})
    if (std::filesystem::is_regular_file(candidate / "index.html", ec)) return candidate.lexically_normal();
  return dir / ".." / "web" / "dist";
}

}  // namespace maeul::api
