#pragma once
// The value types of replica_selector: read preferences with MongoDB's definitions ("Server
// Selection" and "Max Staleness" specifications), options, members, the handle a selection
// returns and the errors it throws.

#include <atomic>
#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "bulwark/core/clock.hpp"
#include "bulwark/core/errors.hpp"

namespace bulwark {

/// Which members a read may go to (MongoDB's read preference modes).
enum class read_mode {
  primary,              ///< only the primary; no non-empty tag set, no max staleness
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

/// execute_write() found no primary: it is marked down and no replica has been promoted.
class no_primary : public rejected {
 public:
  no_primary() : rejected{"replica_selector", "no primary (writes refused until one is set)"} {}
};

/// execute_read() found no member matching the read preference (and token).
class no_replica_available : public rejected {
 public:
  no_replica_available() : rejected{"replica_selector", "no member matches the read preference"} {}
};

/// The member a read or write goes to. Counts one operation in progress on that member (the
/// load that power of two choices compares) until destroyed or done(). Move-only; must not
/// outlive its selector.
class replica_handle {
 public:
  replica_handle() noexcept = default;
  replica_handle(std::string id, bool is_primary, std::atomic<std::uint32_t>* ops) noexcept
      : id_{std::move(id)}, primary_{is_primary}, ops_{ops} {
    ops_->fetch_add(1, std::memory_order_relaxed);  // a load signal only: relaxed
  }
  replica_handle(replica_handle&& other) noexcept
      : id_{std::move(other.id_)},
        primary_{other.primary_},
        ops_{std::exchange(other.ops_, nullptr)} {}
  replica_handle& operator=(replica_handle&& other) noexcept {
    if (this != &other) {
      done();
      id_ = std::move(other.id_);
      primary_ = other.primary_;
      ops_ = std::exchange(other.ops_, nullptr);
    }
    return *this;
  }
  ~replica_handle() { done(); }

  explicit operator bool() const noexcept { return ops_ != nullptr; }
  [[nodiscard]] const std::string& id() const noexcept { return id_; }
  /// True if the member was the primary when selected.
  [[nodiscard]] bool is_primary() const noexcept { return primary_; }
  /// Ends the operation (idempotent).
  void done() noexcept {
    if (ops_ != nullptr) std::exchange(ops_, nullptr)->fetch_sub(1, std::memory_order_relaxed);
  }

 private:
  std::string id_{};
  bool primary_ = false;
  std::atomic<std::uint32_t>* ops_ = nullptr;
};

}  // namespace bulwark
