#pragma once
// placement<Algorithm>: a placement that changes (nodes join and leave) while other threads
// look keys up, by publishing immutable snapshots.

#include <memory>
#include <string_view>
#include <utility>
#include <vector>

#include "bulwark/core/hash.hpp"
#include "bulwark/detail/published.hpp"
#include "bulwark/hashing/node.hpp"

namespace bulwark {

/// A live placement: lookups read the current immutable snapshot of `Algorithm`; add(),
/// remove() and assign() build a new one beside it and publish it with one atomic store.
/// A lookup therefore never waits for a rebuild (a 65537-entry maglev takes milliseconds to
/// build) and never sees a half-built table: it sees the old snapshot or the new one.
///
///   bulwark::placement<bulwark::maglev> cache_tier({{.name = "10.0.0.1:11211"}, ...});
///   auto owner = cache_tier.snapshot()->node_for("user:42").name;
///   cache_tier.remove("10.0.0.1:11211");   // lookups go on meanwhile
///
/// Hold snapshot() for a batch of lookups, or to keep a returned node reference valid: the
/// snapshot lives as long as a shared_ptr to it does.
///
/// Thread-safety: every member is safe from any thread. Writers are serialised by a mutex
/// (readers never take it); see detail::published for what a reader may wait for (another
/// reader's reference-count increment, never a rebuild). Complexity: snapshot() O(1); a change
/// costs one build of the algorithm.
template <placement_algorithm Algorithm>
class placement {
 public:
  using options_type = typename Algorithm::options_type;

  /// Builds the first snapshot; throws what Algorithm's constructor throws.
  explicit placement(std::vector<node> nodes, options_type options = {})
      : current_{std::make_shared<const Algorithm>(std::move(nodes), options)} {}

  /// The current snapshot (an acquire load: its contents are visible to the reader).
  [[nodiscard]] std::shared_ptr<const Algorithm> snapshot() const { return current_.load(); }

  /// The node owning `key` in the current snapshot, by value (the snapshot may be replaced as
  /// soon as this returns). For many lookups, take snapshot() once instead.
  [[nodiscard]] node node_for(std::string_view key) const { return snapshot()->node_for(key); }
  [[nodiscard]] node node_for_hash(std::uint64_t h) const { return snapshot()->node_for_hash(h); }

  /// Publishes a snapshot with `n` added. Throws (and publishes nothing) if the algorithm
  /// refuses the node.
  void add(const node& n) {
    update([&](const Algorithm& a) { return a.with_added(n); });
  }
  /// Publishes a snapshot without the node named `name`. Throws (and publishes nothing) if
  /// there is no such node, or the algorithm cannot remove it (jump_nodes: not the last).
  void remove(std::string_view name) {
    update([&](const Algorithm& a) { return a.with_removed(name); });
  }
  /// Publishes a snapshot built from scratch over `nodes`.
  void assign(std::vector<node> nodes, options_type options) {
    current_.store(std::make_shared<const Algorithm>(std::move(nodes), options));
  }

  /// Applies `change` (a function from the current Algorithm to the next one) under the writer
  /// lock, so concurrent changes compose rather than overwrite each other.
  template <class Change>
  void update(Change&& change) {
    current_.update(std::forward<Change>(change));
  }

 private:
  detail::published<Algorithm> current_;
};

}  // namespace bulwark
