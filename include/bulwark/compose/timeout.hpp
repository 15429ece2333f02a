#pragma once

#include <chrono>
#include <concepts>
#include <functional>
#include <future>
#include <memory>
#include <stop_token>
#include <type_traits>
#include <utility>

#include "bulwark/compose/detail/watchdog.hpp"
#include "bulwark/core/clock.hpp"
#include "bulwark/core/errors.hpp"
#include "bulwark/core/options.hpp"
#include "bulwark/detail/clock_wait.hpp"
#include "bulwark/detail/invoke_then.hpp"
#include "bulwark/detail/raise.hpp"

namespace bulwark {

/// Thrown by bulwark::timeout when a call's deadline passed. A `rejected` (as Polly's
/// TimeoutRejectedException is a rejection): the caller did not get an answer in time, and
/// handlers of refusals (fallback, retry, an adaptive limiter's drop count) treat it alike.
class timeout_expired : public rejected {
 public:
  using rejected::rejected;
};

/// A timeout's configuration. The default is Polly v8's (30 s).
struct timeout_options {
  /// The deadline of each call, from the start of execute(). > 0.
  duration timeout = std::chrono::seconds{30};
};

namespace detail {
template <class F, class... Args>
concept takes_stop_token = std::invocable<F, std::stop_token, Args...>;
template <class F, class... Args>
concept takes_deadline = !takes_stop_token<F, Args...> && std::invocable<F, time_point, Args...>;

template <class T>
inline constexpr bool is_future = false;
template <class T>
inline constexpr bool is_future<std::future<T>> = true;

inline void validate(const timeout_options& options) {
  option_check{"timeout"}.positive("timeout", options.timeout);
}
}  // namespace detail

/// A deadline per call. Synchronous C++ cannot be interrupted, so the callable cooperates,
/// and execute(f, args...) picks how by what f accepts:
///   - f(std::stop_token, args...): the token is stopped at the deadline (by one watchdog
///     thread per timeout object, started on first use);
///   - f(bulwark::time_point deadline, args...): f is given the deadline on the timeout's clock;
///   - f(args...) returning std::future<T>: the future is waited for until the deadline, and
///     abandoned if not ready (give it a promise-backed future: std::async's blocks in its
///     destructor until the work ends);
///   - any other f(args...): it runs to completion, and then the deadline is checked.
/// In every case, if the deadline has passed when f returns or throws, execute throws
/// bulwark::timeout_expired (the late result is dropped: the caller's time is up); otherwise
/// f's result or exception comes back unchanged.
///
/// Thread-safe; copies share the watchdog. Costs one clock read before and one after the call,
/// plus, for stop-token callables, arming the watchdog (a lock and a map node).
template <clock Clock = steady_clock>
class timeout {
 public:
  /// Callables taking a std::stop_token get one: a pipeline passes it through the policies
  /// inside this one.
  static constexpr bool offers_stop_token = true;

  /// Throws std::invalid_argument ("bulwark::timeout: timeout must be > 0 (got 0s)").
  explicit timeout(timeout_options options = {}, Clock clock = {})
      : options_{(detail::validate(options), options)},
        clock_{std::move(clock)},
        watchdog_{std::make_shared<detail::watchdog<Clock>>(clock_)} {}

  /// Not offered without exceptions (detail::with_exceptions): give the callable a deadline or a
  /// stop token directly.
  template <detail::with_exceptions F, class... Args>
  requires std::invocable<F, Args...> || detail::takes_stop_token<F, Args...> ||
      detail::takes_deadline<F, Args...>
  decltype(auto) execute(F&& f, Args&&... args) {
    const time_point deadline = detail::deadline_after(clock_.now(), options_.timeout);
    if constexpr (detail::takes_stop_token<F, Args...>) {
      std::stop_source source;
      const auto armed = watchdog_->arm(deadline, source);
      struct disarm {
        detail::watchdog<Clock>& dog;
        decltype(armed) handle;
        const std::stop_source& source;
        ~disarm() { dog.disarm(handle, source); }
      } guard{*watchdog_, armed, source};
      return checked(deadline, [&]() -> decltype(auto) {
        return std::invoke(std::forward<F>(f), source.get_token(), std::forward<Args>(args)...);
      });
    } else if constexpr (detail::takes_deadline<F, Args...>) {
      return checked(deadline, [&]() -> decltype(auto) {
        return std::invoke(std::forward<F>(f), deadline, std::forward<Args>(args)...);
      });
    } else if constexpr (detail::is_future<std::invoke_result_t<F, Args...>>) {
      auto future = std::invoke(std::forward<F>(f), std::forward<Args>(args)...);
      if (!detail::wait_until(future, clock_, deadline)) detail::raise<timeout_expired>(expired());
      return future.get();
    } else {
      return checked(deadline, [&]() -> decltype(auto) {
        return std::invoke(std::forward<F>(f), std::forward<Args>(args)...);
      });
    }
  }

  [[nodiscard]] const timeout_options& options() const noexcept { return options_; }
  [[nodiscard]] const Clock& clock() const noexcept { return clock_; }

 private:
  [[nodiscard]] timeout_expired expired() const {
    return timeout_expired{"timeout", "the call did not finish within its timeout"};
  }
  [[nodiscard]] bool late(time_point deadline) const { return clock_.now() >= deadline; }

  template <class Run>
  decltype(auto) checked(time_point deadline, Run&& run) {
    BULWARK_TRY {
      return detail::invoke_then(
          [&](const auto&...) {
            if (late(deadline)) detail::raise<timeout_expired>(expired());
          },
          run);
    }
    BULWARK_CATCH(const timeout_expired&) {
      BULWARK_RETHROW;
    }
    BULWARK_CATCH_ALL {
      if (late(deadline)) detail::raise<timeout_expired>(expired());
      BULWARK_RETHROW;
    }
  }

  timeout_options options_;
  [[no_unique_address]] Clock clock_;
  std::shared_ptr<detail::watchdog<Clock>> watchdog_;
};

}  // namespace bulwark
