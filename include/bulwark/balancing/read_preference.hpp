#pragma once
// Read preferences for replica_selector, with MongoDB's definitions ("Server Selection" and
// "Max Staleness" specifications): modes, tag sets and max staleness.

#include <chrono>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "bulwark/core/clock.hpp"

namespace bulwark {

/// Which members a read may go to (MongoDB's read preference modes).
enum class read_mode {
  primary,              ///< only the primary; no tag sets or max staleness allowed
  primary_preferred,    ///< the primary if up, else as `secondary`
  secondary,            ///< only secondaries
  secondary_preferred,  ///< secondaries if any is eligible, else the primary
  nearest,              ///< primary or secondaries, whichever falls in the latency window
};

/// Tags of a member ("dc" -> "east"); a tag set matches a member that has every one of its
/// tags with the same value. The empty tag set matches every member.
using tag_set = std::map<std::string, std::string, std::less<>>;

/// A read preference. Tag sets are tried in order: the first that matches at least one
/// eligible member selects those members (MongoDB's rule); an empty list means no filter.
/// max_staleness excludes secondaries estimated to lag the primary by more than it (see
/// replica_selector); it must be at least max(90 s, heartbeat_frequency + idle_write_period).
struct read_preference {
  read_mode mode = read_mode::primary;
  std::vector<tag_set> tag_sets{};
  std::optional<duration> max_staleness{};
};

/// Options of replica_selector. Defaults are MongoDB's (localThresholdMS 15, the 10 s
/// heartbeat frequency and idle write period that the max-staleness formula assumes).
struct replica_selector_options {
  /// The latency window: members within this much of the lowest RTT are eligible.
  duration local_threshold = std::chrono::milliseconds{15};
  /// How often the caller reports each member's replication position (the heartbeat); the
  /// staleness estimate adds it as the worst case between two reports.
  duration heartbeat_frequency = std::chrono::seconds{10};
  /// How often the primary writes when otherwise idle (MongoDB: 10 s), which bounds how small
  /// max_staleness may be.
  duration idle_write_period = std::chrono::seconds{10};
  /// Weight of a new RTT sample in the moving average (MongoDB: 0.2).
  double rtt_alpha = 0.2;
  /// While waiting for a member to apply a read's token, how often to check again.
  duration causal_poll_interval = std::chrono::milliseconds{2};
  /// A tokened read that no eligible secondary can serve (after any wait) goes to the primary
  /// when true (ProxySQL's and MongoDB's behaviour); when false it finds no member.
  bool causal_fallback_to_primary = true;
};

/// One member of a replica set: an id and its tags.
struct replica {
  std::string id{};
  tag_set tags{};
};

}  // namespace bulwark
