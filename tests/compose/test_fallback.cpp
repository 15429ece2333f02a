#include <bulwark/compose/fallback.hpp>
#include <bulwark/core/errors.hpp>
#include <exception>
#include <stdexcept>
#include <string>

#include "catch.hpp"

TEST_CASE("fallback handles the type its handler takes, derived types included", "[compose]") {
  std::string seen;
  bulwark::fallback fb([&seen](const bulwark::rejected& e) {
    seen = e.what();
    return 0;
  });
  CHECK(fb.execute([] { return 3; }) == 3);
  CHECK(fb.execute([]() -> int { throw bulwark::circuit_open{"circuit_breaker", "open"}; }) == 0);
  CHECK(seen == "bulwark::circuit_breaker: open");
  CHECK_THROWS_AS(fb.execute([]() -> int { throw std::runtime_error("other"); }),
                  std::runtime_error);
}

TEST_CASE("fallback_on lists the types, exception_ptr handlers see everything", "[compose]") {
  auto fb = bulwark::fallback_on<bulwark::rate_limited, std::out_of_range>([] { return 1; });
  CHECK(fb.execute([]() -> int { throw std::out_of_range("x"); }) == 1);
  CHECK(fb.execute([]() -> int { throw bulwark::rate_limited{"gcra", "x"}; }) == 1);
  CHECK_THROWS_AS(fb.execute([]() -> int {
    throw bulwark::bulkhead_full{"bulkhead", "x"};
  }),
                  bulwark::bulkhead_full);

  bulwark::fallback all([](std::exception_ptr e) -> std::string {
    try {
      std::rethrow_exception(e);
    } catch (int code) {
      return "code " + std::to_string(code);
    }
    // anything else: the handler declines by letting it propagate
  });
  CHECK(all.execute([]() -> std::string { throw 5; }) == "code 5");
  CHECK_THROWS_AS(all.execute([]() -> std::string { throw std::logic_error("x"); }),
                  std::logic_error);

  int calls = 0;
  bulwark::fallback v([&calls](const std::exception&) { ++calls; });
  v.execute([] { throw std::runtime_error("x"); });
  CHECK(calls == 1);
}
