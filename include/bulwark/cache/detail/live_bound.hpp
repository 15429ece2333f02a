#pragma once
// The bound a cache's reconfigure() sets (docs/cache.md, "Changing settings live"): the one
// option that can change once the cache is built.

#include <atomic>
#include <cstdint>
#include <mutex>

#include "bulwark/cache/cache_options.hpp"

namespace bulwark::detail {

/// The bound set by the last change(), 0 until then (the options the cache was built with hold
/// it). `Owner` is the cache type: its caches share one mutex that serialises their changes.
///
/// Neither initialised from the options nor beside a mutex: any more constructor code (even a
/// std::mutex's) made g++ 12 inline the cache's hit path differently, 10 instructions an
/// operation more under cache_aside_count, none of them reconfigure's. So changes serialise on
/// a static mutex instead.
template <class Owner>
class live_bound {
 public:
  /// `built` (the options as built) with the bound last set, if any.
  [[nodiscard]] cache_options applied_to(cache_options built, bool counted) const noexcept {
    if (const std::uint64_t bound = bound_.load(std::memory_order_relaxed); bound != 0)
      (counted ? built.maximum_size : built.maximum_weight) = bound;
    return built;
  }

  /// Takes `next`'s bound and calls `rebound(bound)`, one change at a time per Owner type.
  /// Relaxed: readers of the bound (options()) need no order with the shards; the shards'
  /// capacities change under their own locks in rebound.
  template <class Rebound>
  void change(const cache_options& next, bool counted, Rebound&& rebound) {
    static std::mutex writers;  // constant-initialised; shared by the caches of this type
    const std::lock_guard serialise{writers};
    bound_.store(counted ? next.maximum_size : next.maximum_weight, std::memory_order_relaxed);
    rebound(bound_.load(std::memory_order_relaxed));
  }

 private:
  std::atomic<std::uint64_t> bound_{0};
};

}  // namespace bulwark::detail
