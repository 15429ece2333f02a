#pragma once

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <mutex>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "bulwark/core/errors.hpp"
#include "bulwark/core/metrics.hpp"
#include "bulwark/core/options.hpp"
#include "bulwark/detail/raise.hpp"

namespace bulwark {

/// One caller class of a partitioned_bulkhead: a name (a tenant, a priority) and its share of
/// the limit.
struct bulkhead_partition {
  std::string name{};
  double share = 0;  ///< in (0, 1]; the shares of all partitions sum to at most 1
};

struct partitioned_bulkhead_options {
  std::uint32_t max_concurrent = 25;             ///< >= 1, as bulkhead_options
  std::vector<bulkhead_partition> partitions{};  ///< at least one
};

namespace detail {

/// The checks of a partition list, shared by partitioned_bulkhead and
/// partitioned_adaptive_limiter: at least one partition, each share in (0, 1], the names
/// unique, the shares summing to at most 1 (with a tolerance for their binary sum).
inline void validate_partitions(const option_check& check,
                                std::span<const bulkhead_partition> partitions) {
  check.that(!partitions.empty(), "partitions", "non-empty", partitions.size());
  double total = 0;
  for (std::size_t i = 0; i < partitions.size(); ++i) {
    const bulkhead_partition& p = partitions[i];
    check.fraction("partitions.share", p.share);
    total += p.share;
    const auto earlier = partitions.first(i);
    const auto same = [&p](const bulkhead_partition& q) { return q.name == p.name; };
    check.that(std::none_of(earlier.begin(), earlier.end(), same), "partitions.name", "unique",
               p.name);
  }
  check.that(total <= 1.0 + 1e-9, "partitions.share", "summing to at most 1", total);
}

inline void validate(const partitioned_bulkhead_options& options) {
  const option_check check{"partitioned_bulkhead"};
  check.in_range("max_concurrent", options.max_concurrent, std::uint32_t{1},
                 std::uint32_t{0x7fffffff});
  validate_partitions(check, options.partitions);
}

}  // namespace detail

/// One partition's counters, as partitioned_bulkhead::metrics() lists them.
struct partition_metrics {
  std::string_view name{};
  std::uint64_t admitted = 0;
  std::uint64_t rejected = 0;
  std::uint32_t in_flight = 0;
  std::uint32_t reserved = 0;  ///< the partition's guaranteed slots: ceil(share * limit)

  template <class Visit>
  void for_each_metric(Visit&& visit) const {
    visit(metric{"admitted_total", "Calls let in.", metric_type::counter, admitted});
    visit(metric{"rejected_total", "Calls refused.", metric_type::counter, rejected});
    visit(metric{"in_flight", "Calls inside now.", metric_type::gauge,
                 static_cast<std::uint64_t>(in_flight)});
    visit(metric{"reserved", "Slots guaranteed to the partition.", metric_type::gauge,
                 static_cast<std::uint64_t>(reserved)});
  }
  friend bool operator==(const partition_metrics&, const partition_metrics&) = default;
};

namespace detail {

/// The partitions' bookkeeping that both partitioned bulkheads keep under their mutex, and
/// Netflix's admission rule over it: each partition's name, share, slots (the calls guaranteed
/// to it), calls in flight and counters, and the calls in flight in all.
class partition_table {
 public:
  /// `partitions` validated (validate_partitions); every partition starts with 0 slots.
  explicit partition_table(std::vector<bulkhead_partition> partitions) {
    partitions_.reserve(partitions.size());
    for (auto& p : partitions)
      partitions_.push_back({std::move(p.name), p.share});
  }

  /// Sets each partition's slots to ceil(share x limit), at least `at_least`. The tolerance
  /// keeps 0.3 x 10 (2.9999999999999996 in binary) at 3.
  void set_slots(std::uint32_t limit, std::uint32_t at_least) noexcept {
    for (state& p : partitions_) {
      const double slots = std::ceil(p.share * limit - 1e-9);
      p.slots = std::max(at_least, static_cast<std::uint32_t>(slots));
    }
  }

  /// Admits a call of partition `index` while fewer than `limit` calls are in flight in all
  /// (borrowing what the others leave idle), or while the partition is below its slots.
  /// Throws std::out_of_range for a bad index.
  [[nodiscard]] bool try_admit(std::size_t index, std::uint32_t limit) {
    state& p = partitions_.at(index);
    if (in_flight_ >= limit && p.in_flight >= p.slots) {
      ++p.rejected;
      return false;
    }
    ++in_flight_;
    ++p.in_flight;
    ++p.admitted;
    return true;
  }
  void release(std::size_t index) noexcept {
    --in_flight_;
    --partitions_[index].in_flight;
  }

  /// The index of the partition named `name`; raises std::invalid_argument naming `component`
  /// if there is none.
  [[nodiscard]] std::size_t index_of(std::string_view component, std::string_view name) const {
    for (std::size_t i = 0; i < partitions_.size(); ++i)
      if (partitions_[i].name == name) return i;
    raise<std::invalid_argument>("bulwark::" + std::string{component} + ": no partition named \"" +
                                 std::string{name} + "\"");
  }
  [[nodiscard]] const std::string& name(std::size_t index) const { return partitions_[index].name; }
  [[nodiscard]] std::size_t size() const noexcept { return partitions_.size(); }
  [[nodiscard]] std::uint32_t in_flight() const noexcept { return in_flight_; }

  /// Each partition's counters, in the order given; `reserved` is its slots.
  [[nodiscard]] std::vector<partition_metrics> metrics() const {
    std::vector<partition_metrics> out;
    out.reserve(partitions_.size());
    for (const state& p : partitions_)
      out.push_back({p.name, p.admitted, p.rejected, p.in_flight, p.slots});
    return out;
  }

 private:
  struct state {
    std::string name;
    double share = 0;
    std::uint32_t slots = 0;
    std::uint32_t in_flight = 0;
    std::uint64_t admitted = 0;
    std::uint64_t rejected = 0;
  };

  std::uint32_t in_flight_ = 0;
  std::vector<state> partitions_;
};

}  // namespace detail

/// A bulkhead whose limit is shared by caller classes, each guaranteed a fixed share, so that
/// one class cannot starve the others (Netflix concurrency-limits' partitioned limiter).
///
///   bulwark::partitioned_bulkhead db({.max_concurrent = 100,
///                                     .partitions = {{"interactive", 0.7}, {"batch", 0.3}}});
///   auto permit = db.try_acquire(db.partition("batch"));
///
/// A partition has ceil(share * max_concurrent) reserved slots. While the bulkhead as a whole
/// has room, any partition may borrow idle capacity; once max_concurrent calls are in flight,
/// only a partition below its reservation gets in. So a class that floods the bulkhead takes
/// what is idle, but each other class can still reach its own share at any time. As in
/// Netflix's limiter, that last rule lets the total exceed max_concurrent while borrowers
/// drain, by at most the sum of the reservations.
///
/// Thread-safe; one mutex for every decision (a few integer comparisons under it), so it suits
/// calls that cost far more than an uncontended lock. O(1) per call.
class partitioned_bulkhead {
 public:
  /// A slot of one partition; released when destroyed. Move-only.
  class [[nodiscard]] permit {
   public:
    permit() noexcept = default;
    permit(permit&& other) noexcept
        : owner_{std::exchange(other.owner_, nullptr)}, index_{other.index_} {}
    permit& operator=(permit&& other) noexcept {
      if (this != &other) {
        release();
        owner_ = std::exchange(other.owner_, nullptr);
        index_ = other.index_;
      }
      return *this;
    }
    ~permit() { release(); }
    [[nodiscard]] explicit operator bool() const noexcept { return owner_ != nullptr; }
    /// Gives the slot back. Idempotent.
    void release() noexcept {
      if (owner_ != nullptr) std::exchange(owner_, nullptr)->release(index_);
    }

   private:
    friend class partitioned_bulkhead;
    permit(partitioned_bulkhead* owner, std::size_t index) noexcept
        : owner_{owner}, index_{index} {}
    partitioned_bulkhead* owner_ = nullptr;
    std::size_t index_ = 0;
  };

  /// Throws std::invalid_argument for max_concurrent 0, no partitions, a share outside
  /// (0, 1], shares summing above 1, or two partitions of one name.
  explicit partitioned_bulkhead(partitioned_bulkhead_options options)
      : max_{(detail::validate(options), options.max_concurrent)},
        partitions_{std::move(options.partitions)} {
    // ceil, so that a small share still guarantees one slot.
    partitions_.set_slots(max_, 0);
  }

  partitioned_bulkhead(const partitioned_bulkhead&) = delete;
  partitioned_bulkhead& operator=(const partitioned_bulkhead&) = delete;

  /// The index of the partition named `name`. Throws std::invalid_argument if there is none.
  [[nodiscard]] std::size_t partition(std::string_view name) const {
    return partitions_.index_of("partitioned_bulkhead", name);
  }
  [[nodiscard]] std::size_t partitions() const noexcept { return partitions_.size(); }

  /// A permit for partition `index` if the rules above admit it, else an empty permit.
  /// Throws std::out_of_range for a bad index.
  [[nodiscard]] permit try_acquire(std::size_t index) {
    const std::lock_guard lock{mutex_};
    return partitions_.try_admit(index, max_) ? permit{this, index} : permit{};
  }

  /// Runs f(args...) in partition `index`; throws bulwark::bulkhead_full when refused.
  /// Not offered without exceptions (detail::with_exceptions): try_acquire is.
  template <detail::with_exceptions F, class... Args>
  requires std::invocable<F, Args...>
  decltype(auto) execute(std::size_t index, F&& f, Args&&... args) {
    const permit p = try_acquire(index);
    if (!p)
      detail::raise<bulkhead_full>("partitioned_bulkhead", "partition " + partitions_.name(index) +
                                                               " is at its share of a full limit");
    return std::invoke(std::forward<F>(f), std::forward<Args>(args)...);
  }

  /// Calls inside now, all partitions together.
  [[nodiscard]] std::uint32_t in_flight() const {
    const std::lock_guard lock{mutex_};
    return partitions_.in_flight();
  }
  /// Each partition's counters, in the order of the options.
  [[nodiscard]] std::vector<partition_metrics> metrics() const {
    const std::lock_guard lock{mutex_};
    return partitions_.metrics();
  }

 private:
  void release(std::size_t index) noexcept {
    const std::lock_guard lock{mutex_};
    partitions_.release(index);
  }

  std::uint32_t max_;
  mutable std::mutex mutex_;
  detail::partition_table partitions_;
};

}  // namespace bulwark
