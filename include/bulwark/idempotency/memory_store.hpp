#pragma once
// bulwark::memory_store: the in-process reference implementation of the idempotency_store
// concept. Sharded (lock striping), bounded, with TTL expiry and fencing tokens.

#include <algorithm>
#include <atomic>
#include <bit>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <thread>
#include <utility>

#include "bulwark/core/clock.hpp"
#include "bulwark/core/metrics.hpp"
#include "bulwark/core/options.hpp"
#include "bulwark/core/random.hpp"
#include "bulwark/core/siphash.hpp"
#include "bulwark/detail/false_sharing.hpp"
#include "bulwark/detail/intrusive_list.hpp"
#include "bulwark/detail/saturating.hpp"
#include "bulwark/detail/shard_count.hpp"
#include "bulwark/detail/spinning_mutex.hpp"
#include "bulwark/idempotency/detail/record_table.hpp"
#include "bulwark/idempotency/store.hpp"

namespace bulwark {

/// Options of memory_store. Defaults: room for 100,000 records, shards chosen from the machine.
struct memory_store_options {
  /// The most records held at once, completed and in progress together. Each shard holds at
  /// most max_entries / shards, so the total never exceeds it. Must be >= 1 and >= shards.
  std::size_t max_entries = 100'000;
  /// Lock stripes: 0 picks a power of two near 4x std::thread::hardware_concurrency() (at most
  /// 64, at most max_entries); otherwise a power of two. With 1, eviction is exactly oldest
  /// first over the whole store; with more, oldest first within the key's shard.
  std::size_t shards = 0;
  /// The seed of the in-process key hash (which picks a record's shard and slot). Unset (the
  /// default): a fresh random seed per store, so that nobody outside the process can compute
  /// keys that pile up in one slot (hash flooding); set it only where a test or simulation
  /// must place keys the same way on every run.
  std::optional<std::uint64_t> hash_seed{};
};

namespace detail {

inline void validate(const memory_store_options& options) {
  const option_check check{"memory_store"};
  check.at_least("max_entries", options.max_entries, std::size_t{1});
  // 0 picks a count (store_shards) that passes both checks.
  if (options.shards == 0) return;
  check.that(std::has_single_bit(options.shards), "shards", "0 or a power of two", options.shards);
  check.at_most("shards", options.shards, options.max_entries);
}

/// The shard count of validated options: as given, or for 0 a power of two near the hardware
/// threads, at most 64 and at most max_entries.
inline std::size_t store_shards(const memory_store_options& options) {
  if (options.shards != 0) return options.shards;
  return std::min(
      {detail::hardware_shards(), std::size_t{64}, std::bit_floor(options.max_entries)});
}

}  // namespace detail

/// Counters of a memory_store (see for_each_metric for their meaning).
struct memory_store_metrics {
  std::uint64_t entries = 0;
  std::uint64_t evictions = 0;
  std::uint64_t expirations = 0;
  std::uint64_t takeovers = 0;
  std::uint64_t fenced = 0;

  template <class Visit>
  void for_each_metric(Visit&& visit) const {
    visit(
        metric{"entries", "Records held, completed and in progress.", metric_type::gauge, entries});
    visit(metric{"evictions_total", "Live completed records evicted to make room.",
                 metric_type::counter, evictions});
    visit(metric{"expirations_total", "Expired records removed or replaced.", metric_type::counter,
                 expirations});
    visit(metric{"takeovers_total", "Expired in-progress leases taken over by a new call.",
                 metric_type::counter, takeovers});
    visit(metric{"fenced_total", "Completions or releases refused for a stale fencing token.",
                 metric_type::counter, fenced});
  }

  friend bool operator==(const memory_store_metrics&, const memory_store_metrics&) = default;
};

/// A thread-safe, bounded, in-memory idempotency store: the reference implementation of
/// idempotency_store, for one process (several processes need a shared store, e.g. Redis).
///
/// Records live in `shards` open-addressing tables, each behind its own mutex; one hash of the
/// scoped key per operation picks the shard (top bits) and the slot (low bits), and every
/// operation locks one shard once. Lookups compare views of the caller's strings with the
/// stored bytes, building no string; a record freed by eviction or expiry is reused by the
/// next insert, so a full store allocates only the copies in the lease it hands out. A record is
/// live while now < its deadline (the lease deadline in progress, completion + ttl once completed);
/// an expired record counts as absent and is replaced in place by the next try_begin. When a shard
/// is full, a new key evicts the shard's oldest completed record (by completion time), or else an
/// expired in-progress one; live in-progress records are never evicted, so a shard full of them
/// answers begin_status::full. Such a refusal is O(1): each shard keeps a lower bound on its
/// leases' deadlines and scans its slots only once that bound has passed; a scan evicts one
/// expired lease, or finds none and raises the bound to the earliest live deadline. So a shard
/// is scanned once per lease deadline that passes (or lease evicted), never once per refused
/// call. Fencing tokens come from one store-wide counter, so they increase
/// across every key, takeovers included. The other counters (entries, evictions, ...) are kept per
/// shard under its lock, so that threads working on different shards share no cache line.
///
/// V is the stored result: bytes (std::string) through a codec, or any copyable value type. A
/// replay copies it out under the shard's lock. Clock is read once per operation; every
/// operation also has an overload taking `now`.
///
/// Thread-safety: every member function may be called from any thread.
/// Complexity: try_begin, complete and release are O(1) expected (plus the key's length for
/// hashing, and a copy of V for a replay); making room scans the shard only when it holds no
/// completed record and its earliest lease deadline has passed (see above); size() and
/// metrics() are O(shards); purge_expired is O(table slots).
template <std::copyable V, clock Clock = coarse_clock>
class memory_store {
 public:
  using value_type = V;

  /// Throws std::invalid_argument for max_entries 0, shards not a power of two, or more shards
  /// than max_entries.
  explicit memory_store(memory_store_options options = {}, Clock clock = {})
      : clock_{std::move(clock)},
        shard_count_{(detail::validate(options), detail::store_shards(options))},
        shard_shift_{64 - std::countr_zero(shard_count_)},
        shard_capacity_{options.max_entries / shard_count_},
        hash_key_{siphash_key_from_seed(options.hash_seed ? *options.hash_seed : thread_rng()())},
        shards_{std::make_unique<shard[]>(shard_count_)} {}

  memory_store(const memory_store&) = delete;
  memory_store& operator=(const memory_store&) = delete;

  /// Records `id` as in progress with a lease of `lease` unless it holds a live record; see
  /// idempotency_store for the outcomes. Precondition: lease > 0.
  [[nodiscard]] begin_result<V> try_begin(idempotency_key id, std::uint64_t fingerprint,
                                          duration lease) {
    return try_begin(id, fingerprint, lease, clock_.now());
  }

  [[nodiscard]] begin_result<V> try_begin(idempotency_key id, std::uint64_t fingerprint,
                                          duration lease, time_point now) {
    return detail::to_begin_result(try_begin_outcome(id, fingerprint, lease, now));
  }

  /// try_begin answering one value (what idempotency_executor calls; see begin_outcome).
  [[nodiscard]] begin_outcome<V> try_begin_outcome(idempotency_key id, std::uint64_t fingerprint,
                                                   duration lease) {
    return try_begin_outcome(id, fingerprint, lease, clock_.now());
  }

  [[nodiscard]] begin_outcome<V> try_begin_outcome(idempotency_key id, std::uint64_t fingerprint,
                                                   duration lease, time_point now) {
    using outcome = begin_outcome<V>;
    const std::uint64_t hash = detail::scoped_key_hash(id.scope, id.key, hash_key_);
    shard& s = shard_for(hash);
    std::lock_guard lock{s.mutex};
    if (record* r = s.records.find(hash, id)) {
      if (now < r->deadline) {
        if (r->fingerprint != fingerprint) {
          return outcome{std::in_place_index<3>, begin_status::mismatch};
        }
        if (!r->completed) return outcome{std::in_place_index<2>, in_progress_until{r->deadline}};
        return outcome{std::in_place_index<1>, *r->result};  // the replay: a copy, under lock
      }
      // Expired: the record is as good as absent, so this call takes the key over in place.
      if (r->completed) {
        s.by_completion.erase(*r);
        bump(s.expirations);
      } else {
        bump(s.takeovers);
      }
      r->completed = false;
      r->result.reset();
      return acquire(s, *r, fingerprint, detail::deadline_after(now, lease));
    }
    if (s.records.size() >= shard_capacity_ && !make_room(s, now)) {
      return outcome{std::in_place_index<3>, begin_status::full};
    }
    record& r = s.records.insert(hash, id);
    bump(s.entries);
    return acquire(s, r, fingerprint, detail::deadline_after(now, lease));
  }

  /// Stores `result` as the key's outcome, live for `ttl` from now, if the key is still in
  /// progress under `lease.token`; false (and no change) if the lease was taken over, released
  /// or evicted. A completion after the deadline is accepted while nobody has taken over.
  bool complete(const idempotency_lease& lease, stored_result<V> result, duration ttl) {
    return complete(lease, std::move(result), ttl, clock_.now());
  }

  bool complete(const idempotency_lease& lease, stored_result<V> result, duration ttl,
                time_point now) {
    const std::uint64_t hash = detail::scoped_key_hash(lease.scope, lease.key, hash_key_);
    shard& s = shard_for(hash);
    std::lock_guard lock{s.mutex};
    record* r = held(s, hash, lease);
    if (r == nullptr) return false;
    r->completed = true;
    r->result.emplace(std::move(result));
    r->deadline = detail::deadline_after(now, ttl);
    s.by_completion.push_back(*r);
    return true;
  }

  /// Removes the key's in-progress record if it is held under `lease.token`, so that the next
  /// try_begin acquires it; false (and no change) otherwise.
  bool release(const idempotency_lease& lease) {
    const std::uint64_t hash = detail::scoped_key_hash(lease.scope, lease.key, hash_key_);
    shard& s = shard_for(hash);
    std::lock_guard lock{s.mutex};
    record* r = held(s, hash, lease);
    if (r == nullptr) return false;
    s.records.erase(*r);
    bump(s.entries, -1);
    return true;
  }

  /// Removes every expired record now; returns how many. Optional: expired records are also
  /// replaced on their next use and evicted first when a shard is full. O(table slots).
  std::size_t purge_expired() { return purge_expired(clock_.now()); }

  std::size_t purge_expired(time_point now) {
    std::size_t removed = 0;
    for (std::size_t i = 0; i < shard_count_; ++i) {
      shard& s = shards_[i];
      std::lock_guard lock{s.mutex};
      const std::size_t here = s.records.erase_if([&](record& r) {
        if (now < r.deadline) return false;
        if (r.completed) s.by_completion.erase(r);
        return true;
      });
      bump(s.entries, -static_cast<std::int64_t>(here));
      bump(s.expirations, static_cast<std::int64_t>(here));
      removed += here;
    }
    return removed;
  }

  /// Records held now, live and expired-but-not-yet-removed. O(shards), without locking.
  [[nodiscard]] std::size_t size() const noexcept {
    return static_cast<std::size_t>(sum(&shard::entries));
  }

  /// The most records the store holds: shards() * (max_entries / shards()).
  [[nodiscard]] std::size_t capacity() const noexcept { return shard_capacity_ * shard_count_; }

  [[nodiscard]] std::size_t shards() const noexcept { return shard_count_; }

  /// O(shards), without locking: each counter is exact, the set of them is not one snapshot.
  [[nodiscard]] memory_store_metrics metrics() const noexcept {
    return {.entries = sum(&shard::entries),
            .evictions = sum(&shard::evictions),
            .expirations = sum(&shard::expirations),
            .takeovers = sum(&shard::takeovers),
            .fenced = sum(&shard::fenced)};
  }

 private:
  using record = detail::idempotency_record<V>;

  // A counter written only under its shard's mutex: a plain load and store, no read-modify-
  // write, and read without the lock by size() and metrics() (hence atomic, relaxed).
  using shard_counter = std::atomic<std::uint64_t>;
  static void bump(shard_counter& c, std::int64_t n = 1) noexcept {
    c.store(c.load(std::memory_order_relaxed) + static_cast<std::uint64_t>(n),
            std::memory_order_relaxed);
  }

  // false_sharing_range apart, so shards' mutexes do not false-share.
  struct alignas(detail::false_sharing_range) shard {
    detail::spinning_mutex mutex;
    detail::idempotency_table<V> records;
    // The completion order of the completed records: oldest first, newest last.
    detail::intrusive_list<record, &record::older, &record::newer> by_completion;
    // No lease in the shard expires before this instant: a full shard of leases answers full
    // without a scan until then.
    time_point lease_floor = time_point::max();
    shard_counter entries{0};
    shard_counter evictions{0};
    shard_counter expirations{0};
    shard_counter takeovers{0};
    shard_counter fenced{0};
  };

  shard& shard_for(std::uint64_t hash) const noexcept {
    // The top bits pick the shard; the table uses the low bits, so the two stay independent.
    return shards_[shard_count_ == 1 ? 0 : static_cast<std::size_t>(hash >> shard_shift_)];
  }

  std::uint64_t sum(shard_counter shard::*counter) const noexcept {
    std::uint64_t total = 0;
    for (std::size_t i = 0; i < shard_count_; ++i)
      total += (shards_[i].*counter).load(std::memory_order_relaxed);
    return total;
  }

  // The key's record if it is in progress under lease.token; otherwise counts the refusal.
  // Called with s.mutex held.
  record* held(shard& s, std::uint64_t hash, const idempotency_lease& lease) noexcept {
    record* r = s.records.find(hash, lease.id());
    if (r != nullptr && !r->completed && r->token == lease.token) return r;
    bump(s.fenced);
    return nullptr;
  }

  begin_outcome<V> acquire(shard& s, record& r, std::uint64_t fingerprint, time_point deadline) {
    s.lease_floor = std::min(s.lease_floor, deadline);
    // relaxed: tokens need only be unique and increasing per key; two begins on one key are
    // ordered by the shard's mutex, and a read-modify-write never hands out a value twice.
    const std::uint64_t token = next_token_.fetch_add(1, std::memory_order_relaxed);
    // The lease first: if copying the key throws, the record stays as it was (absent in
    // effect: expired, or fresh with a zero deadline), not held by a lease nobody has.
    begin_outcome<V> out{
        std::in_place_index<0>,
        idempotency_lease{std::string{r.scope()}, std::string{r.key()}, token, deadline}};
    r.fingerprint = fingerprint;
    r.token = token;
    r.deadline = deadline;
    return out;
  }

  // Called with s.mutex held and the shard at capacity: frees one slot if it may.
  bool make_room(shard& s, time_point now) {
    record* victim =
        s.by_completion.front();  // the list holds exactly the shard's completed records
    if (victim != nullptr) {
      bump(now < victim->deadline ? s.evictions : s.expirations);
      s.by_completion.erase(*victim);
      s.records.erase(*victim);
      bump(s.entries, -1);
      return true;
    }
    // Only leases. Until the earliest may have expired, none is evictable: refuse in O(1).
    if (now < s.lease_floor) return false;
    // One pass finds an expired lease (its holder crashed or hung) and the earliest deadline
    // of the rest, so that the next scan waits for that one to pass.
    record* expired = nullptr;
    time_point floor = time_point::max();
    s.records.for_each([&](record& r) {
      if (expired == nullptr && !(now < r.deadline)) {
        expired = &r;
      } else {
        floor = std::min(floor, r.deadline);
      }
    });
    s.lease_floor = floor;
    if (expired == nullptr) return false;
    bump(s.expirations);
    s.records.erase(*expired);
    bump(s.entries, -1);
    return true;
  }

  [[no_unique_address]] Clock clock_;
  std::size_t shard_count_ = 1;
  int shard_shift_ = 64;
  std::size_t shard_capacity_ = 1;
  siphash_key hash_key_{};  // of the key hash, derived once from the seed
  std::unique_ptr<shard[]> shards_;
  // Alone on its line pair: first executions on every shard take a token from it.
  alignas(detail::false_sharing_range) std::atomic<std::uint64_t> next_token_{1};
};

}  // namespace bulwark
