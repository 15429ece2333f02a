#pragma once

#include <algorithm>
#include <cmath>
#include <concepts>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <mutex>
#include <stdexcept>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

#include "bulwark/bulkhead/adaptive_limiter.hpp"
#include "bulwark/bulkhead/detail/adaptive_permit.hpp"
#include "bulwark/bulkhead/limit_algorithms.hpp"
#include "bulwark/bulkhead/partitioned.hpp"
#include "bulwark/core/clock.hpp"
#include "bulwark/core/errors.hpp"
#include "bulwark/core/options.hpp"
#include "bulwark/detail/raise.hpp"

namespace bulwark {

/// An adaptive limit shared by caller classes (Netflix concurrency-limits'
/// AbstractPartitionedLimiter): the limit moves with latency and drops as adaptive_limiter's
/// does, and each partition is guaranteed max(1, ceil(share * limit)) of the CURRENT limit.
///
///   bulwark::partitioned_adaptive_limiter db(bulwark::gradient2_options{.max_limit = 200},
///                                            {{"live", 0.7}, {"batch", 0.3}});
///   if (auto permit = db.try_acquire(db.partition("batch"))) { ...; permit.success(); }
///
/// Admission is Netflix's: while fewer than limit() calls are in flight, any partition gets in
/// (it borrows what the others leave idle); at the limit, only a partition below its own share
/// does. So the total may exceed limit() while borrowers drain, by at most the shares; and as
/// the limit shrinks under overload every share shrinks with it, so a flooding class cannot
/// keep more than its share of a smaller limit once the others want theirs.
///
/// Permits report as adaptive_limiter's do (success, dropped, ignore; the destructor ignores).
/// Thread-safe; one mutex for admission, release and the algorithm's sample, as Netflix's
/// limiter serialises them. O(partitions) when the limit changes, else O(1).
template <limit_algorithm Limit, clock Clock = steady_clock>
class partitioned_adaptive_limiter {
 public:
  /// The right to one call of one partition; reports its outcome (success, dropped or ignore).
  /// Move-only.
  using permit = detail::adaptive_permit<partitioned_adaptive_limiter, std::size_t>;

  /// Throws std::invalid_argument for bad options of the algorithm, no partitions, a share
  /// outside (0, 1], shares summing above 1, or two partitions of one name.
  partitioned_adaptive_limiter(typename Limit::options_type options,
                               std::vector<bulkhead_partition> partitions, Clock clock = {})
      : partitioned_adaptive_limiter(Limit{options}, std::move(partitions), std::move(clock)) {}
  /// With an algorithm object (a user-written limit_algorithm, say).
  partitioned_adaptive_limiter(Limit algorithm, std::vector<bulkhead_partition> partitions,
                               Clock clock = {})
      : algorithm_{std::move(algorithm)},
        partitions_{
            (detail::validate_partitions(option_check{"partitioned_adaptive_limiter"}, partitions),
             std::move(partitions))},
        clock_{std::move(clock)} {
    set_limit(static_cast<std::uint32_t>(algorithm_.limit()));
  }

  partitioned_adaptive_limiter(const partitioned_adaptive_limiter&) = delete;
  partitioned_adaptive_limiter& operator=(const partitioned_adaptive_limiter&) = delete;

  /// The index of the partition named `name`. Throws std::invalid_argument if there is none.
  [[nodiscard]] std::size_t partition(std::string_view name) const {
    return partitions_.index_of("partitioned_adaptive_limiter", name);
  }
  [[nodiscard]] std::size_t partitions() const noexcept { return partitions_.size(); }

  /// A permit for partition `index` if the rules above admit it, else an empty permit. One
  /// clock read. Throws std::out_of_range for a bad index.
  [[nodiscard]] permit try_acquire(std::size_t index) { return try_acquire(index, clock_.now()); }
  /// The same with the caller's clock read (the call's start time).
  [[nodiscard]] permit try_acquire(std::size_t index, time_point now) {
    const std::lock_guard lock{mutex_};
    if (!partitions_.try_admit(index, limit_)) return permit{};
    return permit{this, index, now, partitions_.in_flight()};
  }

  /// Runs f(args...) in partition `index`, reporting as adaptive_limiter::execute does (a
  /// return is a success, a bulwark::rejected a drop, another exception no sample). Throws
  /// bulwark::bulkhead_full when refused. Not offered without exceptions (detail::with_exceptions):
  /// try_acquire is.
  template <detail::with_exceptions F, class... Args>
  requires std::invocable<F, Args...>
  decltype(auto) execute(std::size_t index, F&& f, Args&&... args) {
    permit p = try_acquire(index);
    if (!p)
      detail::raise<bulkhead_full>(
          "partitioned_adaptive_limiter",
          "partition " + partitions_.name(index) + " is at its share of a full limit");
    return detail::run_counted(p, std::forward<F>(f), std::forward<Args>(args)...);
  }

  /// The current limit, all partitions together.
  [[nodiscard]] std::uint32_t limit() const {
    const std::lock_guard lock{mutex_};
    return limit_;
  }
  /// Calls inside now, all partitions together.
  [[nodiscard]] std::uint32_t in_flight() const {
    const std::lock_guard lock{mutex_};
    return partitions_.in_flight();
  }
  /// Each partition's counters, in the order of the options; `reserved` is its share of the
  /// current limit.
  [[nodiscard]] std::vector<partition_metrics> metrics() const {
    const std::lock_guard lock{mutex_};
    return partitions_.metrics();
  }
  /// Reads the algorithm's state under the limiter's lock: visit(const Limit&).
  template <class Visit>
  decltype(auto) inspect(Visit&& visit) const {
    const std::lock_guard lock{mutex_};
    return std::invoke(std::forward<Visit>(visit), std::as_const(algorithm_));
  }
  [[nodiscard]] const Clock& clock() const noexcept { return clock_; }

 private:
  friend permit;

  // Netflix's Partition.updateLimit, on every change of the limit: each partition's share of
  // it, at least 1.
  void set_limit(std::uint32_t limit) noexcept {
    if (limit == limit_ && limit_set_) return;
    limit_ = limit;
    limit_set_ = true;
    partitions_.set_slots(limit, 1);
  }

  // Once per admitted call; no sample (nullptr) when the permit was ignored.
  void release(std::size_t index, const detail::adaptive_sample* s) noexcept {
    const std::lock_guard lock{mutex_};
    partitions_.release(index);
    if (s == nullptr) return;
    algorithm_.on_sample(s->latency, s->inflight, s->dropped);
    set_limit(static_cast<std::uint32_t>(algorithm_.limit()));
  }

  mutable std::mutex mutex_;
  Limit algorithm_;
  std::uint32_t limit_ = 0;
  bool limit_set_ = false;
  detail::partition_table partitions_;
  [[no_unique_address]] Clock clock_;
};

partitioned_adaptive_limiter(aimd_options, std::vector<bulkhead_partition>)
    ->partitioned_adaptive_limiter<aimd_limit>;
template <clock C>
partitioned_adaptive_limiter(aimd_options, std::vector<bulkhead_partition>, C)
    -> partitioned_adaptive_limiter<aimd_limit, C>;
partitioned_adaptive_limiter(gradient2_options, std::vector<bulkhead_partition>)
    ->partitioned_adaptive_limiter<gradient2_limit>;
template <clock C>
partitioned_adaptive_limiter(gradient2_options, std::vector<bulkhead_partition>, C)
    -> partitioned_adaptive_limiter<gradient2_limit, C>;

}  // namespace bulwark
