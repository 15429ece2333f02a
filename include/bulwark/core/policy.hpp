#pragma once

#include <concepts>
#include <functional>
#include <type_traits>
#include <utility>

namespace bulwark {

/// A policy guards calls: `p.execute(f, args...)` runs `f(args...)` under the policy and
/// returns its result, propagates its exceptions, and throws a bulwark::rejected subclass when
/// the policy refuses the call. Every guard (limiter, breaker, retry, bulkhead, ...) models it,
/// and bulwark::pipeline nests policies through it, so no guard knows about another.
///
/// policy_for<P, F, Args...> checks one callable; policy<P> checks a representative one (a
/// nullary function returning int), which is what a generic guard must accept.
template <class P, class F, class... Args>
concept policy_for = std::invocable<F, Args...> && requires(P& p, F&& f, Args&&... args) {
  p.execute(std::forward<F>(f), std::forward<Args>(args)...);
};

template <class P>
concept policy = policy_for<P, int (*)()> && requires(P& p, int (*f)()) {
  { p.execute(f) } -> std::same_as<int>;
};

/// The policy that guards nothing: execute(f, args...) is std::invoke(f, args...). The
/// identity of composition, and the "unprotected" arm of a comparison. Stateless, thread-safe.
struct passthrough {
  template <class F, class... Args>
  requires std::invocable<F, Args...>
  decltype(auto) execute(F&& f, Args&&... args) const {
    return std::invoke(std::forward<F>(f), std::forward<Args>(args)...);
  }
};

}  // namespace bulwark
