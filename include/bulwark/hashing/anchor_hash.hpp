#pragma once
// AnchorHash: Gal Mendelson, Shay Vargaftik, Katherine Barabash, Dean H. Lorenz, Isaac Keslassy,
// Ariel Orda, "AnchorHash: A Scalable Consistent Hash" (IEEE/ACM ToN 2021, arXiv:2009.09338),
// algorithm 3 (the O(1)-memory-per-bucket implementation with arrays A, K, W, L and stack R).

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "bulwark/core/hash.hpp"
#include "bulwark/detail/raise.hpp"
#include "bulwark/hashing/detail/placement_base.hpp"
#include "bulwark/hashing/node.hpp"

namespace bulwark {

/// Options of anchor_hash.
struct anchor_hash_options {
  /// The anchor set's size a: the most nodes the placement can ever hold at once. 0 (the
  /// default) means 2 x the initial node count, at least 64. Lookups cost more as the working
  /// set shrinks below it (expected 1 + ln(a / w) steps), so do not oversize it by orders of
  /// magnitude.
  std::uint32_t capacity = 0;
};

namespace detail {
inline void validate(const anchor_hash_options& options, std::span<const node> nodes) {
  check_nodes("anchor_hash", nodes);
  check_unit_weights("anchor_hash", nodes);
  const option_check check{"anchor_hash"};
  check.at_most("nodes", nodes.size(), std::size_t{std::numeric_limits<std::uint32_t>::max() / 2});
  // 0 picks 2 x the node count, at least 64, which passes.
  if (options.capacity != 0)
    check.at_least("capacity", options.capacity, static_cast<std::uint32_t>(nodes.size()));
}
}  // namespace detail

/// Why AnchorHash for "O(1) lookup and arbitrary removal": jump hash can only drop its last
/// bucket and maglev moves a few percent of other keys on every change, while AnchorHash
/// removes *any* node moving only that node's keys (minimal disruption, proven in the paper),
/// keeps balance perfect in expectation, looks up in expected O(1) time (fewer than
/// 1 + ln(a / w) hops, with a the capacity and w the working nodes), and needs 16 bytes per
/// bucket, with no table to rebuild: a change is O(1) on the arrays (O(a) here, because each
/// change copies the arrays into a new immutable snapshot).
///
/// The price: the mapping depends on the history of additions and removals, not only on the
/// current node set. Two processes agree when they start from the same node list and capacity
/// and apply the same changes in the same order (a replicated log of membership changes);
/// re-adding a node reuses the most recently removed bucket, so removing and re-adding a node
/// restores the previous placement exactly. Weights are not supported (must be 1).
///
/// Hashes: the first bucket is h mod a, and a removed bucket b re-hashes with
/// hash64(h, seed = b) mod A[b]; the paper leaves the hash family open.
/// Thread-safety: immutable after construction; every const member is safe from any thread.
/// Memory: 16 bytes per bucket plus the node list. Lookup: O(1 + ln(a / w)) expected.
class anchor_hash : public detail::placement_base<anchor_hash, anchor_hash_options> {
 public:
  static constexpr std::string_view component = "anchor_hash";

  /// Node i gets bucket i. Throws std::invalid_argument for a bad node list, a weight other
  /// than 1, or a capacity smaller than the node count.
  explicit anchor_hash(std::vector<node> nodes, anchor_hash_options options = {})
      : placement_base{(detail::validate(options, nodes), std::move(nodes)), options} {
    const auto w = static_cast<std::uint32_t>(nodes_.size());
    if (options_.capacity == 0) options_.capacity = std::max<std::uint32_t>(2 * w, 64);
    init(options_.capacity, w);
  }

  /// The index of the node owning key hash `h` (GETBUCKET). O(1) expected.
  [[nodiscard]] std::size_t index_for_hash(std::uint64_t h) const noexcept {
    return bucket_node_[bucket_for(h)];
  }

  /// Preference order: the owner of h, then of h rehashed with seeds 1, 2, ..., each once.
  template <class Visit>
  void for_each_candidate(std::uint64_t h, Visit&& visit) const {
    visit_rehashed(h, visit);
  }

  /// A placement with `n` added on the most recently removed bucket (ADDBUCKET): keys move
  /// only to `n`. Throws std::invalid_argument for a repeated name or a weight other than 1,
  /// and std::length_error when all `capacity` buckets are in use.
  [[nodiscard]] anchor_hash with_added(const node& n) const {
    anchor_hash next = *this;
    next.nodes_.push_back(n);
    detail::check_nodes(component, next.nodes_);
    detail::check_unit_weights(component, next.nodes_);
    if (next.removed_.empty()) {
      detail::raise<std::length_error>("bulwark::anchor_hash: capacity " +
                                       std::to_string(options_.capacity) + " reached");
    }
    const std::uint32_t b = next.add_bucket();
    next.bucket_node_[b] = static_cast<std::uint32_t>(next.nodes_.size() - 1);
    next.node_bucket_.push_back(b);
    return next;
  }

  /// A placement without the node named `name` (REMOVEBUCKET): only its keys move, spread
  /// evenly over the others. Throws std::invalid_argument if no node has that name, or it is
  /// the only one.
  [[nodiscard]] anchor_hash with_removed(std::string_view name) const {
    std::size_t i = 0;
    while (i < nodes_.size() && nodes_[i].name != name)
      ++i;
    const option_check check{component};
    check.that(i < nodes_.size(), "removed node", "a member", std::string{name});
    check.that(nodes_.size() > 1, "nodes", "non-empty", std::size_t{0});
    anchor_hash next = *this;
    const std::uint32_t b = next.node_bucket_[i];
    next.remove_bucket(b);
    next.bucket_node_[b] = no_node;
    next.nodes_.erase(next.nodes_.begin() + static_cast<std::ptrdiff_t>(i));
    next.node_bucket_.erase(next.node_bucket_.begin() + static_cast<std::ptrdiff_t>(i));
    // Later nodes shift down by one in the list; their buckets are unchanged.
    for (std::size_t j = i; j < next.node_bucket_.size(); ++j) {
      next.bucket_node_[next.node_bucket_[j]] = static_cast<std::uint32_t>(j);
    }
    return next;
  }

  /// The bucket node i occupies.
  [[nodiscard]] std::uint32_t bucket_of(std::size_t i) const noexcept { return node_bucket_[i]; }
  [[nodiscard]] std::size_t memory_bytes() const noexcept {
    return (a_.capacity() + k_.capacity() + w_.capacity() + l_.capacity() + removed_.capacity() +
            bucket_node_.capacity() + node_bucket_.capacity()) *
               sizeof(std::uint32_t) +
           node_bytes();
  }

 private:
  static constexpr std::uint32_t no_node = ~std::uint32_t{0};

  // INITANCHOR(a, w): buckets w..a-1 start removed, the highest first, so that A[b] = b says
  // "b was removed when b buckets were left" and W_b = {0, ..., b - 1}.
  void init(std::uint32_t a, std::uint32_t w) {
    a_.assign(a, 0);
    k_.resize(a);
    w_.resize(a);
    l_.resize(a);
    for (std::uint32_t b = 0; b < a; ++b)
      k_[b] = w_[b] = l_[b] = b;
    removed_.clear();
    for (std::uint32_t b = a; b-- > w;) {
      removed_.push_back(b);
      a_[b] = b;
    }
    working_ = w;
    bucket_node_.assign(a, no_node);
    node_bucket_.resize(w);
    for (std::uint32_t b = 0; b < w; ++b)
      bucket_node_[b] = node_bucket_[b] = b;
  }

  // GETBUCKET(k). A[b] > 0 marks b removed, and A[b] is the size of the working set W_b just
  // after its removal; a candidate h with A[h] >= A[b] was removed before b, so it is replaced
  // by K[h] (its successor at removal time) until a bucket of W_b is found.
  [[nodiscard]] std::uint32_t bucket_for(std::uint64_t h) const noexcept {
    auto b = static_cast<std::uint32_t>(h % a_.size());
    while (a_[b] > 0) {
      auto c = static_cast<std::uint32_t>(hash64(h, b) % a_[b]);
      while (a_[c] >= a_[b])
        c = k_[c];
      b = c;
    }
    return b;
  }

  // ADDBUCKET(): restores the most recently removed bucket.
  std::uint32_t add_bucket() {
    const std::uint32_t b = removed_.back();
    removed_.pop_back();
    a_[b] = 0;
    l_[w_[working_]] = working_;
    w_[l_[b]] = k_[b] = b;
    ++working_;
    return b;
  }

  // REMOVEBUCKET(b).
  void remove_bucket(std::uint32_t b) {
    removed_.push_back(b);
    --working_;
    a_[b] = working_;
    w_[l_[b]] = k_[b] = w_[working_];
    l_[w_[working_]] = l_[b];
  }

  std::vector<std::uint32_t> a_, k_, w_, l_;  // the paper's arrays A, K, W, L
  std::vector<std::uint32_t> removed_;        // the paper's stack R
  std::uint32_t working_ = 0;                 // the paper's N
  std::vector<std::uint32_t> bucket_node_;    // bucket -> index in nodes_, or no_node
  std::vector<std::uint32_t> node_bucket_;    // index in nodes_ -> bucket
};

}  // namespace bulwark
