#pragma once

#include <exception>
#include <functional>
#include <optional>
#include <type_traits>
#include <utility>

#include "bulwark/circuit_breaker/options.hpp"
#include "bulwark/circuit_breaker/state.hpp"
#include "bulwark/core/clock.hpp"
#include "bulwark/core/errors.hpp"
#include "bulwark/detail/raise.hpp"

// How a call run by circuit_breaker::execute ends: its result classified and recorded on its
// permit, an exception that the options classify, or a refusal thrown as bulwark::circuit_open.

namespace bulwark::detail {

/// How options.classify_exception counts `e`; a failure when there is no classifier or the
/// classifier itself throws.
[[nodiscard]] inline call_outcome classify_exception(const circuit_breaker_options& o,
                                                     const std::exception_ptr& e) noexcept {
  if (!o.classify_exception) return call_outcome::failure;
  BULWARK_TRY {
    return o.classify_exception(e);
  }
  BULWARK_CATCH_ALL {
    return call_outcome::failure;
  }
}

/// The refusal of a permit refused in `state`, with its retry_after while open.
[[noreturn]] inline void throw_circuit_open(circuit_state state,
                                            std::optional<duration> retry_after) {
  switch (state) {
    case circuit_state::forced_open:
      raise<circuit_open>("circuit_breaker", "circuit is forced open");
    case circuit_state::half_open:
      raise<circuit_open>("circuit_breaker", "half-open probes are all in flight");
    default:
      raise<circuit_open>("circuit_breaker", "circuit is open", retry_after);
  }
}

/// Runs f(args...) under permit `p` (circuit_breaker::execute's body): a refused permit throws
/// circuit_open; a result is recorded as `classify(result)` says; an exception is recorded as
/// the options classify it and rethrown.
template <class Permit, class Classify, class F, class... Args>
decltype(auto) run_with_permit(Permit p, const circuit_breaker_options& options,
                               Classify&& classify, F&& f, Args&&... args) {
  using result = std::invoke_result_t<F, Args...>;
  if (!p) throw_circuit_open(p.state(), p.retry_after());
  BULWARK_TRY {
    if constexpr (std::is_void_v<result>) {
      std::invoke(std::forward<F>(f), std::forward<Args>(args)...);
      p.success();
    } else {
      decltype(auto) r = std::invoke(std::forward<F>(f), std::forward<Args>(args)...);
      p.record(std::invoke(classify, std::as_const(r)));
      if constexpr (std::is_reference_v<result>) {
        return static_cast<result>(r);
      } else {
        return r;
      }
    }
  }
  BULWARK_CATCH_ALL {
    p.record(classify_exception(options, std::current_exception()));
    BULWARK_RETHROW;
  }
}

}  // namespace bulwark::detail
