#pragma once
// live_router<Router>: a router that changes (splits, migrations, new shards) while other
// threads route keys, by publishing immutable snapshots.

#include <cstddef>
#include <memory>
#include <string>
#include <utility>

#include "bulwark/detail/published.hpp"

namespace bulwark {

/// A router that can be replaced while other threads use it: lookups read the current
/// immutable snapshot; update() and assign() publish the next one with one atomic store.
/// A lookup never waits for a rebuild and never sees a half-built router.
///
///   bulwark::live_router cluster{bulwark::slot_router::evenly({"a", "b", "c"})};
///   auto shard = cluster.shard_for("user:42");                   // any thread
///   cluster.update([](const auto& r) { return r.begin_migration(0, 99, "d"); });
///
/// For a batch of lookups, or to read the shard's name, take snapshot() once: it keeps that
/// router alive (and its shard indices meaningful) for as long as the pointer is held.
///
/// Not copyable or movable (it owns the writer mutex and is shared by reference): build it in
/// place, or hold it by std::unique_ptr or std::shared_ptr.
/// Thread-safety: every member is safe from any thread; writers are serialised by a mutex that
/// readers never take (see detail::published). Complexity: snapshot() O(1); shard_for adds one
/// snapshot load to the router's lookup; a change costs one copy of the router.
template <class Router>
class live_router {
 public:
  using router_type = Router;

  explicit live_router(Router first) : current_{std::make_shared<const Router>(std::move(first))} {}

  /// The current router (an acquire load: its contents are visible to the reader).
  [[nodiscard]] std::shared_ptr<const Router> snapshot() const { return current_.load(); }

  /// The current router's shard for `key`, with its name, read from one snapshot (an index
  /// alone could be stale against the next snapshot's shards()).
  template <class K>
  [[nodiscard]] std::string shard_name_for(const K& key) const {
    const auto router = snapshot();
    return std::string{router->shards()[router->shard_for(key)]};
  }

  /// The current router's shard index for `key`, in the shards() of the snapshot current at
  /// the call. range_router and slot_router edits only append to shards(), so for them the
  /// index stays valid in later snapshots; a consistent_router that loses a shard renumbers,
  /// so there use shard_name_for or one snapshot for both lookup and name.
  template <class K>
  [[nodiscard]] std::size_t shard_for(const K& key) const {
    return snapshot()->shard_for(key);
  }

  /// Publishes `next`.
  void assign(Router next) { current_.store(std::make_shared<const Router>(std::move(next))); }

  /// Publishes change(current) under the writer lock, so concurrent changes compose; publishes
  /// nothing if change throws (a refused split leaves the router as it was).
  template <class Change>
  void update(Change&& change) {
    current_.update(std::forward<Change>(change));
  }

 private:
  detail::published<Router> current_;
};

}  // namespace bulwark
