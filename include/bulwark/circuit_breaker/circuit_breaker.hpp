#pragma once

#include <atomic>
#include <chrono>
#include <concepts>
#include <cstdint>
#include <exception>
#include <functional>
#include <optional>
#include <type_traits>
#include <utility>

#include "bulwark/circuit_breaker/detail/probes.hpp"
#include "bulwark/circuit_breaker/detail/state_word.hpp"
#include "bulwark/circuit_breaker/detail/window.hpp"
#include "bulwark/circuit_breaker/metrics.hpp"
#include "bulwark/circuit_breaker/options.hpp"
#include "bulwark/circuit_breaker/state.hpp"
#include "bulwark/core/clock.hpp"
#include "bulwark/core/errors.hpp"
#include "bulwark/core/metrics.hpp"
#include "bulwark/core/policy.hpp"
#include "bulwark/detail/false_sharing.hpp"
#include "bulwark/detail/invoke_then.hpp"
#include "bulwark/detail/saturating.hpp"

namespace bulwark {

/// A circuit breaker: resilience4j's CircuitBreaker state machine (closed, open, half_open
/// and the manual disabled, metrics_only, forced_open), with count- or time-based sliding
/// windows, slow-call detection, a gobreaker-style consecutive-failures condition, a growing
/// wait in open, and half-open probes that hold leased slots.
///
/// Thread-safety: every member may be called from many threads at once. Permission in the
/// closed state is one atomic load (plus one clock read only when slow-call detection is on);
/// recording is lock-free (a count-based window costs one fetch_add, one exchange and, when the
/// evicted entry differs, one more fetch_add); every transition is one CAS on the state word,
/// won by exactly one thread, which then calls the listener. Not copyable or movable: permits
/// point to it.
template <bulwark::clock Clock = steady_clock>
class circuit_breaker {
 public:
  /// The permission for one call, returned by try_acquire(). Converts to true when the call
  /// may go ahead; give it a verdict with success(), failure(), ignore() or record(). A permit
  /// destroyed without a verdict counts as ignored and frees its half-open slot. Verdicts after
  /// the first are no-ops; a verdict recorded after the breaker changed state is dropped (and
  /// counted in late_results). Move-only; one permit is used by one thread at a time.
  class permit {
   public:
    permit() noexcept = default;
    permit(permit&& other) noexcept { *this = std::move(other); }
    permit& operator=(permit&& other) noexcept {
      if (this != &other) {
        if (breaker_ != nullptr) record(call_outcome::ignored);
        breaker_ = std::exchange(other.breaker_, nullptr);
        word_ = other.word_;
        slot_word_ = other.slot_word_;
        slot_ = other.slot_;
        start_ = other.start_;
        retry_after_ = other.retry_after_;
        granted_ = std::exchange(other.granted_, false);
      }
      return *this;
    }
    ~permit() {
      if (breaker_ != nullptr) record(call_outcome::ignored);
    }

    /// True when the call was permitted.
    explicit operator bool() const noexcept { return granted_; }
    /// The state the permit was granted or refused in.
    [[nodiscard]] circuit_state state() const noexcept { return detail::state_word{word_}.state(); }
    /// The generation of that state: circuit_breaker_transition::generation of the transition
    /// into it (mod 2^16). Half-open probes with equal generations belong to the same period.
    [[nodiscard]] std::uint32_t generation() const noexcept {
      return detail::state_word{word_}.generation();
    }
    /// For a refused permit: the time left in open (empty when forced open or out of probes).
    [[nodiscard]] std::optional<duration> retry_after() const noexcept { return retry_after_; }

    void success() noexcept { record(call_outcome::success); }
    void failure() noexcept { record(call_outcome::failure); }
    void ignore() noexcept { record(call_outcome::ignored); }
    /// Records `outcome`, reading the clock only if slow-call detection or a time-based window
    /// needs the time. O(1), or O(permitted_calls_in_half_open) for a half-open probe.
    void record(call_outcome outcome) noexcept {
      if (auto* b = std::exchange(breaker_, nullptr)) b->finish(*this, outcome, nullptr);
    }
    /// The same with the caller's clock read.
    void record(call_outcome outcome, time_point now) noexcept {
      if (auto* b = std::exchange(breaker_, nullptr)) b->finish(*this, outcome, &now);
    }

   private:
    friend class circuit_breaker;
    permit(circuit_breaker* b, std::uint64_t word, time_point start) noexcept
        : breaker_{b}, word_{word}, start_{start}, granted_{true} {}
    permit(std::uint64_t word, std::optional<duration> retry_after) noexcept
        : word_{word}, retry_after_{retry_after} {}

    circuit_breaker* breaker_ = nullptr;
    std::uint64_t word_ = 0;
    std::uint64_t slot_word_ = 0;
    std::uint32_t slot_ = 0;
    time_point start_{};
    std::optional<duration> retry_after_{};
    bool granted_ = false;
  };

  /// Validates `options` (std::invalid_argument naming the field otherwise) and starts closed.
  explicit circuit_breaker(circuit_breaker_options options = {}, Clock clock = {})
      : options_{checked(std::move(options))},
        clock_{std::move(clock)},
        slow_detection_{options_.slow_call_duration != slow_calls_off},
        minimum_calls_{options_.window_type == sliding_window::count_based
                           ? std::min(options_.minimum_calls, options_.window_size)
                           : options_.minimum_calls},
        // resilience4j CircuitBreakerMetrics.forHalfOpen: a count window of the permitted
        // probes, so its minimum is min(minimumNumberOfCalls, permitted).
        half_open_minimum_{std::min(options_.minimum_calls, options_.permitted_calls_in_half_open)},
        count_{options_.window_type == sliding_window::count_based ? options_.window_size : 1u},
        time_{options_.window_type == sliding_window::time_based ? options_.window_size : 1u},
        probes_{options_.permitted_calls_in_half_open},
        state_{
            detail::state_word{circuit_state::closed, 0, 0, detail::floor_ms(clock_.now())}.raw()} {
  }

  circuit_breaker(const circuit_breaker&) = delete;
  circuit_breaker& operator=(const circuit_breaker&) = delete;

  /// Asks permission for one call. Closed, metrics_only, disabled: always granted, one atomic
  /// load. Open: refused until strictly after the wait is over (resilience4j's
  /// OpenState.tryAcquirePermission), then the breaker moves to half_open and this call
  /// becomes a probe. Half-open: granted while a probe slot is free. O(1) except for
  /// half-open, O(permitted_calls_in_half_open).
  [[nodiscard]] permit try_acquire() noexcept {
    // Acquire pairs with the release of the transition that published this word, so the
    // window reset done before it happens-before this permit's recording.
    const detail::state_word w{state_.load(std::memory_order_acquire)};
    if (passes(w.state())) [[likely]]
      return permit{this, w.raw(), slow_detection_ ? clock_.now() : time_point{}};
    return acquire_slow(w, clock_.now());
  }
  /// The same with the caller's clock read.
  [[nodiscard]] permit try_acquire(time_point now) noexcept {
    const detail::state_word w{state_.load(std::memory_order_acquire)};
    if (passes(w.state())) [[likely]]
      return permit{this, w.raw(), now};
    return acquire_slow(w, now);
  }

  /// Runs f(args...) under the breaker and returns its result. A result counts as a success;
  /// an exception is classified by options().classify_exception and rethrown. Throws
  /// bulwark::circuit_open, with retry_after() while open, when the call is refused.
  template <class F, class... Args>
  requires std::invocable<F, Args...>
  decltype(auto) execute(F&& f, Args&&... args) {
    return execute_classified([](const auto&) { return call_outcome::success; }, std::forward<F>(f),
                              std::forward<Args>(args)...);
  }

  /// As execute(), with `classify(result)` deciding how a result counts (a failure, a
  /// success or ignored), e.g. an HTTP 503 returned rather than thrown.
  template <class Classify, class F, class... Args>
  requires std::invocable<F, Args...>
  decltype(auto) execute_classified(Classify&& classify, F&& f, Args&&... args) {
    permit p = try_acquire();
    if (!p) throw_refused(p);
    try {
      return detail::invoke_then(
          [&](const auto&... r) {
            if constexpr (sizeof...(r) == 0) {
              p.success();
            } else {
              p.record(std::invoke(classify, r...));
            }
          },
          std::forward<F>(f), std::forward<Args>(args)...);
    } catch (...) {
      p.record(classify_exception(std::current_exception()));
      throw;
    }
  }

  /// The current state. With automatic_transition_from_open, applies a due time-driven
  /// transition first (see poll()). O(1).
  [[nodiscard]] circuit_state state() const noexcept {
    if (options_.automatic_transition_from_open) poll();
    return detail::state_word{state_.load(std::memory_order_acquire)}.state();
  }

  /// Applies the time-driven transitions that are due at `now` (open -> half_open strictly
  /// after the wait, the same edge as try_acquire; half_open -> open once
  /// max_wait_in_half_open has elapsed); returns true if one happened. Call it from a timer
  /// to get resilience4j's automatic transition without traffic. O(1).
  bool poll() const noexcept { return poll(clock_.now()); }
  bool poll(time_point now) const noexcept {
    const detail::state_word w{state_.load(std::memory_order_acquire)};
    const auto now_ms = detail::floor_ms(now);
    if (w.state() == circuit_state::open && wait_over(w, now))
      return transition(w, circuit_state::half_open, transition_reason::wait_elapsed, now);
    if (w.state() == circuit_state::half_open && half_open_expired(w, now_ms))
      return transition(w, circuit_state::open, transition_reason::half_open_timeout, now);
    return false;
  }

  /// How long until a call could be permitted: in open, the time left until the wait's
  /// deadline (calls pass strictly after it; at the deadline itself, one clock tick); zero
  /// when calls pass (or probes may); empty when forced open.
  [[nodiscard]] std::optional<duration> retry_after() const noexcept {
    const auto now = clock_.now();
    if (options_.automatic_transition_from_open) poll(now);
    const detail::state_word w{state_.load(std::memory_order_acquire)};
    if (w.state() == circuit_state::forced_open) return std::nullopt;
    if (w.state() != circuit_state::open || wait_over(w, now)) return duration::zero();
    return remaining(w, now);
  }

  /// A snapshot of the state and counters (see circuit_breaker_metrics). O(1) for a count
  /// window, O(window_size) at most once per second for a time window, O(probes) in half-open.
  [[nodiscard]] circuit_breaker_metrics metrics() const noexcept {
    const auto now = clock_.now();
    if (options_.automatic_transition_from_open) poll(now);
    const detail::state_word w{state_.load(std::memory_order_acquire)};
    circuit_breaker_metrics m;
    m.state = w.state();
    std::int64_t calls = 0, failed = 0, slow = 0, minimum = minimum_calls_;
    if (w.state() == circuit_state::half_open) {
      const auto t = probes_.tally(w.generation());
      calls = t.done, failed = t.failed, slow = t.slow;
      minimum = half_open_minimum_;
    } else {
      const auto t =
          options_.window_type == sliding_window::count_based ? count_.totals() : time_.totals(now);
      calls = std::max<std::int64_t>(t.calls, 0);
      failed = std::clamp<std::int64_t>(t.failed, 0, calls);
      slow = std::clamp<std::int64_t>(t.slow, 0, calls);
    }
    m.buffered_calls = static_cast<std::uint64_t>(calls);
    m.failed_calls = static_cast<std::uint64_t>(failed);
    m.slow_calls = static_cast<std::uint64_t>(slow);
    if (calls > 0 && calls >= minimum) {
      m.failure_rate = static_cast<double>(failed) / static_cast<double>(calls);
      m.slow_call_rate = static_cast<double>(slow) / static_cast<double>(calls);
    }
    m.not_permitted_calls = not_permitted_.load();
    m.ignored_calls = ignored_.load();
    m.late_results = late_.load();
    return m;
  }

  /// Moves to `target` at once (resilience4j's transitionTo...State): reason manual; entering
  /// closed or metrics_only empties the window; the wait in open starts from attempt 1.
  /// Outstanding permits' verdicts are dropped as late. Lock-free: retries its CAS.
  void transition_to(circuit_state target) noexcept {
    const auto now = clock_.now();
    for (;;) {
      const detail::state_word w{state_.load(std::memory_order_acquire)};
      if (transition(w, target, transition_reason::manual, now, /*from_manual=*/true)) return;
    }
  }
  /// transition_to(circuit_state::closed): back to a fresh closed state.
  void reset() noexcept { transition_to(circuit_state::closed); }

  [[nodiscard]] const circuit_breaker_options& options() const noexcept { return options_; }

 private:
  static circuit_breaker_options checked(circuit_breaker_options o) {
    detail::validate(o);
    return o;
  }
  static constexpr bool passes(circuit_state s) noexcept {
    return s == circuit_state::closed || s == circuit_state::metrics_only ||
           s == circuit_state::disabled;
  }

  permit acquire_slow(detail::state_word w, time_point now) noexcept {
    const auto now_ms = detail::floor_ms(now);
    for (;;) {
      switch (w.state()) {
        case circuit_state::closed:
        case circuit_state::metrics_only:
        case circuit_state::disabled:
          return permit{this, w.raw(), now};
        case circuit_state::forced_open:
          not_permitted_.add();
          return permit{w.raw(), std::nullopt};
        case circuit_state::open:
          if (!wait_over(w, now)) {
            not_permitted_.add();
            return permit{w.raw(), remaining(w, now)};
          }
          transition(w, circuit_state::half_open, transition_reason::wait_elapsed, now);
          break;
        case circuit_state::half_open: {
          if (half_open_expired(w, now_ms)) {
            transition(w, circuit_state::open, transition_reason::half_open_timeout, now);
            break;
          }
          permit p{this, w.raw(), now};
          const auto lease = std::chrono::ceil<std::chrono::milliseconds>(options_.probe_lease);
          // seq_cst, as the transition CAS: a probe is granted only if its period was still
          // current after it took its slot, so every probe of a period holds its slot when
          // the period ends, and no more than permitted_calls_in_half_open ever do.
          const auto still_current = [&] {
            return state_.load(std::memory_order_seq_cst) == w.raw();
          };
          const bool took = probes_.acquire(w.generation(), now_ms, lease.count(), p.slot_,
                                            p.slot_word_, still_current);
          if (took && still_current()) return p;
          p.breaker_ = nullptr;
          p.granted_ = false;
          if (took) {
            // The period ended while we took the slot: give it back (a no-op if a newer
            // period already reused it) and look at the new state.
            probes_.release(p.slot_, p.slot_word_);
            break;
          }
          if (!still_current()) break;
          not_permitted_.add();
          return permit{w.raw(), std::nullopt};
        }
      }
      w = detail::state_word{state_.load(std::memory_order_acquire)};
    }
  }

  void finish(const permit& p, call_outcome outcome, const time_point* given_now) noexcept {
    const detail::state_word w{p.word_};
    if (w.state() == circuit_state::disabled) return;
    std::optional<time_point> now_cache;
    const auto now = [&] {
      if (!now_cache) now_cache = given_now != nullptr ? *given_now : clock_.now();
      return *now_cache;
    };
    if (w.state() == circuit_state::half_open && outcome == call_outcome::ignored) {
      // A probe of an earlier period (or one whose lease was taken over) frees nothing and
      // counts as late, like its other verdicts would.
      const bool freed = probes_.release(p.slot_, p.slot_word_);
      if (freed && state_.load(std::memory_order_acquire) == p.word_) {
        ignored_.add();
      } else {
        late_.add();
      }
      return;
    }
    // Acquire: pairs with a transition's release, as in try_acquire.
    if (state_.load(std::memory_order_acquire) != p.word_) {
      late_.add();
      return;
    }
    if (outcome == call_outcome::ignored) {
      ignored_.add();
      return;
    }
    const bool failed = outcome == call_outcome::failure;
    const bool slow = slow_detection_ && now() - p.start_ > options_.slow_call_duration;
    if (w.state() == circuit_state::half_open) return finish_probe(p, w, failed, slow, now());

    detail::window_counts totals{};
    bool changed = true;
    const auto code = detail::make_code(failed, slow);
    if (options_.window_type == sliding_window::count_based) {
      changed = count_.record(code, totals);
    } else {
      totals = time_.record(code, given_now != nullptr || slow_detection_ ? now() : window_now());
    }
    if (w.state() != circuit_state::closed) return;  // metrics_only never trips
    if (options_.trip_on == trip_condition::consecutive_failures) {
      // Relaxed: a plain counter; the trip itself is decided by the CAS in transition().
      if (!failed) {
        if (consecutive_.load(std::memory_order_relaxed) != 0)
          consecutive_.store(0, std::memory_order_relaxed);
      } else if (consecutive_.fetch_add(1, std::memory_order_relaxed) + 1 >=
                 options_.consecutive_failures) {
        transition(w, circuit_state::open, transition_reason::consecutive_failures, now());
      }
      return;
    }
    if (!changed || totals.calls < minimum_calls_) return;
    if (exceeds(totals.failed, totals.calls, options_.failure_rate_threshold)) {
      transition(w, circuit_state::open, transition_reason::failure_rate, now());
    } else if (exceeds(totals.slow, totals.calls, options_.slow_call_rate_threshold)) {
      transition(w, circuit_state::open, transition_reason::slow_call_rate, now());
    }
  }

  void finish_probe(const permit& p, detail::state_word w, bool failed, bool slow,
                    time_point now) noexcept {
    if (!probes_.complete(p.slot_, p.slot_word_, failed, slow)) {
      late_.add();  // the lease ran out and another probe holds the slot
      return;
    }
    const auto t = probes_.tally(w.generation());
    const auto permitted = options_.permitted_calls_in_half_open;
    if (options_.trip_on == trip_condition::consecutive_failures) {
      // gobreaker: any failed probe reopens at once; all probes succeeding closes.
      if (t.failed > 0) {
        transition(w, circuit_state::open, transition_reason::probes_failed, now);
      } else if (t.done >= permitted) {
        transition(w, circuit_state::closed, transition_reason::probes_succeeded, now);
      }
      return;
    }
    if (t.done < half_open_minimum_) return;
    const bool reopen = exceeds(t.failed, t.done, options_.failure_rate_threshold) ||
                        exceeds(t.slow, t.done, options_.slow_call_rate_threshold);
    transition(w, reopen ? circuit_state::open : circuit_state::closed,
               reopen ? transition_reason::probes_failed : transition_reason::probes_succeeded,
               now);
  }

  // part / whole >= threshold, by division: IEEE division is correctly rounded, so a ratio
  // that equals the threshold exactly (50 of 100 against 0.5) compares equal.
  static bool exceeds(std::int64_t part, std::int64_t whole, double threshold) noexcept {
    return whole > 0 && static_cast<double>(part) / static_cast<double>(whole) >= threshold;
  }

  bool half_open_expired(detail::state_word w, std::int64_t now_ms) const noexcept {
    return options_.max_wait_in_half_open > duration::zero() && w.since_stamp(now_ms) >= 0;
  }

  // resilience4j's OpenState admits when `clock.instant().isAfter(retryAfterWaitDuration)`:
  // strictly after the deadline, so a call at the deadline itself is still refused. The
  // stamp is whole milliseconds; the sub-millisecond part of `now` decides a tie.
  static bool wait_over(detail::state_word w, time_point now) noexcept {
    const auto now_ms = detail::floor_ms(now);
    const auto since = w.since_stamp(now_ms);
    return since > 0 || (since == 0 && now.time_since_epoch() > std::chrono::milliseconds{now_ms});
  }

  // The wait left until the deadline; one tick at the deadline itself, where calls are still
  // refused, so a refusal never says "retry after 0s".
  static duration remaining(detail::state_word w, time_point now) noexcept {
    const auto now_ms = detail::floor_ms(now);
    const auto into_ms = now.time_since_epoch() - std::chrono::milliseconds{now_ms};
    const duration left = std::chrono::milliseconds{-w.since_stamp(now_ms)} - into_ms;
    return std::max(left, duration{1});
  }

  time_point window_now() const noexcept {
    // A one-second bucket does not need a precise clock: the coarse clock costs a third.
    if constexpr (std::same_as<Clock, steady_clock>) {
      return coarse_clock::now();
    } else {
      return clock_.now();
    }
  }

  /// The wait in open for the given attempt (1 = first trip since closed), in whole
  /// milliseconds as resilience4j's IntervalFunction computes it (see the docs).
  duration wait_in_open(std::uint32_t attempt) const noexcept {
    using std::chrono::milliseconds;
    // Duration.toMillis() truncates; so does every conversion below.
    const auto to_ms = [](duration d) { return std::chrono::duration_cast<milliseconds>(d); };
    const auto cap = to_ms(std::min(options_.max_wait_in_open, detail::max_breaker_wait));
    if (options_.wait_in_open_function) {
      const duration d = custom_wait(attempt, cap);
      return std::clamp<duration>(to_ms(d), milliseconds{1}, detail::max_breaker_wait);
    }
    // IntervalFunction.ofExponentialBackoff: LongStream.iterate(initial, x -> (long) (x * m))
    // truncates after every multiplication (not initial * m^(k-1) once), then min(max). The
    // sequence never decreases (m >= 1), so stopping at the cap gives the same minimum.
    auto ms = to_ms(options_.wait_in_open).count();
    for (std::uint32_t i = 1; i < attempt && ms < cap.count(); ++i) {
      const double next = static_cast<double>(ms) * options_.wait_in_open_multiplier;
      ms = next >= static_cast<double>(cap.count()) ? cap.count() : static_cast<std::int64_t>(next);
    }
    return std::min(milliseconds{ms}, cap);
  }

  // The user's wait, or `fallback` when it throws. Each path returns its own value: g++ 12.2
  // at -O1/-O2 deleted the fallback store of "d = fallback; try { d = f(); } catch (...) {}"
  // (dead store elimination across the call that throws), so a throwing function got the
  // 1 ms floor. tests/circuit_breaker/test_wait_function_o2.cpp checks this at -O2.
  duration custom_wait(std::uint32_t attempt, duration fallback) const noexcept {
    try {
      return options_.wait_in_open_function(attempt);
    } catch (...) {
      return fallback;
    }
  }

  call_outcome classify_exception(const std::exception_ptr& e) const noexcept {
    if (!options_.classify_exception) return call_outcome::failure;
    try {
      return options_.classify_exception(e);
    } catch (...) {
      return call_outcome::failure;
    }
  }

  [[noreturn]] static void throw_refused(const permit& p) {
    switch (p.state()) {
      case circuit_state::forced_open:
        throw circuit_open{"circuit_breaker", "circuit is forced open"};
      case circuit_state::half_open:
        throw circuit_open{"circuit_breaker", "half-open probes are all in flight"};
      default:
        throw circuit_open{"circuit_breaker", "circuit is open", p.retry_after()};
    }
  }

  /// One CAS from `from` to `to`; the winner (and only it) calls the listener.
  bool transition(detail::state_word from, circuit_state to, transition_reason why, time_point now,
                  bool from_manual = false) const noexcept {
    std::uint32_t attempts = 0;
    std::int64_t stamp = detail::floor_ms(now);
    if (to == circuit_state::open) {
      attempts = from.state() == circuit_state::half_open && !from_manual
                     ? std::min(from.attempts() + 1, detail::state_word::max_attempts)
                     : 1u;
      stamp = detail::ceil_ms(detail::saturating_add(now, wait_in_open(attempts)));
    } else if (to == circuit_state::half_open) {
      attempts = from.attempts();
      if (options_.max_wait_in_half_open > duration::zero())
        stamp = detail::ceil_ms(detail::saturating_add(now, options_.max_wait_in_half_open));
    }
    if (to == circuit_state::closed || to == circuit_state::metrics_only) {
      // Before the CAS: no permit of the new state can record before the window is empty.
      if (options_.window_type == sliding_window::count_based) {
        count_.reset();
      } else {
        time_.reset();
      }
      consecutive_.store(0, std::memory_order_relaxed);
    }
    const detail::state_word next{to, attempts, from.generation() + 1, stamp};
    auto expected = from.raw();
    // Release publishes the reset above to every thread that loads the new word; acquire
    // orders this thread after the transition it replaces; seq_cst puts transitions in one
    // order with the probes' slot CASes and their still-current checks (acquire_slow).
    if (!state_.compare_exchange_strong(expected, next.raw(), std::memory_order_seq_cst,
                                        std::memory_order_acquire))
      return false;
    if (options_.on_transition)
      options_.on_transition({from.state(), to, why, now, next.generation()});
    return true;
  }

  circuit_breaker_options options_;
  [[no_unique_address]] Clock clock_;
  bool slow_detection_;
  std::uint32_t minimum_calls_;
  std::uint32_t half_open_minimum_;
  // Mutable: const observers (state(), metrics()) expire time buckets and, with automatic
  // transitions, move the state; neither changes what the breaker promises its callers.
  mutable detail::count_window count_;
  mutable detail::time_window time_;
  detail::probe_slots probes_;
  alignas(detail::false_sharing_range) mutable std::atomic<std::uint64_t> state_;
  mutable std::atomic<std::uint32_t> consecutive_{0};
  metric_counter not_permitted_;
  metric_counter ignored_;
  metric_counter late_;
};

}  // namespace bulwark
