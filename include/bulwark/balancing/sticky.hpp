#pragma once
// Sticky balancing (IP hash, session affinity): the same key goes to the same endpoint while
// the membership stays, through jump consistent hash over the member list.

#include <cstdint>

#include "bulwark/balancing/endpoint_set.hpp"
#include "bulwark/core/hash.hpp"
#include "bulwark/core/random.hpp"
#include "bulwark/hashing/jump_hash.hpp"

namespace bulwark {

/// Sticky by key: use load_balancer::pick_for(key) (an client IP, a session or user id).
///
/// The key's hash64 picks a member with jump_hash (Lamping and Veach 2014, from the hashing
/// area) over *all* members in their configured order, not over the healthy ones, so an
/// endpoint that fails and recovers moves none of the other endpoints' keys. If the chosen
/// member is out of rotation (unhealthy or ejected, and not in panic mode), the key is
/// rehashed with seeds 1, 2, ... (up to `max_rehash` times) and then falls back to jump_hash
/// over the routable list; only the failed endpoint's keys move, and they return when it does.
/// Appending endpoints moves about 1/(n+1) of the keys (jump hash's minimum); removing one
/// from the middle of the list moves more, which is why the list order should be stable.
/// Without a key (pick()), a uniform random endpoint.
/// Differences from nginx's ip_hash: the whole key is hashed (nginx uses the first three octets
/// of an IPv4 address) and the mapping is jump hash rather than nginx's own table.
/// Thread-safety: safe from any thread. Complexity: O(log n) expected.
struct sticky {
  std::uint32_t max_rehash = 8;

  template <class Context>
  endpoint_state* pick(const endpoint_set& set, Context& context) const {
    const auto routable = set.routable();
    const auto key = context.key();
    if (!key) return routable[uniform_below(context.rng(), routable.size())];
    const auto members = set.members();
    const auto buckets = static_cast<std::int32_t>(members.size());
    std::uint64_t h = *key;
    for (std::uint32_t attempt = 0; attempt <= max_rehash; ++attempt) {
      auto* s = members[static_cast<std::size_t>(jump_hash(h, buckets))];
      if (set.panic() || (!s->active_unhealthy.load(std::memory_order_relaxed) &&
                          !s->ejected.load(std::memory_order_relaxed)))
        return s;
      h = hash64(*key, attempt + 1);
    }
    return routable[static_cast<std::size_t>(
        jump_hash(*key, static_cast<std::int32_t>(routable.size())))];
  }
};

}  // namespace bulwark
