#pragma once
// The bound a cache's reconfigure() sets (docs/cache.md, "Changing settings live"): the one
// option that can change once the cache is built.

#include <atomic>
#include <cstdint>
#include <mutex>
#include <utility>

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

  /// Throws what change(next) would, changing nothing: `next` as a cache's options
  /// (`weighted`, `seedable`: see validate) and as a change from `now`, the current options.
  static void check(const cache_options& now, const cache_options& next, bool weighted,
                    bool seedable, std::uint32_t shards) {
    validate(next, weighted, seedable);
    validate_change(now, next, shards);
  }

  /// Takes `next`'s bound and splits it over `stripes` (cache_stripes::rebound: `f(stripe,
  /// share)` under each shard's lock, then `after()` unlocked), one change at a time per Owner
  /// type. Relaxed: readers of the bound (options()) need no order with the shards; the
  /// shards' capacities change under their own locks.
  template <class Stripes, class F, class After>
  void change(const cache_options& next, bool counted, const Stripes& stripes, F&& f,
              After&& after) {
    static std::mutex writers;  // constant-initialised; shared by the caches of this type
    const std::lock_guard serialise{writers};
    bound_.store(counted ? next.maximum_size : next.maximum_weight, std::memory_order_relaxed);
    stripes.rebound(bound_.load(std::memory_order_relaxed), std::forward<F>(f),
                    std::forward<After>(after));
  }

 private:
  std::atomic<std::uint64_t> bound_{0};
};

}  // namespace bulwark::detail
