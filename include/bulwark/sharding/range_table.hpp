#pragma once
// detail::range_table<Key>: an ordered keyspace cut into contiguous ranges, each owned by one
// shard and possibly migrating to another. The storage and the edits (split, merge, reassign,
// migrate) shared by range_router (keys) and slot_router (Redis Cluster slots).

#include <algorithm>
#include <concepts>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "bulwark/core/options.hpp"
#include "bulwark/sharding/shard_router.hpp"

namespace bulwark {

/// The key types a range router orders: integers (not bool) and strings. Strings compare
/// bytewise (std::string's operator<), the order Bigtable, HBase and CockroachDB use for keys.
template <class Key>
concept range_key =
    (std::integral<Key> && !std::same_as<Key, bool>) || std::same_as<Key, std::string>;

/// One range of a range router, as `ranges()` lists it: [start, end), where an absent start is
/// the lowest key and an absent end is past the highest key. `owner` and `migrating_to` index
/// the router's shards() (migrating_to is shard_route::none when the range is not moving).
template <range_key Key>
struct key_range_entry {
  std::optional<Key> start{};
  std::optional<Key> end{};
  std::size_t owner = 0;
  std::size_t migrating_to = shard_route::none;

  friend bool operator==(const key_range_entry&, const key_range_entry&) = default;
};

namespace detail {

/// True for the lowest key of the type: a split there would leave an empty first range.
template <range_key Key>
constexpr bool is_lowest_key(const Key& key) noexcept {
  if constexpr (std::integral<Key>) {
    return key == std::numeric_limits<Key>::lowest();
  } else {
    return key.empty();
  }
}

/// Ranges over Key: range i is [bounds_[i-1], bounds_[i]), the first starts at the lowest key
/// and the last ends past the highest, so every key is in exactly one range by construction.
///
/// Invariants (checked by every constructor and edit, which throw std::invalid_argument naming
/// `component`): bounds_ strictly increasing; routes_.size() == bounds_.size() + 1; every
/// owner and migration target indexes shards_, and a target differs from its owner.
/// The table is a value: edits return a new table and leave this one unchanged.
template <range_key Key>
class range_table {
 public:
  /// `bounds` are the starts of ranges 1..n-1, `owners[i]` names the owner of range i.
  range_table(std::string_view component, std::vector<Key> bounds,
              std::span<const std::string> owners)
      : component_{component}, bounds_{std::move(bounds)} {
    const option_check check{component_};
    check.that(!owners.empty(), "owners", "non-empty", std::size_t{0});
    check.that(owners.size() == bounds_.size() + 1, "owners",
               "one more than the split points (" + std::to_string(bounds_.size()) + ")",
               owners.size());
    for (std::size_t i = 0; i < bounds_.size(); ++i) {
      check.that(i > 0 || !is_lowest_key(bounds_[i]), "split point", "above the lowest key",
                 bounds_[i]);
      check.that(i == 0 || bounds_[i - 1] < bounds_[i], "split points",
                 "strictly increasing, but this one follows one not below it", bounds_[i]);
    }
    routes_.reserve(owners.size());
    for (const std::string& name : owners) {
      routes_.push_back({.owner = find_or_add_shard(component_, shards_, name)});
    }
    reindex();
  }

  /// The index of the range holding `key`: the number of bounds not above it. O(log n).
  template <class K>
  [[nodiscard]] std::size_t index_of(const K& key) const noexcept {
    if constexpr (std::same_as<Key, std::string>) {
      return string_index_of(std::string_view{key});
    } else {
      return static_cast<std::size_t>(
          std::upper_bound(bounds_.begin(), bounds_.end(), key,
                           [](const K& k, const Key& b) { return k < b; }) -
          bounds_.begin());
    }
  }

  [[nodiscard]] std::size_t size() const noexcept { return routes_.size(); }
  [[nodiscard]] const shard_route& route(std::size_t range) const noexcept {
    return routes_[range];
  }
  [[nodiscard]] std::span<const std::string> shards() const noexcept { return shards_; }
  [[nodiscard]] std::span<const Key> bounds() const noexcept { return bounds_; }
  [[nodiscard]] std::optional<Key> start_of(std::size_t range) const {
    if (range == 0) return std::nullopt;
    return bounds_[range - 1];
  }
  [[nodiscard]] std::optional<Key> end_of(std::size_t range) const {
    if (range + 1 == routes_.size()) return std::nullopt;
    return bounds_[range];
  }
  [[nodiscard]] key_range_entry<Key> entry(std::size_t range) const {
    return {start_of(range), end_of(range), routes_[range].owner, routes_[range].migrating_to};
  }

  /// Cuts the range holding `at` in two at `at`; the right part goes to `right_owner` (a shard
  /// name, added if new) or stays with the owner. A migration in progress covers both parts.
  [[nodiscard]] range_table split(const Key& at,
                                  std::optional<std::string_view> right_owner) const {
    const option_check check{component_};
    check.that(!is_lowest_key(at), "split point", "above the lowest key", at);
    const std::size_t range = index_of(at);
    check.that(range == 0 || bounds_[range - 1] != at, "split point", "inside a range, not a start",
               at);
    range_table next = *this;
    next.bounds_.insert(next.bounds_.begin() + static_cast<std::ptrdiff_t>(range), at);
    shard_route right = routes_[range];
    if (right_owner) {
      check.that(!right.migrating(), "split range with a new owner", "not migrating", range);
      right.owner = find_or_add_shard(component_, next.shards_, *right_owner);
    }
    next.routes_.insert(next.routes_.begin() + static_cast<std::ptrdiff_t>(range) + 1, right);
    next.reindex();
    return next;
  }

  /// Joins ranges `left` and `right` (= left + 1) into one owned by `owner`, which may be
  /// omitted when both have the same owner. Neither may be migrating.
  [[nodiscard]] range_table merge(std::size_t left, std::size_t right,
                                  std::optional<std::string_view> owner) const {
    const option_check check{component_};
    check_range("left range", left);
    check.that(right == left + 1, "right range", "left range + 1", right);
    check_range("right range", right);
    check.that(!routes_[left].migrating(), "left range", "not migrating", left);
    check.that(!routes_[right].migrating(), "right range", "not migrating", right);
    check.that(owner.has_value() || routes_[left].owner == routes_[right].owner,
               "owner of ranges with different owners", "named", shards_[routes_[right].owner]);
    range_table next = *this;
    if (owner) next.routes_[left].owner = find_or_add_shard(component_, next.shards_, *owner);
    next.bounds_.erase(next.bounds_.begin() + static_cast<std::ptrdiff_t>(left));
    next.routes_.erase(next.routes_.begin() + static_cast<std::ptrdiff_t>(right));
    next.reindex();
    return next;
  }

  /// Hands `range` to `owner` at once (the data was moved out of band). Not while migrating.
  [[nodiscard]] range_table reassign(std::size_t range, std::string_view owner) const {
    check_range("range", range);
    option_check{component_}.that(!routes_[range].migrating(), "reassigned range", "not migrating",
                                  range);
    range_table next = *this;
    next.routes_[range].owner = find_or_add_shard(component_, next.shards_, owner);
    return next;
  }

  /// Marks `range` as moving from its owner to `target` (MIGRATING on the owner, IMPORTING on
  /// the target).
  [[nodiscard]] range_table begin_migration(std::size_t range, std::string_view target) const {
    check_range("range", range);
    const option_check check{component_};
    check.that(!routes_[range].migrating(), "migrated range", "not already migrating", range);
    range_table next = *this;
    const std::size_t to = find_or_add_shard(component_, next.shards_, target);
    check.that(to != routes_[range].owner, "migration target", "another shard than the owner",
               std::string{target});
    next.routes_[range].migrating_to = to;
    return next;
  }

  /// Ends the migration of `range`: the target becomes the owner (committed) or is dropped
  /// (cancelled).
  [[nodiscard]] range_table end_migration(std::size_t range, bool committed) const {
    check_range("range", range);
    option_check{component_}.that(routes_[range].migrating(), "range", "migrating", range);
    range_table next = *this;
    shard_route& r = next.routes_[range];
    if (committed) r.owner = r.migrating_to;
    r.migrating_to = shard_route::none;
    return next;
  }

  /// Joins neighbours with the same owner and migration state (slot tables stay minimal so
  /// that plans and listings show the ranges an operator thinks in).
  void coalesce() {
    std::size_t out = 0;
    for (std::size_t i = 1; i < routes_.size(); ++i) {
      if (routes_[i] == routes_[out]) continue;  // range i joins range out: drop its start
      ++out;
      routes_[out] = routes_[i];
      bounds_[out - 1] = bounds_[i - 1];
    }
    routes_.resize(out + 1);
    bounds_.resize(out);
    reindex();
  }

 private:
  void check_range(std::string_view field, std::size_t range) const {
    option_check{component_}.that(range < routes_.size(), field,
                                  "< the range count (" + std::to_string(routes_.size()) + ")",
                                  range);
  }

  /// The first 8 bytes of a string, big-endian, zero-padded: comparing two prefixes as
  /// integers orders the strings as std::string does (bytewise, unsigned) wherever the
  /// prefixes differ, since a zero pad sorts a shorter string before its extensions.
  static std::uint64_t prefix_of(std::string_view s) noexcept {
    std::uint64_t p = 0;
    for (std::size_t i = 0; i < 8; ++i) {
      const std::uint64_t byte = i < s.size() ? static_cast<unsigned char>(s[i]) : 0U;
      p |= byte << (56 - 8 * i);
    }
    return p;
  }

  /// String lookup in two steps: a binary search over the bounds' 8-byte prefixes, which sit
  /// in one contiguous array (std::string keeps long keys behind a pointer, so searching the
  /// strings directly costs a cache miss per comparison), then full comparisons only among
  /// the bounds sharing the key's prefix.
  std::size_t string_index_of(std::string_view key) const noexcept {
    const std::uint64_t p = prefix_of(key);
    const auto lo = std::lower_bound(prefixes_.begin(), prefixes_.end(), p);
    const auto hi = std::upper_bound(lo, prefixes_.end(), p);
    const auto first = bounds_.begin() + (lo - prefixes_.begin());
    const auto last = bounds_.begin() + (hi - prefixes_.begin());
    return static_cast<std::size_t>(
        std::upper_bound(first, last, key,
                         [](std::string_view k, const Key& b) { return k < std::string_view{b}; }) -
        bounds_.begin());
  }

  void reindex() {
    if constexpr (std::same_as<Key, std::string>) {
      prefixes_.clear();
      prefixes_.reserve(bounds_.size());
      for (const std::string& b : bounds_)
        prefixes_.push_back(prefix_of(b));
    }
  }

  std::string_view component_;  // a string literal naming the router, for error messages
  std::vector<Key> bounds_;
  std::vector<std::uint64_t> prefixes_;  // string keys only: prefix_of(bounds_[i])
  std::vector<shard_route> routes_;
  std::vector<std::string> shards_;
};

}  // namespace detail
}  // namespace bulwark
