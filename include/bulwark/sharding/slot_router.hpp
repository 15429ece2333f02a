#pragma once
// slot_router: Redis Cluster's key -> hash slot -> shard routing, bit-compatible with Redis
// (cluster.c keyHashSlot, crc16.c) so a client routes exactly as the cluster does.

#include <algorithm>
#include <array>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "bulwark/core/options.hpp"
#include "bulwark/sharding/range_table.hpp"
#include "bulwark/sharding/shard_router.hpp"

namespace bulwark {

/// The number of hash slots of a Redis Cluster.
inline constexpr std::uint32_t redis_cluster_slots = 16384;

namespace detail {

/// CRC-16/XMODEM lookup table: polynomial 0x1021, MSB first, for one byte at a time.
constexpr std::array<std::uint16_t, 256> make_crc16_xmodem_table() noexcept {
  std::array<std::uint16_t, 256> table{};
  for (std::uint32_t byte = 0; byte < 256; ++byte) {
    std::uint32_t crc = byte << 8;
    for (int bit = 0; bit < 8; ++bit) {
      crc = (crc & 0x8000U) != 0 ? (crc << 1) ^ 0x1021U : crc << 1;
    }
    table[byte] = static_cast<std::uint16_t>(crc);
  }
  return table;
}
inline constexpr std::array<std::uint16_t, 256> crc16_xmodem_table = make_crc16_xmodem_table();

}  // namespace detail

/// CRC-16/XMODEM (polynomial 0x1021, initial value 0, no reflection, no final xor): the CRC
/// Redis Cluster uses for key slots. crc16_xmodem("123456789") == 0x31C3.
/// Thread-safety: a pure function. Complexity: O(bytes.size()).
[[nodiscard]] constexpr std::uint16_t crc16_xmodem(std::string_view bytes) noexcept {
  std::uint32_t crc = 0;
  for (const char c : bytes) {
    const auto byte = static_cast<std::uint8_t>(c);
    crc = (crc << 8) ^ detail::crc16_xmodem_table[((crc >> 8) ^ byte) & 0xFFU];
  }
  return static_cast<std::uint16_t>(crc);
}

/// The part of `key` Redis Cluster hashes: with a hash tag (the bytes between the first '{'
/// and the first '}' after it, when non-empty) only the tag, otherwise the whole key. So
/// "{user1}.following" hashes "user1", "foo{}{bar}" hashes the whole key, "foo{{bar}}zap"
/// hashes "{bar", "foo{bar}{zap}" hashes "bar".
[[nodiscard]] constexpr std::string_view redis_hash_tag(std::string_view key) noexcept {
  const std::size_t open = key.find('{');
  if (open == std::string_view::npos) return key;
  const std::size_t close = key.find('}', open + 1);
  if (close == std::string_view::npos || close == open + 1) return key;
  return key.substr(open + 1, close - open - 1);
}

/// The Redis Cluster hash slot of `key`: CRC16 of its hash tag (or whole key) mod 16384.
/// redis_key_slot("somekey") == 11058, as CLUSTER KEYSLOT answers.
/// Thread-safety: a pure function. Complexity: O(key.size()).
[[nodiscard]] constexpr std::uint16_t redis_key_slot(std::string_view key) noexcept {
  // 16384 is a power of two: the mod is the mask Redis uses.
  return static_cast<std::uint16_t>(crc16_xmodem(redis_hash_tag(key)) & (redis_cluster_slots - 1));
}

/// A slot range [first, last] (inclusive, as CLUSTER SLOTS and redis-cli print them) and its
/// owner. In `slots()` listings, `migrating_to` names the target of a slot being moved.
struct slot_range {
  std::uint16_t first = 0;
  std::uint16_t last = 0;
  std::string owner{};
  std::string migrating_to{};  // empty when the range is not migrating

  friend bool operator==(const slot_range&, const slot_range&) = default;
};

/// Routes keys as a Redis Cluster does: key -> slot (CRC16 of the hash tag, mod 16384) -> the
/// shard that owns the slot's range. Slot ranges are assigned to shards the way CLUSTER
/// ADDSLOTSRANGE / redis-cli --cluster create do; moving slots follows MIGRATING/IMPORTING.
///
///   auto cluster = bulwark::slot_router::evenly({"a", "b", "c"});  // 0-5460, 5461-10922, ...
///   auto shard = cluster.shard_for("{user1}.following");          // same shard as "{user1}.x"
///   auto moving = cluster.begin_migration(100, 200, "c");         // slots 100..200 move to c
///   moving.route("key").migrating()                               // ASK semantics
///
/// Keys sharing a hash tag share a slot, so multi-key operations on them stay on one shard.
///
/// A router is an immutable value (edits return a new router). Lookups read a flat 16384-entry
/// table: one CRC over the key (or its tag) and one load.
/// Thread-safety: const members are safe from any thread. Complexity: shard_for O(key length);
/// edits O(ranges + 16384).
class slot_router {
 public:
  /// Builds from ranges that together cover slots 0..16383 exactly once, in any order.
  /// Throws std::invalid_argument naming the slot when ranges overlap, leave a gap, have
  /// first > last or last > 16383, or name an empty owner.
  explicit slot_router(std::vector<slot_range> ranges) : table_{from_ranges(std::move(ranges))} {
    build_lookup();
  }

  /// Slots spread over `shards` as `redis-cli --cluster create` spreads them over masters:
  /// consecutive ranges of 16384 / n slots, rounded (3 shards: 0-5460, 5461-10922,
  /// 10923-16383). redis-cli computes in single precision, and so does this, so that the
  /// boundaries agree for every n. Throws when shards is empty, has more than 16384 names, or a
  /// name is empty or repeated.
  [[nodiscard]] static slot_router evenly(std::span<const std::string> shards) {
    detail::check_shard_names("slot_router", shards);
    option_check{"slot_router"}.at_most("shards", shards.size(), std::size_t{redis_cluster_slots});
    std::vector<slot_range> ranges;
    const float per_shard =
        static_cast<float>(redis_cluster_slots) / static_cast<float>(shards.size());
    float cursor = 0.0F;
    long first = 0;
    for (std::size_t i = 0; i < shards.size(); ++i) {
      long last = std::lround(cursor + per_shard - 1.0F);
      if (last > 16383 || i + 1 == shards.size()) last = 16383;
      if (last < first) last = first;
      ranges.push_back(
          {static_cast<std::uint16_t>(first), static_cast<std::uint16_t>(last), shards[i], {}});
      first = last + 1;
      cursor += per_shard;
    }
    return slot_router{std::move(ranges)};
  }
  [[nodiscard]] static slot_router evenly(std::initializer_list<std::string> shards) {
    return evenly(std::span<const std::string>{shards.begin(), shards.size()});
  }

  /// The index, in shards(), of the owner of `key`'s slot.
  [[nodiscard]] std::size_t shard_for(std::string_view key) const noexcept {
    return owner_of_slot_[redis_key_slot(key)];
  }
  /// The owner of `slot` (must be < 16384).
  [[nodiscard]] std::size_t shard_for_slot(std::uint16_t slot) const noexcept {
    return owner_of_slot_[slot & (redis_cluster_slots - 1)];
  }
  /// Owner and migration target of `key`'s slot: while migrating, the owner answers for keys
  /// it still has and sends the others to the target (ASK).
  [[nodiscard]] shard_route route(std::string_view key) const noexcept {
    return table_.route(table_.index_of(redis_key_slot(key)));
  }

  /// Every shard named by a range or migration, in the order first named.
  [[nodiscard]] std::span<const std::string> shards() const noexcept { return table_.shards(); }

  /// The assignment as CLUSTER SLOTS lists it: minimal contiguous ranges in slot order.
  [[nodiscard]] std::vector<slot_range> slots() const {
    std::vector<slot_range> out;
    out.reserve(table_.size());
    const auto names = table_.shards();
    for (std::size_t i = 0; i < table_.size(); ++i) {
      const auto e = table_.entry(i);
      out.push_back({static_cast<std::uint16_t>(e.start.value_or(0)),
                     static_cast<std::uint16_t>(e.end.value_or(redis_cluster_slots) - 1),
                     names[e.owner],
                     e.migrating_to == shard_route::none ? std::string{} : names[e.migrating_to]});
    }
    return out;
  }

  /// A router where slots [first, last] belong to `owner` (CLUSTER SETSLOT ... NODE). Throws
  /// if one of them is migrating.
  [[nodiscard]] slot_router assign(std::uint16_t first, std::uint16_t last,
                                   std::string_view owner) const {
    require_all(first, last, false, "assigned slots", "not migrating");
    return edit(first, last, [&](const detail::range_table<std::uint16_t>& t, std::size_t r) {
      return t.reassign(r, owner);
    });
  }
  /// A router where slots [first, last] are moving to `target` (MIGRATING on the owner,
  /// IMPORTING on the target). Throws if one of them is already migrating, or is owned by
  /// `target`.
  [[nodiscard]] slot_router begin_migration(std::uint16_t first, std::uint16_t last,
                                            std::string_view target) const {
    require_all(first, last, false, "migrated slots", "not already migrating");
    return edit(first, last, [&](const detail::range_table<std::uint16_t>& t, std::size_t r) {
      return t.begin_migration(r, target);
    });
  }
  /// A router where the migration of slots [first, last] is done: the target owns them.
  /// Throws if one of them is not migrating.
  [[nodiscard]] slot_router finish_migration(std::uint16_t first, std::uint16_t last) const {
    require_all(first, last, true, "slots", "migrating");
    return edit(first, last, [](const detail::range_table<std::uint16_t>& t, std::size_t r) {
      return t.end_migration(r, true);
    });
  }
  /// A router where the migration of slots [first, last] is abandoned (CLUSTER SETSLOT
  /// STABLE). Throws if one of them is not migrating.
  [[nodiscard]] slot_router cancel_migration(std::uint16_t first, std::uint16_t last) const {
    require_all(first, last, true, "slots", "migrating");
    return edit(first, last, [](const detail::range_table<std::uint16_t>& t, std::size_t r) {
      return t.end_migration(r, false);
    });
  }

  /// The underlying table of slot ranges (for plans and load reports).
  [[nodiscard]] const detail::range_table<std::uint16_t>& table() const noexcept { return table_; }

 private:
  explicit slot_router(detail::range_table<std::uint16_t> table) : table_{std::move(table)} {
    table_.coalesce();
    build_lookup();
  }

  static detail::range_table<std::uint16_t> from_ranges(std::vector<slot_range> ranges) {
    const option_check check{"slot_router"};
    check.that(!ranges.empty(), "ranges", "non-empty", std::size_t{0});
    std::sort(ranges.begin(), ranges.end(),
              [](const slot_range& a, const slot_range& b) { return a.first < b.first; });
    std::vector<std::uint16_t> bounds;
    std::vector<std::string> owners;
    std::uint32_t next = 0;  // the first slot not yet covered
    for (const slot_range& r : ranges) {
      check.that(r.first <= r.last, "range first slot", "<= its last slot", r.first);
      check.at_most("range last slot", std::uint32_t{r.last}, redis_cluster_slots - 1);
      check.that(r.first >= next, "slot ranges", "non-overlapping, but this slot is in two",
                 r.first);
      check.that(r.first == next, "slot ranges", "gap-free, but this slot has no owner", next);
      check.that(r.migrating_to.empty(), "range migrating_to", "empty on construction",
                 r.migrating_to);
      if (r.first != 0) bounds.push_back(r.first);
      owners.push_back(r.owner);
      next = std::uint32_t{r.last} + 1;
    }
    check.that(next == redis_cluster_slots, "slot ranges", "gap-free, but this slot has no owner",
               next);
    detail::range_table<std::uint16_t> table{"slot_router", std::move(bounds), owners};
    table.coalesce();
    return table;
  }

  /// Throws, naming the first offending slot, unless every slot of [first, last] is migrating
  /// (`migrating`) or none is (`!migrating`): the range indices the table would name mean
  /// nothing to a caller who thinks in slots.
  void require_all(std::uint16_t first, std::uint16_t last, bool migrating, std::string_view field,
                   std::string_view rule) const {
    const option_check check{"slot_router"};
    check.that(first <= last, "first slot", "<= last slot", first);
    check.at_most("last slot", std::uint32_t{last}, redis_cluster_slots - 1);
    for (std::size_t r = table_.index_of(first); r <= table_.index_of(last); ++r) {
      const std::uint16_t slot = std::max(first, table_.start_of(r).value_or(0));
      check.that(table_.route(r).migrating() == migrating, field, rule, slot);
    }
  }

  /// Applies `change` to each range within [first, last], after cutting ranges at first and
  /// last + 1 so the change covers exactly those slots.
  template <class Change>
  slot_router edit(std::uint16_t first, std::uint16_t last, Change&& change) const {
    detail::range_table<std::uint16_t> t = table_;
    if (first != 0 && t.start_of(t.index_of(first)) != first) t = t.split(first, std::nullopt);
    if (last + 1U < redis_cluster_slots) {
      const auto end = static_cast<std::uint16_t>(last + 1);
      if (t.start_of(t.index_of(end)) != end) t = t.split(end, std::nullopt);
    }
    for (std::size_t r = t.index_of(first); r <= t.index_of(last); ++r)
      t = change(t, r);
    return slot_router{std::move(t)};
  }

  void build_lookup() {
    // Owners are stored as uint16 to keep the table at 32 KiB (it fits L1 on most cores).
    option_check{"slot_router"}.at_most("shards", table_.shards().size(), std::size_t{65535});
    for (std::size_t i = 0; i < table_.size(); ++i) {
      const std::uint32_t begin = table_.start_of(i).value_or(0);
      const std::uint32_t end = table_.end_of(i).value_or(redis_cluster_slots);
      for (std::uint32_t s = begin; s < end; ++s)
        owner_of_slot_[s] = static_cast<std::uint16_t>(table_.route(i).owner);
    }
  }

  detail::range_table<std::uint16_t> table_;
  // The owner of each slot, so that the hot path is one load after the CRC.
  std::array<std::uint16_t, redis_cluster_slots> owner_of_slot_{};
};

}  // namespace bulwark
