#pragma once
// The API every bulwark rate limiter shares (try_acquire, try_acquire_for,
// time_until_available, available, execute, metrics), written once over a small set of
// decisions each limiter defines. See docs/rate_limit.md.

#include <algorithm>
#include <chrono>
#include <concepts>
#include <cstdint>
#include <functional>
#include <limits>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>

#include "bulwark/core/clock.hpp"
#include "bulwark/core/errors.hpp"
#include "bulwark/core/metrics.hpp"
#include "bulwark/core/options.hpp"
#include "bulwark/core/rate.hpp"
#include "bulwark/detail/false_sharing.hpp"
#include "bulwark/detail/raise.hpp"
#include "bulwark/detail/saturating.hpp"
#include "bulwark/rate_limit/detail/owned_counter.hpp"
#include "bulwark/rate_limit/detail/rule_math.hpp"

namespace bulwark {

/// A snapshot of a rate limiter's counters (every limiter returns this type from metrics()).
/// Each counts calls, not cost units; `waited` counts the admitted calls that waited for
/// capacity first (try_acquire_for, or a leaky bucket's queue), so waited <= admitted.
struct rate_limit_metrics {
  std::uint64_t admitted = 0;
  std::uint64_t rejected = 0;
  std::uint64_t waited = 0;

  /// Lists the fields for exporters (see core/metrics.hpp).
  template <class Visit>
  void for_each_metric(Visit&& visit) const {
    visit(metric{"admitted_total", "Requests admitted.", metric_type::counter, admitted});
    visit(metric{"rejected_total", "Requests refused.", metric_type::counter, rejected});
    visit(metric{"waited_total", "Requests admitted after waiting for capacity.",
                 metric_type::counter, waited});
  }

  friend bool operator==(const rate_limit_metrics&, const rate_limit_metrics&) = default;
};

/// One step of a wait for rate-limit capacity, for callers that wait without blocking a thread
/// (limiter_base::acquire_step; the asio add-on, docs/async.md).
struct rate_limit_step {
  enum class kind : std::uint8_t {
    admitted,  ///< taken: go ahead now
    reserved,  ///< taken for later (a reserving limiter): go ahead after `wait`
    retry,     ///< not yet (a window limiter): take the next step after `wait`
    refused,   ///< not within the deadline (counted as rejected); `wait` is the retry-after hint
  };
  kind what = kind::refused;
  duration wait{};
};

namespace detail {

/// The shared public API of the limiters, over the decisions each one defines (CRTP). A
/// limiter `L` derives from limiter_base<L, Clock>, befriends it, and provides:
///
///   static constexpr std::string_view component;            // "gcra", for messages
///   static constexpr bool reserves;     // whether it defines reserve() below
///   static constexpr bool execute_waits;  // whether execute() queues (a shaper) and the
///                                         // limiter defines queue_wait_ns() for its refusals
///   std::uint64_t max_cost() const noexcept;                 // the largest admissible cost
///   bool admit(std::uint32_t cost, std::int64_t now) noexcept;        // atomic decision
///   std::int64_t wait_ns(std::uint32_t cost, std::int64_t now) const noexcept;
///   std::uint64_t available_at(std::int64_t now) const noexcept;
///
/// and, where its flags say so (reserve: capacity held for a caller in the future):
///
///   std::int64_t reserve(std::uint32_t cost, std::int64_t now, std::int64_t max_wait) noexcept;
///       // the wait (>= 0) if the cost was reserved, -1 if it would exceed max_wait
///   std::int64_t queue_wait_ns(std::uint32_t cost, std::int64_t now) const noexcept;
///       // for a shaper: how long until the queue has room for `cost`
///
/// The base is aligned to a cache line: the counters (the admission cells of up to four
/// threads, owned_counter.hpp) fill most of it, and the limiter's state and parameters follow.
template <class Derived, clock Clock>
class alignas(detail::cache_line) limiter_base {
 public:
  /// Takes `cost` units now if the limiter has them, without waiting. One clock read.
  /// Throws std::invalid_argument if `cost` is 0 or more than the limiter can ever admit.
  /// Thread-safe; lock-free for gcra, token_bucket, leaky_bucket and the windows but the log.
  bool try_acquire(std::uint32_t cost = 1) { return try_acquire(cost, clock_.now()); }

  /// The same with the caller's clock read, for callers that share one `now` across guards.
  bool try_acquire(std::uint32_t cost, time_point now) {
    check_cost(cost);
    if (self().admit(cost, to_ns(now))) {
      admitted_.add();
      return true;
    }
    rejected_.add();
    return false;
  }

  /// Takes `cost` units, waiting through the clock (clock.sleep_for) for at most `timeout`.
  /// Returns false at once, without waiting, when the units cannot be had within `timeout`.
  /// Limiters that can reserve future capacity (gcra, token_bucket, leaky_bucket,
  /// smooth_warmup) reserve first and then sleep, so a waiting caller keeps its place; the
  /// windows sleep until the time_until_available estimate and try again, until the deadline.
  /// Throws std::invalid_argument for an impossible cost. Thread-safe; blocks the caller.
  bool try_acquire_for(std::uint32_t cost, duration timeout) {
    check_cost(cost);
    const std::int64_t budget = std::max<std::int64_t>(timeout.count(), 0);
    std::int64_t now = to_ns(clock_.now());
    if constexpr (Derived::reserves) {
      const std::int64_t wait = self().reserve(cost, now, budget);
      if (wait < 0) {
        rejected_.add();
        return false;
      }
      if (wait > 0) {
        waited_.add();
        clock_.sleep_for(duration{wait});
      }
      admitted_.add();
      return true;
    } else {
      const std::int64_t deadline = saturating_add(now, budget);
      bool slept = false;
      for (;;) {
        if (self().admit(cost, now)) {
          if (slept) waited_.add();
          admitted_.add();
          return true;
        }
        // A zero wait after a refusal means another thread took the units between the two
        // reads: it made progress, so try again rather than sleep.
        const std::int64_t wait = self().wait_ns(cost, now);
        if (wait > deadline - now) {
          rejected_.add();
          return false;
        }
        if (wait > 0) {
          clock_.sleep_for(duration{wait});
          slept = true;
        }
        now = std::max(now, to_ns(clock_.now()));
      }
    }
  }

  /// try_acquire_for's decision at `now` without its sleep, for callers that wait elsewhere
  /// (the asio add-on): a reserving limiter reserves `cost` for a time before `deadline` and
  /// says how long to wait (the reservation cannot be returned: a caller that gives up during
  /// the wait leaves the units spent); a window limiter takes the units if it can, else says
  /// when to take the next step. `waited`: whether this caller waited before (counted in
  /// metrics().waited when admitted). Counts as try_acquire_for does. Throws
  /// std::invalid_argument for an impossible cost. Thread-safe, never blocks.
  rate_limit_step acquire_step(std::uint32_t cost, time_point now, time_point deadline,
                               bool waited = false) {
    using kind = rate_limit_step::kind;
    check_cost(cost);
    const std::int64_t at = to_ns(now);
    const std::int64_t budget = std::max<std::int64_t>(saturating_sub(to_ns(deadline), at), 0);
    std::int64_t wait = 0;
    if constexpr (Derived::reserves) {
      wait = self().reserve(cost, at, budget);
    } else {
      if (!self().admit(cost, at)) {
        wait = self().wait_ns(cost, at);
        // A zero wait after a refusal: another caller took the units between the two reads.
        // It made progress, so the next step comes at once, as in try_acquire_for.
        if (wait <= budget) return {kind::retry, duration{wait}};
        wait = -1;
      }
    }
    if (wait < 0) {
      rejected_.add();
      std::int64_t hint = 0;
      if constexpr (Derived::execute_waits) {
        hint = self().queue_wait_ns(cost, at);
      } else {
        hint = self().wait_ns(cost, at);
      }
      return {kind::refused, duration{hint}};
    }
    if (wait > 0 || waited) waited_.add();
    admitted_.add();
    return {wait > 0 ? kind::reserved : kind::admitted, duration{wait}};
  }

  /// How long until `cost` units could be taken without waiting, if no one else takes any:
  /// zero when try_acquire(cost) would succeed now (the "borrow" query of folly and governor).
  /// Throws std::invalid_argument for an impossible cost. Thread-safe, one clock read.
  [[nodiscard]] duration time_until_available(std::uint32_t cost = 1) const {
    return time_until_available(cost, clock_.now());
  }

  /// The same at the caller's `now`.
  [[nodiscard]] duration time_until_available(std::uint32_t cost, time_point now) const {
    check_cost(cost);
    return duration{self().wait_ns(cost, to_ns(now))};
  }

  /// An estimate of the units that try_acquire could take now (each limiter's page says how
  /// it is computed); a snapshot that other threads may change at once. Thread-safe.
  [[nodiscard]] std::uint64_t available() const noexcept { return available(clock_.now()); }

  /// The same at the caller's `now`.
  [[nodiscard]] std::uint64_t available(time_point now) const noexcept {
    return self().available_at(to_ns(now));
  }

  /// Runs f(args...) if one unit can be taken, and returns its result; otherwise throws
  /// bulwark::rate_limited with retry_after() = time_until_available(1). A shaper
  /// (leaky_bucket) waits its turn in the queue first and throws only when the queue is full.
  /// Exceptions from f propagate; the unit stays spent. Thread-safe. Not offered without exceptions
  /// (detail::with_exceptions): try_acquire is.
  template <detail::with_exceptions F, class... Args>
  requires std::invocable<F, Args...>
  decltype(auto) execute(F&& f, Args&&... args) {
    bool admitted = false;
    if constexpr (Derived::execute_waits) {
      admitted = try_acquire_for(1, duration::max());
    } else {
      admitted = try_acquire(1);
    }
    if (!admitted) {
      const auto now = to_ns(clock_.now());
      std::int64_t retry = 0;
      if constexpr (Derived::execute_waits) {
        retry = self().queue_wait_ns(1, now);
      } else {
        retry = self().wait_ns(1, now);
      }
      detail::raise<rate_limited>(Derived::component, "rate limit exceeded", duration{retry});
    }
    return std::invoke(std::forward<F>(f), std::forward<Args>(args)...);
  }

  /// As execute(), deciding at the caller's clock read `now` (bulwark::pipeline shares one
  /// reading between the guards that accept it). A shaper queues, so it reads its own clock
  /// as execute() does, and accepts_now() says false for it.
  template <detail::with_exceptions F, class... Args>
  requires std::invocable<F, Args...>
  decltype(auto) execute_at(time_point now, F&& f, Args&&... args) {
    if constexpr (Derived::execute_waits) {
      return execute(std::forward<F>(f), std::forward<Args>(args)...);
    } else {
      if (!try_acquire(1, now)) {
        detail::raise<rate_limited>(Derived::component, "rate limit exceeded",
                                    duration{self().wait_ns(1, to_ns(now))});
      }
      return std::invoke(std::forward<F>(f), std::forward<Args>(args)...);
    }
  }
  /// Whether execute_at(now, f) runs f at `now` without waiting first (see bulwark::pipeline).
  static constexpr bool accepts_now() noexcept { return !Derived::execute_waits; }

  /// The counters: calls admitted, rejected, and admitted after waiting. Relaxed reads, so
  /// two counters may be a few calls apart under concurrency. Thread-safe, O(1).
  [[nodiscard]] rate_limit_metrics metrics() const noexcept {
    return {admitted_.load(), rejected_.load(), waited_.load()};
  }

  /// The clock this limiter reads.
  [[nodiscard]] const Clock& clock() const noexcept { return clock_; }

  /// The limiter's name in messages ("gcra"): the component of its rate_limited refusals.
  [[nodiscard]] static constexpr std::string_view component_name() noexcept {
    return Derived::component;
  }

 protected:
  explicit limiter_base(Clock clock) : clock_{std::move(clock)} {}
  ~limiter_base() = default;
  limiter_base(const limiter_base&) = delete;
  limiter_base& operator=(const limiter_base&) = delete;

  /// Throws std::invalid_argument naming the cost and the limiter's capacity.
  void check_cost(std::uint32_t cost) const {
    bool fits = false;
    if constexpr (requires { self().admissible(cost); }) {
      fits = self().admissible(cost);  // the rules' check, without max_cost's division
    } else {
      fits = cost != 0 && cost <= self().max_cost();
    }
    if (!fits) [[unlikely]]
      throw_bad_cost(Derived::component, self().max_cost(), cost);
  }

  [[no_unique_address]] Clock clock_;

 private:
  Derived& self() noexcept { return static_cast<Derived&>(*this); }
  const Derived& self() const noexcept { return static_cast<const Derived&>(*this); }

  // Admissions are counted without a locked instruction (owned_counter.hpp): an admitting
  // call's only one is then the limiter's CAS. Refusals and waits are rarer. The admission
  // cells come last, so that a limiter whose state follows them shares their line with it.
  metric_counter rejected_;
  metric_counter waited_;
  owned_counter admitted_;
};

}  // namespace detail
}  // namespace bulwark
