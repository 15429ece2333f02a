#pragma once
// load_balancer: a balancing policy over an atomically swapped endpoint snapshot, with panic
// mode, slow start, active-health marks and passive outlier ejection.

#include <array>
#include <atomic>
#include <chrono>
#include <concepts>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string_view>
#include <type_traits>
#include <unordered_map>
#include <unordered_set>
#include <utility>
#include <vector>

#include "bulwark/balancing/endpoint.hpp"
#include "bulwark/balancing/endpoint_set.hpp"
#include "bulwark/balancing/outlier.hpp"
#include "bulwark/balancing/policy.hpp"
#include "bulwark/core/clock.hpp"
#include "bulwark/core/errors.hpp"
#include "bulwark/core/hash.hpp"
#include "bulwark/core/metrics.hpp"
#include "bulwark/core/options.hpp"
#include "bulwark/core/random.hpp"
#include "bulwark/detail/invoke_then.hpp"
#include "bulwark/detail/published.hpp"
#include "bulwark/detail/raise.hpp"

namespace bulwark {

/// An endpoint's health mark changed (load_balancer::set_healthy).
struct health_event {
  std::string_view endpoint;  ///< the endpoint's id, valid during the call only
  bool healthy = false;       ///< the new mark: false takes it out of rotation
  time_point time{};          ///< when, on the balancer's clock
};

/// Options shared by every balancer. Defaults: Envoy's panic threshold (50%), Finagle's
/// peak-EWMA decay window (10 s), slow start and outlier ejection off.
struct balancer_options {
  /// Below this share of healthy members, balance over all members (panic mode); 0 disables.
  double panic_threshold = 0.5;
  /// Decay window of the peak-EWMA latency estimate (Finagle's decayTime).
  duration ewma_window = std::chrono::seconds{10};
  slow_start_options slow_start{};
  /// Passive outlier ejection (Envoy semantics), when set.
  std::optional<outlier_options> outlier{};
  /// Called when set_healthy changes an endpoint's mark (not when it repeats it), after the
  /// new snapshot is published, under the balancer's writer lock: it must not throw and must
  /// not call back into the balancer. A registry's balancers report it to the sink (`health`).
  std::function<void(const health_event&)> on_health_change{};
};

namespace detail {
inline void validate(const balancer_options& options) {
  const option_check check{"load_balancer"};
  check.in_range("panic_threshold", options.panic_threshold, 0.0, 1.0);
  check.positive("ewma_window", options.ewma_window);
  check.non_negative("slow_start.window", options.slow_start.window);
  check.positive("slow_start.aggression", options.slow_start.aggression);
  check.in_range("slow_start.min_weight_percent", options.slow_start.min_weight_percent, 0.0,
                 100.0);
}

// One member of an endpoint list, as update() refuses it: an empty id, a zero weight, or an id
// already in `ids` (which collects them). Apart so that a config reader can report each member
// at its own path with the message the balancer gives.
inline void validate_member(const endpoint& e, std::unordered_set<std::string_view>& ids) {
  const option_check check{"load_balancer"};
  check.that(!e.id.empty(), "endpoint.id", "non-empty", e.id);
  check.at_least("endpoint.weight", e.weight, 1u);
  check.that(ids.insert(e.id).second, "endpoint.id", "unique", e.id);
}
inline void validate(const std::vector<endpoint>& endpoints) {
  std::unordered_set<std::string_view> ids;
  for (const auto& e : endpoints)
    validate_member(e, ids);
}
}  // namespace detail

/// A balancer refused: no endpoint is available (an empty set).
class no_endpoint_available : public rejected {
 public:
  no_endpoint_available() : rejected{"load_balancer", "no endpoint available"} {}
};

/// Counters of one balancer.
struct load_balancer_metrics {
  std::uint64_t completions = 0;  ///< over current members, since each joined
  std::uint64_t empty_picks = 0;
  std::uint64_t ejections = 0;
  std::uint64_t ejections_refused = 0;  ///< outliers kept in by max_ejection_percent
  std::uint64_t members = 0;
  std::uint64_t healthy = 0;
  bool panic = false;

  template <class Visit>
  void for_each_metric(Visit&& visit) const {
    visit(metric{"completions", "Requests completed through the current members.",
                 metric_type::gauge, completions});
    visit(metric{"empty_picks_total", "Picks that found no endpoint.", metric_type::counter,
                 empty_picks});
    visit(metric{"ejections_total", "Outlier ejections.", metric_type::counter, ejections});
    visit(metric{"ejections_refused_total", "Outliers kept in by max_ejection_percent.",
                 metric_type::counter, ejections_refused});
    visit(metric{"members", "Endpoints in the set.", metric_type::gauge, members});
    visit(metric{"healthy", "Endpoints healthy and not ejected.", metric_type::gauge, healthy});
    visit(metric{"panic", "1 while in panic mode.", metric_type::gauge,
                 std::uint64_t{panic ? 1u : 0u}});
  }
};

namespace detail {

/// Each thread's cache of recently used snapshots, a few slots indexed by the owning
/// balancer's identity. pick() compares the cached set's owner and version with the
/// balancer's (two plain loads and one acquire load) and only on a miss, once per thread
/// after each publish, loads the std::atomic<std::shared_ptr> (whose libstdc++ implementation
/// costs a lock and two reference-count updates, about 150 ns here). A slot keeps its set alive
/// until the thread picks through that slot again or exits: a thread retains at most
/// `snapshot_cache_slots` stale sets.
inline constexpr std::size_t snapshot_cache_slots = 4;
inline std::array<std::shared_ptr<const endpoint_set>, snapshot_cache_slots>&
thread_snapshot_cache() noexcept {
  thread_local std::array<std::shared_ptr<const endpoint_set>, snapshot_cache_slots> cache{};
  return cache;
}

}  // namespace detail

/// Balances requests over a set of endpoints with `Policy` (round_robin, p2c_peak_ewma, ...).
///
/// The endpoint set is an immutable snapshot (endpoint_set) that writers (update(), health
/// marks, ejections) rebuild and publish with one atomic store; pick() reads the current one
/// and never waits for a writer. Endpoints that stay across update() keep their state
/// (outstanding requests, latency estimate, ejection history); new ones start slow start.
///
/// Thread-safety: every member is safe from any thread. pick() takes no lock of bulwark's (the
/// snapshot pointer is a std::atomic<std::shared_ptr>); writers are serialised by a mutex, and
/// a completion takes it only when it trips a consecutive-failure ejection.
/// Complexity: pick() is the policy's cost (O(1) for most, O(n) for least_outstanding and
/// smooth WRR); writers O(n).
template <balancing_policy Policy, clock Clock = steady_clock>
class load_balancer {
 public:
  /// Throws std::invalid_argument for bad options, an empty or repeated id, or a zero weight.
  explicit load_balancer(std::vector<endpoint> endpoints, balancer_options options = {},
                         Policy policy = {}, Clock clock = {})
      : options_{(detail::validate(options), std::move(options))},
        policy_{std::move(policy)},
        clock_{std::move(clock)} {
    if (options_.outlier) detector_.emplace(*options_.outlier);
    update(std::move(endpoints));
  }

  load_balancer(const load_balancer&) = delete;
  load_balancer& operator=(const load_balancer&) = delete;
  ~load_balancer() {
    for (auto& [id, state] : states_)
      endpoint_state::release(state, endpoint_state::snapshot_ref);
  }

  /// Picks an endpoint; an empty handle if the set is empty. Draws from thread_rng().
  [[nodiscard]] endpoint_handle pick() { return pick_with(thread_rng(), std::nullopt); }
  /// Picks with the caller's generator (tests, simulations).
  template <random_generator64 G>
  [[nodiscard]] endpoint_handle pick(G& rng) {
    return pick_with(rng, std::nullopt);
  }
  /// Picks for a sticky key (used by the sticky policy; others ignore it): hash64 of `key`.
  [[nodiscard]] endpoint_handle pick_for(std::string_view key) {
    return pick_with(thread_rng(), hash64(key));
  }
  [[nodiscard]] endpoint_handle pick_for(std::uint64_t key) {
    return pick_with(thread_rng(), hash64(key));
  }

  /// Runs f(endpoint) on a picked endpoint, reporting success (f returned) or failure (f
  /// threw) with the elapsed time; rethrows f's exception. Throws no_endpoint_available.
  /// Not offered without exceptions (detail::with_exceptions): pick() and the handle are.
  template <detail::with_exceptions F>
  requires std::invocable<F, const endpoint&>
  decltype(auto) execute(F&& f) {
    endpoint_handle handle = pick();
    if (!handle) detail::raise<no_endpoint_available>();
    const time_point start = clock_.now();
    BULWARK_TRY {
      return detail::invoke_then([&](const auto&...) { handle.success(clock_.now() - start); },
                                 std::forward<F>(f), handle.get());
    }
    BULWARK_CATCH_ALL {
      handle.failure(clock_.now() - start);
      BULWARK_RETHROW;
    }
  }

  /// Replaces the membership. Endpoints whose id stays keep their state, and so do those
  /// whose weight alone changed (as set_weight); zone and metadata changes make a new state (a
  /// changed endpoint is a new one). Throws
  /// std::invalid_argument for an empty or repeated id or a zero weight (and changes nothing).
  void update(std::vector<endpoint> endpoints) {
    detail::validate(endpoints);
    const std::lock_guard<std::mutex> lock{writer_};
    const time_point now = clock_.now();
    std::unordered_map<std::string, endpoint_state*> next;
    std::vector<endpoint_state*> members;
    for (auto& e : endpoints) {
      endpoint_state* state = nullptr;
      if (const auto found = states_.find(e.id);
          found != states_.end() && same_but_weight(found->second->description(), e)) {
        state = std::exchange(found->second, nullptr);
        state->set_weight(e.weight);
      } else {
        state = new endpoint_state{e, now};
        state->acquire_snapshot();  // the balancer's own reference, dropped when it leaves
      }
      members.push_back(state);
      next.emplace(e.id, state);
    }
    for (auto& [id, state] : states_) {
      if (state == nullptr) continue;
      if (detector_) detector_->forget(state);
      endpoint_state::release(state, endpoint_state::snapshot_ref);
    }
    states_ = std::move(next);
    members_ = std::move(members);
    publish();
  }

  /// Marks an endpoint healthy or not (the active health checker's verdict); unhealthy
  /// endpoints leave rotation. A changed mark calls options().on_health_change. False if `id`
  /// is not a member.
  bool set_healthy(std::string_view id, bool healthy) {
    const std::lock_guard<std::mutex> lock{writer_};
    const auto found = states_.find(std::string{id});
    if (found == states_.end()) return false;
    if (found->second->active_unhealthy.exchange(!healthy, std::memory_order_relaxed) == !healthy)
      return true;
    publish();
    if (options_.on_health_change) options_.on_health_change({found->first, healthy, clock_.now()});
    return true;
  }

  /// Changes an endpoint's weight in place and publishes a snapshot with it. The endpoint
  /// keeps its state: requests in flight, latency estimate, outlier counters and ejection,
  /// slow start, and smooth WRR's current value (the rotation goes on with the new weight).
  /// The description the endpoint joined with is unchanged (endpoint_state::weight() is the
  /// current weight). Pickers never wait: their snapshot keeps its weights, the next one has
  /// the new. False if `id` is not a member; throws std::invalid_argument for a zero weight
  /// (and changes nothing). O(n).
  bool set_weight(std::string_view id, std::uint32_t weight) {
    option_check{"load_balancer"}.at_least("endpoint.weight", weight, 1u);
    const std::lock_guard<std::mutex> lock{writer_};
    const auto found = states_.find(std::string{id});
    if (found == states_.end()) return false;
    if (found->second->weight() == weight) return true;
    found->second->set_weight(weight);
    publish();
    return true;
  }

  /// Runs outlier detection's interval work (expiries, success rate, failure percentage) if
  /// at least `interval` passed since the last run. Call it periodically (e.g. every second);
  /// does nothing without outlier options. Complexity O(n).
  void tick() { tick(clock_.now()); }
  void tick(time_point now) {
    if (!detector_) return;
    const std::lock_guard<std::mutex> lock{writer_};
    if (last_interval_ && now - *last_interval_ < detector_->options().interval) return;
    last_interval_ = now;
    if (detector_->on_interval(members_, now, writer_rng_)) publish();
  }

  /// The current snapshot: members, routable endpoints, panic flag.
  [[nodiscard]] std::shared_ptr<const endpoint_set> snapshot() const { return current_.load(); }

  /// Times `id` has been ejected in a row (0 if never or not a member).
  [[nodiscard]] std::uint32_t ejection_multiplier(std::string_view id) const {
    const std::lock_guard<std::mutex> lock{writer_};
    const auto found = states_.find(std::string{id});
    return found == states_.end() || !detector_ ? 0 : detector_->multiplier(found->second);
  }

  [[nodiscard]] load_balancer_metrics metrics() const {
    const auto set = snapshot();
    load_balancer_metrics m{.empty_picks = empty_picks_.load()};
    for (const auto* state : set->members())
      m.completions += state->successes.load() + state->failures.load();
    {
      const std::lock_guard<std::mutex> lock{writer_};
      if (detector_) {
        m.ejections = detector_->ejections();
        m.ejections_refused = detector_->ejections_refused();
      }
    }
    m.members = set->members().size();
    m.healthy = set->healthy();
    m.panic = set->panic();
    return m;
  }

  /// The options it was built with (fixed: only the membership and weights change live).
  [[nodiscard]] const balancer_options& options() const noexcept { return options_; }
  [[nodiscard]] Policy& policy() noexcept { return policy_; }
  [[nodiscard]] const Policy& policy() const noexcept { return policy_; }
  [[nodiscard]] const Clock& clock() const noexcept { return clock_; }

 private:
  template <class G>
  endpoint_handle pick_with(G& rng, std::optional<std::uint64_t> key) {
    const endpoint_set* set = cached_snapshot();
    if (set->routable().empty()) {
      empty_picks_.add();
      return {};
    }
    pick_context<Clock, G> context{clock_, rng, key, options_.ewma_window};
    endpoint_state* chosen = policy_.pick(*set, context);
    // The handle takes its reference while `set` (held by this thread's cache) still holds
    // one, so the state is alive while its count goes up.
    return endpoint_handle{chosen, &load_balancer::record, this};
  }

  // This thread's cached snapshot if it is current, else the published one (then cached).
  const endpoint_set* cached_snapshot() {
    auto& slot =
        detail::thread_snapshot_cache()[(reinterpret_cast<std::uintptr_t>(identity_.get()) >> 4) %
                                        detail::snapshot_cache_slots];
    // Acquire pairs with publish()'s release increment: a reader that sees version v sees
    // current_ holding a set of version >= v. A cached set of this owner at least that new is
    // current enough; the owner check is by address, safe because every set keeps its
    // owner's identity allocation alive.
    const auto version = published_.load(std::memory_order_acquire);
    if (slot && slot->owner() == identity_.get() && slot->version() >= version) return slot.get();
    slot = current_.load();
    return slot.get();
  }

  // The completion sink: lifetime and interval counters, the latency estimate, and the
  // consecutive-failure detector (inline, as Envoy's consecutive_5xx).
  static void record(const void* self_ptr, endpoint_state& s, completion c) noexcept {
    auto* self = const_cast<load_balancer*>(static_cast<const load_balancer*>(self_ptr));
    const bool detecting = self->detector_.has_value();
    if (c.success) {
      s.successes.add();
      if (detecting) {
        s.interval_successes.fetch_add(1, std::memory_order_relaxed);
        // Load first: a store on every success would write a line other pickers read.
        if (s.consecutive_failures.load(std::memory_order_relaxed) != 0)
          s.consecutive_failures.store(0, std::memory_order_relaxed);
      }
    } else {
      s.failures.add();
      if (detecting) {
        s.interval_failures.fetch_add(1, std::memory_order_relaxed);
        const auto run = s.consecutive_failures.fetch_add(1, std::memory_order_relaxed) + 1;
        const auto threshold = self->detector_->options().consecutive_failures;
        if (threshold != 0 && run == threshold) {
          BULWARK_TRY {
            self->eject_inline(s);
          }
          BULWARK_CATCH_ALL {}  // allocation failure in the detector's bookkeeping: skip it
        }
      }
    }
    if (detail::observes_latency(self->policy_)) {
      s.observe_latency(c.latency, self->clock_.now(), self->options_.ewma_window);
    }
  }

  static bool same_but_weight(const endpoint& was, const endpoint& next) {
    endpoint with_weight = next;
    with_weight.weight = was.weight;
    return was == with_weight;
  }

  void eject_inline(endpoint_state& s) {
    const std::lock_guard<std::mutex> lock{writer_};
    if (detector_->on_consecutive_failures(s, members_, clock_.now(), writer_rng_)) publish();
  }

  // Caller holds writer_. Release (both stores: published::store's and the version's): a reader
  // that loads the new pointer, or the new version number, sees the fully built set.
  void publish() {
    ++version_;
    auto set = std::make_shared<endpoint_set>(members_, options_.panic_threshold, version_,
                                              options_.slow_start, identity_);
    if constexpr (detail::prepares_v<Policy>) set->attach(policy_.prepare(*set));
    current_.store(std::move(set));
    published_.store(version_, std::memory_order_release);
  }

  balancer_options options_;
  Policy policy_;
  [[no_unique_address]] Clock clock_;
  std::shared_ptr<const int> identity_ = std::make_shared<const int>(0);
  detail::published<endpoint_set> current_{nullptr};
  std::atomic<std::uint64_t> published_{0};
  mutable std::mutex writer_;
  std::unordered_map<std::string, endpoint_state*> states_;  // guarded by writer_
  std::vector<endpoint_state*> members_;                     // guarded by writer_
  std::optional<detail::outlier_detector> detector_;         // guarded by writer_
  std::optional<time_point> last_interval_;                  // guarded by writer_
  fast_rng writer_rng_{0x0b1a5eed};                          // guarded by writer_
  std::uint64_t version_ = 0;                                // guarded by writer_
  metric_counter empty_picks_;
};

}  // namespace bulwark
