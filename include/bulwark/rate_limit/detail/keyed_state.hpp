#pragma once
// How bulwark::keyed_limiter keeps one key's limiter: inline in its table slot as one 64-bit
// word (gcra, token_bucket), or as a whole limiter on the heap (every other limiter).
// Internal to keyed_limiter; not for users.

#include <algorithm>
#include <cstdint>
#include <limits>
#include <memory>
#include <stdexcept>
#include <type_traits>
#include <utility>

#include "bulwark/core/clock.hpp"
#include "bulwark/detail/raise.hpp"
#include "bulwark/rate_limit/gcra.hpp"
#include "bulwark/rate_limit/limiter_base.hpp"
#include "bulwark/rate_limit/token_bucket.hpp"

namespace bulwark::detail {

/// The primary template: each key owns a whole `Limiter` on the heap, built on first use; the
/// slot holds the pointer. Decisions, costs and errors are the limiter's own.
///
/// A specialisation instead keeps the key's state inline in the slot (`is_inline`), with the
/// limiter's decision re-stated over a plain word that the shard's mutex guards. It offers the
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

/// The shared part of the inline states: the limiter built from the per-key options, kept only
/// to validate them and to throw its own std::invalid_argument for an impossible cost (so the
/// message is the limiter's: "bulwark::gcra: cost must be in [1, 2] (got 3)"). Its own state is
/// never used.
template <class Limiter>
class keyed_inline_base {
 public:
  // By value: some limiters' options() return a reference, which must not be kept.
  using limiter_options = std::remove_cvref_t<decltype(std::declval<const Limiter&>().options())>;
  using clock_type = std::remove_cvref_t<decltype(std::declval<const Limiter&>().clock())>;
  using state = std::int64_t;
  static constexpr bool is_inline = true;

  /// Throws std::invalid_argument, as the limiter would, for a cost outside [1, max_cost].
  void check_cost(std::uint32_t cost) const {
    if (cost == 0 || cost > max_cost_) [[unlikely]] {
      (void)prototype_.time_until_available(cost, time_point{});  // throws the limiter's error
      detail::raise<std::logic_error>(
          "bulwark::keyed_limiter: cost check out of step with the limiter");
    }
  }

 protected:
  keyed_inline_base(const limiter_options& options, const clock_type& clock)
      : prototype_{options, clock} {}

  // "Never": the start state of both gcra's TAT and token_bucket's zero time.
  static constexpr state fresh_state() noexcept { return std::numeric_limits<state>::min(); }

  Limiter prototype_;
  std::uint64_t max_cost_ = 0;
};

/// gcra per key: the theoretical arrival time, decided exactly as gcra::admit and
/// gcra::wait_ns do (see gcra.hpp), without the CAS since the shard's mutex is held.
template <class Clock>
class keyed_state<gcra<Clock>> : public keyed_inline_base<gcra<Clock>> {
  using base = keyed_inline_base<gcra<Clock>>;

 public:
  using typename base::clock_type;
  using typename base::limiter_options;
  using typename base::state;

  keyed_state(const limiter_options& options, const clock_type& clock)
      : base{options, clock},
        interval_{this->prototype_.emission_interval().count()},
        tau_{interval_ * static_cast<std::int64_t>(this->prototype_.options().burst)} {
    this->max_cost_ = this->prototype_.options().burst;
  }

  [[nodiscard]] static constexpr state fresh() noexcept { return base::fresh_state(); }

  // Admitted iff max(TAT, t) + c T - t <= tau; then TAT := max(TAT, t) + c T.
  bool admit(state& tat, std::uint32_t cost, time_point now) const noexcept {
    const std::int64_t t = to_ns(now);
    const std::int64_t next = std::max(tat, t) + interval_ * cost;
    if (next - t > tau_) return false;
    tat = next;
    return true;
  }

  [[nodiscard]] duration wait(state tat, std::uint32_t cost, time_point now) const noexcept {
    const std::int64_t t = to_ns(now);
    return duration{std::max<std::int64_t>(std::max(tat, t) + interval_ * cost - tau_ - t, 0)};
  }

  [[nodiscard]] duration wait_fresh(std::uint32_t cost, time_point now) const noexcept {
    return wait(fresh(), cost, now);
  }

  // max(TAT, t) = t, as for a fresh TAT: every decision from t on is a fresh limiter's.
  [[nodiscard]] static bool recovered(state tat, time_point now) noexcept {
    return tat <= to_ns(now);
  }

 private:
  std::int64_t interval_;  // T, ns
  std::int64_t tau_;       // burst x T, ns
};

/// token_bucket per key: the zero time Z, decided exactly as token_bucket::admit and
/// token_bucket::wait_ns do (see token_bucket.hpp).
template <class Clock>
class keyed_state<token_bucket<Clock>> : public keyed_inline_base<token_bucket<Clock>> {
  using base = keyed_inline_base<token_bucket<Clock>>;

 public:
  using typename base::clock_type;
  using typename base::limiter_options;
  using typename base::state;

  keyed_state(const limiter_options& options, const clock_type& clock)
      : base{options, clock},
        interval_{this->prototype_.options().rate.interval().count()},
        depth_{interval_ * static_cast<std::int64_t>(this->prototype_.options().capacity)} {
    this->max_cost_ = this->prototype_.options().capacity;
  }

  [[nodiscard]] static constexpr state fresh() noexcept { return base::fresh_state(); }

  // Refill first (a full bucket is not fuller), then spend; admitted iff Z' <= t.
  bool admit(state& zero, std::uint32_t cost, time_point now) const noexcept {
    const std::int64_t t = to_ns(now);
    const std::int64_t next = spent(zero, cost, t);
    if (next > t) return false;
    zero = next;
    return true;
  }

  [[nodiscard]] duration wait(state zero, std::uint32_t cost, time_point now) const noexcept {
    const std::int64_t t = to_ns(now);
    return duration{std::max<std::int64_t>(spent(zero, cost, t) - t, 0)};
  }

  [[nodiscard]] duration wait_fresh(std::uint32_t cost, time_point now) const noexcept {
    return wait(fresh(), cost, now);
  }

  // max(Z, t - depth) = t - depth, as for a fresh Z: the bucket is full.
  [[nodiscard]] bool recovered(state zero, time_point now) const noexcept {
    return zero <= to_ns(now) - depth_;
  }

 private:
  [[nodiscard]] std::int64_t spent(std::int64_t zero, std::uint32_t cost,
                                   std::int64_t t) const noexcept {
    return std::max(zero, t - depth_) + interval_ * cost;
  }

  std::int64_t interval_;  // T, ns per token
  std::int64_t depth_;     // capacity x T, ns
};

}  // namespace bulwark::detail
