#pragma once
// Helpers shared by the rate_limit tests: decision tables over a manual clock, and the
// message of an expected std::invalid_argument.

#include <bulwark/core/clock.hpp>
#include <cstdint>
#include <initializer_list>
#include <stdexcept>
#include <string>

#include "catch.hpp"

namespace rl_test {

using bulwark::duration;

/// One row of a decision table: at `at` after the clock's start, a request of `cost` is
/// `admitted` or not; before it, time_until_available(cost) is `wait` (a refusal's
/// retry_after; zero for an admission).
struct step {
  duration at;
  std::uint32_t cost;
  bool admitted;
  duration wait;
};

/// Plays `steps` against `limiter`, setting `clock` to each row's time first.
template <class Limiter>
void play(Limiter& limiter, bulwark::manual_clock& clock, std::initializer_list<step> steps) {
  const auto start = bulwark::manual_clock::default_start;
  int row = 0;
  for (const step& s : steps) {
    ++row;
    clock.set(start + s.at);
    INFO("row " << row << ": at " << s.at.count() << "ns, cost " << s.cost);
    CHECK(limiter.time_until_available(s.cost).count() == s.wait.count());
    CHECK(limiter.try_acquire(s.cost) == s.admitted);
  }
}

/// The what() of the std::invalid_argument that f throws, or "<no exception>".
template <class F>
std::string message_of(F&& f) {
  try {
    f();
  } catch (const std::invalid_argument& e) {
    return e.what();
  }
  return "<no exception>";
}

}  // namespace rl_test
