#pragma once
// Shared by the breaker's test files: a breaker on the manual clock, and calls recorded through
// the permit API (each must be admitted).

#include <bulwark/circuit_breaker.hpp>
#include <bulwark/core/clock.hpp>

#include "catch.hpp"

namespace breaker_test {

using breaker = bulwark::circuit_breaker<bulwark::manual_clock>;

inline void record(breaker& b, bulwark::call_outcome o, int times = 1) {
  for (int i = 0; i < times; ++i) {
    auto p = b.try_acquire();
    REQUIRE(p);
    p.record(o);
  }
}

}  // namespace breaker_test
