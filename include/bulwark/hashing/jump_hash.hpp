#pragma once
// Jump consistent hash: John Lamping and Eric Veach, "A Fast, Minimal Memory, Consistent Hash
// Algorithm" (Google, 2014), figure 1, and a node-set wrapper over it.

#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>
#include <vector>

#include "bulwark/core/hash.hpp"
#include "bulwark/hashing/detail/placement_base.hpp"
#include "bulwark/hashing/node.hpp"

namespace bulwark {

/// The paper's JumpConsistentHash(key, num_buckets), bit for bit: the bucket in
/// [0, buckets) of a 64-bit `key`. When buckets grows from n to n + 1, a key either stays or
/// moves to the new bucket n, and each key moves with probability 1 / (n + 1): the minimum.
/// Like the paper's code it returns -1 when buckets <= 0 (no bucket exists).
///
/// The loop draws from a 64-bit linear congruential generator seeded by the key (the paper's
/// constant 2862933555777941757) and "jumps" forward to the next bucket the key would move to;
/// the expected number of jumps is ln(buckets) + 1 (section 3 of the paper).
/// Thread-safety: a pure function. Complexity: O(log buckets) expected, no memory.
[[nodiscard]] constexpr std::int32_t jump_hash(std::uint64_t key, std::int32_t buckets) noexcept {
  std::int64_t b = -1;
  std::int64_t j = 0;
  while (j < buckets) {
    b = j;
    key = key * 2862933555777941757ULL + 1;
    // (b + 1) * 2^31 / ((key >> 33) + 1), in double as the paper computes it: (key >> 33) + 1 is
    // at most 2^31 and b + 1 at most 2^31, so every operand is exact in a double.
    j = static_cast<std::int64_t>(
        static_cast<double>(b + 1) *
        (static_cast<double>(std::int64_t{1} << 31) / static_cast<double>((key >> 33) + 1)));
  }
  return static_cast<std::int32_t>(b);
}

/// Options of jump_nodes: none yet, present so every algorithm is built the same way.
struct jump_nodes_options {};

namespace detail {
inline void validate(const jump_nodes_options&, std::span<const node> nodes) {
  check_nodes("jump_nodes", nodes);
  check_unit_weights("jump_nodes", nodes);
  option_check{"jump_nodes"}.at_most("nodes", nodes.size(), std::size_t{0x7fffffff});
}
}  // namespace detail

/// Jump hash over a list of named nodes: node i is bucket i.
///
/// The algorithm's limit is its numbering: buckets are 0..n-1, so only the *last* node can be
/// removed without remapping. Removing node i < n-1 would renumber every later node and move
/// about (n - i) / n of the keys. with_removed() therefore refuses any node but the last
/// (std::invalid_argument); when nodes fail at random, use anchor_hash or maglev instead. Jump
/// is the right tool for shards that only grow, or shrink from the end (a storage tier whose
/// shard count is a configuration number). Weights are not supported (each node is one
/// bucket) and must be 1.
///
/// Thread-safety: immutable after construction; every const member is safe from any thread.
/// Memory: the node list only. Lookup: O(log n) expected, no table.
class jump_nodes : public detail::placement_base<jump_nodes, jump_nodes_options> {
 public:
  static constexpr std::string_view component = "jump_nodes";

  /// Throws std::invalid_argument for an empty list, an empty or repeated name, a weight other
  /// than 1, or more than 2^31 - 1 nodes.
  explicit jump_nodes(std::vector<node> nodes, jump_nodes_options options = {})
      : placement_base{(detail::validate(options, nodes), std::move(nodes)), options} {}

  /// The index of the node owning key hash `h`: jump_hash(h, n). O(log n).
  [[nodiscard]] std::size_t index_for_hash(std::uint64_t h) const noexcept {
    return static_cast<std::size_t>(jump_hash(h, bucket_count()));
  }

  /// Preference order: jump_hash(h), then jump_hash of h rehashed with seeds 1, 2, ...,
  /// skipping repeats. Every node once. O(n log n) expected when walked to the end.
  template <class Visit>
  void for_each_candidate(std::uint64_t h, Visit&& visit) const {
    visit_rehashed(h, visit);
  }

  // with_added(n) appends n as bucket n: only keys moving to it move.
  /// A placement without the last node. Throws std::invalid_argument when `name` is not the
  /// last node (see the class comment) or is the only one.
  [[nodiscard]] jump_nodes with_removed(std::string_view name) const {
    option_check{component}.that(nodes_.back().name == name, "removed node",
                                 "the last node (jump hash can only remove the last bucket)",
                                 std::string{name});
    return jump_nodes{std::vector<node>(nodes_.begin(), nodes_.end() - 1), options_};
  }

  /// Bytes held beyond the object itself (the node list's array, not the names' heap storage).
  [[nodiscard]] std::size_t memory_bytes() const noexcept { return node_bytes(); }

 private:
  [[nodiscard]] std::int32_t bucket_count() const noexcept {
    return static_cast<std::int32_t>(nodes_.size());
  }
};

}  // namespace bulwark
