#include <bulwark/core/errors.hpp>
#include <bulwark/retry/exhausted.hpp>
#include <chrono>
#include <exception>
#include <stdexcept>
#include <string>

#include "catch.hpp"

using namespace std::chrono_literals;

TEST_CASE("retries_exhausted is a rejected that nests the error being handled", "[retry]") {
  try {
    try {
      throw std::runtime_error{"boom"};
    } catch (...) {
      throw bulwark::retries_exhausted{4, bulwark::retry_stop_reason::budget, 2s};
    }
  } catch (const bulwark::rejected& e) {
    CHECK(std::string{e.what()} ==
          "bulwark::retry: gave up after 4 attempts (budget): boom (retry after 2s)");
    CHECK(e.retry_after() == 2s);
    const auto* exhausted = dynamic_cast<const bulwark::retries_exhausted*>(&e);
    REQUIRE(exhausted);
    CHECK(exhausted->attempts() == 4);
    CHECK(exhausted->reason() == bulwark::retry_stop_reason::budget);
    CHECK(exhausted->last_error() == exhausted->nested_ptr());
    CHECK_THROWS_WITH(std::rethrow_if_nested(*exhausted), "boom");
  }
}

TEST_CASE("retries_exhausted without an error in flight nests nothing", "[retry]") {
  const bulwark::retries_exhausted e{0, bulwark::retry_stop_reason::stopped};
  CHECK(std::string{e.what()} == "bulwark::retry: gave up after 0 attempts (stopped)");
  CHECK_FALSE(e.last_error());
}

TEST_CASE("retries_exhausted with no attempt does not adopt the caller's exception", "[retry]") {
  try {
    throw std::runtime_error{"the caller's own"};
  } catch (...) {
    const bulwark::retries_exhausted e{0, bulwark::retry_stop_reason::stopped};
    CHECK_FALSE(e.last_error());
    CHECK(std::string{e.what()} == "bulwark::retry: gave up after 0 attempts (stopped)");
  }
}

TEST_CASE("stop reasons have names", "[retry]") {
  using bulwark::retry_stop_reason;
  CHECK(to_string(retry_stop_reason::attempts) == "attempts");
  CHECK(to_string(retry_stop_reason::deadline) == "deadline");
  CHECK(to_string(retry_stop_reason::budget) == "budget");
  CHECK(to_string(retry_stop_reason::stopped) == "stopped");
  CHECK(to_string(retry_stop_reason::pushback) == "pushback");
}
