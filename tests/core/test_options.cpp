#include <bulwark/core/options.hpp>
#include <bulwark/core/rate.hpp>
#include <chrono>
#include <cmath>
#include <limits>
#include <stdexcept>
#include <string>

#include "catch.hpp"

using namespace std::chrono_literals;

namespace {

template <class F>
std::string message_of(F&& f) {
  try {
    f();
  } catch (const std::invalid_argument& e) {
    return e.what();
  }
  return "<no exception>";
}

}  // namespace

TEST_CASE("option errors name the component, the field, the rule and the value", "[core]") {
  const bulwark::option_check check{"gcra"};
  CHECK(message_of([&] { check.at_least("burst", 0u, 1u); }) ==
        "bulwark::gcra: burst must be >= 1 (got 0)");
  CHECK(message_of([&] { check.positive("wait_in_open", -5ms); }) ==
        "bulwark::gcra: wait_in_open must be > 0 (got -5ms)");
  CHECK(message_of([&] { check.in_range("failure_rate_threshold", 1.5, 0.0, 1.0); }) ==
        "bulwark::gcra: failure_rate_threshold must be in [0, 1] (got 1.5)");
  CHECK(message_of([&] { check.fraction("share", 0.0); }) ==
        "bulwark::gcra: share must be in (0, 1] (got 0)");
  CHECK(message_of([&] { check.at_most("max_attempts", 1001, 1000); }) ==
        "bulwark::gcra: max_attempts must be <= 1000 (got 1001)");
  CHECK(message_of([&] { check.non_negative("jitter", -0.25); }) ==
        "bulwark::gcra: jitter must be >= 0 (got -0.25)");
  CHECK(message_of([&] { check.that(false, "name", "non-empty", std::string{}); }) ==
        "bulwark::gcra: name must be non-empty (got \"\")");
  CHECK(message_of([&] {
          check.that(false, "rate", "at least 1 per hour", bulwark::per_second(0));
        }) == "bulwark::gcra: rate must be at least 1 per hour (got 0/s)");
}

TEST_CASE("option checks pass good values and throw std::invalid_argument on bad ones", "[core]") {
  const bulwark::option_check check{"cache"};
  CHECK_NOTHROW(check.positive("capacity", 1));
  CHECK_NOTHROW(check.at_least("capacity", 1u, 1u));
  CHECK_NOTHROW(check.in_range("p", 0.0, 0.0, 1.0));
  CHECK_NOTHROW(check.in_range("p", 1.0, 0.0, 1.0));
  CHECK_NOTHROW(check.fraction("p", 1.0));
  CHECK_THROWS_AS(check.positive("capacity", 0), std::invalid_argument);
  CHECK_THROWS_AS(check.positive("ttl", 0s), std::invalid_argument);
}

TEST_CASE("NaN fails every numeric check", "[core]") {
  const bulwark::option_check check{"retry"};
  const double nan = std::numeric_limits<double>::quiet_NaN();
  CHECK_THROWS_AS(check.positive("multiplier", nan), std::invalid_argument);
  CHECK_THROWS_AS(check.non_negative("multiplier", nan), std::invalid_argument);
  CHECK_THROWS_AS(check.at_least("multiplier", nan, 1.0), std::invalid_argument);
  CHECK_THROWS_AS(check.at_most("multiplier", nan, 1.0), std::invalid_argument);
  CHECK_THROWS_AS(check.in_range("multiplier", nan, 0.0, 1.0), std::invalid_argument);
  CHECK_THROWS_AS(check.fraction("multiplier", nan), std::invalid_argument);
  CHECK(message_of([&] { check.positive("multiplier", nan); }) ==
        "bulwark::retry: multiplier must be > 0 (got nan)");
}

TEST_CASE("durations in messages use the unit a person would write", "[core]") {
  const auto text = [](auto d) { return bulwark::detail::to_message_text(d); };
  CHECK(text(0ns) == "0s");
  CHECK(text(17ns) == "17ns");
  CHECK(text(250ms) == "250ms");
  CHECK(text(1500ms) == "1.5s");
  CHECK(text(90s) == "90s");
  CHECK(text(5min) == "5min");
  CHECK(text(2h) == "2h");
  CHECK(text(-3us) == "-3us");
  CHECK(text(19'999'873ns) == "19.999873ms");
  CHECK(text(std::chrono::duration<double>(0.25)) == "250ms");
  CHECK(text(true) == "true");
}

// The ends of the range print exactly: duration::min() is -2^63 ns = -9'223'372'036'854'775'808
// ns, i.e. -9223372036 s and 854775808 ns; duration::max() is 2^63 - 1 ns. Negating min() was
// undefined behaviour, and a double would have rounded both to 9223372036.854776.
TEST_CASE("the ends of the duration range print exactly", "[core]") {
  const auto text = [](auto d) { return bulwark::detail::to_message_text(d); };
  CHECK(text(bulwark::duration::min()) == "-9223372036.854775808s");
  CHECK(text(bulwark::duration::max()) == "9223372036.854775807s");
  CHECK(text(bulwark::duration::min() + 8ns) == "-9223372036.8547758s");
  CHECK(text(-1'000'000'001ns) == "-1.000000001s");
  CHECK(text(1'050us) == "1.05ms");
  CHECK(text(-1'001ns) == "-1.001us");
  const bulwark::option_check check{"cache"};
  CHECK(message_of([&] { check.positive("ttl", bulwark::duration::min()); }) ==
        "bulwark::cache: ttl must be > 0 (got -9223372036.854775808s)");
}
