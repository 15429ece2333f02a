#pragma once
// bulwark::rate_decision: what a rate-limit rule answers for one request, and the concept the
// rules satisfy. The rules are pure: (state, cost, now) in, a decision and the next state out;
// the atomic limiters run one CAS loop around them, the keyed limiter calls them under its
// shard lock, and the Redis script computes gcra_rule's formulas on the server.

#include <concepts>
#include <cstdint>

#include "bulwark/core/clock.hpp"

namespace bulwark {

/// One request's outcome under a rule. `next` is the state to store if the request is taken
/// (equal to the given state when refused); `wait` is how long the request waits before it is
/// let through: zero for an admission now, > 0 for a reservation ahead (try_acquire_for), and
/// for a refusal the time until it would be admitted if no one else came (its retry_after).
template <class State>
struct rate_decision {
  bool admitted = false;
  State next{};
  duration wait{};
};

/// What every rule offers: a start state, a decision, the wait and the units available at a
/// state, and the largest cost it can ever admit. `max_wait` is how far ahead a caller may
/// reserve (zero: now or never); a rule that cannot reserve ignores it.
template <class R>
concept rate_rule = requires(const R& r, typename R::state s, std::uint32_t cost, time_point now) {
  { r.initial(now) } -> std::same_as<typename R::state>;
  { r.decide(s, cost, now, duration{}) } -> std::same_as<rate_decision<typename R::state>>;
  { r.wait(s, cost, now) } -> std::same_as<duration>;
  { r.available(s, now) } -> std::same_as<std::uint64_t>;
  { r.max_cost() } -> std::same_as<std::uint32_t>;
  { r.admissible(cost) } -> std::same_as<bool>;
};

}  // namespace bulwark
