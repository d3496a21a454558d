// Public pages computed once per period (api/page_cache.hpp).
#include "maeul/api/page_cache.hpp"

#include <exception>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

namespace maeul::api {

std::size_t page_cache::computed() const {
  std::lock_guard lock(mutex_);
  return computed_;
}

void page_cache::clear() {
  std::lock_guard lock(mutex_);
  for (auto& [k, e] : entries_) e.have = false;
  ++generation_;
}

task<std::string> page_cache::get(std::string key, std::function<task<std::string>()> compute) {
  // Waiters look again every few milliseconds; a computation that takes longer than this is
  // abandoned by them and they compute on their own (the database's own limits then apply).
  constexpr auto poll = std::chrono::milliseconds(10);
  constexpr auto give_up = std::chrono::seconds(30);
  auto started = clock::now();
  std::uint64_t gen = 0;
  for (;;) {
    bool mine = false;
    {
      std::lock_guard lock(mutex_);
      auto now = clock::now();
      auto it = entries_.find(key);
      if (it != entries_.end() && it->second.have && now - it->second.at < ttl_) co_return it->second.body;
      if (it == entries_.end()) {
        if (entries_.size() >= max_keys_) {
          // Drop the entries nobody is computing (the oldest pages are worth no more than others).
          for (auto e = entries_.begin(); e != entries_.end();) e = e->second.computing ? std::next(e) : entries_.erase(e);
        }
        it = entries_.emplace(key, entry{}).first;
      }
      if (!it->second.computing || now - started > give_up) {
        it->second.computing = true;
        mine = true;
        gen = generation_;
      }
    }
    if (mine) break;
    auto ex = co_await boost::asio::this_coro::executor;
    boost::asio::steady_timer timer(ex, poll);
    auto wait = timer.async_wait(boost::asio::as_tuple(boost::asio::use_awaitable));
    co_await std::move(wait);
  }
  std::string body;
  std::exception_ptr failed;
  try {
    auto call = compute();
    body = co_await std::move(call);
  } catch (...) {
    failed = std::current_exception();
  }
  {
    std::lock_guard lock(mutex_);
    auto& e = entries_[key];
    e.computing = false;
    if (!failed && gen == generation_) {
      e.body = body;
      e.at = clock::now();
      e.have = true;
      ++computed_;
    }
  }
  if (failed) std::rethrow_exception(failed);
  co_return body;
}

}  // namespace maeul::api
