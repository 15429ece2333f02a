#pragma once
// replicas(): n distinct nodes for a key, for replication, optionally spread over failure
// domains. None of the anchors offers this for every algorithm; it is built here on each
// algorithm's preference order (for_each_candidate).

#include <cstddef>
#include <cstdint>
#include <string_view>
#include <vector>

#include "bulwark/core/hash.hpp"
#include "bulwark/hashing/node.hpp"

namespace bulwark {

/// Options of replicas().
struct replica_options {
  /// Prefer nodes of zones not chosen yet: the first replicas land in distinct zones (node
  /// zone labels; an empty label is a zone of its own), and only when every zone holds one
  /// do later replicas share a zone, again in preference order.
  bool spread_zones = false;
};

/// The indices of `count` distinct nodes for key hash `h`, in the algorithm's preference order
/// (the first is always the key's owner, index_for_hash(h)); fewer when there are fewer
/// nodes. The same placement and hash always give the same list, so every process of a fleet
/// picks the same replicas.
///
/// With spread_zones, the list is built in two passes over the same order: first the nodes of
/// zones not used yet, then (if count is not reached) the skipped ones in order. Adding or
/// removing a node changes a key's replica list only where the algorithm's preference order
/// changes: for rendezvous and rings, by that node alone.
/// Thread-safety: as the algorithm's const members. Complexity: the candidate walk, O(n) in
/// the worst case (plus O(n log n) for rendezvous's ranking), and O(count * zones) for the
/// zone check.
template <placement_algorithm Algorithm>
[[nodiscard]] std::vector<std::size_t> replicas(const Algorithm& placement, std::uint64_t h,
                                                std::size_t count, replica_options options = {}) {
  const auto nodes = placement.nodes();
  std::vector<std::size_t> chosen;
  if (count == 0) return chosen;
  chosen.reserve(count < nodes.size() ? count : nodes.size());
  std::vector<std::size_t> skipped;
  std::vector<std::string_view> zones;
  placement.for_each_candidate(h, [&](std::size_t i) {
    if (options.spread_zones) {
      const std::string_view zone = nodes[i].zone;
      bool used = false;
      for (const std::string_view z : zones)
        used = used || z == zone;
      if (used) {
        skipped.push_back(i);
        return true;
      }
      zones.push_back(zone);
    }
    chosen.push_back(i);
    return chosen.size() < count;
  });
  for (std::size_t k = 0; k < skipped.size() && chosen.size() < count; ++k) {
    chosen.push_back(skipped[k]);
  }
  return chosen;
}

/// replicas() of a key hashed with hash64 (seed 0).
template <placement_algorithm Algorithm>
[[nodiscard]] std::vector<std::size_t> replicas(const Algorithm& placement, std::string_view key,
                                                std::size_t count, replica_options options = {}) {
  return replicas(placement, hash64(key), count, options);
}

}  // namespace bulwark
