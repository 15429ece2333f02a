#pragma once
// A consistent-hash ring with virtual nodes (Karger et al., STOC 1997), built exactly as Envoy's
// ring_hash load balancer builds it, so that a C++ service and an Envoy in front of it route a
// key hash to the same host.

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <numeric>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "bulwark/core/hash.hpp"
#include "bulwark/hashing/detail/continuum.hpp"
#include "bulwark/hashing/detail/placement_base.hpp"
#include "bulwark/hashing/node.hpp"

namespace bulwark {

/// Options of hash_ring; the defaults are Envoy's RingHashLbConfig defaults.
struct hash_ring_options {
  /// The ring has at least this many points (Envoy's minimum_ring_size, default 1024). For a
  /// fixed number of points per node, use points_per_node * node count (e.g. 160 * n).
  std::uint64_t min_ring_size = 1024;
  /// And at most this many (Envoy's maximum_ring_size, default 8M): caps the memory when
  /// weights are very uneven.
  std::uint64_t max_ring_size = 8 * 1024 * 1024;
  /// 0 (the default): size the ring from min_ring_size as Envoy does. Otherwise each node gets
  /// exactly weight x points_per_weight points (still "<name>_<i>", i = 0, 1, ...), whatever
  /// the other nodes are: then adding or removing a node leaves every other node's points in
  /// place, which Envoy's sizing does not (its points per node follow min_ring_size / n, so a
  /// change of n adds or drops points of every node). With equal weights and min_ring_size =
  /// points_per_weight x n the two give the same ring. The ring may not exceed max_ring_size.
  std::uint32_t points_per_weight = 0;
};

namespace detail {
inline void validate(const hash_ring_options& options, std::span<const node> nodes) {
  check_nodes("hash_ring", nodes);
  const option_check check{"hash_ring"};
  check.positive("min_ring_size", options.min_ring_size);
  check.at_least("max_ring_size", options.max_ring_size, options.min_ring_size);
  if (options.points_per_weight > 0) {
    const std::uint64_t points = total_weight(nodes) * options.points_per_weight;
    check.that(points <= options.max_ring_size, "points_per_weight",
               "at most max_ring_size / total weight", options.points_per_weight);
  }
}
}  // namespace detail

/// Virtual nodes on a 64-bit ring: each node owns points at hash64("<name>_<i>"), i = 0, 1, ...,
/// and a key hash belongs to the owner of the first point at or after it, wrapping to the
/// first point of the ring.
///
/// The construction is Envoy's (source/common/upstream/ring_hash_lb.cc): weights are
/// normalised to sum to 1, the scale is min(ceil(min_w * min_ring_size) / min_w,
/// max_ring_size), and points are handed out from running sums (target += scale * w_i; add
/// points while current < target), so the lightest node gets at least
/// ceil(min_w * min_ring_size) points and the ring size is about ceil(scale). Point hashes are
/// XXH64 with seed 0 of the decimal key, which is Envoy's default hash_function (XX_HASH).
/// Name each node as Envoy names the host (its address "10.0.0.7:8080", or the hostname when
/// use_hostname_for_hashing is set) and pass Envoy's request hash to node_for_hash.
///
/// Adding or removing a node moves only the keys of the arcs it gains or loses, about 1/n of
/// them, all to or from that node. Thread-safety: immutable after construction; every const
/// member is safe from any thread. Memory: 12 bytes per point. Lookup: O(log points).
/// Build: O(points log points).
class hash_ring : public detail::placement_base<hash_ring, hash_ring_options> {
 public:
  static constexpr std::string_view component = "hash_ring";

  /// Throws std::invalid_argument for a bad node list (see check_nodes), min_ring_size 0, or
  /// max_ring_size < min_ring_size.
  explicit hash_ring(std::vector<node> nodes, hash_ring_options options = {})
      : placement_base{(detail::validate(options, nodes), std::move(nodes)), options} {
    build();
  }

  /// The index of the node owning key hash `h`. O(log points).
  [[nodiscard]] std::size_t index_for_hash(std::uint64_t h) const noexcept {
    return ring_.owner_of(h);
  }
  // node_for(key) hashes with hash64 (seed 0): what Envoy's header hash policy computes for a
  // header value.

  /// Preference order: the owners of the points met walking clockwise from `h` (HAProxy's
  /// and Envoy's order for bounded loads), each node once.
  template <class Visit>
  void for_each_candidate(std::uint64_t h, Visit&& visit) const {
    visit_table_from(ring_.owners(), ring_.first_at_or_after(h), visit);
  }

  /// The ring's points in ascending order (for inspection and tests).
  [[nodiscard]] std::span<const std::uint64_t> points() const noexcept { return ring_.points(); }
  /// owners()[i] is the node index owning points()[i].
  [[nodiscard]] std::span<const std::uint32_t> owners() const noexcept { return ring_.owners(); }
  /// Bytes held by the ring's arrays and the node list's array.
  [[nodiscard]] std::size_t memory_bytes() const noexcept { return ring_.bytes() + node_bytes(); }

 private:
  void build() {
    const double total = static_cast<double>(total_weight());
    std::vector<double> normalized(nodes_.size());
    double min_w = 1.0;
    for (std::size_t i = 0; i < nodes_.size(); ++i) {
      normalized[i] = static_cast<double>(nodes_[i].weight) / total;
      min_w = std::min(min_w, normalized[i]);
    }
    const double scale =
        std::min(std::ceil(min_w * static_cast<double>(options_.min_ring_size)) / min_w,
                 static_cast<double>(options_.max_ring_size));
    std::vector<detail::continuum<std::uint64_t>::entry> ring;
    ring.reserve(options_.points_per_weight > 0
                     ? static_cast<std::size_t>(total_weight() * options_.points_per_weight)
                     : static_cast<std::size_t>(std::ceil(scale)));
    // Running sums across the whole node list, as Envoy keeps them, so rounding never drifts:
    // the ring holds ceil(scale) points in total whatever the weights.
    double current = 0.0;
    double target = 0.0;
    std::string key;
    for (std::size_t i = 0; i < nodes_.size(); ++i) {
      if (options_.points_per_weight > 0) {
        // Fixed points per node: a node's points do not depend on the other nodes.
        current = 0.0;
        target = static_cast<double>(std::uint64_t{nodes_[i].weight} * options_.points_per_weight);
      } else {
        target += scale * normalized[i];
      }
      key.assign(nodes_[i].name).push_back('_');
      const std::size_t prefix = key.size();
      for (std::uint64_t k = 0; current < target; ++k, current += 1.0) {
        key.resize(prefix);
        key += std::to_string(k);
        ring.push_back({hash64(key), static_cast<std::uint32_t>(i)});
      }
    }
    // Ties (two points with one hash) are left unspecified by Envoy's std::sort; the
    // continuum keeps them in list order, the earlier node first.
    ring_ = detail::continuum<std::uint64_t>{std::move(ring)};
  }

  detail::continuum<std::uint64_t> ring_;
};

}  // namespace bulwark
