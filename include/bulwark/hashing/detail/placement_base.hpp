#pragma once
// The members every placement algorithm of bulwark/hashing shares, in one place: the node list
// and options, the lookups by key and by node, the rebuilding with_added/with_removed, and the
// two preference orders (a table walked from the owner's slot, or the key rehashed).

#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>
#include <utility>
#include <vector>

#include "bulwark/core/hash.hpp"
#include "bulwark/core/options.hpp"
#include "bulwark/hashing/node.hpp"

namespace bulwark::detail {

/// The weight check of an algorithm that gives each node one bucket (jump_nodes, anchor_hash):
/// every weight must be 1.
inline void check_unit_weights(std::string_view component, std::span<const node> nodes) {
  const option_check check{component};
  for (const node& n : nodes)
    check.that(n.weight == 1, "node weight", "1", n.weight);
}

/// Base of each algorithm `Derived` (CRTP, so lookups stay direct calls that inline): holds the
/// checked node list and the options. `Derived` provides `index_for_hash`, a constructor
/// `Derived(std::vector<node>, Options)` and `static constexpr std::string_view component`, the
/// name its error messages carry. Each algorithm validates its inputs as every component does,
/// with a `detail::validate(const Options&, std::span<const node>)` declared before its class:
/// check_nodes first, then what the options say (about the nodes too: a ring's size, an anchor
/// set's capacity). Its constructor calls it before handing the nodes to this base:
/// `placement_base{(detail::validate(options, nodes), std::move(nodes)), options}`.
/// with_added and with_removed build a new placement from the changed node list, so through
/// that constructor; an algorithm whose changes are not rebuilds (anchor_hash, jump_nodes)
/// declares its own, which hide these.
template <class Derived, class Options>
class placement_base {
 public:
  using options_type = Options;

  /// The node owning key hash `h`.
  [[nodiscard]] const node& node_for_hash(std::uint64_t h) const noexcept {
    return nodes_[self().index_for_hash(h)];
  }
  /// The node owning `key`, hashed with hash64 (seed 0).
  [[nodiscard]] const node& node_for(std::string_view key) const noexcept {
    return node_for_hash(hash64(key));
  }

  /// A placement with `n` added, built from scratch over the longer list.
  [[nodiscard]] Derived with_added(const node& n) const {
    return Derived{nodes_with(nodes_, n), options_};
  }
  /// A placement without the node named `name`, built from scratch. Throws
  /// std::invalid_argument if no node is named `name`, or it is the only one.
  [[nodiscard]] Derived with_removed(std::string_view name) const {
    return Derived{nodes_without(Derived::component, nodes_, name), options_};
  }

  [[nodiscard]] std::span<const node> nodes() const noexcept { return nodes_; }
  [[nodiscard]] const Options& options() const noexcept { return options_; }

 protected:
  /// `nodes` and `options` validated by Derived's constructor (see the class comment).
  placement_base(std::vector<node> nodes, Options options)
      : nodes_{std::move(nodes)}, options_{options} {}

  [[nodiscard]] std::uint64_t total_weight() const noexcept { return detail::total_weight(nodes_); }

  /// Bytes held by the node list's array (not the names' heap storage).
  [[nodiscard]] std::size_t node_bytes() const noexcept { return nodes_.capacity() * sizeof(node); }

  /// Preference order of a table of owners (ring points, maglev entries): the owners met
  /// walking forward from entry `start`, wrapping once, each node once.
  template <class Owner, class Visit>
  void visit_table_from(std::span<const Owner> owners, std::size_t start, Visit&& visit) const {
    const std::size_t m = owners.size();
    visit_distinct(
        nodes_.size(), m,
        [&](std::size_t step) {
          const std::size_t e = start + step;
          return std::size_t{owners[e < m ? e : e - m]};
        },
        visit);
  }

  /// Preference order without a table: the owner of h, then of h rehashed with seeds 1, 2, ...
  /// (at most 4n probes, then the rest by index), each node once.
  template <class Visit>
  void visit_rehashed(std::uint64_t h, Visit&& visit) const {
    visit_distinct(
        nodes_.size(), 4 * nodes_.size(),
        [&](std::size_t step) { return self().index_for_hash(step == 0 ? h : hash64(h, step)); },
        visit);
  }

  [[nodiscard]] const Derived& self() const noexcept { return static_cast<const Derived&>(*this); }

  std::vector<node> nodes_;
  Options options_;
};

}  // namespace bulwark::detail
