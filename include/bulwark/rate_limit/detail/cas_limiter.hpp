#pragma once
// bulwark::detail::cas_limiter: a rate-limit rule (rules/*.hpp) over one atomic word, the
// whole of a lock-free limiter's own code: one CAS loop around the rule's decision, the
// shared API coming from limiter_base. gcra, token_bucket, leaky_bucket, fixed_window and
// sliding_window_counter are this class with their rule.

#include <atomic>
#include <cstdint>
#include <utility>

#include "bulwark/core/clock.hpp"
#include "bulwark/rate_limit/limiter_base.hpp"
#include "bulwark/rate_limit/rules/rate_decision.hpp"

namespace bulwark::detail {

template <rate_rule Rule, clock Clock>
class cas_limiter : public limiter_base<cas_limiter<Rule, Clock>, Clock> {
  using base = limiter_base<cas_limiter<Rule, Clock>, Clock>;
  friend base;

 public:
  /// The rule this limiter decides with.
  [[nodiscard]] const Rule& rule() const noexcept { return rule_; }

  /// The options it was built with.
  [[nodiscard]] decltype(auto) options() const noexcept { return rule_.options(); }

 protected:
  // Builds (and so validates) the rule first, then reads the clock only for a rule whose
  // initial state depends on it (the windows number the window they start in).
  cas_limiter(const typename Rule::options_type& options, Clock clock)
      : base{std::move(clock)}, rule_{options} {
    state_.store(start_state(), std::memory_order_relaxed);  // before any other thread sees it
  }

 private:
  static constexpr std::string_view component = Rule::component;
  static constexpr bool reserves = Rule::reserves;
  static constexpr bool execute_waits = requires { requires Rule::queues; };

  [[nodiscard]] typename Rule::state start_state() const noexcept {
    if constexpr (requires { Rule::initial(); }) {
      return Rule::initial();
    } else {
      return rule_.initial(this->clock_.now());
    }
  }

  [[nodiscard]] std::uint64_t max_cost() const noexcept { return rule_.max_cost(); }
  [[nodiscard]] bool admissible(std::uint32_t cost) const noexcept {
    return rule_.admissible(cost);
  }

  // The one CAS loop. Relaxed ordering throughout: the decision depends on this one word only,
  // and every CAS on it is a read-modify-write in its single modification order, so no two
  // callers can spend the same capacity whatever the ordering. The limiter publishes no other
  // memory, so there is nothing for acquire/release to order. A refusal writes nothing.
  // Returns the wait (>= 0) of an admission or reservation, -1 for a refusal.
  std::int64_t reserve(std::uint32_t cost, std::int64_t now, std::int64_t max_wait) noexcept {
    const time_point at{duration{now}};
    typename Rule::state s = state_.load(std::memory_order_relaxed);
    for (;;) {
      const auto d = rule_.decide(s, cost, at, duration{max_wait});
      if (!d.admitted) return -1;
      if (state_.compare_exchange_weak(s, d.next, std::memory_order_relaxed,
                                       std::memory_order_relaxed)) {
        return d.wait.count();
      }
    }
  }

  // try_acquire is a reservation that may not wait.
  bool admit(std::uint32_t cost, std::int64_t now) noexcept { return reserve(cost, now, 0) == 0; }

  [[nodiscard]] std::int64_t wait_ns(std::uint32_t cost, std::int64_t now) const noexcept {
    return rule_.wait(state_.load(std::memory_order_relaxed), cost, time_point{duration{now}})
        .count();
  }

  [[nodiscard]] std::int64_t queue_wait_ns(std::uint32_t cost,
                                           std::int64_t now) const noexcept requires requires {
    Rule::queues;
  }
  {
    return rule_.queue_wait(state_.load(std::memory_order_relaxed), cost, time_point{duration{now}})
        .count();
  }

  [[nodiscard]] std::uint64_t available_at(std::int64_t now) const noexcept {
    return rule_.available(state_.load(std::memory_order_relaxed), time_point{duration{now}});
  }

  // The state first: it ends the base's line, beside the admission cells that an admitting
  // caller writes just after its CAS, so both writes hit a line the caller already owns. The
  // rule's parameters, read-only, take the next line, which no write ever invalidates.
  std::atomic<typename Rule::state> state_{};
  Rule rule_;
};

}  // namespace bulwark::detail
