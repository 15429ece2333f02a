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

/// Plays `steps` against a rule (rules/*.hpp) directly, threading its state from
/// rule.initial(start): before each row, rule.wait(state, cost, t) is the row's `wait`; then
/// rule.decide(state, cost, t) admits or refuses as the row says, with the same wait for a
/// refusal, and the state becomes decision.next when admitted (a refusal leaves it). Returns
/// the state after the last row.
template <class Rule>
typename Rule::state play_rule(const Rule& rule, std::initializer_list<step> steps) {
  const auto start = bulwark::manual_clock::default_start;
  typename Rule::state state = rule.initial(start);
  int row = 0;
  for (const step& s : steps) {
    ++row;
    const auto t = start + s.at;
    INFO("row " << row << ": at " << s.at.count() << "ns, cost " << s.cost);
    CHECK(rule.wait(state, s.cost, t).count() == s.wait.count());
    const auto d = rule.decide(state, s.cost, t);
    CHECK(d.admitted == s.admitted);
    if (d.admitted) {
      CHECK(d.wait.count() == 0);
      state = d.next;
    } else {
      CHECK(d.next == state);
      CHECK(d.wait.count() == s.wait.count());
    }
  }
  return state;
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
