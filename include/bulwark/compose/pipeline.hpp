#pragma once

#include <cstddef>
#include <functional>
#include <tuple>
#include <type_traits>
#include <utility>

#include "bulwark/core/policy.hpp"

namespace bulwark {

/// Policies nested outermost first: `pipeline(retry, breaker, limiter, bulkhead).execute(f)`
/// is `retry.execute([&] { return breaker.execute([&] { return limiter.execute([&] {
/// return bulkhead.execute([&] { return f(args...); }); }); }); })`. A pipeline is itself a
/// policy, so pipelines nest, and any type with an `execute(f)` composes, user-written ones
/// included.
///
///   bulwark::pipeline protect(retry, breaker, limiter, bulkhead);   // lvalues: by reference
///   auto total = protect.execute(price, order);
///
/// Lvalue policies are held by reference (guards are shared and not copyable: the caller keeps
/// them alive), rvalues by value (`pipeline(bulwark::timeout({.timeout = 1s}), breaker)`).
///
/// Each layer wraps the next in a lambda that captures by reference: no allocation, no type
/// erasure and no virtual call, so the compiler sees through the whole chain. The arguments
/// reach f as lvalues, because an outer retry or hedge may call the inner chain more than once
/// (a moved-from argument would be empty on the second attempt).
///
/// Thread-safe when its policies are; execute is const-free only because policies' execute
/// is not const. O(number of policies) in call depth.
template <class... Policies>
class pipeline {
 public:
  /// Holds each policy: an lvalue by reference, an rvalue moved in.
  explicit(sizeof...(Policies) == 1) constexpr pipeline(Policies&&... policies)
      : policies_{std::forward<Policies>(policies)...} {}

  template <class F, class... Args>
  requires std::invocable<F&, Args&...>
  decltype(auto) execute(F&& f, Args&&... args) { return run<0>(f, args...); }

  /// The I-th policy, outermost first.
  template <std::size_t I>
  [[nodiscard]] decltype(auto) get() noexcept {
    return std::get<I>(policies_);
  }
  [[nodiscard]] static constexpr std::size_t size() noexcept { return sizeof...(Policies); }

 private:
  template <std::size_t I, class F, class... Args>
  decltype(auto) run(F& f, Args&... args) {
    if constexpr (I == sizeof...(Policies)) {
      return std::invoke(f, args...);
    } else {
      // A nullary lambda, so that any policy can run it (retry passes an attempt_context only
      // to callables that take one). decltype(auto) keeps references and void intact.
      return std::get<I>(policies_).execute(
          [this, &f, &args...]() -> decltype(auto) { return run<I + 1>(f, args...); });
    }
  }

  std::tuple<Policies...> policies_;
};

/// Lvalues deduce T& (held by reference), rvalues T (held by value).
template <class... Policies>
pipeline(Policies&&...) -> pipeline<Policies...>;

}  // namespace bulwark
