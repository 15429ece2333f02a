#pragma once

#include <concepts>
#include <exception>
#include <functional>
#include <type_traits>
#include <utility>

#include "bulwark/detail/raise.hpp"

namespace bulwark {

namespace detail {
// The one parameter type of a non-generic callable's operator() (or a function pointer), to
// deduce what a fallback handler catches.
template <class T>
struct sole_parameter : sole_parameter<decltype(&T::operator())> {};
template <class R, class A>
struct sole_parameter<R (*)(A)> {
  using type = A;
};
template <class R, class A>
struct sole_parameter<R (*)(A) noexcept> {
  using type = A;
};
template <class C, class R, class A>
struct sole_parameter<R (C::*)(A) const> {
  using type = A;
};
template <class C, class R, class A>
struct sole_parameter<R (C::*)(A) const noexcept> {
  using type = A;
};
template <class C, class R, class A>
struct sole_parameter<R (C::*)(A)> {
  using type = A;
};
template <class C, class R, class A>
struct sole_parameter<R (C::*)(A) noexcept> {
  using type = A;
};
template <class H>
using handled_exception_t = std::remove_cvref_t<typename sole_parameter<std::decay_t<H>>::type>;
}  // namespace detail

#if BULWARK_HAS_EXCEPTIONS
/// Turns chosen exceptions (a guard's refusal, a backend's error) into a substitute result,
/// as Polly's fallback strategy and resilience4j's Decorators.withFallback do.
///
///   bulwark::fallback cached([&](const bulwark::rejected&) { return cache.last_price(); });
///   auto price = bulwark::pipeline(cached, breaker).execute(fetch_price, sku);
///
/// What is handled is given by the handler's parameter: `const E&` catches E and everything
/// derived from it (so `const bulwark::rejected&` catches every guard's refusal, timeouts
/// included); a `std::exception_ptr` parameter catches everything (rethrow it to decline).
/// `fallback_on<E1, E2>(handler)` lists the types explicitly; the handler then takes the
/// caught exception as `const E&` for each listed E, or nothing.
///
/// The handler's result is converted to f's result type (void for a void f). Exceptions not
/// handled, and exceptions thrown by the handler, propagate unchanged. Thread-safe when the
/// handler is; no cost on the success path beyond a try block. Not offered without exceptions
/// (BULWARK_HAS_EXCEPTIONS): there is nothing to fall back from.
template <class Handler, class... Exceptions>
class fallback {
 public:
  explicit fallback(Handler handler) : handler_{std::move(handler)} {}

  template <class F, class... Args>
  requires std::invocable<F, Args...>
  decltype(auto) execute(F&& f, Args&&... args) {
    using result = std::invoke_result_t<F, Args...>;
    if constexpr (sizeof...(Exceptions) == 0) {
      using caught = detail::handled_exception_t<Handler>;
      if constexpr (std::same_as<caught, std::exception_ptr>) {
        try {
          return std::invoke(std::forward<F>(f), std::forward<Args>(args)...);
        } catch (...) {
          return substitute<result>(std::current_exception());
        }
      } else {
        try {
          return std::invoke(std::forward<F>(f), std::forward<Args>(args)...);
        } catch (const caught& e) {
          return substitute<result>(e);
        }
      }
    } else {
      return try_each<result, Exceptions...>(f, args...);
    }
  }

 private:
  template <class Result, class E>
  Result substitute(const E& error) {
    if constexpr (std::invocable<Handler&, const E&>) {
      return static_cast<Result>(std::invoke(handler_, error));
    } else {
      return static_cast<Result>(std::invoke(handler_));
    }
  }

  // Nested try blocks, one per listed type, the first listed outermost: an exception is
  // caught by the innermost block whose type it matches (the last listed match), which only
  // decides the static type the handler sees.
  template <class Result, class First, class... Rest, class F, class... Args>
  Result try_each(F& f, Args&... args) {
    try {
      if constexpr (sizeof...(Rest) == 0) {
        return std::invoke(std::forward<F>(f), std::forward<Args>(args)...);
      } else {
        return try_each<Result, Rest...>(f, args...);
      }
    } catch (const First& e) {
      return substitute<Result>(e);
    }
  }

  Handler handler_;
};

template <class Handler>
fallback(Handler) -> fallback<Handler>;

/// A fallback that handles exactly the listed exception types (and types derived from them).
template <class... Exceptions, class Handler>
[[nodiscard]] fallback<std::decay_t<Handler>, Exceptions...> fallback_on(Handler&& handler) {
  static_assert(sizeof...(Exceptions) > 0, "bulwark::fallback_on: list the exceptions handled");
  return fallback<std::decay_t<Handler>, Exceptions...>{std::forward<Handler>(handler)};
}
#endif

}  // namespace bulwark
