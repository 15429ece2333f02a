#pragma once
// directory_router<Fallback>: an explicit key -> shard map in front of another router.

#include <algorithm>
#include <cstddef>
#include <initializer_list>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "bulwark/core/hash.hpp"
#include "bulwark/core/options.hpp"
#include "bulwark/sharding/shard_router.hpp"

namespace bulwark {

/// One entry of a directory: `key` lives on shard `shard`.
struct directory_entry {
  std::string key{};
  std::string shard{};

  friend bool operator==(const directory_entry&, const directory_entry&) = default;
};

/// Routes the keys it lists to their listed shard and every other key through `Fallback`
/// (any router over string keys): directory-based sharding, used as per-key overrides on top of
/// a computed strategy, e.g. a celebrity account moved to a shard of its own while every other
/// user stays hash-routed.
///
///   bulwark::directory_router users({{"user:taylor", "users-vip"}},
///                                   bulwark::hash_mod_router({"users-0", "users-1"}),
///                                   {"users-vip"});   // a shard only the directory uses
///
/// shards() is the fallback's shards followed by `own_shards` (shards that only listed keys
/// live on), so an index from the fallback means the same shard here and a plan compares a
/// directory router with any other router by name. A listed shard must be one of these: a
/// typo is an error, not a new shard.
/// A router is an immutable value; with_override, without_override and with_fallback return a
/// new one.
/// Thread-safety: const members are safe from any thread. Complexity: shard_for is one hash
/// table probe (hash64 of the key) plus, on a miss, the fallback's lookup; edits copy the map.
template <class Fallback>
requires shard_router<Fallback, std::string_view>
class directory_router {
 public:
  /// Throws std::invalid_argument when an entry has an empty key, a key is listed twice, an
  /// entry names a shard that is neither the fallback's nor in own_shards, or an own shard is
  /// empty, repeated or also a shard of the fallback.
  directory_router(std::span<const directory_entry> entries, Fallback fallback,
                   std::vector<std::string> own_shards = {})
      : fallback_{std::move(fallback)}, own_shards_{std::move(own_shards)} {
    const option_check check{"directory_router"};
    const auto fallback_shards = fallback_.shards();
    names_.assign(fallback_shards.begin(), fallback_shards.end());
    for (const std::string& name : own_shards_) {
      check.that(!name.empty(), "own shard", "non-empty", name);
      check.that(detail::find_shard(names_, name) == shard_route::none, "own shard",
                 "unique and not a shard of the fallback", name);
      names_.push_back(name);
    }
    overrides_.reserve(entries.size());
    for (const directory_entry& e : entries)
      insert(e.key, e.shard, /*replace=*/false);
  }
  directory_router(std::initializer_list<directory_entry> entries, Fallback fallback,
                   std::vector<std::string> own_shards = {})
      : directory_router{std::span<const directory_entry>{entries.begin(), entries.size()},
                         std::move(fallback), std::move(own_shards)} {}

  /// The listed shard of `key`, or the fallback's choice.
  [[nodiscard]] std::size_t shard_for(std::string_view key) const noexcept {
    const auto it = overrides_.find(key);
    return it != overrides_.end() ? it->second : fallback_.shard_for(key);
  }
  /// True when `key` is listed in the directory.
  [[nodiscard]] bool overridden(std::string_view key) const noexcept {
    return overrides_.find(key) != overrides_.end();
  }

  /// The fallback's shards, then the directory's own.
  [[nodiscard]] std::span<const std::string> shards() const noexcept { return names_; }
  [[nodiscard]] const Fallback& fallback() const noexcept { return fallback_; }
  [[nodiscard]] std::span<const std::string> own_shards() const noexcept { return own_shards_; }
  [[nodiscard]] std::size_t override_count() const noexcept { return overrides_.size(); }

  /// The listed keys with their shards, sorted by key. O(n log n).
  [[nodiscard]] std::vector<directory_entry> entries() const {
    std::vector<directory_entry> out;
    out.reserve(overrides_.size());
    for (const auto& [key, shard] : overrides_)
      out.push_back({key, names_[shard]});
    std::sort(out.begin(), out.end(),
              [](const directory_entry& a, const directory_entry& b) { return a.key < b.key; });
    return out;
  }

  /// A router where `key` lives on `shard` (replacing any entry for it).
  [[nodiscard]] directory_router with_override(std::string_view key, std::string_view shard) const {
    directory_router next = *this;
    next.insert(std::string{key}, shard, /*replace=*/true);
    return next;
  }
  /// A router where `key` goes back to the fallback. Throws if `key` is not listed.
  [[nodiscard]] directory_router without_override(std::string_view key) const {
    directory_router next = *this;
    const auto it = next.overrides_.find(key);
    option_check{"directory_router"}.that(it != next.overrides_.end(), "removed key", "listed",
                                          std::string{key});
    next.overrides_.erase(it);
    return next;
  }
  /// The same entries and own shards over another fallback (a resharded one): the step that
  /// keeps overrides when the computed strategy changes. Throws as the constructor does, e.g.
  /// when an entry's shard is not in the new fallback.
  [[nodiscard]] directory_router with_fallback(Fallback next_fallback) const {
    const auto listed = entries();
    return directory_router{listed, std::move(next_fallback), own_shards_};
  }

 private:
  // Transparent hashing so that a string_view lookup needs no std::string; hash64 rather than
  // std::hash only for one hash everywhere (the table is never persisted).
  struct key_hash {
    using is_transparent = void;
    std::size_t operator()(std::string_view key) const noexcept {
      return static_cast<std::size_t>(hash64(key));
    }
  };

  void insert(std::string key, std::string_view shard, bool replace) {
    const option_check check{"directory_router"};
    check.that(!key.empty(), "directory key", "non-empty", key);
    const std::size_t index = detail::find_shard(names_, shard);
    check.that(index != shard_route::none, "directory shard",
               "a shard of the fallback or an own shard", std::string{shard});
    if (replace) {
      overrides_.insert_or_assign(std::move(key), index);
    } else {
      const bool inserted = overrides_.try_emplace(key, index).second;
      check.that(inserted, "directory key", "listed once", key);
    }
  }

  Fallback fallback_;
  std::vector<std::string> own_shards_;
  std::vector<std::string> names_;  // the fallback's shards, then own_shards_
  std::unordered_map<std::string, std::size_t, key_hash, std::equal_to<>> overrides_;
};

}  // namespace bulwark
