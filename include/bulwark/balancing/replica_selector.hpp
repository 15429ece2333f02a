#pragma once
// replica_selector: where reads and writes go in a primary/replica database. MongoDB's server
// selection (read preference modes, tag sets, latency window with power of two choices) and
// max staleness, read-your-writes by position tokens across sessions, and failover.

#include <algorithm>
#include <atomic>
#include <concepts>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "bulwark/balancing/detail/replica_topology.hpp"
#include "bulwark/balancing/read_preference.hpp"
#include "bulwark/core/clock.hpp"
#include "bulwark/core/errors.hpp"
#include "bulwark/core/options.hpp"
#include "bulwark/core/random.hpp"
#include "bulwark/detail/published.hpp"
#include "bulwark/detail/raise.hpp"
#include "bulwark/detail/saturating.hpp"

namespace bulwark {

namespace detail {
inline void validate(const replica_selector_options& options) {
  const option_check check{"replica_selector"};
  check.non_negative("local_threshold", options.local_threshold);
  check.positive("heartbeat_frequency", options.heartbeat_frequency);
  check.non_negative("idle_write_period", options.idle_write_period);
  check.fraction("rtt_alpha", options.rtt_alpha);
  check.positive("causal_poll_interval", options.causal_poll_interval);
}

/// A read preference is checked per call, against the selector's options (`selector`), which
/// set the floor of max_staleness.
inline void validate(const read_preference& pref, const replica_selector_options& selector) {
  const option_check check{"read_preference"};
  if (pref.mode == read_mode::primary) {
    // Only a non-empty tag set is an error: the default list [{}] matches every member.
    const auto tagged = std::count_if(pref.tag_sets.begin(), pref.tag_sets.end(),
                                      [](const tag_set& tags) { return !tags.empty(); });
    check.that(tagged == 0, "tag_sets", "empty with mode primary", tagged);
    check.that(!pref.max_staleness, "max_staleness", "unset with mode primary",
               pref.max_staleness.value_or(duration::zero()));
  }
  if (pref.max_staleness) {
    const duration floor = std::max<duration>(
        std::chrono::seconds{90},
        saturating_add(selector.heartbeat_frequency, selector.idle_write_period));
    check.at_least("max_staleness", *pref.max_staleness, floor);
  }
}
}  // namespace detail

/// Routes reads and writes over one primary and N replicas.
///
/// The caller reports what it observes: report_rtt() for round trips (a moving average, as
/// MongoDB keeps), report_position() for each member's applied replication position and the
/// time of its last applied write (from heartbeats, `SHOW REPLICA STATUS`, `replSetGetStatus`,
/// `pg_last_wal_replay_lsn()`), mark_down()/mark_up() for failures, promote() for failover.
///
/// Reads (select_read) follow MongoDB's server selection: the mode's candidates, then max
/// staleness, then the first matching tag set, then the latency window (RTT within
/// local_threshold of the fastest candidate), then power of two choices on operations in
/// progress inside the window. A read that carries a position token (what a write returned:
/// an LSN, GTID sequence, opTime) goes only to members that have applied it; if none has, it
/// waits up to `wait` for one to catch up, then goes to the primary (or finds nothing, per
/// options; secondary_preferred always falls back to the primary). Tokens are plain values, so they
/// work across sessions and processes, unlike ProxySQL's per-session causal reads.
///
/// Staleness of secondary S (MongoDB's formula), with primary P known:
///   (S.last_update - S.last_write) - (P.last_update - P.last_write) + heartbeat_frequency
/// and without a primary, against the freshest secondary SMax:
///   SMax.last_write - S.last_write + heartbeat_frequency
/// where last_update is when the report was made and last_write the member's last applied
/// write time. A secondary with no report yet has unknown staleness and is excluded when
/// max_staleness is set. Members with no RTT report count as RTT 0 (new members get tried).
///
/// Thread-safety: every member is safe from any thread. Reads of the topology take no lock
/// (an immutable snapshot in a detail::published); reports copy it under its writer lock.
/// Complexity: select O(n) plus any wait; reports O(n).
template <std::totally_ordered Position = std::uint64_t, clock Clock = steady_clock>
class replica_selector {
 public:
  /// Throws std::invalid_argument for bad options, an empty or repeated id.
  replica_selector(replica primary, std::vector<replica> replicas,
                   replica_selector_options options = {}, Clock clock = {})
      : options_{(detail::validate(options), options)},
        clock_{std::move(clock)},
        current_{first_topology(std::move(primary), std::move(replicas))},
        ops_{std::make_unique<std::atomic<std::uint32_t>[]>(current_.load()->members.size())} {}

  /// Records a round-trip time for `id`: rtt = alpha x sample + (1 - alpha) x rtt, the first
  /// sample taken as is (MongoDB's "Calculation of Average Round Trip Times").
  void report_rtt(std::string_view id, duration sample) {
    modify(id, [&](member& m) {
      // Rounded, not truncated, so a floating-point error just below a nanosecond is not lost.
      m.rtt = m.rtt ? std::chrono::round<duration>(options_.rtt_alpha * sample +
                                                   (1 - options_.rtt_alpha) * *m.rtt)
                    : sample;
    });
  }

  /// The RTT average of `id` (the one the latency window compares), nothing before a report.
  [[nodiscard]] std::optional<duration> average_rtt(std::string_view id) const {
    const auto t = current_.load();
    return t->members[t->index_of(id)].rtt;
  }

  /// Records that `id` has applied everything up to `applied`, whose write happened at
  /// `last_write` (on the primary's clock as replicated); the report time is now.
  void report_position(std::string_view id, Position applied, time_point last_write) {
    const time_point now = clock_.now();
    modify(id, [&](member& m) {
      m.applied = applied;
      m.last_write = last_write;
      m.last_update = now;
    });
  }

  /// Takes `id` out of (or puts it back into) selection. A primary marked down stays the
  /// primary: writes are refused with no_primary until it is marked up or another is promoted.
  void mark_down(std::string_view id) {
    modify(id, [](member& m) { m.up = false; });
  }
  void mark_up(std::string_view id) {
    modify(id, [](member& m) { m.up = true; });
  }

  /// Makes `id` the primary (and up); the old primary becomes a secondary, keeping its up or
  /// down mark. Throws std::invalid_argument for an unknown id.
  void promote(std::string_view id) {
    current_.update([&](const topology& now) {
      topology next = now;
      const auto i = next.index_of(id);
      next.primary = i;
      next.members[i].up = true;
      return next;
    });
  }

  /// The primary's id, or nothing while it is marked down.
  [[nodiscard]] std::optional<std::string> primary() const {
    const auto t = current_.load();
    const auto& p = t->members[t->primary];
    return p.up ? std::optional<std::string>{p.id} : std::nullopt;
  }

  /// The primary for a write, or an empty handle while it is down.
  [[nodiscard]] replica_handle select_write() {
    const auto t = current_.load();
    if (!t->members[t->primary].up) return {};
    return handle(*t, t->primary);
  }

  /// Runs f(primary_id) and returns its result; throws no_primary while the primary is down.
  /// Not offered without exceptions (detail::with_exceptions): select_write is.
  template <detail::with_exceptions F>
  requires std::invocable<F, const std::string&>
  decltype(auto) execute_write(F&& f) {
    replica_handle h = select_write();
    if (!h) detail::raise<no_primary>();
    return std::invoke(std::forward<F>(f), h.id());
  }

  /// Selects a member for a read (see the class comment); an empty handle if none matches.
  /// `after`: the read must see this position; `wait`: how long to wait for a secondary to
  /// apply it before the fallback. Throws std::invalid_argument for a preference MongoDB
  /// rejects (a non-empty tag set or max staleness with mode primary; max_staleness below its
  /// minimum).
  template <random_generator64 G>
  [[nodiscard]] replica_handle select_read(const read_preference& pref, G& rng,
                                           std::optional<Position> after = std::nullopt,
                                           duration wait = duration::zero()) {
    detail::validate(pref, options_);
    const time_point deadline = detail::deadline_after(clock_.now(), wait);  // max(): no limit
    for (;;) {
      const auto t = current_.load();
      if (const auto chosen = select(*t, pref, rng, after)) return handle(*t, *chosen);
      const bool waiting = after && clock_.now() < deadline;
      if (!waiting) {
        const auto& p = t->members[t->primary];
        const bool fallback =
            options_.causal_fallback_to_primary || pref.mode == read_mode::secondary_preferred;
        if (after && fallback && p.up) return handle(*t, t->primary);
        return {};
      }
      clock_.sleep_for(
          std::min(options_.causal_poll_interval, detail::saturating_sub(deadline, clock_.now())));
    }
  }
  [[nodiscard]] replica_handle select_read(const read_preference& pref,
                                           std::optional<Position> after = std::nullopt,
                                           duration wait = duration::zero()) {
    return select_read(pref, thread_rng(), after, wait);
  }

  /// Runs f(member_id) on a selected member; throws no_replica_available if none matches.
  /// Not offered without exceptions (detail::with_exceptions): select_read is.
  template <detail::with_exceptions F>
  requires std::invocable<F, const std::string&>
  decltype(auto) execute_read(const read_preference& pref, F&& f,
                              std::optional<Position> after = std::nullopt,
                              duration wait = duration::zero()) {
    replica_handle h = select_read(pref, after, wait);
    if (!h) detail::raise<no_replica_available>();
    return std::invoke(std::forward<F>(f), h.id());
  }

  /// The members a read may go to before the latency window (MongoDB's "suitable servers"),
  /// in member order; the tokened fallback to the primary is not included. Throws as select_read.
  [[nodiscard]] std::vector<std::string> suitable(const read_preference& pref,
                                                  std::optional<Position> after = {}) const {
    detail::validate(pref, options_);
    const auto t = current_.load();
    return ids(*t, suitable_of(*t, pref, after));
  }

  /// The suitable members inside the latency window (MongoDB's "in_latency_window"): those
  /// select_read chooses from.
  [[nodiscard]] std::vector<std::string> latency_window(const read_preference& pref,
                                                        std::optional<Position> after = {}) const {
    detail::validate(pref, options_);
    const auto t = current_.load();
    return ids(*t, window_of(*t, suitable_of(*t, pref, after)));
  }

  /// MongoDB's staleness estimate of `id` now (nothing for the primary is 0; nothing if
  /// unknown).
  [[nodiscard]] std::optional<duration> staleness(std::string_view id) const {
    const auto t = current_.load();
    return t->staleness(t->index_of(id), options_.heartbeat_frequency);
  }

 private:
  using topology = detail::replica_topology<Position>;
  using member = typename topology::member;

  static std::shared_ptr<const topology> first_topology(replica primary,
                                                        std::vector<replica> replicas) {
    const option_check check{"replica_selector"};
    auto t = std::make_shared<topology>();
    replicas.insert(replicas.begin(), std::move(primary));
    for (auto& r : replicas) {
      check.that(!r.id.empty(), "replica.id", "non-empty", r.id);
      for (const auto& m : t->members)
        check.that(m.id != r.id, "replica.id", "unique", r.id);
      t->members.push_back(member{.id = std::move(r.id), .tags = std::move(r.tags)});
    }
    t->primary = 0;
    return t;
  }

  template <class Mutate>
  void modify(std::string_view id, Mutate&& mutate) {
    current_.update([&](const topology& now) {
      topology next = now;
      mutate(next.members[next.index_of(id)]);
      return next;
    });
  }

  // Eligible secondaries (or all members for nearest) after staleness and tags; the primary is
  // counted as a member for nearest only. Then the token filter.
  std::vector<std::size_t> eligible(const topology& t, const read_preference& pref,
                                    bool include_primary, std::optional<Position> after) const {
    std::vector<std::size_t> out;
    for (std::size_t i = 0; i < t.members.size(); ++i) {
      const member& m = t.members[i];
      if (!m.up || (i == t.primary && !include_primary)) continue;
      if (pref.max_staleness) {
        const auto s = t.staleness(i, options_.heartbeat_frequency);
        if (!s || *s > *pref.max_staleness) continue;
      }
      out.push_back(i);
    }
    if (!pref.tag_sets.empty()) {
      std::vector<std::size_t> tagged;
      for (const auto& tags : pref.tag_sets) {
        for (const auto i : out)
          if (topology::matches(t.members[i], tags)) tagged.push_back(i);
        if (!tagged.empty()) break;
      }
      out = std::move(tagged);
    }
    if (after) {
      std::erase_if(out, [&](std::size_t i) {
        return i != t.primary && !(t.members[i].applied && !(*t.members[i].applied < *after));
      });
    }
    return out;
  }

  // The mode's candidates (MongoDB's "Read operations" for replica sets). A tokened read does
  // not fall back to the primary here: select_read first waits (if asked) for a secondary to
  // apply the token, then falls back.
  std::vector<std::size_t> suitable_of(const topology& t, const read_preference& pref,
                                       std::optional<Position> after) const {
    const bool primary_up = t.members[t.primary].up;
    const std::vector<std::size_t> primary_only =
        primary_up ? std::vector<std::size_t>{t.primary} : std::vector<std::size_t>{};
    switch (pref.mode) {
      case read_mode::primary:
        return primary_only;
      case read_mode::primary_preferred:
        return primary_up ? primary_only : eligible(t, pref, false, after);
      case read_mode::secondary:
        return eligible(t, pref, false, after);
      case read_mode::secondary_preferred: {
        auto secondaries = eligible(t, pref, false, after);
        if (secondaries.empty() && !after) return primary_only;
        return secondaries;
      }
      case read_mode::nearest:
        return eligible(t, pref, true, after);
    }
    return {};
  }

  // The latency window: RTT within local_threshold of the fastest candidate, bounds included.
  std::vector<std::size_t> window_of(const topology& t, std::vector<std::size_t> candidates) const {
    const auto rtt = [&](std::size_t i) { return t.members[i].rtt.value_or(duration::zero()); };
    duration fastest = duration::max();
    for (const auto i : candidates)
      fastest = std::min(fastest, rtt(i));
    std::erase_if(candidates, [&](std::size_t i) {
      return rtt(i) > detail::saturating_add(fastest, options_.local_threshold);
    });
    return candidates;
  }

  static std::vector<std::string> ids(const topology& t, const std::vector<std::size_t>& indices) {
    std::vector<std::string> out;
    for (const auto i : indices)
      out.push_back(t.members[i].id);
    return out;
  }

  // Power of two choices on operations in progress inside the window (MongoDB's server
  // selection: "select two servers at random, choose the one with fewer operations").
  template <class G>
  std::optional<std::size_t> select(const topology& t, const read_preference& pref, G& rng,
                                    std::optional<Position> after) const {
    const auto candidates = window_of(t, suitable_of(t, pref, after));
    if (candidates.empty()) return std::nullopt;
    if (candidates.size() == 1) return candidates[0];
    const auto a = uniform_below(rng, candidates.size());
    auto b = uniform_below(rng, candidates.size() - 1);
    if (b >= a) ++b;
    const auto ia = candidates[a], ib = candidates[b];
    return ops_[ib].load(std::memory_order_relaxed) < ops_[ia].load(std::memory_order_relaxed) ? ib
                                                                                               : ia;
  }

  replica_handle handle(const topology& t, std::size_t i) {
    return replica_handle{t.members[i].id, i == t.primary, &ops_[i]};
  }

  replica_selector_options options_;
  [[no_unique_address]] Clock clock_;
  detail::published<topology> current_;                // reports replace it under its writer lock
  std::unique_ptr<std::atomic<std::uint32_t>[]> ops_;  // per member index, never reallocated
};

}  // namespace bulwark
