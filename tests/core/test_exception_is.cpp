// detail::exception_is: the one "is this exception an E" test, used by the breaker's
// ignore_exceptions/record_exceptions and retry's retry_on_exceptions.

#include <exception>
#include <stdexcept>
#include <system_error>

#include "bulwark/detail/exception_is.hpp"
#include "catch.hpp"

namespace detail = bulwark::detail;

namespace {
template <class E>
std::exception_ptr thrown(E e) {
  return std::make_exception_ptr(e);
}
struct not_a_std_exception {};
}  // namespace

TEST_CASE("exception_is matches the listed types and types derived from them", "[core]") {
  const auto range = thrown(std::out_of_range{"r"});
  CHECK(detail::exception_is<std::out_of_range>(range));
  CHECK(detail::exception_is<std::logic_error>(range));  // a base class matches
  CHECK(detail::exception_is<std::exception>(range));
  CHECK_FALSE(detail::exception_is<std::runtime_error>(range));
  // Any position in the list.
  CHECK(detail::exception_is<std::runtime_error, std::system_error, std::logic_error>(range));
  CHECK_FALSE(detail::exception_is<std::runtime_error, std::bad_alloc>(range));
  // Not derived from std::exception at all.
  const auto odd = thrown(not_a_std_exception{});
  CHECK(detail::exception_is<not_a_std_exception>(odd));
  CHECK_FALSE(detail::exception_is<std::exception>(odd));
}
