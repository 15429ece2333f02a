#pragma once
// How bulwark::keyed_limiter keeps one key's limiter: inline in its table slot as one 64-bit
// word (gcra, token_bucket), or as a whole limiter on the heap (every other limiter).
// Internal to keyed_limiter; not for users.

#include <algorithm>
#include <cstdint>
#include <limits>
#include <memory>
#include <type_traits>
#include <utility>

#include "bulwark/core/clock.hpp"
#include "bulwark/detail/raise.hpp"
#include "bulwark/rate_limit/gcra.hpp"
#include "bulwark/rate_limit/limiter_base.hpp"
#include "bulwark/rate_limit/rules/gcra_rule.hpp"
#include "bulwark/rate_limit/rules/token_bucket_rule.hpp"
#include "bulwark/rate_limit/token_bucket.hpp"

namespace bulwark::detail {

/// The primary template: each key owns a whole `Limiter` on the heap, built on first use; the
/// slot holds the pointer. Decisions, costs and errors are the limiter's own.
///
/// A specialisation instead keeps the key's state inline in the slot (`is_inline`), decided
/// by the limiter's own rule over a plain word that the shard's mutex guards. It offers the
/// same members: state, fresh(), check_cost(), admit(), wait(), recovered().
///
/// recovered(s, now) says whether dropping the key at `now` grants nothing: its limiter would
/// answer every request from now on as a fresh one would, or more strictly. The table evicts
/// only such keys unless told otherwise, so that flooding it with new keys cannot reset a
/// busy key's debt.
template <class Limiter>
class keyed_state {
 public:
  // By value: some limiters' options() return a reference, which must not be kept.
  using limiter_options = std::remove_cvref_t<decltype(std::declval<const Limiter&>().options())>;
  using clock_type = std::remove_cvref_t<decltype(std::declval<const Limiter&>().clock())>;
  using state = std::unique_ptr<Limiter>;
  static constexpr bool is_inline = false;

  /// Validates the options by building one limiter (which throws for bad ones).
  keyed_state(const limiter_options& options, const clock_type& clock)
      : options_{options}, clock_{clock} {
    const Limiter probe{options_, clock_};
    fresh_available_ = probe.available();
  }

  /// Whether keyed_limiter::reconfigure is offered: the limiter takes new options live.
  static constexpr bool reconfigurable = requires(Limiter & l, const limiter_options& o) {
    l.reconfigure(o);
  };
  [[nodiscard]] const limiter_options& options() const noexcept { return options_; }
  /// Throws what every key's limiter.reconfigure(next) would throw (all were built from, or
  /// reconfigured to, options()), changing nothing.
  void check_change(const limiter_options& next) const requires reconfigurable {
    const Limiter current{options_, clock_};
    current.check_reconfigure(next);
  }

  /// A new key's state: a fresh limiter. Throws std::bad_alloc.
  [[nodiscard]] state fresh() const { return std::make_unique<Limiter>(options_, clock_); }

  /// Nothing to check ahead: the key's limiter checks the cost itself.
  void check_cost(std::uint32_t) const noexcept {}

  bool admit(state& s, std::uint32_t cost, time_point now) const {
    return s->try_acquire(cost, now);
  }

  [[nodiscard]] duration wait(const state& s, std::uint32_t cost, time_point now) const {
    return s->time_until_available(cost, now);
  }

  /// A key not held: what a fresh limiter would answer.
  [[nodiscard]] duration wait_fresh(std::uint32_t cost, time_point now) const {
    const Limiter fresh_limiter{options_, clock_};
    return fresh_limiter.time_until_available(cost, now);
  }

  // Nothing to wait for and all of a fresh limiter's units available: for the windows and the
  // log no unit counts any more, for leaky_bucket the queue is empty. smooth_warmup must also
  // have cooled down to its stored maximum (a warm limiter is faster than a fresh, cold one).
  [[nodiscard]] bool recovered(const state& s, time_point now) const {
    return s->time_until_available(1, now) == duration::zero() &&
           s->available(now) >= fresh_available_;
  }

 private:
  limiter_options options_;
  [[no_unique_address]] clock_type clock_;
  std::uint64_t fresh_available_ = 0;  // the same at any time: a fresh limiter is full
};

/// Which limiters keep their state inline in the slot: those that are one rule over one word
/// (gcra, token_bucket). The keyed limiter then calls the same rule under its shard lock.
template <class Limiter>
struct keyed_inline_rule {
  using type = void;
};
template <class Clock>
struct keyed_inline_rule<gcra<Clock>> {
  using type = gcra_rule;
};
template <class Clock>
struct keyed_inline_rule<token_bucket<Clock>> {
  using type = token_bucket_rule;
};

/// An inline state: the rule's word, decided by the rule itself (no CAS: the shard's mutex is
/// held). Building the rule validates the per-key options with the limiter's own messages.
template <class Limiter>
requires(!std::is_void_v<typename keyed_inline_rule<Limiter>::type>) class keyed_state<Limiter> {
  using rule_type = typename keyed_inline_rule<Limiter>::type;

 public:
  using limiter_options = typename rule_type::options_type;
  using clock_type = std::remove_cvref_t<decltype(std::declval<const Limiter&>().clock())>;
  using state = typename rule_type::state;
  static constexpr bool is_inline = true;

  keyed_state(const limiter_options& options, const clock_type&) : rule_{options} {}

  static constexpr bool reconfigurable = true;
  [[nodiscard]] limiter_options options() const { return rule_.options(); }
  /// Validates `next` as the limiter would (building the rule), changing nothing.
  static void check_change(const limiter_options& next) { const rule_type checked{next}; }

  [[nodiscard]] static constexpr state fresh() noexcept { return rule_type::initial(); }

  /// Throws std::invalid_argument, as the limiter would, for a cost outside [1, max_cost].
  void check_cost(std::uint32_t cost) const {
    if (!rule_.admissible(cost)) [[unlikely]] {
      throw_bad_cost(rule_type::component, rule_.max_cost(), cost);
    }
  }

  bool admit(state& s, std::uint32_t cost, time_point now) const noexcept {
    const rate_decision<state> d = rule_.decide(s, cost, now);
    if (d.admitted) s = d.next;
    return d.admitted;
  }

  [[nodiscard]] duration wait(state s, std::uint32_t cost, time_point now) const noexcept {
    return rule_.wait(s, cost, now);
  }

  [[nodiscard]] duration wait_fresh(std::uint32_t cost, time_point now) const noexcept {
    return wait(fresh(), cost, now);
  }

  // Every decision from `now` on is a fresh state's (gcra: TAT <= now; token_bucket: full).
  [[nodiscard]] bool recovered(state s, time_point now) const noexcept {
    return rule_.recovered(s, now);
  }

 private:
  rule_type rule_;
};

}  // namespace bulwark::detail
