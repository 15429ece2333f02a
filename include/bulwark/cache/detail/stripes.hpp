#pragma once
// Lock striping for bulwark::cache: a power-of-two number of stripes, each a shard (its own
// lock) and the single-flight table of the keys it holds; a key's hash picks one by its top
// bits. Internal; see cache.hpp.

#include <algorithm>
#include <bit>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>

#include "bulwark/detail/shard_count.hpp"

namespace bulwark::detail {

template <class Shard, class Flights>
class cache_stripes {
 public:
  struct stripe {
    std::optional<Shard> shard;
    Flights flights;
  };

  /// The default count for a cache bounded by `bound`: up to 64, by the hardware's threads.
  static std::uint32_t default_count(std::uint64_t bound) {
    return static_cast<std::uint32_t>(
        fit_shards(std::min<std::size_t>(64, hardware_shards()), bound, 64));
  }

  cache_stripes() = default;
  /// `count` stripes (a power of two); `build(stripe, share)` fills each, `share` being its
  /// part of `bound` (the remainder goes one each to the first stripes).
  template <class Build>
  cache_stripes(std::uint32_t count, std::uint64_t bound, Build build)
      : count_{count},
        bits_{static_cast<unsigned>(std::countr_zero(count))},
        stripes_{std::make_unique<stripe[]>(count)} {
    for (std::uint32_t i = 0; i < count_; ++i)
      build(stripes_[i], bound / count_ + (i < bound % count_ ? 1 : 0));
  }

  // The top bits_ bits, without a branch for bits_ = 0: (hash >> 1) >> 63 is 0.
  stripe& of(std::uint64_t hash) const noexcept {
    return stripes_[static_cast<std::size_t>((hash >> 1) >> (63 - bits_))];
  }
  stripe& operator[](std::uint32_t i) const noexcept { return stripes_[i]; }
  [[nodiscard]] std::uint32_t size() const noexcept { return count_; }
  /// Calls `f(stripe)` for each stripe in turn, under its shard's lock.
  template <class F>
  void each_locked(F&& f) const {
    for (std::uint32_t i = 0; i < count_; ++i) {
      std::lock_guard lock{stripes_[i].shard->mutex()};
      f(stripes_[i]);
    }
  }
  [[nodiscard]] std::size_t memory_bytes() const noexcept { return count_ * sizeof(stripe); }

  /// Calls `f(shard, out)` for each shard in turn under its lock, after replaying its read
  /// buffers (so the policy and the entries are current), then `report(out)` with that lock
  /// released: a removal listener may call back into the cache. Returns the sum of f's counts.
  template <class Removals, class F, class Report>
  std::size_t remove_each(F&& f, Report&& report) const {
    std::size_t count = 0;
    for (std::uint32_t i = 0; i < count_; ++i) {
      Removals out;
      {
        std::lock_guard lock{stripes_[i].shard->mutex()};
        stripes_[i].shard->drain_reads();
        count += f(*stripes_[i].shard, out);
      }
      report(out);
    }
    return count;
  }

  /// Splits a new `bound` as the constructor does and calls `f(stripe, share)` for each stripe
  /// in turn under its shard's lock, then `after()` with that lock released.
  template <class F, class After>
  void rebound(std::uint64_t bound, F&& f, After&& after) const {
    for (std::uint32_t i = 0; i < count_; ++i) {
      {
        std::lock_guard lock{stripes_[i].shard->mutex()};
        f(stripes_[i], bound / count_ + (i < bound % count_ ? 1 : 0));
      }
      after();
    }
  }

 private:
  std::uint32_t count_ = 1;
  unsigned bits_ = 0;
  std::unique_ptr<stripe[]> stripes_;
};

}  // namespace bulwark::detail
