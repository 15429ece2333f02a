#include <bulwark/core/errors.hpp>
#include <chrono>
#include <stdexcept>
#include <string>
#include <type_traits>

#include "catch.hpp"

using namespace std::chrono_literals;

TEST_CASE("every refusal is a bulwark::rejected, which is a std::runtime_error", "[core]") {
  STATIC_REQUIRE(std::is_base_of_v<std::runtime_error, bulwark::rejected>);
  STATIC_REQUIRE(std::is_base_of_v<bulwark::rejected, bulwark::rate_limited>);
  STATIC_REQUIRE(std::is_base_of_v<bulwark::rejected, bulwark::circuit_open>);
  STATIC_REQUIRE(std::is_base_of_v<bulwark::rejected, bulwark::bulkhead_full>);

  bool caught = false;
  try {
    throw bulwark::circuit_open("circuit_breaker", "open", 30s);
  } catch (const bulwark::rejected& e) {
    caught = true;
    REQUIRE(e.retry_after().has_value());
    CHECK(*e.retry_after() == 30s);
  }
  CHECK(caught);
}

TEST_CASE("rejected messages name the component and the hint", "[core]") {
  const bulwark::rate_limited limited("gcra", "rate limited", 20ms);
  CHECK(std::string{limited.what()} == "bulwark::gcra: rate limited (retry after 20ms)");

  const bulwark::bulkhead_full full("bulkhead", "10 of 10 calls in progress");
  CHECK(std::string{full.what()} == "bulwark::bulkhead: 10 of 10 calls in progress");
  CHECK_FALSE(full.retry_after().has_value());
}
