// The one name for a coroutine that runs on an Asio executor, used by every module that awaits.
#pragma once
#include <boost/asio/awaitable.hpp>

namespace maeul {

template <class T>
using task = boost::asio::awaitable<T>;

}  // namespace maeul
