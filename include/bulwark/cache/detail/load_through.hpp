#pragma once
// bulwark::cache::get_or_load past its lock-free read's miss: under the shard's lock, a second
// look (a put or another load may have filled the key since the read), then the single-flight
// protocol. Internal; see cache.hpp.

#include <cstdint>
#include <mutex>
#include <optional>
#include <utility>

#include "bulwark/cache/detail/deadlines.hpp"
#include "bulwark/cache/eviction.hpp"

namespace bulwark::detail {

/// Under the shard's exclusive lock: `key`'s live value, without counting a hit or a miss.
/// `now_fn()` is read only for an entry with a deadline.
template <class Value, class Shard, class Key, class Now>
std::optional<Value> find_live_locked(Shard& s, const Key& key, std::uint64_t hash, Now now_fn) {
  const auto [slab, cell] = s.find(key, hash);
  if (cell == no_slot) return std::nullopt;
  if (slab->timed(cell) && slab->expired(cell, cell_ns(now_fn()))) return std::nullopt;
  return slab->kv(cell).second;
}

/// `key`'s live value if the second look finds one, else its flight's value: joined if one
/// runs, led otherwise (`stripe.flights.join_or_lead`, whose hooks these are). Takes the
/// shard's lock and replays this thread's reads first, as every write does.
template <class Value, class Stripe, class Key, class Now, class Load, class Store, class Waiting,
          class Failed>
Value load_through(Stripe& st, const Key& key, std::uint64_t hash, Now now_fn, Load&& load,
                   Store&& store, Waiting&& waiting, Failed&& failed) {
  std::unique_lock lock{st.shard->mutex()};
  st.shard->drain_own_reads();
  if (auto hit = find_live_locked<Value>(*st.shard, key, hash, now_fn)) return std::move(*hit);
  return st.flights.join_or_lead(key, lock, std::forward<Load>(load), std::forward<Store>(store),
                                 std::forward<Waiting>(waiting), std::forward<Failed>(failed));
}

}  // namespace bulwark::detail
