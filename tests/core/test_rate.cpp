#include <bulwark/core/rate.hpp>
#include <chrono>

#include "catch.hpp"

using namespace std::chrono_literals;

TEST_CASE("rate helpers spell count per period", "[core]") {
  STATIC_REQUIRE(bulwark::per_second(100) == bulwark::rate{100, 1s});
  STATIC_REQUIRE(bulwark::per_minute(5) == bulwark::rate{5, 1min});
  STATIC_REQUIRE(bulwark::per_hour(7) == bulwark::rate{7, 1h});
  STATIC_REQUIRE(bulwark::per(3, 250ms) == bulwark::rate{3, 250ms});
  CHECK(bulwark::per_second(100) != bulwark::per_second(101));
}

TEST_CASE("rate interval is the exact emission interval rounded down to a nanosecond", "[core]") {
  CHECK(bulwark::per_second(100).interval() == 10ms);
  CHECK(bulwark::per_second(3).interval() == 333'333'333ns);
  CHECK(bulwark::per_minute(60).interval() == 1s);
  CHECK(bulwark::per_second(1).per_second() == Approx(1.0));
  CHECK(bulwark::per_minute(30).per_second() == Approx(0.5));
  CHECK(bulwark::per(5, 250ms).per_second() == Approx(20.0));
}

TEST_CASE("rate renders as count/period", "[core]") {
  CHECK(bulwark::to_string(bulwark::per_second(100)) == "100/s");
  CHECK(bulwark::to_string(bulwark::per_minute(5)) == "5/min");
  CHECK(bulwark::to_string(bulwark::per_hour(9)) == "9/h");
  CHECK(bulwark::to_string(bulwark::per(5, 250ms)) == "5/250ms");
  CHECK(bulwark::to_string(bulwark::per(1, 1500ms)) == "1/1.5s");
}
