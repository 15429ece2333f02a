#pragma once
// Resharding plans: what moves between two routers. Exact for range and slot routers (which
// ranges or slots change owner); measured over a key sample for any two routers.

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <ranges>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include "bulwark/sharding/range_router.hpp"
#include "bulwark/sharding/range_table.hpp"
#include "bulwark/sharding/shard_router.hpp"
#include "bulwark/sharding/slot_router.hpp"

namespace bulwark {

/// Keys [start, end) move from shard `from` to shard `to` (an absent start is the lowest key,
/// an absent end past the highest).
template <range_key Key>
struct range_move {
  std::optional<Key> start{};
  std::optional<Key> end{};
  std::string from{};
  std::string to{};

  friend bool operator==(const range_move&, const range_move&) = default;
};

/// Slots [first, last] move from shard `from` to shard `to`.
struct slot_move {
  std::uint16_t first = 0;
  std::uint16_t last = 0;
  std::string from{};
  std::string to{};

  friend bool operator==(const slot_move&, const slot_move&) = default;
};

/// Keys of a sample that the two routers place differently, from shard `from` to shard `to`.
struct shard_flow {
  std::string from{};
  std::string to{};
  std::size_t keys = 0;

  friend bool operator==(const shard_flow&, const shard_flow&) = default;
};

/// What a key sample says about a change of router: how many keys were routed, how many land
/// on another shard (compared by name), and the flows between shards, largest first.
struct reshard_sample {
  std::size_t keys = 0;
  std::size_t moved = 0;
  std::vector<shard_flow> flows{};

  /// moved / keys (0 for an empty sample).
  [[nodiscard]] double moved_fraction() const noexcept {
    return keys == 0 ? 0.0 : static_cast<double>(moved) / static_cast<double>(keys);
  }
};

namespace detail {

/// The owner changes between two range tables over the same keyspace: walks the union of both
/// tables' bounds, so each elementary segment has one owner in each, and joins neighbouring
/// segments with the same move. O(ranges of both).
template <range_key Key>
std::vector<range_move<Key>> diff_ranges(const range_table<Key>& before,
                                         const range_table<Key>& after) {
  std::vector<range_move<Key>> moves;
  const auto b = before.bounds();
  const auto a = after.bounds();
  std::size_t i = 0;  // bounds of `before` at or below the current segment's start
  std::size_t j = 0;  // the same for `after`
  std::optional<Key> start;
  while (true) {
    const std::string& from = before.shards()[before.route(i).owner];
    const std::string& to = after.shards()[after.route(j).owner];
    // The segment ends at the next bound of either table.
    std::optional<Key> end;
    if (i < b.size() && (j >= a.size() || !(a[j] < b[i]))) end = b[i];
    if (j < a.size() && (!end || a[j] < *end)) end = a[j];
    if (from != to) {
      if (!moves.empty() && moves.back().end == start && moves.back().from == from &&
          moves.back().to == to) {
        moves.back().end = end;
      } else {
        moves.push_back({start, end, from, to});
      }
    }
    if (!end) break;
    if (i < b.size() && b[i] == *end) ++i;
    if (j < a.size() && a[j] == *end) ++j;
    start = end;
  }
  return moves;
}

}  // namespace detail

/// The key ranges that change owner from `before` to `after`, in key order, neighbouring
/// ranges with the same move joined. Shards are compared by name. A range being migrated
/// counts as owned by its current owner. O(ranges of both).
template <range_key Key>
[[nodiscard]] std::vector<range_move<Key>> plan(const range_router<Key>& before,
                                                const range_router<Key>& after) {
  return detail::diff_ranges(before.table(), after.table());
}

/// The slots that change owner from `before` to `after`, in slot order, as inclusive ranges.
[[nodiscard]] inline std::vector<slot_move> plan(const slot_router& before,
                                                 const slot_router& after) {
  std::vector<slot_move> out;
  for (auto& m : detail::diff_ranges(before.table(), after.table())) {
    out.push_back({m.start.value_or(0),
                   static_cast<std::uint16_t>(m.end.value_or(redis_cluster_slots) - 1),
                   std::move(m.from), std::move(m.to)});
  }
  return out;
}

/// Routes every key of `sample` through both routers and reports how many land on a shard of
/// another name, with the flows between shards (largest first, then by names). Works for any
/// two routers, of any strategies: the way to compare hash-mod, consistent and range
/// resharding on your own keys. O(sample size x lookup cost).
template <class Before, class After, std::ranges::input_range Keys>
requires shard_router<Before, std::ranges::range_value_t<Keys>> &&
    shard_router<After, std::ranges::range_value_t<Keys>>
[[nodiscard]] reshard_sample plan(const Before& before, const After& after, const Keys& sample) {
  reshard_sample result;
  // Index pairs first (cheap), names once per pair at the end.
  std::map<std::pair<std::size_t, std::size_t>, std::size_t> flows;
  for (const auto& key : sample) {
    ++result.keys;
    const std::size_t from = before.shard_for(key);
    const std::size_t to = after.shard_for(key);
    if (before.shards()[from] != after.shards()[to]) ++flows[{from, to}];
  }
  for (const auto& [pair, keys] : flows) {
    result.moved += keys;
    result.flows.push_back({before.shards()[pair.first], after.shards()[pair.second], keys});
  }
  std::sort(result.flows.begin(), result.flows.end(), [](const shard_flow& x, const shard_flow& y) {
    if (x.keys != y.keys) return x.keys > y.keys;
    return std::tie(x.from, x.to) < std::tie(y.from, y.to);
  });
  return result;
}

}  // namespace bulwark
