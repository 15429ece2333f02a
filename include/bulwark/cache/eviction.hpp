#pragma once
// Eviction policies for bulwark::cache: the concept a policy models, the intrusive slot lists
// they are built from, and the plain LRU policy. The scan- and frequency-aware default,
// W-TinyLFU with an adaptive window, is in tiny_lfu.hpp; S3-FIFO in s3fifo.hpp.
//
// A policy orders the entries of one cache shard. It never sees keys or values: the shard
// gives each entry a slot number, and the policy keeps its own links per slot, so one policy
// implementation serves every key and value type. The shard calls it under its exclusive lock.

#include <concepts>
#include <cstddef>
#include <cstdint>
#include <type_traits>
#include <vector>

namespace bulwark {
namespace detail {

inline constexpr std::uint32_t no_slot = 0xFFFFFFFF;

/// A policy's per-slot bookkeeping: 16 bytes. `queue` is the list the slot is on (0 = free);
/// `aux` and `stamp` are the policy's own small fields (a frequency, a candidate mark, when
/// the slot last moved).
struct entry_links {
  std::uint32_t prev = no_slot;
  std::uint32_t next = no_slot;
  std::uint32_t weight = 0;
  std::uint8_t queue = 0;
  std::uint8_t aux = 0;
  std::uint16_t stamp = 0;
};
static_assert(sizeof(entry_links) == 16);

struct slot_list_no_count {};
struct slot_list_count {
  std::uint32_t count = 0;  // members of the list
};

/// An intrusive doubly linked list over slots, oldest at `head`, newest at `tail`, keeping the
/// total weight of its members, and with `Counted` their number (`count`: W-TinyLFU's protected
/// segment needs it; the other policies' lists do not pay for it). All operations are O(1).
template <bool Counted>
struct basic_slot_list : std::conditional_t<Counted, slot_list_count, slot_list_no_count> {
  std::uint32_t head = no_slot;
  std::uint32_t tail = no_slot;
  std::uint64_t weight = 0;
  std::uint8_t id = 0;

  [[nodiscard]] bool empty() const noexcept { return head == no_slot; }

  // Forced inline (push_back and remove): g++ -O3 kept an out-of-line copy of remove that every
  // hit's replay and every SLRU move called; inlined, the cache-aside workload's default rows
  // run 3 to 4% fewer instructions (docs/benchmarks.md, issue 24).
  [[gnu::always_inline]] void push_back(std::vector<entry_links>& links,
                                        std::uint32_t slot) noexcept {
    entry_links& l = links[slot];
    l.prev = tail;
    l.next = no_slot;
    l.queue = id;
    if (tail == no_slot) {
      head = slot;
    } else {
      links[tail].next = slot;
    }
    tail = slot;
    weight += l.weight;
    if constexpr (Counted) ++this->count;
  }

  [[gnu::always_inline]] void remove(std::vector<entry_links>& links, std::uint32_t slot) noexcept {
    entry_links& l = links[slot];
    (l.prev == no_slot ? head : links[l.prev].next) = l.next;
    (l.next == no_slot ? tail : links[l.next].prev) = l.prev;
    l.prev = l.next = no_slot;
    l.queue = 0;
    weight -= l.weight;
    if constexpr (Counted) --this->count;
  }

  void move_to_back(std::vector<entry_links>& links, std::uint32_t slot) noexcept {
    if (tail == slot) return;
    remove(links, slot);
    push_back(links, slot);
  }
};
using slot_list = basic_slot_list<false>;
using counted_slot_list = basic_slot_list<true>;

}  // namespace detail

/// What bulwark::cache needs of an eviction policy. One policy object orders one shard; the
/// shard calls it under its exclusive lock, so a policy need not be thread-safe.
///
/// - `P(max_weight)`: a policy for a shard holding at most `max_weight`.
/// - `reserve(n)`: slots [0, n) may be used from now on.
/// - `on_insert(slot, hash, weight)`: a new entry; `on_access(slot, hash)`: a hit (reads are
///   buffered and replayed in order, so a policy sees nearly every hit);
///   `on_update(slot, hash, weight)`: a value replaced in place; `on_remove(slot)`: an entry
///   removed by the cache itself (expired, invalidated).
/// - `evict(hash_of, evicted)`: while the total weight exceeds the maximum, unlinks a victim
///   and calls `evicted(slot)`; `hash_of(slot)` gives a slot's key hash when a policy compares
///   frequencies.
/// - `weight()`: the total weight of the entries it orders.
///
/// Optionally, `set_max_weight(w)`: a new maximum, which the next `evict` evicts down to; a
/// cache whose policy has it offers reconfigure() (all of bulwark's policies do).
template <class P>
concept eviction_policy = std::constructible_from<P, std::uint64_t> &&
    requires(P& p, const P& cp, std::uint32_t slot, std::uint64_t hash, std::uint32_t weight,
             std::uint64_t (*hash_of)(std::uint32_t), void (*evicted)(std::uint32_t)) {
  p.reserve(std::size_t{1});
  p.on_insert(slot, hash, weight);
  p.on_access(slot, hash);
  p.on_update(slot, hash, weight);
  p.on_remove(slot);
  p.evict(hash_of, evicted);
  { cp.weight() } -> std::convertible_to<std::uint64_t>;
};

/// A policy whose maximum can change (see eviction_policy): cache::reconfigure needs one.
template <class P>
concept resizable_policy = eviction_policy<P> && requires(P& p, std::uint64_t w) {
  p.set_max_weight(w);
};

/// Least recently used: evicts the entry whose last access is oldest.
///
/// The reference every other policy is compared with; good when recency predicts reuse, and
/// it collapses to a 0% hit ratio on a loop or scan larger than the cache. Not thread-safe
/// (the cache calls it under a shard lock); every operation is O(1); 16 bytes per slot.
class lru_eviction {
 public:
  explicit lru_eviction(std::uint64_t max_weight) : max_weight_{max_weight} { list_.id = 1; }

  void reserve(std::size_t slots) {
    if (slots > links_.size()) links_.resize(slots);
  }
  void on_insert(std::uint32_t slot, std::uint64_t /*hash*/, std::uint32_t weight) {
    links_[slot].weight = weight;
    list_.push_back(links_, slot);
  }
  void on_access(std::uint32_t slot, std::uint64_t /*hash*/) {
    if (links_[slot].queue != 0) list_.move_to_back(links_, slot);
  }
  void on_update(std::uint32_t slot, std::uint64_t /*hash*/, std::uint32_t weight) {
    list_.remove(links_, slot);
    links_[slot].weight = weight;
    list_.push_back(links_, slot);
  }
  void on_remove(std::uint32_t slot) { list_.remove(links_, slot); }

  template <class HashOf, class Evicted>
  void evict(HashOf&& /*hash_of*/, Evicted&& evicted) {
    while (list_.weight > max_weight_ && !list_.empty()) {
      const std::uint32_t victim = list_.head;
      list_.remove(links_, victim);
      evicted(victim);
    }
  }

  /// A new maximum (cache::reconfigure); the next evict() evicts down to it.
  void set_max_weight(std::uint64_t max_weight) noexcept { max_weight_ = max_weight; }

  [[nodiscard]] std::uint64_t weight() const noexcept { return list_.weight; }
  [[nodiscard]] std::size_t memory_bytes() const noexcept {
    return links_.capacity() * sizeof(detail::entry_links);
  }

 private:
  std::uint64_t max_weight_;
  std::vector<detail::entry_links> links_;
  detail::slot_list list_;
};

}  // namespace bulwark
