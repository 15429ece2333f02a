#pragma once
// What the asio tests share: the outcome of a coroutine spawned with co_spawn, and a test of
// which exception an outcome holds.

#include <exception>
#include <optional>
#include <utility>

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

}  // namespace bulwark_test
