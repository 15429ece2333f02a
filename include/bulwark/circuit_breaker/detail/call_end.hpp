#pragma once

#include <exception>
#include <optional>

#include "bulwark/circuit_breaker/options.hpp"
#include "bulwark/circuit_breaker/state.hpp"
#include "bulwark/core/clock.hpp"
#include "bulwark/core/errors.hpp"
#include "bulwark/detail/raise.hpp"

// How a call run by circuit_breaker::execute ends when it does not return: an exception that
// the options classify, or a refusal thrown as bulwark::circuit_open.

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

}  // namespace bulwark::detail
