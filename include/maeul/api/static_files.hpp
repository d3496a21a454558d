// The operator dashboard's static files (web/dist, built at build time), held in memory and
// served with ETags. Paths that are not files get index.html (client-side routing).
#pragma once
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "maeul/net/http.hpp"

namespace maeul::api {

// A strong entity tag for a body: the first 96 bits of its SHA-256, quoted. The one ETag of the
// server: static files and the public KPI answers.
std::string etag_of(std::string_view body);

class static_files {
 public:
  // Loads every file under `root` (nothing when it does not exist). Each (name, content) of `meta` is
  // written into /index.html as <meta name="NAME" content="CONTENT"> (HTML-escaped) before </head>:
  // the dashboard's settings from the server's config (web.tiles...), with no request of their own.
  explicit static_files(const std::filesystem::path& root,
                        const std::vector<std::pair<std::string, std::string>>& meta = {});
  bool empty() const { return files_.empty(); }
  std::size_t size() const { return files_.size(); }
  // The answer for GET `path` (already percent-decoded), or nullopt when there is no such file.
  // A browser navigation (Accept: text/html) to a path without a file extension gets index.html,
  // so client-side routes survive a reload; other clients get the API's 404.
  std::optional<net::response> get(const std::string& path, const std::string& if_none_match,
                                   const std::string& accept) const;

 private:
  struct file {
    std::string body, type, etag;
    bool immutable = false;  // hashed asset names: cache for a year
  };
  std::map<std::string, file> files_;
};

// Where the dashboard's files are: `configured` when set, else next to the executable
// (../web/dist from build/maeuld, or ./web), else web/dist under the working directory.
std::filesystem::path find_web_root(const std::string& configured, const std::filesystem::path& exe);

}  // namespace maeul::api
