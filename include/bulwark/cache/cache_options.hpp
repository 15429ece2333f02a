#pragma once
// The vocabulary of bulwark::cache: its options, the causes of a removal, its metrics snapshot
// and the callbacks (weigher, removal listener) a cache may be given.

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include "bulwark/core/clock.hpp"
#include "bulwark/core/metrics.hpp"
#include "bulwark/core/options.hpp"
#include "bulwark/core/random.hpp"

namespace bulwark {

/// Options of bulwark::cache. Exactly one bound: `maximum_size` (entries) or `maximum_weight`
/// (with a weigher). A zero duration means "never expires". Defaults follow Caffeine's: no
/// expiry unless asked for, and the shard count chosen from the hardware.
struct cache_options {
  std::uint64_t maximum_size = 0;     ///< at most this many entries (each weighs 1)
  std::uint64_t maximum_weight = 0;   ///< or: at most this total weight, as the weigher says
  duration expire_after_write = {};   ///< an entry expires this long after its last write
  duration expire_after_access = {};  ///< an entry expires this long after its last read or write
  /// Lock stripes, a power of two; 0 picks one from std::thread::hardware_concurrency() (4 per
  /// hardware thread, up to 64, and no more than leaves each shard 64 entries of capacity).
  std::uint32_t shards = 0;
  /// The seed given to a Hasher with a `seed` member (bulwark::flood_resistant_hash, the
  /// default, and bulwark::stable_hash have one), replacing
  /// the hasher's own. Unset (the default): a fresh random seed per cache, so that nobody
  /// outside the process can compute keys that share an index slot or a sketch counter (hash
  /// flooding); set it only where hit ratios and eviction order must repeat (tests, replays).
  std::optional<std::uint64_t> hash_seed{};
};

/// Why an entry left the cache (Caffeine's RemovalCause, less COLLECTED).
enum class removal_cause : std::uint8_t {
  explicit_removal,  ///< invalidate(), invalidate_if(), invalidate_all()
  replaced,          ///< put() over an existing entry (the old value is passed)
  expired,           ///< its write or access deadline passed
  size,              ///< evicted to keep the cache within its bound
};

[[nodiscard]] constexpr std::string_view to_string(removal_cause cause) noexcept {
  switch (cause) {
    case removal_cause::explicit_removal:
      return "explicit";
    case removal_cause::replaced:
      return "replaced";
    case removal_cause::expired:
      return "expired";
    case removal_cause::size:
      return "size";
  }
  return "unknown";
}

/// What a cache may call back. Both are optional.
///
/// - `weigher(key, value)`: the weight of an entry, needed with `maximum_weight`; called once
///   per write, under the shard's lock, so it must be cheap and must not use the cache.
/// - `on_removal(key, value, cause)`: called once per entry removed for any cause, after the
///   shard's lock is released, on the thread whose operation removed it (a write, a cleanup, an
///   invalidation); it may use the cache. Exceptions it throws propagate to that operation's
///   caller after the operation is complete.
template <class Key, class Value>
struct cache_callbacks {
  std::function<std::uint32_t(const Key&, const Value&)> weigher{};
  std::function<void(const Key&, const Value&, removal_cause)> on_removal{};
};

/// A snapshot of a cache's counters. Monotonic counters but `entries` and `weight`.
struct cache_metrics {
  std::uint64_t hits = 0;
  std::uint64_t misses = 0;
  std::uint64_t loads = 0;          ///< get_or_load loader calls that returned a value
  std::uint64_t load_failures = 0;  ///< loader calls that threw
  std::uint64_t load_waits = 0;     ///< get_or_load calls that waited on another call's load
  std::uint64_t evictions_size = 0;
  std::uint64_t evictions_expired = 0;
  std::uint64_t evictions_explicit = 0;  ///< invalidations
  std::uint64_t replacements = 0;        ///< values replaced by put
  std::uint64_t entries = 0;             ///< current entry count (gauge)
  std::uint64_t weight = 0;              ///< current total weight (gauge)

  /// hits / (hits + misses), or 0 before the first read.
  [[nodiscard]] double hit_ratio() const noexcept {
    const auto reads = hits + misses;
    return reads == 0 ? 0.0 : static_cast<double>(hits) / static_cast<double>(reads);
  }

  template <class Visit>
  void for_each_metric(Visit&& visit) const {
    visit(metric{"hits_total", "Reads that found a live entry.", metric_type::counter, hits});
    visit(metric{"misses_total", "Reads that found no live entry.", metric_type::counter, misses});
    visit(
        metric{"loads_total", "Loader calls that returned a value.", metric_type::counter, loads});
    visit(metric{"load_failures_total", "Loader calls that threw.", metric_type::counter,
                 load_failures});
    visit(metric{"load_waits_total", "get_or_load calls that waited on another call's load.",
                 metric_type::counter, load_waits});
    visit(metric{"evictions_size_total", "Entries evicted to stay within the bound.",
                 metric_type::counter, evictions_size});
    visit(metric{"evictions_expired_total", "Entries removed after their deadline.",
                 metric_type::counter, evictions_expired});
    visit(metric{"evictions_explicit_total", "Entries removed by an invalidation.",
                 metric_type::counter, evictions_explicit});
    visit(metric{"replacements_total", "Values replaced by a write.", metric_type::counter,
                 replacements});
    visit(metric{"entries", "Entries held now, expired ones not yet swept included.",
                 metric_type::gauge, entries});
    visit(metric{"weight", "Total weight held now.", metric_type::gauge, weight});
  }

  friend bool operator==(const cache_metrics&, const cache_metrics&) = default;
};

namespace detail {

/// Validates cache_options (shared by cache and its wrappers). `weighted` says whether a weigher
/// was given.
inline void validate(const cache_options& o, bool weighted) {
  const option_check check{"cache"};
  if (weighted) {
    check.positive("maximum_weight", o.maximum_weight);
    check.that(o.maximum_size == 0, "maximum_size", "0 when a weigher is given", o.maximum_size);
  } else {
    check.positive("maximum_size", o.maximum_size);
    check.that(o.maximum_weight == 0, "maximum_weight", "0 without a weigher", o.maximum_weight);
  }
  check.non_negative("expire_after_write", o.expire_after_write);
  check.non_negative("expire_after_access", o.expire_after_access);
  check.that(o.shards == 0 || (o.shards & (o.shards - 1)) == 0, "shards", "0 or a power of two",
             o.shards);
  check.at_most("shards", o.shards, 1u << 16);
  // A shard's capacity is bound / shards: more shards than the bound leaves some of them no
  // room, and every key that hashes there is dropped at once.
  const std::uint64_t bound = weighted ? o.maximum_weight : o.maximum_size;
  check.that(o.shards <= bound, "shards",
             "<= " + std::string{weighted ? "maximum_weight" : "maximum_size"} + " (" +
                 std::to_string(bound) + ")",
             o.shards);
}

/// What cache::reconfigure checks beyond validate(): only the bound (maximum_size or
/// maximum_weight) may change, and it must leave every one of the `shard_count` shards room.
inline void validate_change(const cache_options& was, const cache_options& next,
                            std::uint32_t shard_count) {
  const option_check check{"cache"};
  check.unchanged("expire_after_write", was.expire_after_write, next.expire_after_write);
  check.unchanged("expire_after_access", was.expire_after_access, next.expire_after_access);
  check.unchanged("shards", was.shards, next.shards);
  if (was.hash_seed != next.hash_seed) {
    const auto text = [](const std::optional<std::uint64_t>& seed) {
      return seed ? std::to_string(*seed) : std::string{"unset"};
    };
    throw_fixed_option(check.component(), "hash_seed", text(was.hash_seed), text(next.hash_seed));
  }
  const bool weighted = next.maximum_weight != 0;
  const std::uint64_t bound = weighted ? next.maximum_weight : next.maximum_size;
  check.that(bound >= shard_count, weighted ? "maximum_weight" : "maximum_size",
             ">= the shard count (" + std::to_string(shard_count) + ")", bound);
}

// Whether Hasher takes a seed the way bulwark::flood_resistant_hash and stable_hash do.
template <class Hasher>
concept seedable_hasher = requires(Hasher& h, std::uint64_t s) {
  h.seed = s;
};

// `hash` with `seed`, or with a fresh random one when unset (one draw from the thread's
// generator, itself seeded from std::random_device: no system call per instance). A Hasher
// without a seed member is returned as it is.
template <class Hasher>
Hasher seeded_hasher(Hasher hash, std::optional<std::uint64_t> seed) {
  if constexpr (seedable_hasher<Hasher>) hash.seed = seed ? *seed : thread_rng()();
  return hash;
}

}  // namespace detail
}  // namespace bulwark
