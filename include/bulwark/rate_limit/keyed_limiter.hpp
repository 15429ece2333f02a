#pragma once
// bulwark::keyed_limiter: one limiter per key (client, IP, tenant) in bounded memory.

#include <algorithm>
#include <atomic>
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

#include "bulwark/core/clock.hpp"
#include "bulwark/core/errors.hpp"
#include "bulwark/core/hash.hpp"
#include "bulwark/core/options.hpp"
#include "bulwark/core/random.hpp"
#include "bulwark/core/siphash.hpp"
#include "bulwark/detail/false_sharing.hpp"
#include "bulwark/detail/raise.hpp"
#include "bulwark/detail/saturating.hpp"
#include "bulwark/detail/shard_count.hpp"
#include "bulwark/detail/versioned.hpp"
#include "bulwark/rate_limit/detail/keyed_state.hpp"
#include "bulwark/rate_limit/detail/keyed_table.hpp"
#include "bulwark/rate_limit/keyed_options.hpp"
#include "bulwark/rate_limit/limiter_base.hpp"

namespace bulwark {

/// One `Limiter` (gcra<Clock>, token_bucket<Clock>, ...) per key, built on first use from the
/// shared per-key options, in at most `max_keys` entries.
///
/// - Keys are hashed with `Hash` (bulwark::flood_resistant_hash by default: SipHash-1-3 for
///   string keys, seeded hash64 for integers) seeded from std::random_device at construction
///   (options.seed), so a client cannot choose keys that collide in the table (the seed is not
///   exposed, and no key pair collides under every seed as with XXH64). A Hash with a `seed`
///   member gets that seed.
/// - Memory is bounded: when a shard is full, a new key evicts the least recently used
///   *recovered* key of 8 sampled (approximated LRU, as Redis's allkeys-lru), looking on to 64
///   if none of the 8 has recovered. A recovered key's limiter answers as a fresh one would
///   (gcra: TAT <= now; token_bucket: full), so forgetting it grants nothing. A key in debt is
///   kept: if it could be evicted, a client sending many new keys would reset a busy key's
///   state and get a fresh burst each time. When all sampled keys are in debt,
///   options.on_table_full decides: refuse the new key (default) or evict anyway.
/// - Each insertion also drops idle (unused for idle_timeout) recovered keys among 2 sampled
///   ones, and evict_idle() drops them all.
/// - So with reject_new_keys every key gets exactly what its own limiter would grant, also
///   under floods of new keys: for gcra, never more than rate x window + burst in any window.
///
/// Thread-safe: keys are spread over a power of two of shards, each a mutex and an
/// open-addressed table (linear probing, load at most 1/2) whose slots hold the key, its
/// last-use time and its limiter's state. For gcra and token_bucket that state is the
/// limiter's one 64-bit word, inline in the slot and decided by the limiter's own rule
/// (gcra_rule, token_bucket_rule) without a CAS, since the shard's mutex is held: a call
/// touches one slot, a 32-byte slot for an 8-byte key, so one cache line. Other limiters live
/// on the heap, one pointer in the slot. A call is O(1) expected: one hash, one probe
/// sequence, one decision; the slot's line is prefetched before the clock read and the lock.
/// `Key` must be equality comparable and nothrow move constructible (slots move when the table
/// grows or shifts).
template <class Limiter, class Key, class Hash = flood_resistant_hash>
class keyed_limiter {
  using policy_type = detail::keyed_state<Limiter>;
  using state_type = typename policy_type::state;
  using table_type = detail::keyed_table<Key, state_type>;
  using slot = typename table_type::slot;

 public:
  using limiter_type = Limiter;
  using limiter_options = typename policy_type::limiter_options;
  using clock_type = typename policy_type::clock_type;

  static_assert(std::is_nothrow_move_constructible_v<Key>,
                "keyed_limiter moves keys between slots: Key must be nothrow move constructible");

  /// Validates the options (std::invalid_argument naming the field) and the per-key options
  /// (by building one limiter from them).
  explicit keyed_limiter(limiter_options per_key, keyed_limiter_options options = {},
                         clock_type clock = {}, Hash hash = {})
      : options_{(detail::validate(options), options)},
        policy_{std::in_place, per_key, clock},  // throws for bad per-key options
        clock_{std::move(clock)},
        hash_{std::move(hash)} {
    std::uint64_t seed = options_.seed;
    if (seed == 0) {
      std::random_device device;
      seed = (std::uint64_t{device()} << 32) ^ device();
    }
    if constexpr (requires { hash_.seed = seed; }) hash_.seed = seed;
    const std::size_t shards = detail::fit_shards(detail::hardware_shards(), options_.max_keys, 64);
    shard_bits_ = std::countr_zero(shards);
    per_shard_ = options_.max_keys / shards;  // >= 64 with several shards; total <= max_keys
    shards_ = std::make_unique<shard[]>(shards);
    for (std::size_t i = 0; i < shards; ++i)
      shards_[i].rng = fast_rng{seed + i};
  }

  keyed_limiter(const keyed_limiter&) = delete;
  keyed_limiter& operator=(const keyed_limiter&) = delete;

  /// Takes `cost` units from `key`'s limiter (built now if the key is new). One clock read.
  /// False also for a new key that finds its shard full of keys in debt (reject_new_keys).
  /// Throws std::invalid_argument for a cost the limiter can never admit, std::bad_alloc
  /// when the table cannot grow (or, for a limiter kept on the heap, be allocated).
  bool try_acquire(const Key& key, std::uint32_t cost = 1) {
    const policy_type& p = policy();  // one version for the check and the decision
    p.check_cost(cost);
    const std::uint64_t h = hashed(key);
    shard& s = shard_of(h);
    s.prefetch(h);  // the slot's line comes in while the clock is read and the lock taken
    return s.acquire(*this, p, h, key, cost, clock_.now());
  }

  /// The same at the caller's `now`.
  bool try_acquire(const Key& key, std::uint32_t cost, time_point now) {
    const policy_type& p = policy();
    p.check_cost(cost);
    const std::uint64_t h = hashed(key);
    shard& s = shard_of(h);
    s.prefetch(h);
    return s.acquire(*this, p, h, key, cost, now);
  }

  /// How long until `key` could take `cost` units; zero for an unknown key (a fresh limiter's
  /// answer, even if a full table would refuse the key now).
  [[nodiscard]] duration time_until_available(const Key& key, std::uint32_t cost = 1) const {
    const policy_type& p = policy();
    p.check_cost(cost);
    const time_point now = clock_.now();
    const std::uint64_t h = hashed(key);
    const shard& s = shard_of(h);
    const std::lock_guard lock{s.mutex};
    if (const slot* found = s.find(h, key)) return p.wait(found->item.state, cost, now);
    return p.wait_fresh(cost, now);
  }

  /// Runs f(args...) if `key` may take one unit, else throws rate_limited with the key's
  /// retry_after. Exceptions from f propagate. Not offered without exceptions
  /// (detail::with_exceptions): try_acquire is.
  template <detail::with_exceptions F, class... Args>
  requires std::invocable<F, Args...>
  decltype(auto) execute(const Key& key, F&& f, Args&&... args) {
    if (!try_acquire(key)) {
      detail::raise<rate_limited>("keyed_limiter", "rate limit exceeded for this key",
                                  time_until_available(key));
    }
    return std::invoke(std::forward<F>(f), std::forward<Args>(args)...);
  }

  /// Whether `key` has a limiter now (a snapshot).
  [[nodiscard]] bool contains(const Key& key) const {
    const std::uint64_t h = hashed(key);
    const shard& s = shard_of(h);
    const std::lock_guard lock{s.mutex};
    return s.find(h, key) != nullptr;
  }

  /// Drops every key unused for idle_timeout at `now` that has recovered (a key still in
  /// debt stays, or its next request would get a fresh limiter early). O(keys), one shard
  /// locked at a time. Returns the number dropped.
  std::size_t evict_idle(time_point now) {
    std::size_t dropped = 0;
    for (std::size_t i = 0; i < (std::size_t{1} << shard_bits_); ++i) {
      shard& s = shards_[i];
      const std::lock_guard lock{s.mutex};
      dropped += s.drop_idle(*this, now);
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
      m.admitted += s.admitted.load(std::memory_order_relaxed);
      m.rejected += s.rejected.load(std::memory_order_relaxed);
      m.evicted += s.evicted.load(std::memory_order_relaxed);
      m.refused_keys += s.refused_keys.load(std::memory_order_relaxed);
      m.evicted_in_debt += s.evicted_in_debt.load(std::memory_order_relaxed);
    }
    m.keys = size();
    return m;
  }

  /// The table's options (fixed at construction).
  [[nodiscard]] const keyed_limiter_options& options() const noexcept { return options_; }
  /// The per-key limiter options now: those it was built with, or the last reconfigure()'s.
  [[nodiscard]] limiter_options per_key_options() const { return policy().options(); }

  /// Throws what reconfigure(next) would, changing nothing.
  void check_reconfigure(const limiter_options& next) const requires policy_type::reconfigurable {
    policy().check_change(next);
  }
  /// New per-key options for every key, held and new, keeping each key's state as the limiter's
  /// own reconfigure() does (docs/rate_limit.md, "Changing settings live"). Inline keys (gcra,
  /// token_bucket) share one rule, replaced at once; a limiter on the heap is reconfigured key
  /// by key, one shard locked at a time, O(keys). Thread-safe.
  void reconfigure(const limiter_options& next) requires policy_type::reconfigurable {
    const std::lock_guard serialise{reconfigure_};
    policy_.replace([&](const policy_type& current) { current.check_change(next); }, next, clock_);
    if constexpr (!policy_type::is_inline) {
      // A key inserted after its shard was walked loads the new version under the same lock.
      for (std::size_t i = 0; i < (std::size_t{1} << shard_bits_); ++i) {
        shard& s = shards_[i];
        const std::lock_guard lock{s.mutex};
        for (std::size_t j = 0; j <= s.mask; ++j)
          if (s.slots[j].hash != 0) s.slots[j].item.state->reconfigure(next);
      }
    }
  }

  /// Whether a key's limiter state sits inline in its table slot (gcra, token_bucket) rather
  /// than in a limiter of its own on the heap.
  static constexpr bool inline_state = policy_type::is_inline;

  /// The bytes one key costs at the table's highest load (1/2: two slots per key), plus the
  /// limiter on the heap where it is not inline, before the allocator's own overhead and any
  /// memory the key itself owns (a long std::string's buffer). gcra<> or token_bucket<> with
  /// std::uint64_t keys: 64. Just after the table doubles the load is 1/4, twice this.
  [[nodiscard]] static constexpr std::size_t bytes_per_key() noexcept {
    return 2 * sizeof(slot) + (inline_state ? 0 : sizeof(Limiter));
  }

  /// The bytes of one table slot (key, hash, last-use time, state; aligned so that a slot of
  /// up to 64 bytes never straddles two cache lines).
  [[nodiscard]] static constexpr std::size_t slot_bytes() noexcept { return sizeof(slot); }

 private:
  // Counters written only under the shard's mutex, so a plain load and store (no locked
  // instruction), and read without it by metrics().
  static void bump(std::atomic<std::uint64_t>& counter) noexcept {
    counter.store(counter.load(std::memory_order_relaxed) + 1, std::memory_order_relaxed);
  }

  // One shard: its table (detail/keyed_table.hpp: a mutex and an open-addressed table), its
  // counters and its sampling generator. Aligned to false_sharing_range, so that two shards'
  // mutexes never share a line (or a line pair).
  struct alignas(detail::false_sharing_range) shard : table_type {
    using table_type::count;
    using table_type::find;
    using table_type::mask;
    using table_type::mutex;
    using table_type::slots;
    std::atomic<std::uint64_t> admitted{0}, rejected{0}, evicted{0};
    std::atomic<std::uint64_t> refused_keys{0}, evicted_in_debt{0};
    // The table and its mask for prefetch() outside the lock: only a hint, so a stale or
    // mismatched pair costs a useless prefetch and nothing else (a prefetch never faults).
    std::atomic<const slot*> hint_slots{slots};
    std::atomic<std::size_t> hint_mask{15};
    fast_rng rng{0};

    void prefetch([[maybe_unused]] std::uint64_t h) const noexcept {
#if defined(__GNUC__) || defined(__clang__)
      const auto base =
          reinterpret_cast<std::uintptr_t>(hint_slots.load(std::memory_order_relaxed));
      const std::size_t i = h & hint_mask.load(std::memory_order_relaxed);
      __builtin_prefetch(reinterpret_cast<const void*>(base + i * sizeof(slot)), 1);
#endif
    }

    void grow() {
      table_type::grow();
      hint_slots.store(slots, std::memory_order_relaxed);
      hint_mask.store(mask, std::memory_order_relaxed);
    }

    void erase_at(std::size_t i) noexcept {
      table_type::erase_at(i);
      bump(evicted);
    }

    bool acquire(const keyed_limiter& owner, const policy_type& p, std::uint64_t h, const Key& key,
                 std::uint32_t cost, time_point now) {
      const std::lock_guard lock{mutex};
      slot* found = find_or_insert(owner, h, key, now);
      const bool admit = found != nullptr && p.admit(found->item.state, cost, now);
      bump(admit ? admitted : rejected);
      return admit;
    }

    [[nodiscard]] bool droppable(const keyed_limiter& owner, const slot& s, time_point now) const {
      return s.last_used <
                 detail::saturating_sub(detail::to_ns(now), owner.options_.idle_timeout.count()) &&
             owner.policy().recovered(s.item.state, now);
    }

    std::size_t drop_idle(const keyed_limiter& owner, time_point now) {
      std::size_t dropped = 0;
      for (std::size_t i = 0; i <= mask;) {
        if (slots[i].hash != 0 && droppable(owner, slots[i], now)) {
          erase_at(i);  // may shift a later key into i: look at i again
          ++dropped;
        } else {
          ++i;
        }
      }
      return dropped;
    }

    // Makes room in a full shard (see the class comment). The 8 sampled keys are a run of
    // the table from a random slot, one cache line per 2 slots; the walk goes on to 64 only
    // when none has recovered, so a flood of new keys costs at most 64 slots per refusal.
    bool make_room(const keyed_limiter& owner, time_point now) {
      const std::size_t none = mask + 1;
      std::size_t oldest = none, oldest_free = none;
      std::size_t i = uniform_below(rng, mask + 1);
      for (std::size_t seen = 0, found = 0; seen <= mask && found < 64;
           ++seen, i = (i + 1) & mask) {
        if (slots[i].hash == 0) continue;
        const std::int64_t used = slots[i].last_used;
        if (found < 8 && (oldest == none || used < slots[oldest].last_used)) oldest = i;
        ++found;
        if ((oldest_free == none || used < slots[oldest_free].last_used) &&
            owner.policy().recovered(slots[i].item.state, now))
          oldest_free = i;
        if (found >= 8 && oldest_free != none) break;
      }
      if (oldest_free != none) {
        erase_at(oldest_free);
        return true;
      }
      if (owner.options_.on_table_full == keyed_table_full::reject_new_keys) {
        bump(refused_keys);
        return false;
      }
      bump(evicted_in_debt);
      erase_at(oldest);
      return true;
    }

    // The key's slot, inserted if new; nullptr if the shard is full and makes no room.
    slot* find_or_insert(const keyed_limiter& owner, std::uint64_t h, const Key& key,
                         time_point now) {
      if (slot* found = find(h, key)) {
        found->last_used = std::max(found->last_used, detail::to_ns(now));
        return found;
      }
      // Active expiry: look at two keys and drop the idle recovered ones, so that idle keys
      // go even in a table that never fills.
      for (int k = 0; k < 2 && count > 0; ++k) {
        std::size_t i = uniform_below(rng, mask + 1);
        while (slots[i].hash == 0)
          i = (i + 1) & mask;
        if (droppable(owner, slots[i], now)) erase_at(i);
      }
      if (count >= owner.per_shard_ && !make_room(owner, now)) return nullptr;
      if ((count + 1) * 2 > mask + 1) grow();  // load factor at most 1/2
      return &this->emplace(h, key, owner.policy().fresh(), detail::to_ns(now));
    }
  };

  // The seeded hash, never 0 (0 marks an empty slot).
  [[nodiscard]] std::uint64_t hashed(const Key& key) const {
    const std::uint64_t h = hash_(key);
    return h + static_cast<std::uint64_t>(h == 0);
  }

  // The per-key policy now; under a shard's lock, at least as new as that shard's last walk.
  [[nodiscard]] const policy_type& policy() const noexcept {
    return policy_.load();
  }

  [[nodiscard]] shard& shard_of(std::uint64_t h) const noexcept {
    return shards_[shard_bits_ == 0 ? 0 : h >> (64 - shard_bits_)];
  }

  keyed_limiter_options options_;
  detail::versioned<policy_type> policy_;
  std::mutex reconfigure_;
  [[no_unique_address]] clock_type clock_;
  Hash hash_;
  int shard_bits_ = 0;
  std::size_t per_shard_ = 1;
  std::unique_ptr<shard[]> shards_;
};

}  // namespace bulwark
