#pragma once
// Units a process has reserved from Redis in one round trip and spends locally (redis_gcra's
// batching). Internal to redis_gcra.

#include <cstddef>
#include <cstdint>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>

#include "bulwark/core/clock.hpp"

namespace bulwark::detail {

// Transparent hashing, so a lookup by string_view builds no string.
struct batch_key_hash {
  using is_transparent = void;
  std::size_t operator()(std::string_view s) const noexcept {
    return std::hash<std::string_view>{}(s);
  }
};

/// Per key: units already charged in Redis and not yet spent, usable until `expires`.
///
/// Invariant: every unit held here was charged to the key's TAT in Redis, so spending it
/// admits nothing the global limit did not grant; a unit that expires or is dropped unspent is
/// lost (the fleet admits less, never more). Bounded: at most `max_keys` keys; when full, the
/// expired ones are dropped, and if none are, every entry is (losing their units).
/// Thread-safe: one mutex; each call is O(1) expected, O(max_keys) when it must make room.
class token_batches {
 public:
  explicit token_batches(std::size_t max_keys) : max_keys_{max_keys} {}

  /// Takes `cost` units of `key`'s batch if it holds them at `now`; the units left, or empty.
  std::optional<std::uint64_t> try_take(std::string_view key, std::uint32_t cost, time_point now) {
    const std::lock_guard lock{mutex_};
    const auto it = batches_.find(key);
    if (it == batches_.end()) return std::nullopt;
    if (!(now < it->second.expires) || it->second.units < cost) return std::nullopt;
    it->second.units -= cost;
    return it->second.units;
  }

  /// The units `key`'s batch holds at `now` (0 when none or expired).
  [[nodiscard]] std::uint64_t held(std::string_view key, time_point now) const {
    const std::lock_guard lock{mutex_};
    const auto it = batches_.find(key);
    if (it == batches_.end() || !(now < it->second.expires)) return 0;
    return it->second.units;
  }

  /// Keeps `units` for `key` until `expires`, replacing what the key held (those units are
  /// lost: two threads that both went to Redis for one key keep only the later batch).
  void put(std::string_view key, std::uint64_t units, time_point expires, time_point now) {
    const std::lock_guard lock{mutex_};
    const auto it = batches_.find(key);
    if (it != batches_.end()) {
      it->second = {units, expires};
      return;
    }
    if (units == 0) return;
    if (batches_.size() >= max_keys_) {
      std::erase_if(batches_, [now](const auto& kv) { return !(now < kv.second.expires); });
      if (batches_.size() >= max_keys_) batches_.clear();
    }
    batches_.emplace(std::string{key}, entry{units, expires});
  }

 private:
  struct entry {
    std::uint64_t units = 0;
    time_point expires{};
  };
  mutable std::mutex mutex_;
  std::size_t max_keys_;
  std::unordered_map<std::string, entry, batch_key_hash, std::equal_to<>> batches_;
};

}  // namespace bulwark::detail
