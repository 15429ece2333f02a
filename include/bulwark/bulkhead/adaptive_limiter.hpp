#pragma once

#include <atomic>
#include <concepts>
#include <cstdint>
#include <exception>
#include <functional>
#include <mutex>
#include <type_traits>
#include <utility>

#include "bulwark/bulkhead/detail/adaptive_permit.hpp"
#include "bulwark/bulkhead/limit_algorithms.hpp"
#include "bulwark/core/clock.hpp"
#include "bulwark/core/errors.hpp"
#include "bulwark/core/metrics.hpp"
#include "bulwark/detail/false_sharing.hpp"
#include "bulwark/detail/invoke_then.hpp"
#include "bulwark/detail/raise.hpp"

namespace bulwark {

/// A move of an adaptive limiter's limit, for adaptive_limiter::on_limit_change.
struct limit_change {
  std::uint32_t from = 0;  ///< the limit before the sample
  std::uint32_t to = 0;    ///< the limit the sample set
};

/// An adaptive limiter's counters (monotonic) and gauges.
struct adaptive_limiter_metrics {
  std::uint64_t admitted = 0;   ///< calls let in
  std::uint64_t rejected = 0;   ///< calls refused at the limit
  std::uint64_t succeeded = 0;  ///< permits that reported success
  std::uint64_t dropped = 0;    ///< permits that reported a drop
  std::uint64_t ignored = 0;    ///< permits released without a sample
  std::uint32_t limit = 0;      ///< the current limit
  std::uint32_t in_flight = 0;  ///< calls inside now

  template <class Visit>
  void for_each_metric(Visit&& visit) const {
    visit(metric{"admitted_total", "Calls let in.", metric_type::counter, admitted});
    visit(metric{"rejected_total", "Calls refused at the limit.", metric_type::counter, rejected});
    visit(
        metric{"succeeded_total", "Calls that reported success.", metric_type::counter, succeeded});
    visit(metric{"dropped_total", "Calls that reported a drop.", metric_type::counter, dropped});
    visit(
        metric{"ignored_total", "Calls released without a sample.", metric_type::counter, ignored});
    visit(metric{"limit", "The current concurrency limit.", metric_type::gauge,
                 static_cast<std::uint64_t>(limit)});
    visit(metric{"in_flight", "Calls inside now.", metric_type::gauge,
                 static_cast<std::uint64_t>(in_flight)});
  }
  friend bool operator==(const adaptive_limiter_metrics&,
                         const adaptive_limiter_metrics&) = default;
};

namespace detail {

/// Runs f(args...) under `permit` and reports how it went, as both adaptive limiters count
/// it: a return is a success (with the permit's latency), a bulwark::rejected from f (the
/// backend or an inner guard refused) a drop, any other exception no sample; f's result or
/// exception goes to the caller unchanged.
template <class Permit, class F, class... Args>
decltype(auto) run_counted(Permit& permit, F&& f, Args&&... args) {
  BULWARK_TRY {
    return invoke_then([&](const auto&...) { permit.success(); }, std::forward<F>(f),
                       std::forward<Args>(args)...);
  }
  BULWARK_CATCH(const rejected&) {
    permit.dropped();
    BULWARK_RETHROW;
  }
}

}  // namespace detail

/// A concurrency limit that moves with measured latency and drops (Netflix concurrency-limits'
/// SimpleLimiter, Envoy's adaptive concurrency filter): calls in flight may not exceed limit(),
/// and each call's outcome feeds the algorithm (aimd_limit, gradient2_limit, or your own
/// limit_algorithm) that sets the next limit.
///
///   bulwark::adaptive_limiter limiter(bulwark::gradient2_options{.max_limit = 500});
///   if (auto permit = limiter.try_acquire()) {
///     auto reply = call_backend();
///     reply.ok() ? permit.success() : permit.dropped();  // success() measures the latency
///   }                                                    // neither: ignore()d at scope end
///
/// The permit reports one of success() / success(latency) (a latency sample), dropped() (the
/// backend refused or timed out: back off), or ignore() (no sample: a client-side error says
/// nothing about the backend's capacity). A permit destroyed without a report is ignored.
///
/// Thread-safe. try_acquire is a CAS loop on the in-flight count against a relaxed read of
/// the limit (lock-free), plus one clock read for the latency; a report decrements the count
/// and, for samples, updates the algorithm under a mutex, as Netflix's limiter does. The limit
/// is read without synchronisation with in-flight calls, so it is enforced against the value
/// each acquire sees: a limit that just shrank lets calls already inside finish. O(1).
template <limit_algorithm Limit, clock Clock = steady_clock>
class adaptive_limiter {
 public:
  /// The right to one call; reports its outcome (success, dropped or ignore). Move-only.
  using permit = detail::adaptive_permit<adaptive_limiter>;

  /// Throws std::invalid_argument for bad options of the algorithm.
  explicit adaptive_limiter(typename Limit::options_type options, Clock clock = {})
      : adaptive_limiter(Limit{options}, std::move(clock)) {}
  /// With an algorithm object (a user-written limit_algorithm, say).
  explicit adaptive_limiter(Limit algorithm, Clock clock = {})
      : algorithm_{std::move(algorithm)}, clock_{std::move(clock)} {
    limit_.store(static_cast<std::uint32_t>(algorithm_.limit()), std::memory_order_relaxed);
  }

  adaptive_limiter(const adaptive_limiter&) = delete;
  adaptive_limiter& operator=(const adaptive_limiter&) = delete;

  /// A permit if fewer than limit() calls are in flight, else an empty one. One clock read.
  [[nodiscard]] permit try_acquire() noexcept { return try_acquire(clock_.now()); }
  /// The same with the caller's clock read (the call's start time).
  [[nodiscard]] permit try_acquire(time_point now) noexcept {
    std::uint32_t current = inflight_.load(std::memory_order_relaxed);
    do {
      // Relaxed: the limit is advice refreshed by every sample; a stale read admits or
      // refuses one call by the old limit, which any interleaving could have done anyway.
      if (current >= limit_.load(std::memory_order_relaxed)) {
        rejected_.add();
        return permit{};
      }
      // Relaxed: the count is the only state this CAS publishes.
    } while (!inflight_.compare_exchange_weak(current, current + 1, std::memory_order_relaxed));
    admitted_.add();
    return permit{this, {}, now, current + 1};
  }

  /// Runs f(args...) under the limit and returns its result. A return counts as a success
  /// with the measured latency; a bulwark::rejected from f (the backend or an inner guard
  /// refused) as a drop; any other exception is ignored (no sample) and propagates. Throws
  /// bulwark::bulkhead_full when the limit is reached. Not offered without exceptions
  /// (detail::with_exceptions): try_acquire is.
  template <detail::with_exceptions F, class... Args>
  requires std::invocable<F, Args...>
  decltype(auto) execute(F&& f, Args&&... args) {
    permit p = try_acquire();
    if (!p) detail::raise<bulkhead_full>("adaptive_limiter", "the concurrency limit is reached");
    return detail::run_counted(p, std::forward<F>(f), std::forward<Args>(args)...);
  }

  /// The current limit. O(1).
  [[nodiscard]] std::uint32_t limit() const noexcept {
    return limit_.load(std::memory_order_relaxed);
  }
  /// Calls in flight now. O(1).
  [[nodiscard]] std::uint32_t in_flight() const noexcept {
    return inflight_.load(std::memory_order_relaxed);
  }
  [[nodiscard]] adaptive_limiter_metrics metrics() const noexcept {
    return {admitted_.load(), rejected_.load(), succeeded_.load(), dropped_.load(),
            ignored_.load(),  limit(),          in_flight()};
  }
  /// Reads the algorithm's state under the limiter's lock: visit(const Limit&).
  template <class Visit>
  decltype(auto) inspect(Visit&& visit) const {
    const std::lock_guard lock{mutex_};
    return std::invoke(std::forward<Visit>(visit), std::as_const(algorithm_));
  }
  [[nodiscard]] const Clock& clock() const noexcept { return clock_; }

  /// Calls listener(change) each time a sample moves the limit (Netflix concurrency-limits'
  /// limit listener), replacing any earlier listener; an empty function removes it. The
  /// listener runs on the thread whose report moved the limit, under the limiter's lock: it
  /// must not throw and must not report a permit of this limiter. A registry's adaptive
  /// limiters have the registry's listener (their changes reach its sink); forward one of your
  /// own with registry::emit() (docs/operate.md). Thread-safe.
  void on_limit_change(std::function<void(const limit_change&)> listener) {
    const std::lock_guard lock{mutex_};
    listener_ = std::move(listener);
  }

 private:
  friend permit;

  // Once per admitted call; no sample (nullptr) when the permit was ignored.
  void release(detail::no_partition, const detail::adaptive_sample* s) {
    if (s == nullptr) {
      ignored_.add();
      inflight_.fetch_sub(1, std::memory_order_relaxed);
      return;
    }
    (s->dropped ? dropped_ : succeeded_).add();
    inflight_.fetch_sub(1, std::memory_order_relaxed);
    const std::lock_guard lock{mutex_};
    algorithm_.on_sample(s->latency, s->inflight, s->dropped);
    const auto next = static_cast<std::uint32_t>(algorithm_.limit());
    // Relaxed: readers take the limit as advice (see try_acquire); the mutex orders writers,
    // so a load and a store (no read-modify-write) give the previous limit.
    const std::uint32_t was = limit_.load(std::memory_order_relaxed);
    limit_.store(next, std::memory_order_relaxed);
    if (listener_ && was != next) listener_(limit_change{was, next});
  }

  alignas(detail::false_sharing_range) std::atomic<std::uint32_t> inflight_{0};
  std::atomic<std::uint32_t> limit_{0};
  metric_counter admitted_;
  mutable std::mutex mutex_;
  Limit algorithm_;
  std::function<void(const limit_change&)> listener_;  // guarded by mutex_
  metric_counter rejected_;
  metric_counter succeeded_;
  metric_counter dropped_;
  metric_counter ignored_;
  [[no_unique_address]] Clock clock_;
};

adaptive_limiter(aimd_options)->adaptive_limiter<aimd_limit>;
template <clock C>
adaptive_limiter(aimd_options, C) -> adaptive_limiter<aimd_limit, C>;
adaptive_limiter(gradient2_options)->adaptive_limiter<gradient2_limit>;
template <clock C>
adaptive_limiter(gradient2_options, C) -> adaptive_limiter<gradient2_limit, C>;

}  // namespace bulwark
