#pragma once
// What the asio tests share: the outcome of a coroutine spawned with co_spawn, a test of which
// exception an outcome holds, a runner for coroutines that finish without time passing, and
// two calls to guard.

#include <asio/awaitable.hpp>
#include <asio/co_spawn.hpp>
#include <asio/io_context.hpp>
#include <exception>
#include <optional>
#include <stdexcept>
#include <utility>

#include "catch.hpp"

namespace bulwark_test {

/// Where a spawned coroutine's end lands: co_spawn(io, f(), ending.handler()).
template <class T>
struct ending {
  bool done = false;
  std::optional<T> value;
  std::exception_ptr error;
  auto handler() {
    return [this](std::exception_ptr e, T v) {
      done = true;
      if (e) {
        error = e;
      } else {
        value = std::move(v);
      }
    };
  }
};

/// Whether `e` holds an exception of type E (false for no exception).
template <class E>
bool holds(const std::exception_ptr& e) {
  try {
    if (e) std::rethrow_exception(e);
  } catch (const E&) {
    return true;
  } catch (...) {
  }
  return false;
}

/// Runs `co` on `io` to completion of everything ready (virtual time does not move), and
/// returns its exception, if any.
template <class Awaitable>
std::exception_ptr run(asio::io_context& io, Awaitable co) {
  std::exception_ptr error;
  bool done = false;
  asio::co_spawn(io, std::move(co), [&](std::exception_ptr e) {
    error = e;
    done = true;
  });
  io.restart();  // a poll that ran out of work stopped the context
  io.poll();
  REQUIRE(done);
  return error;
}

/// A call that succeeds with 42, and one that throws std::runtime_error("down").
inline asio::awaitable<int> answer() {
  co_return 42;
}
inline asio::awaitable<int> fail() {
  throw std::runtime_error("down");
  co_return 0;
}

}  // namespace bulwark_test
