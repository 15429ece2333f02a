#pragma once
// bulwark::keyed_limiter: one limiter per key (client, IP, tenant) in bounded memory.

#include <algorithm>
#include <bit>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <random>
#include <thread>
#include <type_traits>
#include <utility>
#include <vector>

#include "bulwark/core/clock.hpp"
#include "bulwark/core/errors.hpp"
#include "bulwark/core/hash.hpp"
#include "bulwark/core/metrics.hpp"
#include "bulwark/core/options.hpp"
#include "bulwark/core/random.hpp"
#include "bulwark/rate_limit/limiter_base.hpp"

namespace bulwark {

/// Options of bulwark::keyed_limiter (defaults in parentheses).
struct keyed_limiter_options {
  /// The most keys held at once (100000). A new key beyond it evicts an old one.
  std::size_t max_keys = 100'000;
  /// A key unused for this long is idle (10min): evicted first, and dropped by evict_idle().
  duration idle_timeout = std::chrono::minutes{10};
  /// The hash and sampling seed (0): 0 draws one from std::random_device, which is what a
  /// service wants; a fixed seed is for tests and simulations only (it lets a client who
  /// knows it aim collisions at one shard).
  std::uint64_t seed = 0;
};

/// A snapshot of a keyed_limiter's counters (calls, not cost units) and its size.
struct keyed_limiter_metrics {
  std::uint64_t admitted = 0;
  std::uint64_t rejected = 0;
  std::uint64_t evicted = 0;  ///< keys dropped, for room or for idleness
  std::uint64_t keys = 0;     ///< keys held now

  template <class Visit>
  void for_each_metric(Visit&& visit) const {
    visit(metric{"admitted_total", "Requests admitted.", metric_type::counter, admitted});
    visit(metric{"rejected_total", "Requests refused.", metric_type::counter, rejected});
    visit(metric{"evicted_total", "Keys evicted.", metric_type::counter, evicted});
    visit(metric{"keys", "Keys held.", metric_type::gauge, keys});
  }

  friend bool operator==(const keyed_limiter_metrics&, const keyed_limiter_metrics&) = default;
};

/// One `Limiter` (gcra<Clock>, token_bucket<Clock>, ...) per key, built on first use from the
/// shared per-key options, in at most `max_keys` entries.
///
/// - Keys are hashed with `Hash` (bulwark::stable_hash by default) seeded from
///   std::random_device at construction (options.seed), so a client cannot choose keys that collide
///   in the table (the seed is not exposed). A Hash with a `seed` member gets that seed.
/// - Memory is bounded: when a shard is full, a new key evicts the least recently used of 8
///   sampled keys (approximated LRU, as Redis's allkeys-lru; an idle key, unused for
///   idle_timeout, is always older than a busy one). Each insertion also drops idle keys among
///   2 sampled ones, and evict_idle() drops them all.
/// - Eviction forgets a key's state, and the key's next request starts a fresh limiter: it
///   never grants more than a fresh limiter would (for gcra and token_bucket, a fresh limiter
///   is a full bucket, which an idle key had refilled to anyway).
///
/// Thread-safe: keys are spread over a power of two of shards, each a mutex, an open-addressed
/// table of (hash, entry) pairs and the entries. A call is O(1) expected: one hash, one probe
/// sequence, one decision. Memory: sizeof(entry) (the limiter, the key and 8 bytes of
/// last-use time, rounded to the limiter's 64-byte alignment) plus 32 bytes of table per key.
template <class Limiter, class Key, class Hash = stable_hash>
class keyed_limiter {
 public:
  using limiter_type = Limiter;
  using limiter_options = decltype(std::declval<const Limiter&>().options());
  using clock_type = std::remove_cvref_t<decltype(std::declval<const Limiter&>().clock())>;

  /// Validates the options (std::invalid_argument naming the field) and the per-key options
  /// (by building one limiter from them).
  explicit keyed_limiter(limiter_options per_key, keyed_limiter_options options = {},
                         clock_type clock = {}, Hash hash = {})
      : per_key_{per_key},
        options_{validated(options)},
        clock_{std::move(clock)},
        hash_{std::move(hash)} {
    const Limiter probe{per_key_, clock_};  // throws for bad per-key options
    std::uint64_t seed = options_.seed;
    if (seed == 0) {
      std::random_device device;
      seed = (std::uint64_t{device()} << 32) ^ device();
    }
    if constexpr (requires { hash_.seed = seed; }) hash_.seed = seed;
    const auto hardware = std::max(1u, std::thread::hardware_concurrency());
    std::size_t shards = std::bit_ceil(std::size_t{hardware} * 4);
    while (shards > 1 && options_.max_keys / shards < 64)
      shards /= 2;
    shard_bits_ = std::countr_zero(shards);
    per_shard_ = options_.max_keys / shards;  // >= 64 with several shards; total <= max_keys
    shards_ = std::make_unique<shard[]>(shards);
    for (std::size_t i = 0; i < shards; ++i)
      shards_[i].rng = fast_rng{seed + i};
  }

  /// Takes `cost` units from `key`'s limiter (built now if the key is new). One clock read.
  /// Throws std::invalid_argument for a cost the limiter can never admit, std::bad_alloc
  /// when an entry cannot be allocated.
  bool try_acquire(const Key& key, std::uint32_t cost = 1) {
    return try_acquire(key, cost, clock_.now());
  }

  /// The same at the caller's `now`.
  bool try_acquire(const Key& key, std::uint32_t cost, time_point now) {
    const std::uint64_t h = hash_(key);
    shard& s = shard_of(h);
    const std::lock_guard lock{s.mutex};
    entry& e = s.find_or_insert(*this, h, key, detail::to_ns(now));
    const bool admitted = e.limiter.try_acquire(cost, now);
    (admitted ? s.admitted : s.rejected).add();
    return admitted;
  }

  /// How long until `key` could take `cost` units; zero for an unknown key (a fresh limiter).
  [[nodiscard]] duration time_until_available(const Key& key, std::uint32_t cost = 1) const {
    const time_point now = clock_.now();
    const std::uint64_t h = hash_(key);
    shard& s = shard_of(h);
    const std::lock_guard lock{s.mutex};
    if (const entry* e = s.find(h, key)) return e->limiter.time_until_available(cost, now);
    const Limiter fresh{per_key_, clock_};
    return fresh.time_until_available(cost, now);
  }

  /// Runs f(args...) if `key` may take one unit, else throws rate_limited with the key's
  /// retry_after. Exceptions from f propagate.
  template <class F, class... Args>
  requires std::invocable<F, Args...>
  decltype(auto) execute(const Key& key, F&& f, Args&&... args) {
    if (!try_acquire(key)) {
      throw rate_limited("keyed_limiter", "rate limit exceeded for this key",
                         time_until_available(key));
    }
    return std::invoke(std::forward<F>(f), std::forward<Args>(args)...);
  }

  /// Whether `key` has a limiter now (a snapshot).
  [[nodiscard]] bool contains(const Key& key) const {
    const std::uint64_t h = hash_(key);
    const shard& s = shard_of(h);
    const std::lock_guard lock{s.mutex};
    return s.find(h, key) != nullptr;
  }

  /// Drops every key unused for idle_timeout at `now`. O(keys), one shard locked at a time.
  /// Returns the number dropped.
  std::size_t evict_idle(time_point now) {
    std::size_t dropped = 0;
    for (std::size_t i = 0; i < (std::size_t{1} << shard_bits_); ++i) {
      shard& s = shards_[i];
      const std::lock_guard lock{s.mutex};
      dropped += s.drop_idle(detail::to_ns(now) - options_.idle_timeout.count());
    }
    return dropped;
  }
  std::size_t evict_idle() { return evict_idle(clock_.now()); }

  /// Keys held now (a snapshot). O(shards).
  [[nodiscard]] std::size_t size() const {
    std::size_t total = 0;
    for (std::size_t i = 0; i < (std::size_t{1} << shard_bits_); ++i) {
      const std::lock_guard lock{shards_[i].mutex};
      total += shards_[i].count;
    }
    return total;
  }

  /// Summed counters of all shards. O(shards).
  [[nodiscard]] keyed_limiter_metrics metrics() const {
    keyed_limiter_metrics m;
    for (std::size_t i = 0; i < (std::size_t{1} << shard_bits_); ++i) {
      const shard& s = shards_[i];
      m.admitted += s.admitted.load();
      m.rejected += s.rejected.load();
      m.evicted += s.evicted.load();
    }
    m.keys = size();
    return m;
  }

  [[nodiscard]] const keyed_limiter_options& options() const noexcept { return options_; }

  /// The bytes one key costs at the table's highest load: its entry plus two 16-byte slots
  /// (the table is between 1/4 and 1/2 full), before the allocator's own overhead.
  [[nodiscard]] static constexpr std::size_t bytes_per_key() noexcept {
    return sizeof(entry) + 2 * sizeof(slot);
  }

 private:
  static const keyed_limiter_options& validated(const keyed_limiter_options& options) {
    const option_check check{"keyed_limiter"};
    check.at_least("max_keys", options.max_keys, std::size_t{1});
    check.positive("idle_timeout", options.idle_timeout);
    return options;
  }

  struct entry {
    entry(const limiter_options& o, const clock_type& c, const Key& k, std::int64_t now)
        : limiter{o, c}, key{k}, last_used{now} {}
    Limiter limiter;
    Key key;
    std::int64_t last_used;
  };

  // Open addressing with linear probing and backward-shift deletion (no tombstones), so probe
  // sequences stay short after evictions. A slot keeps the full hash: a probe compares keys
  // only on a hash match, and touches one entry per lookup in the common case.
  struct slot {
    std::uint64_t hash = 0;
    entry* item = nullptr;
  };

  // A cache line per shard, so that two shards' mutexes never share one.
  struct alignas(64) shard {
    mutable std::mutex mutex;
    std::vector<slot> slots = std::vector<slot>(16);
    std::size_t count = 0;
    fast_rng rng{0};
    metric_counter admitted, rejected, evicted;

    shard() = default;
    shard(const shard&) = delete;
    shard& operator=(const shard&) = delete;
    ~shard() {
      for (const slot& s : slots)
        delete s.item;
    }

    [[nodiscard]] std::size_t mask() const noexcept { return slots.size() - 1; }

    // Shard selection uses the hash's top bits, slots its low bits: independent.
    [[nodiscard]] entry* find(std::uint64_t h, const Key& key) const {
      for (std::size_t i = h & mask();; i = (i + 1) & mask()) {
        const slot& s = slots[i];
        if (s.item == nullptr) return nullptr;
        if (s.hash == h && s.item->key == key) return s.item;
      }
    }

    void place(std::uint64_t h, entry* item) noexcept {
      std::size_t i = h & mask();
      while (slots[i].item != nullptr)
        i = (i + 1) & mask();
      slots[i] = {h, item};
    }

    void grow() {
      std::vector<slot> old = std::exchange(slots, std::vector<slot>(slots.size() * 2));
      for (const slot& s : old)
        if (s.item != nullptr) place(s.hash, s.item);
    }

    // Removes the entry at slot i, shifting later members of its probe run back.
    void erase_at(std::size_t i) noexcept {
      delete slots[i].item;
      slots[i] = {};
      --count;
      evicted.add();
      for (std::size_t j = (i + 1) & mask(); slots[j].item != nullptr; j = (j + 1) & mask()) {
        const std::size_t home = slots[j].hash & mask();
        // Move j back to the hole i if its home is not in the cyclic range (i, j].
        const bool stays = i <= j ? (home > i && home <= j) : (home > i || home <= j);
        if (!stays) {
          slots[i] = slots[j];
          slots[j] = {};
          i = j;
        }
      }
    }

    // Up to `want` entries from a random start.
    template <std::size_t N>
    std::size_t sample(entry* (&out)[N], std::size_t want) {
      std::size_t found = 0;
      std::size_t i = uniform_below(rng, slots.size());
      for (std::size_t seen = 0; seen < slots.size() && found < want; ++seen) {
        if (slots[i].item != nullptr) out[found++] = slots[i].item;
        i = (i + 1) & mask();
      }
      return found;
    }

    // Erases `item`, which is in the table, by finding its slot from its hash's home.
    void erase(const entry* item, std::uint64_t h) noexcept {
      std::size_t i = h & mask();
      while (slots[i].item != item)
        i = (i + 1) & mask();
      erase_at(i);
    }

    std::size_t drop_idle(std::int64_t idle_before) {
      std::size_t dropped = 0;
      for (std::size_t i = 0; i < slots.size();) {
        if (slots[i].item != nullptr && slots[i].item->last_used < idle_before) {
          erase_at(i);  // may shift a later entry into i: look at i again
          ++dropped;
        } else {
          ++i;
        }
      }
      return dropped;
    }

    entry& find_or_insert(const keyed_limiter& owner, std::uint64_t h, const Key& key,
                          std::int64_t now) {
      if (entry* e = find(h, key)) {
        e->last_used = std::max(e->last_used, now);
        return *e;
      }
      const std::int64_t idle_before = now - owner.options_.idle_timeout.count();
      // Active expiry: look at two keys and drop the idle ones, so that idle keys go even in a
      // table that never fills.
      entry* picked[8];
      std::size_t n = sample(picked, 2);
      for (std::size_t k = 0; k < n; ++k) {
        if (picked[k]->last_used < idle_before) erase(picked[k], owner.hash_(picked[k]->key));
      }
      if (count >= owner.per_shard_) {  // full: evict the least recently used of 8 sampled
        n = sample(picked, 8);
        entry* oldest = picked[0];
        for (std::size_t k = 1; k < n; ++k) {
          if (picked[k]->last_used < oldest->last_used) oldest = picked[k];
        }
        erase(oldest, owner.hash_(oldest->key));
      }
      if ((count + 1) * 2 > slots.size()) grow();  // load factor at most 1/2
      auto* item = new entry{owner.per_key_, owner.clock_, key, now};
      place(h, item);
      ++count;
      return *item;
    }
  };

  [[nodiscard]] shard& shard_of(std::uint64_t h) const noexcept {
    return shards_[shard_bits_ == 0 ? 0 : h >> (64 - shard_bits_)];
  }

  limiter_options per_key_;
  keyed_limiter_options options_;
  [[no_unique_address]] clock_type clock_;
  Hash hash_;
  int shard_bits_ = 0;
  std::size_t per_shard_ = 1;
  std::unique_ptr<shard[]> shards_;
};

}  // namespace bulwark
