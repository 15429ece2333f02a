#pragma once
// detail::replica_topology: the immutable picture of a replica set that replica_selector
// publishes, and MongoDB's per-member rules read from it (staleness, tag match).

#include <algorithm>
#include <cstddef>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "bulwark/balancing/read_preference.hpp"
#include "bulwark/core/clock.hpp"
#include "bulwark/detail/raise.hpp"
#include "bulwark/detail/saturating.hpp"

namespace bulwark::detail {

/// What replica_selector knows of one member, as last reported.
template <class Position>
struct replica_member {
  std::string id;
  tag_set tags;
  bool up = true;
  std::optional<duration> rtt{};
  std::optional<Position> applied{};
  time_point last_write{};
  std::optional<time_point> last_update{};
};

/// One snapshot of the members (the primary first at construction) and which one is primary.
/// Never modified once published: a report copies it and publishes the copy.
template <class Position>
struct replica_topology {
  using member = replica_member<Position>;

  std::vector<member> members;
  std::size_t primary = 0;

  /// The index of `id`; throws std::invalid_argument for an unknown member.
  [[nodiscard]] std::size_t index_of(std::string_view id) const {
    for (std::size_t i = 0; i < members.size(); ++i)
      if (members[i].id == id) return i;
    raise<std::invalid_argument>("bulwark::replica_selector: unknown member \"" + std::string{id} +
                                 "\"");
  }

  /// MongoDB's staleness of member `i` (0 for the primary; nothing while it has no report).
  /// With the primary up and reported, against the primary:
  ///   (S.last_update - S.last_write) - (P.last_update - P.last_write) + heartbeat_frequency
  /// otherwise against the freshest secondary SMax:
  ///   SMax.last_write - S.last_write + heartbeat_frequency
  /// Every sum saturates: a heartbeat_frequency of duration::max() or reports at the ends of
  /// the clock's range give "stale without limit", never a wrapped, negative staleness.
  [[nodiscard]] std::optional<duration> staleness(std::size_t i,
                                                  duration heartbeat_frequency) const {
    if (i == primary) return duration::zero();
    const member& s = members[i];
    if (!s.last_update) return std::nullopt;
    const member& p = members[primary];
    if (p.up && p.last_update) {
      const duration behind = saturating_sub(saturating_sub(*s.last_update, s.last_write),
                                             saturating_sub(*p.last_update, p.last_write));
      return saturating_add(behind, heartbeat_frequency);
    }
    time_point freshest = s.last_write;
    for (std::size_t k = 0; k < members.size(); ++k) {
      const member& m = members[k];
      if (k != primary && m.up && m.last_update) freshest = std::max(freshest, m.last_write);
    }
    return saturating_add(saturating_sub(freshest, s.last_write), heartbeat_frequency);
  }

  /// Whether member `m` carries every tag of `tags` (an empty set matches every member).
  [[nodiscard]] static bool matches(const member& m, const tag_set& tags) {
    return std::all_of(tags.begin(), tags.end(), [&](const auto& tag) {
      const auto found = m.tags.find(tag.first);
      return found != m.tags.end() && found->second == tag.second;
    });
  }
};

}  // namespace bulwark::detail
