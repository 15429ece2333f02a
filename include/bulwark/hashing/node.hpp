#pragma once
// The vocabulary every placement algorithm of bulwark/hashing shares: a node (name, weight,
// failure domain), the checks a node list passes, the `placement_algorithm` concept, and the
// helper that turns an algorithm's probe sequence into a preference order of distinct nodes.

#include <algorithm>
#include <concepts>
#include <cstddef>
#include <cstdint>
#include <numeric>
#include <span>
#include <string>
#include <string_view>
#include <unordered_set>
#include <vector>

#include "bulwark/core/options.hpp"

namespace bulwark {

/// One member of a placement: a cache server, a shard, a backend.
///
/// `name` is what the algorithms hash, so it must be the same string every process of a fleet
/// uses: Envoy hashes the upstream address ("10.0.0.7:11211"), ketama clients the server
/// string. Weights are whole numbers as in every anchor (Envoy host weights, HAProxy server
/// weights, libmemcached server weights); a node of weight 2 receives about twice the keys of
/// a node of weight 1. `zone` is a failure-domain label used only by `replicas()`.
struct node {
  std::string name{};
  std::uint32_t weight = 1;
  std::string zone{};

  friend bool operator==(const node&, const node&) = default;
};

/// Something that places keys on nodes: each algorithm of bulwark/hashing models it.
///
/// - `index_for_hash(h)`: the index, in `nodes()`, of the node owning the 64-bit key hash `h`.
/// - `for_each_candidate(h, visit)`: every node index once, in the algorithm's preference order
///   for `h` (the first is index_for_hash(h)), until `visit(index)` returns false. Used by
///   bounded loads (skip a full node) and replicas (the next distinct nodes).
/// - `with_added(n)` / `with_removed(name)`: a new placement with one node more or less; the
///   original is unchanged (placements are immutable values, which is what lets readers use
///   one while a writer builds the next).
template <class A>
concept placement_algorithm = std::copyable<A> &&
    requires(const A& a, std::uint64_t h, const node& n, std::string_view name,
             bool (*visit)(std::size_t)) {
  { a.index_for_hash(h) } -> std::same_as<std::size_t>;
  { a.nodes() } -> std::same_as<std::span<const node>>;
  { a.with_added(n) } -> std::same_as<A>;
  { a.with_removed(name) } -> std::same_as<A>;
  a.for_each_candidate(h, visit);
};

namespace detail {

/// Validates a node list for `component`: non-empty, every name non-empty and unique, every
/// weight >= 1. Throws std::invalid_argument in option_check's format. O(n) expected.
inline void check_nodes(std::string_view component, std::span<const node> nodes) {
  const option_check check{component};
  check.that(!nodes.empty(), "nodes", "non-empty", std::size_t{0});
  std::unordered_set<std::string_view> seen;
  seen.reserve(nodes.size());
  for (const node& n : nodes) {
    check.that(!n.name.empty(), "node name", "non-empty", n.name);
    check.at_least("node weight", n.weight, std::uint32_t{1});
    check.that(seen.insert(n.name).second, "node name", "unique", n.name);
  }
}

/// The sum of the nodes' weights.
[[nodiscard]] inline std::uint64_t total_weight(std::span<const node> nodes) noexcept {
  return std::accumulate(nodes.begin(), nodes.end(), std::uint64_t{0},
                         [](std::uint64_t s, const node& n) { return s + n.weight; });
}

/// The nodes with `extra` appended (checked by the caller's constructor).
inline std::vector<node> nodes_with(std::span<const node> nodes, const node& extra) {
  std::vector<node> out(nodes.begin(), nodes.end());
  out.push_back(extra);
  return out;
}

/// The nodes without the one named `name`; throws std::invalid_argument if it is absent.
inline std::vector<node> nodes_without(std::string_view component, std::span<const node> nodes,
                                       std::string_view name) {
  std::vector<node> out;
  out.reserve(nodes.size());
  for (const node& n : nodes) {
    if (n.name != name) out.push_back(n);
  }
  option_check{component}.that(out.size() + 1 == nodes.size(), "removed node", "a member",
                               std::string{name});
  return out;
}

/// Turns a probe sequence into a preference order of distinct nodes.
///
/// `probe(step)` for step = 0, 1, 2, ... proposes a node index (repeats allowed); each index is
/// visited the first time it comes up. After `max_probes` proposals, the indices not yet seen
/// are visited in ascending order, so every node is visited exactly once in all. Stops as
/// soon as `visit` returns false. The seen-set is a bitmap allocated only if the first
/// candidate is refused, so the common case (the first node is fine) costs no allocation.
/// Complexity: O(max_probes + n) in the worst case.
template <class Probe, class Visit>
void visit_distinct(std::size_t n, std::size_t max_probes, Probe&& probe, Visit&& visit) {
  const std::size_t first = probe(std::size_t{0});
  if (!visit(first) || n == 1) return;
  std::vector<bool> seen(n, false);
  seen[first] = true;
  std::size_t left = n - 1;
  for (std::size_t step = 1; step < max_probes && left > 0; ++step) {
    const std::size_t i = probe(step);
    if (seen[i]) continue;
    seen[i] = true;
    --left;
    if (!visit(i)) return;
  }
  for (std::size_t i = 0; i < n && left > 0; ++i) {
    if (seen[i]) continue;
    seen[i] = true;
    --left;
    if (!visit(i)) return;
  }
}

}  // namespace detail
}  // namespace bulwark
