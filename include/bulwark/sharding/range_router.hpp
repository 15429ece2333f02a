#pragma once
// range_router<Key>: routing by sorted split points, the strategy of Bigtable, HBase,
// CockroachDB, MongoDB's ranged shard keys and Vitess key ranges.

#include <cstddef>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "bulwark/sharding/range_table.hpp"
#include "bulwark/sharding/shard_router.hpp"

namespace bulwark {

/// Routes keys by ranges: sorted split points cut the keyspace into contiguous ranges, each
/// owned by a shard; a shard may own several ranges (MongoDB's chunks, CockroachDB's ranges).
///
///   // users 0..999'999 on "db-a", 1'000'000..4'999'999 on "db-b", the rest on "db-c"
///   bulwark::range_router<std::uint64_t> users({1'000'000, 5'000'000}, {"db-a", "db-b", "db-c"});
///   auto shard = users.shards()[users.shard_for(user_id)];
///
/// Range queries stay on few shards and neighbouring keys stay together, which is why range
/// sharding suits scans; sequential keys (timestamps, auto-increment ids) all land on the last
/// range, which is why it needs splitting (see `split`, `suggest_split`).
///
/// A router is an immutable value: `split`, `merge`, `reassign` and the migration calls return
/// a new router and leave this one unchanged, so a `live_router` can publish the next one while
/// readers keep using the current one.
///
/// Thread-safety: const members are safe from any thread. Complexity: shard_for and route are
/// O(log ranges) comparisons; edits are O(ranges).
template <range_key Key>
class range_router {
 public:
  using key_type = Key;

  /// Ranges [lowest, splits[0]), [splits[0], splits[1]), ..., [splits.back(), past highest);
  /// `owners[i]` names the owner of range i. Throws std::invalid_argument when owners is empty
  /// or not one longer than splits, a name is empty, or splits are not strictly increasing or
  /// start at the lowest key (which would leave an empty first range).
  range_router(std::vector<Key> splits, std::span<const std::string> owners)
      : table_{"range_router", std::move(splits), owners} {}
  range_router(std::vector<Key> splits, std::initializer_list<std::string> owners)
      : range_router{std::move(splits),
                     std::span<const std::string>{owners.begin(), owners.size()}} {}

  /// The index, in shards(), of the owner of `key`. Accepts anything ordered against Key
  /// (a std::string_view for a std::string router). O(log ranges).
  template <class K>
  requires std::totally_ordered_with<K, Key>
  [[nodiscard]] std::size_t shard_for(const K& key) const noexcept {
    return table_.route(table_.index_of(key)).owner;
  }

  /// Owner and migration target of `key` (see shard_route). O(log ranges).
  template <class K>
  requires std::totally_ordered_with<K, Key>
  [[nodiscard]] shard_route route(const K& key) const noexcept {
    return table_.route(table_.index_of(key));
  }

  /// The index of the range holding `key`, for the edits below. O(log ranges).
  template <class K>
  requires std::totally_ordered_with<K, Key>
  [[nodiscard]] std::size_t range_of(const K& key) const noexcept { return table_.index_of(key); }

  /// Every shard that owns or owned a range, or is a migration target, in the order first
  /// named. Indices are stable across edits: an edit only appends.
  [[nodiscard]] std::span<const std::string> shards() const noexcept { return table_.shards(); }
  /// The number of ranges.
  [[nodiscard]] std::size_t range_count() const noexcept { return table_.size(); }
  /// Range `i` (i < range_count()) with its bounds, owner and migration target.
  [[nodiscard]] key_range_entry<Key> range(std::size_t i) const { return table_.entry(i); }
  /// Every range, in key order. O(ranges).
  [[nodiscard]] std::vector<key_range_entry<Key>> ranges() const {
    std::vector<key_range_entry<Key>> out;
    out.reserve(table_.size());
    for (std::size_t i = 0; i < table_.size(); ++i)
      out.push_back(table_.entry(i));
    return out;
  }
  /// The split points (starts of ranges 1..n-1), ascending.
  [[nodiscard]] std::span<const Key> splits() const noexcept { return table_.bounds(); }

  /// A router with the range holding `at` cut at `at`; both parts keep the owner, or the right
  /// part [at, end) goes to `right_owner` (a new name adds a shard). Keys keep their shard
  /// unless right_owner differs. Throws when `at` is already a range start or the lowest key.
  [[nodiscard]] range_router split(const Key& at,
                                   std::optional<std::string_view> right_owner = {}) const {
    return range_router{table_.split(at, right_owner)};
  }

  /// A router with ranges `left` and `right` (which must be left + 1) joined. Their owners must
  /// match unless `owner` names the merged range's owner. Throws if either is migrating.
  [[nodiscard]] range_router merge(std::size_t left, std::size_t right,
                                   std::optional<std::string_view> owner = {}) const {
    return range_router{table_.merge(left, right, owner)};
  }

  /// A router with `range` owned by `owner` (MongoDB's moveChunk once the copy is done).
  [[nodiscard]] range_router reassign(std::size_t range, std::string_view owner) const {
    return range_router{table_.reassign(range, owner)};
  }

  /// A router where `range` is migrating to `target`: route() reports both shards.
  [[nodiscard]] range_router begin_migration(std::size_t range, std::string_view target) const {
    return range_router{table_.begin_migration(range, target)};
  }
  /// A router where the migration of `range` is done: the target owns it.
  [[nodiscard]] range_router finish_migration(std::size_t range) const {
    return range_router{table_.end_migration(range, true)};
  }
  /// A router where the migration of `range` is abandoned: the owner keeps it.
  [[nodiscard]] range_router cancel_migration(std::size_t range) const {
    return range_router{table_.end_migration(range, false)};
  }

  /// The underlying table (for plans and load reports).
  [[nodiscard]] const detail::range_table<Key>& table() const noexcept { return table_; }

 private:
  explicit range_router(detail::range_table<Key> table) : table_{std::move(table)} {}

  detail::range_table<Key> table_;
};

}  // namespace bulwark
