#pragma once

#include <atomic>
#include <cstdio>
#include <cstdlib>

namespace bulwark {

/// What a build without exceptions (-fno-exceptions) does where bulwark would throw: invalid
/// options, misuse (an unknown partition, a recursive get_or_load) and the few errors a permit
/// API reports. It receives the message the exception would have carried. bulwark calls
/// std::abort() after it returns, so a handler that wants to end the process differently
/// (log, flush, std::quick_exit) must not return. With exceptions on it is never called.
using error_handler = void (*)(const char* what) noexcept;

namespace detail {

/// The default: one line on stderr, then (in raise) std::abort().
inline void print_error(const char* what) noexcept {
  std::fprintf(stderr, "bulwark: %s\n", what);
}

/// Relaxed is enough: a handler is installed once at start-up, before the code it guards runs
/// on other threads, and reading a stale default only changes which message line is printed.
inline std::atomic<error_handler> installed_error_handler{&print_error};

}  // namespace detail

/// Installs `handler` (nullptr restores the default) and returns the previous one.
inline error_handler set_error_handler(error_handler handler) noexcept {
  return detail::installed_error_handler.exchange(handler ? handler : &detail::print_error,
                                                  std::memory_order_relaxed);
}

/// The handler now installed.
[[nodiscard]] inline error_handler get_error_handler() noexcept {
  return detail::installed_error_handler.load(std::memory_order_relaxed);
}

}  // namespace bulwark
