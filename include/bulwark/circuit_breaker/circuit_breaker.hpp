#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <exception>
#include <functional>
#include <optional>
#include <type_traits>
#include <utility>

#include "bulwark/circuit_breaker/detail/call_end.hpp"
#include "bulwark/circuit_breaker/detail/closed_window.hpp"
#include "bulwark/circuit_breaker/detail/metrics_counts.hpp"
#include "bulwark/circuit_breaker/detail/open_wait.hpp"
#include "bulwark/circuit_breaker/detail/probes.hpp"
#include "bulwark/circuit_breaker/detail/settings.hpp"
#include "bulwark/circuit_breaker/detail/state_word.hpp"
#include "bulwark/circuit_breaker/detail/trip_rule.hpp"
#include "bulwark/circuit_breaker/metrics.hpp"
#include "bulwark/circuit_breaker/options.hpp"
#include "bulwark/circuit_breaker/permit.hpp"
#include "bulwark/circuit_breaker/state.hpp"
#include "bulwark/core/clock.hpp"
#include "bulwark/core/errors.hpp"
#include "bulwark/core/metrics.hpp"
#include "bulwark/core/policy.hpp"
#include "bulwark/detail/false_sharing.hpp"
#include "bulwark/detail/invoke_then.hpp"
#include "bulwark/detail/raise.hpp"
#include "bulwark/detail/saturating.hpp"

namespace bulwark {

namespace detail {
/// Reaches the options version a call started under (kept alive by the breaker: see
/// detail/settings.hpp): defined by the asio add-on (asio/circuit_breaker.hpp), whose awaited
/// calls end as execute's do, with the classifier they began with.
struct breaker_access;
}  // namespace detail

/// A circuit breaker: resilience4j's CircuitBreaker state machine (closed, open, half_open
/// and the manual disabled, metrics_only, forced_open), with count- or time-based sliding
/// windows, slow-call detection, a gobreaker-style consecutive-failures condition, a growing
/// wait in open, and half-open probes that hold leased slots.
///
/// This class is the state word and its transitions; what it asks of the window
/// (detail/closed_window.hpp), the trip rule (detail/trip_rule.hpp), the probe slots
/// (detail/probes.hpp) and the wait in open (detail/open_wait.hpp) lives in those headers.
///
/// Thread-safety: every member may be called from many threads at once. Permission in the
/// closed state is one atomic load (plus one clock read when slow-call detection is on: a
/// coarse one from 1 s thresholds on, see docs/circuit_breaker.md); recording is lock-free (a
/// count window costs one fetch_add, and one exchange and one more fetch_add when the evicted
/// entry differs); every transition is one CAS on the state word, won by exactly one thread,
/// which then calls the listener. Not copyable or movable: permits point to it.
template <bulwark::clock Clock = steady_clock>
class circuit_breaker {
 public:
  /// The permission for one call, returned by try_acquire() (see circuit_breaker_permit).
  using permit = circuit_breaker_permit<circuit_breaker>;

  /// Validates `options` (std::invalid_argument naming the field otherwise) and starts closed.
  explicit circuit_breaker(circuit_breaker_options options = {}, Clock clock = {})
      : clock_{std::move(clock)},
        slow_detection_{(detail::validate(options), options.slow_call_duration != slow_calls_off)},
        consecutive_rule_{options.trip_on == trip_condition::consecutive_failures},
        settings_{detail::make_breaker_settings(std::move(options), nullptr, coarse_capable)},
        window_{settings_.load().window},
        probes_{settings_.load().options.permitted_calls_in_half_open},
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
      return permit{this, w.raw(), slow_detection_ ? start_now() : time_point{}};
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
  /// Not offered without exceptions (detail::with_exceptions): try_acquire is.
  template <detail::with_exceptions F, class... Args>
  requires std::invocable<F, Args...>
  decltype(auto) execute(F&& f, Args&&... args) {
    return execute_classified([](const auto&) { return call_outcome::success; }, std::forward<F>(f),
                              std::forward<Args>(args)...);
  }

  /// As execute(), with `classify(result)` deciding how a result counts (a failure, a
  /// success or ignored), e.g. an HTTP 503 returned rather than thrown.
  template <class Classify, detail::with_exceptions F, class... Args>
  requires std::invocable<F, Args...>
  decltype(auto) execute_classified(Classify&& classify, F&& f, Args&&... args) {
    return detail::run_with_permit(try_acquire(), settings().options,
                                   std::forward<Classify>(classify), std::forward<F>(f),
                                   std::forward<Args>(args)...);
  }

  /// As execute(), with the caller's clock read `now` as the call's start (bulwark::pipeline
  /// shares one reading between the guards that accept it; see accepts_now()).
  template <detail::with_exceptions F, class... Args>
  requires std::invocable<F, Args...>
  decltype(auto) execute_at(time_point now, F&& f, Args&&... args) {
    return detail::run_with_permit(
        try_acquire(now), settings().options, [](const auto&) { return call_outcome::success; },
        std::forward<F>(f), std::forward<Args>(args)...);
  }
  /// execute_at(now, f) runs f at `now`, without waiting first: bulwark::pipeline may hand it
  /// the reading an outer guard took, and hand the same reading on to the next guard.
  static constexpr bool accepts_now() noexcept { return true; }

  /// The clock this breaker reads.
  [[nodiscard]] const Clock& clock() const noexcept { return clock_; }

  /// The current state. With automatic_transition_from_open, applies a due time-driven
  /// transition first (see poll()). O(1).
  [[nodiscard]] circuit_state state() const noexcept {
    if (settings().options.automatic_transition_from_open) poll();
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
    if (w.state() == circuit_state::open && detail::wait_over(w, now))
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
    if (settings().options.automatic_transition_from_open) poll(now);
    const detail::state_word w{state_.load(std::memory_order_acquire)};
    if (w.state() == circuit_state::forced_open) return std::nullopt;
    if (w.state() != circuit_state::open || detail::wait_over(w, now)) return duration::zero();
    return detail::remaining(w, now);
  }

  /// A snapshot of the state and counters (see circuit_breaker_metrics). O(1) for a count
  /// window, O(window_size) at most once per second for a time window, O(probes) in half-open.
  [[nodiscard]] circuit_breaker_metrics metrics() const noexcept {
    const auto now = clock_.now();
    if (settings().options.automatic_transition_from_open) poll(now);
    const detail::state_word w{state_.load(std::memory_order_acquire)};
    circuit_breaker_metrics m;
    m.state = w.state();
    detail::set_window_counts(m, w, probes_, *window_.load(std::memory_order_acquire), now,
                              settings().options);
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

  /// The current options: those it was built with, or the last reconfigure()'s.
  [[nodiscard]] circuit_breaker_options options() const { return settings().options; }
  /// Throws what reconfigure(next) would, changing nothing.
  void check_reconfigure(const circuit_breaker_options& next) const { settings_.check(next); }
  /// Applies `next` live, keeping the state, its open timer and the window's outcomes
  /// (docs/circuit_breaker.md, "Changing settings live"). Throws std::invalid_argument, changing
  /// nothing: the constructor's message, or throw_fixed_option's for window_type, trip_on,
  /// permitted_calls_in_half_open, or slow-call detection turned on or off. Thread-safe.
  void reconfigure(const circuit_breaker_options& next) {
    settings_.replace(next, coarse_capable, state_, window_);
  }

 private:
  friend permit;
  friend struct detail::breaker_access;

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
          if (!detail::wait_over(w, now)) {
            not_permitted_.add();
            return permit{w.raw(), detail::remaining(w, now)};
          }
          transition(w, circuit_state::half_open, transition_reason::wait_elapsed, now);
          break;
        case circuit_state::half_open: {
          if (half_open_expired(w, now_ms)) {
            transition(w, circuit_state::open, transition_reason::half_open_timeout, now);
            break;
          }
          const auto lease_ms =
              std::chrono::ceil<std::chrono::milliseconds>(settings().options.probe_lease);
          // seq_cst, as the transition CAS: a probe is granted only if its period was still
          // current after it took its slot, so every probe of a period holds its slot when
          // the period ends, and no more than permitted_calls_in_half_open ever do.
          const auto still_current = [&] {
            return state_.load(std::memory_order_seq_cst) == w.raw();
          };
          detail::probe_lease lease;
          const bool took = probes_.acquire(w.generation(), now_ms, lease_ms.count(), lease.slot,
                                            lease.word, still_current);
          // The permit is built only once granted, so a refusal has no slot to give back.
          if (took && still_current()) return permit{this, w.raw(), now, lease};
          if (took) {
            // The period ended while we took the slot: give it back (a no-op if a newer
            // period already reused it) and look at the new state.
            probes_.release(lease.slot, lease.word);
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

  // The start of a call for slow-call detection: coarse where the options allow it.
  time_point start_now() const noexcept {
    return settings().coarse_slow ? detail::coarse_now(clock_) : clock_.now();
  }

  [[nodiscard]] const detail::breaker_settings& settings() const noexcept {
    return settings_.load();
  }

  // A call loads the options version when it first needs it: for slow-call detection before
  // recording, else only to decide on what it recorded (a steady stream of successes into a
  // count window never does); again only if a resize raced it. It records through window_,
  // not through the version: one pointer's load, where the window was inline before
  // reconfigure() (docs/benchmarks.md, "Live reconfiguration").
  void finish(const permit& p, call_outcome outcome, const time_point* given_now) noexcept {
    const detail::state_word w{p.word_};
    if (w.state() == circuit_state::disabled) return;
    if (w.state() == circuit_state::half_open && outcome == call_outcome::ignored) {
      // A probe of an earlier period (or one whose lease was taken over) frees nothing and
      // counts as late, like its other verdicts would.
      const bool freed = probes_.release(p.lease_.slot, p.lease_.word);
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
    // `known`: a precise reading of the call's end if one is at hand (given, or read for
    // slow-call detection); a transition reads the clock only when there is none.
    const time_point* known = given_now;
    time_point end{};
    bool slow = false;
    const detail::breaker_settings* s = nullptr;
    if (slow_detection_) {
      s = &settings();
      if (known == nullptr) {
        end = s->coarse_slow ? detail::coarse_now(clock_) : clock_.now();
        if (!s->coarse_slow) known = &end;
      } else {
        end = *known;
      }
      slow = end - p.start_ > s->options.slow_call_duration;
    }
    if (w.state() == circuit_state::half_open)
      return finish_probe(s != nullptr ? *s : settings(), p, w, failed, slow, known);

    detail::window_counts totals{};
    // Acquire: pairs with reconfigure()'s store, so a resized window's copied contents are seen.
    detail::closed_window* const window = window_.load(std::memory_order_acquire);
    const bool changed = window->record(
        detail::make_code(failed, slow),
        [&] {
          // A one-second bucket does not need a precise clock.
          return given_now != nullptr ? *given_now
                 : slow_detection_    ? end
                                      : detail::coarse_now(clock_);
        },
        totals);
    if (w.state() != circuit_state::closed) return;  // metrics_only never trips
    if (consecutive_rule_) {
      // Relaxed: a plain counter; the trip itself is decided by the CAS in transition().
      if (!failed) {
        if (consecutive_.load(std::memory_order_relaxed) != 0)
          consecutive_.store(0, std::memory_order_relaxed);
        return;
      }
      const auto run = consecutive_.fetch_add(1, std::memory_order_relaxed) + 1;
      if (s == nullptr) s = &settings();
      if (std::get<detail::consecutive_failures_trip>(s->rule).closed(run) !=
          detail::trip_verdict::stay) {
        transition(w, circuit_state::open, transition_reason::consecutive_failures, precise(known));
      }
      return;
    }
    if (!changed) return;
    // The totals are decided on under the version whose window they are: a version loaded
    // before a resize published the window recorded into is replaced by the current one, which
    // has it (versions are published before their window); a call that recorded into a window
    // a resize has since replaced is lost with that window, and decides nothing.
    if (s == nullptr || s->window != window) s = &settings();
    if (s->window != window) return;
    switch (std::get<detail::failure_rate_trip>(s->rule).closed(totals)) {
      case detail::trip_verdict::failure_rate:
        transition(w, circuit_state::open, transition_reason::failure_rate, precise(known));
        break;
      case detail::trip_verdict::slow_call_rate:
        transition(w, circuit_state::open, transition_reason::slow_call_rate, precise(known));
        break;
      default:
        break;
    }
  }

  time_point precise(const time_point* known) const noexcept {
    return known != nullptr ? *known : clock_.now();
  }

  void finish_probe(const detail::breaker_settings& s, const permit& p, detail::state_word w,
                    bool failed, bool slow, const time_point* known) noexcept {
    if (!probes_.complete(p.lease_.slot, p.lease_.word, failed, slow)) {
      late_.add();  // the lease ran out and another probe holds the slot
      return;
    }
    switch (detail::half_open_verdict(s.rule, probes_.tally(w.generation()))) {
      case detail::probe_verdict::reopen:
        transition(w, circuit_state::open, transition_reason::probes_failed, precise(known));
        break;
      case detail::probe_verdict::close:
        transition(w, circuit_state::closed, transition_reason::probes_succeeded, precise(known));
        break;
      case detail::probe_verdict::wait:
        break;
    }
  }

  bool half_open_expired(detail::state_word w, std::int64_t now_ms) const noexcept {
    return settings().options.max_wait_in_half_open > duration::zero() &&
           w.since_stamp(now_ms) >= 0;
  }

  /// One CAS from `from` to `to`; the winner (and only it) calls the listener.
  bool transition(detail::state_word from, circuit_state to, transition_reason why, time_point now,
                  bool from_manual = false) const noexcept {
    const detail::breaker_settings& s = settings();
    const bool empties = to == circuit_state::closed || to == circuit_state::metrics_only;
    detail::closed_window* const window = window_.load(std::memory_order_seq_cst);
    if (empties) {
      // Before the CAS: no permit of the new state can record before the window is empty.
      window->reset();
      consecutive_.store(0, std::memory_order_relaxed);
    }
    const auto next = detail::next_word(s.options, from, to, now, from_manual);
    auto expected = from.raw();
    // Release publishes the reset above to every thread that loads the new word; acquire
    // orders this thread after the transition it replaces; seq_cst puts transitions in one
    // order with the probes' slot CASes and their still-current checks (acquire_slow).
    if (!state_.compare_exchange_strong(expected, next.raw(), std::memory_order_seq_cst,
                                        std::memory_order_acquire))
      return false;
    // A reconfigure() that resized the window meanwhile may have copied it before the reset
    // (seq_cst, with its store of the window and its load of the state: settings.hpp).
    if (empties) {
      detail::closed_window* const now_recording = window_.load(std::memory_order_seq_cst);
      if (now_recording != window) now_recording->reset();
    }
    if (s.options.on_transition)
      s.options.on_transition({from.state(), to, why, now, next.generation()});
    return true;
  }

  static constexpr bool coarse_capable = offers_coarse_now<Clock>;

  [[no_unique_address]] Clock clock_;
  bool slow_detection_;    // fixed: reconfigure() cannot turn slow-call detection on or off
  bool consecutive_rule_;  // fixed: reconfigure() cannot change trip_on
  // The options, trip rule and window, replaced by reconfigure() (see finish for when a call
  // loads them).
  detail::breaker_settings_chain settings_;
  // The window calls record into: the current version's, stored after that version was
  // published. Const observers (state(), metrics()) may expire a time window's records.
  mutable std::atomic<detail::closed_window*> window_;
  detail::probe_slots probes_;
  alignas(detail::false_sharing_range) mutable std::atomic<std::uint64_t> state_;
  mutable std::atomic<std::uint32_t> consecutive_{0};
  metric_counter not_permitted_;
  metric_counter ignored_;
  metric_counter late_;
};

}  // namespace bulwark
