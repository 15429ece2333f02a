#pragma once
// detail::invoke_then: call f, look at its result, and hand the result back unchanged (void,
// a reference or a value). Shared by the guards whose execute() records an outcome after the
// call: the breaker, the adaptive limiters and throttle, timeout and the load balancer.

#include <functional>
#include <type_traits>
#include <utility>

namespace bulwark::detail {

/// Calls `f(args...)`, then `then(result)` with the result as a const lvalue (`then()` for a
/// void f), and returns f's result as f returned it: void stays void, a reference stays the
/// same reference (never a copy), a value is returned without a copy where the language allows.
/// If f throws, `then` is not called; if `then` throws, the result is dropped.
template <class Then, class F, class... Args>
requires std::invocable<F, Args...>
decltype(auto) invoke_then(Then&& then, F&& f, Args&&... args) {
  using result = std::invoke_result_t<F, Args...>;
  if constexpr (std::is_void_v<result>) {
    std::invoke(std::forward<F>(f), std::forward<Args>(args)...);
    std::invoke(std::forward<Then>(then));
  } else {
    // A reference binds to what f returned; a value is initialised in place (no copy).
    result r = std::invoke(std::forward<F>(f), std::forward<Args>(args)...);
    std::invoke(std::forward<Then>(then), std::as_const(r));
    if constexpr (std::is_reference_v<result>) {
      return static_cast<result>(r);  // an rvalue reference stays one (r itself is an lvalue)
    } else {
      return r;
    }
  }
}

}  // namespace bulwark::detail
