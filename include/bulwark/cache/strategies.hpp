#pragma once
// Cache strategies over bulwark::cache (or any cache with its interface): cache-aside,
// write-through and refresh-ahead. Write-behind is in write_behind.hpp. Invalidation by key, by
// predicate and of everything is cache::invalidate, invalidate_if and invalidate_all.

#include <chrono>
#include <functional>
#include <mutex>
#include <optional>
#include <type_traits>
#include <unordered_set>
#include <utility>

#include "bulwark/core/clock.hpp"
#include "bulwark/core/hash.hpp"
#include "bulwark/core/options.hpp"
#include "bulwark/detail/raise.hpp"
#include "bulwark/detail/saturating.hpp"

namespace bulwark {

/// Cache-aside over a store: reads go to the cache and, on a miss, load from the store once
/// (single flight) and fill the cache; writes go to the store and then drop the cached copy, so
/// the next read loads the new value.
///
/// Guarantee: after update() returns, no read started later returns the value the cache held
/// before it (an in-flight load that began earlier is not cached either, see get_or_load). A
/// reader may still see the old value while update() runs. Thread-safe if `load` is.
template <class Cache, class Load>
class cache_aside {
 public:
  using key_type = typename Cache::key_type;
  using value_type = typename Cache::value_type;

  cache_aside(Cache& cache, Load load) : cache_{cache}, load_{std::move(load)} {}

  /// The cached value, or `load(key)`'s (cached). Exceptions from load propagate; nothing is
  /// cached then.
  value_type get(const key_type& key) { return cache_.get_or_load(key, load_); }

  /// Runs `write()` (the store update), then invalidates `key`. If write throws, the cache is
  /// left as it was and the exception propagates.
  template <class Write>
  void update(const key_type& key, Write&& write) {
    std::forward<Write>(write)();
    cache_.invalidate(key);
  }

 private:
  Cache& cache_;
  Load load_;
};

/// Write-through: every put calls `writer(key, value)` (the store) first and updates the cache
/// only if it returned, so the cache never holds a value the store refused.
///
/// Thread-safe if `writer` is. Two concurrent puts of one key may reach the store and the cache
/// in different orders; serialise writes of one key if that matters.
template <class Cache, class Writer>
class write_through {
 public:
  using key_type = typename Cache::key_type;
  using value_type = typename Cache::value_type;

  write_through(Cache& cache, Writer writer) : cache_{cache}, writer_{std::move(writer)} {}

  /// writer(key, value), then cache.put(key, value). An exception from the writer propagates
  /// and leaves the cache unchanged.
  void put(const key_type& key, const value_type& value) {
    writer_(key, value);
    cache_.put(key, value);
  }

  [[nodiscard]] std::optional<value_type> get(const key_type& key) { return cache_.get(key); }

 private:
  Cache& cache_;
  Writer writer_;
};

/// Options of refresh_ahead.
struct refresh_ahead_options {
  /// An entry read within the last `refresh_fraction` of its TTL is reloaded (Caffeine's
  /// refreshAfterWrite expressed as a share of expireAfterWrite). In (0, 1].
  double refresh_fraction = 0.2;
};

namespace detail {
/// `expire_after_write` is the refreshed cache's: it must expire entries after a write.
inline void validate(const refresh_ahead_options& options, duration expire_after_write) {
  const option_check check{"refresh_ahead"};
  check.fraction("refresh_fraction", options.refresh_fraction);
  check.positive("expire_after_write", expire_after_write);
}
}  // namespace detail

/// Refresh-ahead: a read of an entry in the last `refresh_fraction` of its TTL returns the
/// current value at once and starts one reload of the key; readers keep getting the old value
/// until the reload puts the new one (which restarts the TTL). A miss loads synchronously
/// (single flight). The cache must have `expire_after_write` set.
///
/// `executor(task)` runs reloads: it may run `task` on a pool, or later; the default runs it
/// on the reading thread after that read has its value (so that one reader waits for the
/// reload). One reload per key at a time. A reload that throws keeps the old value, and the
/// next read in the window tries again. Thread-safe if `load` is.
template <class Cache, class Load, clock Clock = steady_clock>
class refresh_ahead {
 public:
  using key_type = typename Cache::key_type;
  using value_type = typename Cache::value_type;
  using executor_type = std::function<void(std::function<void()>)>;

  refresh_ahead(Cache& cache, Load load, refresh_ahead_options options = {},
                executor_type executor = {}, Clock clock = {})
      : cache_{cache},
        load_{std::move(load)},
        options_{(detail::validate(options, cache.options().expire_after_write), options)},
        executor_{std::move(executor)},
        clock_{std::move(clock)},
        in_flight_{0, key_hash{cache.hash_function()}} {
    const auto ttl = std::chrono::duration<double>(cache_.options().expire_after_write);
    // A ttl of duration::max() (forever) is 2^63 ns as a double, which no duration holds.
    const auto window = ttl * options_.refresh_fraction;
    window_ = window >= std::chrono::duration<double>(duration::max())
                  ? duration::max()
                  : std::chrono::duration_cast<duration>(window);
  }

  /// The value of `key`: cached (reloading it ahead if in the refresh window) or loaded.
  value_type get(const key_type& key) {
    auto entry = cache_.get_entry(key);
    if (!entry) return cache_.get_or_load(key, load_);
    if (clock_.now() >= detail::saturating_sub(entry->expires_at, window_) && claim(key)) {
      auto task = [this, key] { reload(key); };
      if (executor_) {
        executor_(std::move(task));
      } else {
        task();
      }
    }
    return std::move(entry->value);
  }

  /// Reloads started and not finished.
  [[nodiscard]] std::size_t reloads_in_flight() const {
    std::lock_guard lock{mutex_};
    return in_flight_.size();
  }

 private:
  bool claim(const key_type& key) {
    std::lock_guard lock{mutex_};
    return in_flight_.insert(key).second;
  }

  void reload(const key_type& key) {
    BULWARK_TRY {
      cache_.put(key, load_(key));
    }
    BULWARK_CATCH_ALL {
      // Keep the old value; a later read in the window retries.
    }
    std::lock_guard lock{mutex_};
    in_flight_.erase(key);
  }

  // The cache's own seeded hasher: keys a client chooses must not collide here either.
  struct key_hash {
    typename Cache::hasher hash;
    std::size_t operator()(const key_type& k) const { return static_cast<std::size_t>(hash(k)); }
  };

  Cache& cache_;
  Load load_;
  refresh_ahead_options options_;
  executor_type executor_;
  [[no_unique_address]] Clock clock_;
  duration window_{};
  mutable std::mutex mutex_;
  std::unordered_set<key_type, key_hash> in_flight_;
};

}  // namespace bulwark
