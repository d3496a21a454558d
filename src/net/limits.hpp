// The edge's pure rules: who may open another connection, how long a request body may take, how
// long the accept loop waits after running out of descriptors. No I/O here; server.cpp applies
// them and tests/unit/limits_test.cpp checks them.
#pragma once
#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdint>
#include <string>
#include <unordered_map>

#include <boost/asio/ip/address.hpp>
#include <boost/system/error_code.hpp>

namespace maeul::net::detail {

// The key a connection is counted under for http.max_connections_per_ip: the IPv4 address (also
// when it arrives IPv4-mapped on an IPv6 socket), or the /64 prefix of an IPv6 address (one host
// usually holds a whole /64, so counting single addresses would not limit it).
inline std::string limit_key(const boost::asio::ip::address& a) {
  if (a.is_v4()) return a.to_v4().to_string();
  auto v6 = a.to_v6();
  if (v6.is_v4_mapped()) return boost::asio::ip::make_address_v4(boost::asio::ip::v4_mapped, v6).to_string();
  auto b = v6.to_bytes();
  for (std::size_t i = 8; i < b.size(); ++i) b[i] = 0;
  return boost::asio::ip::address_v6(b).to_string() + "/64";
}

// Counts open connections in total and per key. Not thread-safe: the caller holds a lock. The
// map holds one entry per key with at least one connection (erased at zero), so it is bounded by
// the connection count.
class conn_limiter {
 public:
  enum class verdict { admitted, over_total, over_per_ip };

  conn_limiter(std::size_t max_total, std::size_t max_per_key) : max_total_(max_total), max_per_key_(max_per_key) {}

  // Counts the connection and returns admitted, or counts nothing and says which cap it would pass.
  verdict admit(const std::string& key) {
    if (total_ >= max_total_) return verdict::over_total;
    auto it = per_key_.try_emplace(key, 0).first;
    if (it->second >= max_per_key_) {
      if (it->second == 0) per_key_.erase(it);  // max_per_key 0: never keep an empty entry
      return verdict::over_per_ip;
    }
    ++it->second;
    ++total_;
    return verdict::admitted;
  }

  // Uncounts one admitted connection of `key`.
  void release(const std::string& key) {
    auto it = per_key_.find(key);
    if (it == per_key_.end()) return;
    if (--it->second == 0) per_key_.erase(it);
    --total_;
  }

  std::size_t total() const { return total_; }
  std::size_t keys() const { return per_key_.size(); }
  std::size_t count(const std::string& key) const {
    auto it = per_key_.find(key);
    return it == per_key_.end() ? 0 : it->second;
  }

 private:
  std::size_t max_total_, max_per_key_;
  std::size_t total_ = 0;
  std::unordered_map<std::string, std::size_t> per_key_;
};

// How long a request body may have taken once `received` bytes of it arrived: the read timeout
// plus the time those bytes take at `min_rate` bytes a second. A client that keeps sending at
// least `min_rate` is never cut off; one that trickles slower is, at the latest after about
// read_timeout / (1 - rate / min_rate). `min_rate` 0 means no extension.
inline std::chrono::milliseconds body_allowance(std::uint64_t received, int read_timeout_ms, std::uint64_t min_rate) {
  std::uint64_t extra_ms = min_rate == 0 ? 0 : received * 1000 / min_rate;
  return std::chrono::milliseconds(std::int64_t(read_timeout_ms) + std::int64_t(extra_ms));
}

// Accept errors that mean "out of descriptors or memory": retrying at once would spin.
inline bool is_resource_exhaustion(const boost::system::error_code& ec) {
  if (ec.category() != boost::system::system_category() && ec.category() != boost::system::generic_category())
    return false;
  int v = ec.value();
  return v == EMFILE || v == ENFILE || v == ENOBUFS || v == ENOMEM;
}

// The accept loop's wait after an exhaustion error: 50 ms, doubling to 1 s; reset on a success.
class accept_backoff {
 public:
  // The wait before the next accept. The first call of an episode says so (`first` = true).
  std::chrono::milliseconds next(bool& first) {
    first = current_.count() == 0;
    current_ = first ? std::chrono::milliseconds(50) : std::min(current_ * 2, std::chrono::milliseconds(1000));
    ++errors_;
    return current_;
  }
  // An accept succeeded: ends the episode. Returns the number of errors it had (0: none was running).
  std::uint64_t reset() {
    auto n = errors_;
    current_ = std::chrono::milliseconds(0);
    errors_ = 0;
    return n;
  }
  bool in_episode() const { return current_.count() != 0; }

 private:
  std::chrono::milliseconds current_{0};
  std::uint64_t errors_ = 0;
};

}  // namespace maeul::net::detail
