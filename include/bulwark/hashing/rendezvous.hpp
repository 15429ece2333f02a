#pragma once
// Rendezvous (highest random weight) hashing: Thaler and Ravishankar, "Using name-based
// mappings to increase hit rates" (IEEE/ACM ToN, 1998), weighted by the logarithmic method
// (Schindelhauer and Schomaker, "Weighted distributed hash tables", SPAA 2005), which is what
// Ceph's straw2 bucket computes (ln(u) / w, highest wins).

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>
#include <utility>
#include <vector>

#include "bulwark/core/hash.hpp"
#include "bulwark/hashing/detail/placement_base.hpp"
#include "bulwark/hashing/node.hpp"

namespace bulwark {

/// Options of rendezvous.
struct rendezvous_options {
  /// Mixed into every node's seed, to derive an independent placement from the same nodes.
  std::uint64_t seed = 0;
};

namespace detail {
inline void validate(const rendezvous_options&, std::span<const node> nodes) {
  check_nodes("rendezvous", nodes);
}
}  // namespace detail

/// Each node draws a score for each key and the highest score wins. The draw is
/// u = hash64(key hash, seed = hash64(node name) ^ options.seed), taken as a uniform number in
/// (0, 1), and the weighted score is -w / ln(u): the same winner as straw2's ln(u) / w, and the
/// winner is node i with probability w_i / sum(w) exactly (the logarithmic method), not
/// approximately as with w * u.
///
/// Disruption is the minimum possible: removing a node moves only its own keys, each to the
/// node that scored second; adding one moves to it only the keys it now wins. No table, so
/// building is O(n) and memory is the node list, but a lookup scores every node: O(n). It
/// suits tens of nodes, or weighted top-k replica choice (for_each_candidate); above that,
/// prefer maglev or a ring. When all weights are equal the logarithm is skipped (the raw draw
/// orders the same), which makes unweighted lookups several times cheaper.
///
/// Thread-safety: immutable after construction; every const member is safe from any thread.
class rendezvous : public detail::placement_base<rendezvous, rendezvous_options> {
 public:
  static constexpr std::string_view component = "rendezvous";

  /// Throws std::invalid_argument for a bad node list.
  explicit rendezvous(std::vector<node> nodes, rendezvous_options options = {})
      : placement_base{(detail::validate(options, nodes), std::move(nodes)), options} {
    seeds_.reserve(nodes_.size());
    weights_.reserve(nodes_.size());
    uniform_ = true;
    for (const node& n : nodes_) {
      seeds_.push_back(hash64(n.name) ^ options_.seed);
      weights_.push_back(static_cast<double>(n.weight));
      uniform_ = uniform_ && n.weight == nodes_.front().weight;
    }
  }

  /// The node with the highest score for key hash `h`; ties (which need equal 64-bit draws)
  /// go to the lower index. O(n).
  [[nodiscard]] std::size_t index_for_hash(std::uint64_t h) const noexcept {
    std::size_t best = 0;
    if (uniform_) {
      std::uint64_t best_draw = 0;
      for (std::size_t i = 0; i < seeds_.size(); ++i) {
        const std::uint64_t d = hash64(h, seeds_[i]);
        if (i == 0 || d > best_draw) {
          best = i;
          best_draw = d;
        }
      }
      return best;
    }
    double best_score = 0.0;
    for (std::size_t i = 0; i < seeds_.size(); ++i) {
      const double s = score(h, i);
      if (i == 0 || s > best_score) {
        best = i;
        best_score = s;
      }
    }
    return best;
  }

  /// The weighted score of node i for key hash h: -w_i / ln(u), u in (0, 1). Higher wins.
  [[nodiscard]] double score(std::uint64_t h, std::size_t i) const noexcept {
    // The top 53 bits, offset by half a step, give a double strictly inside (0, 1): ln(u) is
    // finite and negative, so the score is finite and positive.
    const std::uint64_t d = hash64(h, seeds_[i]);
    const double u = (static_cast<double>(d >> 11) + 0.5) * 0x1.0p-53;
    return -weights_[i] / std::log(u);
  }

  /// Preference order: nodes by descending score (the top-k of rendezvous hashing), each
  /// once. O(n log n) to sort the scores, computed once per call.
  template <class Visit>
  void for_each_candidate(std::uint64_t h, Visit&& visit) const {
    // Ranked by the same quantity index_for_hash compares (the raw draw when weights are
    // equal, the score otherwise), so the first candidate is always the owner.
    std::vector<std::pair<double, std::size_t>> by_score;
    std::vector<std::pair<std::uint64_t, std::size_t>> by_draw;
    if (uniform_) {
      by_draw.resize(nodes_.size());
      for (std::size_t i = 0; i < nodes_.size(); ++i)
        by_draw[i] = {hash64(h, seeds_[i]), i};
      rank_and_visit(by_draw, visit);
    } else {
      by_score.resize(nodes_.size());
      for (std::size_t i = 0; i < nodes_.size(); ++i)
        by_score[i] = {score(h, i), i};
      rank_and_visit(by_score, visit);
    }
  }

  /// The `k` highest-scoring node indices for `h`, best first (k is capped at the node count).
  [[nodiscard]] std::vector<std::size_t> top(std::uint64_t h, std::size_t k) const {
    std::vector<std::size_t> out;
    out.reserve(std::min(k, nodes_.size()));
    if (k == 0) return out;
    for_each_candidate(h, [&](std::size_t i) {
      out.push_back(i);
      return out.size() < k;
    });
    return out;
  }

  [[nodiscard]] std::size_t memory_bytes() const noexcept {
    return node_bytes() + seeds_.capacity() * sizeof(std::uint64_t) +
           weights_.capacity() * sizeof(double);
  }

 private:
  // Highest first, ties to the lower index (as index_for_hash breaks them).
  template <class Key, class Visit>
  static void rank_and_visit(std::vector<std::pair<Key, std::size_t>>& ranked, Visit& visit) {
    std::sort(ranked.begin(), ranked.end(), [](const auto& a, const auto& b) {
      return a.first > b.first || (a.first == b.first && a.second < b.second);
    });
    for (const auto& r : ranked) {
      if (!visit(r.second)) return;
    }
  }

  std::vector<std::uint64_t> seeds_;  // per node, precomputed: a lookup hashes no strings
  std::vector<double> weights_;
  bool uniform_ = true;
};

}  // namespace bulwark
