#pragma once
// detail::exception_is: whether a caught exception is one of some types. Shared by the
// breaker's exception classifiers and retry's retry_on_exceptions.

#include <exception>

#include "bulwark/detail/raise.hpp"

namespace bulwark::detail {

/// True when `e` holds an exception of type E or of one of `Rest...` (or of a type derived
/// from one of them); false for any other exception. `e` must not be null.
/// Cost: one rethrow per listed type tried, on the exception path only (the standard offers no
/// other way to test the dynamic type behind an exception_ptr).
template <class E, class... Rest>
[[nodiscard]] bool exception_is(const std::exception_ptr& e) {
#if !BULWARK_HAS_EXCEPTIONS
  static_cast<void>(e);
  return false;  // nothing is ever thrown, so no exception_ptr holds an E
#else
  try {
    std::rethrow_exception(e);
  } catch (const E&) {
    return true;
  } catch (...) {
    if constexpr (sizeof...(Rest) > 0) {
      return exception_is<Rest...>(e);
    } else {
      return false;
    }
  }
#endif
}

}  // namespace bulwark::detail
