#pragma once
// bulwark::redis_circuit_breaker: a circuit breaker whose open/half-open/closed state is
// shared through Redis by every instance with the same name, wrapped around a local
// bulwark::circuit_breaker that keeps the closed path in process.

#include <atomic>
#include <chrono>
#include <concepts>
#include <condition_variable>
#include <cstdint>
#include <exception>
#include <functional>
#include <mutex>
#include <optional>
#include <random>
#include <string>
#include <string_view>
#include <thread>
#include <type_traits>
#include <utility>
#include <vector>

#include "bulwark/circuit_breaker/circuit_breaker.hpp"
#include "bulwark/circuit_breaker/detail/call_end.hpp"
#include "bulwark/core/clock.hpp"
#include "bulwark/core/errors.hpp"
#include "bulwark/core/metrics.hpp"
#include "bulwark/detail/raise.hpp"
#include "bulwark/detail/saturating.hpp"
#include "bulwark/redis/client.hpp"
#include "bulwark/redis/detail/breaker_scripts.hpp"
#include "bulwark/redis/detail/keys.hpp"
#include "bulwark/redis/keyed_client.hpp"
#include "bulwark/redis/redis_circuit_breaker_options.hpp"
#include "bulwark/redis/redis_circuit_breaker_permit.hpp"

namespace bulwark {

/// A circuit breaker shared by a fleet (gobreaker v2's DistributedCircuitBreaker is the
/// model; unlike it, the closed path makes no round trip).
///
/// Closed: every call goes through the local breaker (options.local) with no round trip: one
/// atomic load more than circuit_breaker::try_acquire. When the local breaker trips, the
/// call that tripped it publishes the trip (one script: a compare-and-set on the shared
/// generation), and the breaker is open for every instance for local.wait_in_open, timed by
/// the expiry of a Redis key. Other instances learn of it from the background refresh (every
/// refresh_interval) and refuse calls without a round trip until the wait is over.
/// Half-open: a call takes one of fleet_probes leases (SET NX PX, one round trip; refused
/// callers wait probe_retry before asking again); the probe's success closes the breaker
/// for all (and resets each local breaker as it learns of it), its failure reopens it.
/// Redis away (a round trip unanswered): on_failure decides until a refresh answers again.
/// See docs/redis.md for the consistency model.
///
/// Thread-safe. Not copyable or movable. Keeps a reference to `client`, which must outlive it.
///
/// Client: redis_client (one server) or redis_cluster_client (a Redis Cluster): every key of
/// one breaker is under its hash tag "{name}", so each script's keys are in one slot and the
/// script runs on the master that holds it (following MOVED and ASK, reloading on NOSCRIPT).
template <clock Clock = steady_clock, redis_keyed_client Client = redis_client<Clock>>
requires std::same_as<typename Client::clock_type, Clock>
class redis_circuit_breaker {
  enum class view : std::uint8_t { closed, open, half_open, unreachable };

 public:
  /// The permission for one call (see redis_circuit_breaker_permit).
  using permit =
      redis_circuit_breaker_permit<redis_circuit_breaker, typename circuit_breaker<Clock>::permit>;

  /// Validates `options` and `name` (std::invalid_argument) and starts the refresh thread
  /// when refresh_interval > 0. Does not touch Redis.
  redis_circuit_breaker(Client& client, std::string_view name,
                        redis_circuit_breaker_options options = {})
      : client_{&client},
        options_{checked(std::move(options), name)},
        local_{with_listener(options_.local), client.clock()},
        keys_{key_names(options_, name)} {
    std::random_device device;
    token_base_ = (std::uint64_t{device()} << 32) ^ device();
    if (options_.refresh_interval > duration::zero()) refresher_ = std::thread{[this] { run(); }};
  }
  redis_circuit_breaker(const redis_circuit_breaker&) = delete;
  redis_circuit_breaker& operator=(const redis_circuit_breaker&) = delete;
  ~redis_circuit_breaker() {
    {
      const std::lock_guard lock{stop_mutex_};
      stopping_ = true;
    }
    stop_cv_.notify_all();
    if (refresher_.joinable()) refresher_.join();
  }

  /// Asks permission for one call: while the fleet's breaker is closed, the local breaker's
  /// try_acquire (no round trip); see the class comment for the other states.
  [[nodiscard]] permit try_acquire() {
    // Acquire pairs with the release in adopt(): a caller that sees closed also sees the
    // local breaker reset that preceded it.
    const view v = view_.load(std::memory_order_acquire);
    if (v == view::closed) [[likely]]
      return permit{this, local_.try_acquire()};
    return acquire_slow(v);
  }

  /// Runs f() under the breaker: a refusal throws bulwark::circuit_open (with retry_after
  /// while open); an exception is classified by options.local.classify_exception and rethrown.
  template <detail::with_exceptions F>
  requires std::invocable<F>
  decltype(auto) execute(F&& f) {
    permit p = try_acquire();
    if (!p)
      detail::raise<circuit_open>("redis_circuit_breaker", "circuit is open", p.retry_after());
    BULWARK_TRY {
      if constexpr (std::is_void_v<std::invoke_result_t<F>>) {
        std::invoke(std::forward<F>(f));
        p.success();
      } else {
        decltype(auto) r = std::invoke(std::forward<F>(f));
        p.success();
        return r;
      }
    }
    BULWARK_CATCH_ALL {
      p.record(detail::classify_exception(options_.local, std::current_exception()));
      BULWARK_RETHROW;
    }
  }

  /// Reads the shared state now (one round trip) and adopts it; the refresh thread calls it
  /// every refresh_interval. Returns false when Redis did not answer (on_failure applies).
  bool refresh() { return send(detail::breaker_read_script(), {}, false).has_value(); }

  /// The state this instance acts on: the fleet's as last seen, or the local breaker's while
  /// the fleet's is closed or Redis is away (policy local).
  [[nodiscard]] circuit_state state() const noexcept {
    switch (view_.load(std::memory_order_acquire)) {
      case view::open:
        return circuit_state::open;
      case view::half_open:
        return circuit_state::half_open;
      default:
        return local_.state();
    }
  }
  /// Whether the last round trip went unanswered (on_failure applies until one answers).
  [[nodiscard]] bool redis_unreachable() const noexcept {
    return unreachable_.load(std::memory_order_relaxed);
  }
  /// The local breaker (its metrics, manual transitions).
  [[nodiscard]] circuit_breaker<Clock>& local() noexcept { return local_; }
  [[nodiscard]] const redis_circuit_breaker_options& options() const noexcept { return options_; }

  [[nodiscard]] redis_circuit_breaker_metrics metrics() const noexcept {
    return {.shared_rejected = shared_rejected_.load(),
            .probes = probes_.load(),
            .probes_refused = probes_refused_.load(),
            .trips_published = trips_.load(),
            .closes_published = closes_.load(),
            .transitions_seen = seen_.load(),
            .round_trips = round_trips_.load(),
            .unavailable = unavailable_.load(),
            .fallback_calls = fallback_.load(),
            .generation = generation_.load(std::memory_order_relaxed)};
  }

 private:
  friend permit;
  struct keys {
    std::string state, open, fails_prefix;
    std::vector<std::string> probes;
  };
  // What a script answered: {verdict, gen, state, pttl}.
  struct answer {
    long long verdict = 0;
    std::uint64_t generation = 0;
    bool open = false;
    long long pttl = -2;
  };

  static redis_circuit_breaker_options checked(redis_circuit_breaker_options o,
                                               std::string_view name) {
    detail::validate(o);
    if (!detail::valid_key_part(name, o.max_name_length))
      detail::raise<std::invalid_argument>(
          detail::key_part_message("redis_circuit_breaker", "name", name, o.max_name_length));
    return o;
  }
  static keys key_names(const redis_circuit_breaker_options& o, std::string_view name) {
    const std::string base = o.prefix + "{" + std::string{name} + "}:";
    keys k{base + "state", base + "open", base + "fails:", {}};
    for (std::uint32_t i = 0; i < o.fleet_probes; ++i)
      k.probes.push_back(base + "probe:" + std::to_string(i));
    return k;
  }
  // The local breaker's listener also flags its own trips, for the permit that caused one to
  // publish once its verdict is recorded (not inside the breaker's noexcept recording path).
  circuit_breaker_options with_listener(circuit_breaker_options local) {
    local.on_transition =
        [this, user = std::move(local.on_transition)](const circuit_breaker_transition& t) {
          if (t.to == circuit_state::open && t.reason != transition_reason::manual)
            local_tripped_.store(true, std::memory_order_relaxed);
          if (user) user(t);
        };
    return local;
  }

  permit acquire_slow(view v) {
    const time_point now = client_->clock().now();
    if (v == view::unreachable) return fallback();
    if (v == view::open) {
      const time_point until{duration{open_until_.load(std::memory_order_relaxed)}};
      if (now < until) {
        shared_rejected_.add();
        return permit{std::optional<duration>{until - now}};
      }
    }
    // Half-open (or its wait just ended): ask for a lease, at most once per probe_retry.
    const time_point next{duration{next_probe_.load(std::memory_order_relaxed)}};
    if (now < next) {
      probes_refused_.add();
      return permit{std::optional<duration>{}};
    }
    next_probe_.store(detail::deadline_after(now, options_.probe_retry).time_since_epoch().count(),
                      std::memory_order_relaxed);
    const std::uint64_t token = token_base_ + tokens_.fetch_add(1, std::memory_order_relaxed);
    const std::string lease_ms = std::to_string(
        std::chrono::ceil<std::chrono::milliseconds>(options_.local.probe_lease).count());
    std::vector<std::string_view> probe_keys{keys_.state, keys_.open};
    probe_keys.insert(probe_keys.end(), keys_.probes.begin(), keys_.probes.end());
    const std::string token_text = std::to_string(token);
    const auto a = send(detail::breaker_probe_script(), probe_keys, false, {token_text, lease_ms});
    if (!a) return fallback();
    if (a->verdict >= 0) {
      probes_.add();
      permit p{std::optional<duration>{}};
      p.owner_ = this;
      p.kind_ = permit::kind::probe;
      p.slot_ = static_cast<std::uint32_t>(a->verdict);
      p.token_ = token;
      p.generation_ = a->generation;
      return p;
    }
    if (a->verdict == -1 && !a->open) return try_acquire();  // closed meanwhile
    probes_refused_.add();
    return permit{std::optional<duration>{}};
  }

  permit fallback() {
    fallback_.add();
    switch (options_.on_failure) {
      case redis_failure_policy::fail_open: {
        permit p{std::optional<duration>{}};
        p.kind_ = permit::kind::passthrough;
        return p;
      }
      case redis_failure_policy::fail_closed:
        return permit{std::optional<duration>{}};
      case redis_failure_policy::local:
        break;
    }
    return permit{this, local_.try_acquire()};
  }

  // After a closed-path verdict: publish the local breaker's trip, or count a failure.
  // Relaxed loads: local_tripped_ is a hint set by the listener on this or another thread;
  // a trip noticed one verdict late is published one verdict late.
  void after_local(call_outcome outcome) {
    if (local_tripped_.load(std::memory_order_relaxed) &&
        local_tripped_.exchange(false, std::memory_order_relaxed)) {
      publish_trip(std::to_string(generation_.load(std::memory_order_relaxed)), "", "");
    } else if (outcome == call_outcome::failure && options_.fleet_failures > 0 &&
               !unreachable_.load(std::memory_order_relaxed)) {
      const std::string g = std::to_string(generation_.load(std::memory_order_relaxed));
      const std::string counter = keys_.fails_prefix + g;
      const auto a = send(detail::breaker_count_script(), {keys_.state, keys_.open, counter}, true,
                          {g, wait_ms(), window_ms(), std::to_string(options_.fleet_failures)});
      if (a && a->verdict == 1) trips_.add();
    }
  }

  void finish_probe(const permit& p, call_outcome outcome) {
    const std::string g = std::to_string(p.generation_);
    const std::string token = std::to_string(p.token_);
    const std::string& lease = keys_.probes[p.slot_];
    if (outcome == call_outcome::failure) {
      publish_trip(g, lease, token);
    } else if (outcome == call_outcome::success) {
      const auto a =
          send(detail::breaker_close_script(), {keys_.state, keys_.open, lease}, true, {g, token});
      if (a && a->verdict == 1) closes_.add();
    } else {
      send(detail::breaker_release_script(), {keys_.state, keys_.open, lease}, true, {token});
    }
    next_probe_.store(0, std::memory_order_relaxed);  // a verdict frees a lease: ask again
  }

  // Opens the fleet's breaker from generation `g`. A stale generation with the breaker
  // closed (this instance missed a close) is retried once with the current one.
  void publish_trip(const std::string& g, std::string_view lease, std::string_view token) {
    const std::string_view lease_key = lease.empty() ? std::string_view{keys_.open} : lease;
    auto a = send(detail::breaker_trip_script(), {keys_.state, keys_.open, lease_key}, true,
                  {g, wait_ms(), token});
    if (a && a->verdict == 0 && !a->open) {
      a = send(detail::breaker_trip_script(), {keys_.state, keys_.open, lease_key}, true,
               {std::to_string(a->generation), wait_ms(), token});
    }
    if (a && a->verdict == 1) trips_.add();
  }

  std::string wait_ms() const {
    return std::to_string(
        std::chrono::duration_cast<std::chrono::milliseconds>(options_.local.wait_in_open).count());
  }
  std::string window_ms() const {
    return std::to_string(
        std::chrono::ceil<std::chrono::milliseconds>(options_.fleet_window).count());
  }

  // One script; adopts the state it reports. nullopt when Redis did not answer.
  std::optional<answer> send(const redis_script& script, std::vector<std::string_view> k,
                             bool newer_only, std::vector<std::string_view> args = {}) {
    if (k.empty()) k = {keys_.state, keys_.open};
    round_trips_.add();
    const redis_result r = client_->eval(script, k, args);
    if (!r.ok() || r.value().size() != 4) {
      unavailable_.add();
      const view to =
          options_.on_failure == redis_failure_policy::local ? view::closed : view::unreachable;
      unreachable_.store(true, std::memory_order_relaxed);
      view_.store(to, std::memory_order_release);
      return std::nullopt;
    }
    const redis_value v = r.value();
    answer a{v[0].integer(), static_cast<std::uint64_t>(v[1].integer()), v[2].str() == "open",
             v[3].integer()};
    adopt(a, newer_only);
    return a;
  }

  // Takes the fleet's state as this instance's view. `newer_only`: answers to writes,
  // which may cross a concurrent refresh; a refresh's answer is taken even when older (a
  // Redis that restarted empty starts again from generation 0).
  void adopt(const answer& a, bool newer_only) {
    const std::lock_guard lock{adopt_mutex_};
    const std::uint64_t known = generation_.load(std::memory_order_relaxed);
    const bool was_unreachable = unreachable_.exchange(false, std::memory_order_relaxed);
    if (newer_only && a.generation < known && !was_unreachable) return;
    if (a.generation != known) seen_.add();
    generation_.store(a.generation, std::memory_order_relaxed);
    const view before = view_.load(std::memory_order_relaxed);
    view to = view::closed;
    if (a.open && a.pttl > 0) {
      to = view::open;
      const time_point until =
          detail::deadline_after(client_->clock().now(), std::chrono::milliseconds{a.pttl});
      open_until_.store(until.time_since_epoch().count(), std::memory_order_relaxed);
    } else if (a.open) {
      to = view::half_open;
    }
    // The fleet closed after this instance saw it open: start its local breaker afresh too.
    if (to == view::closed && before != view::closed && a.generation != known) local_.reset();
    view_.store(to, std::memory_order_release);
  }

  void run() {
    std::unique_lock lock{stop_mutex_};
    while (!stopping_) {
      lock.unlock();
      refresh();
      lock.lock();
      stop_cv_.wait_for(lock, options_.refresh_interval, [this] { return stopping_; });
    }
  }

  Client* client_;
  redis_circuit_breaker_options options_;
  circuit_breaker<Clock> local_;
  keys keys_;
  std::atomic<view> view_{view::closed};
  std::atomic<bool> unreachable_{false};
  std::atomic<bool> local_tripped_{false};
  std::atomic<duration::rep> open_until_{0};
  std::atomic<duration::rep> next_probe_{0};
  std::atomic<std::uint64_t> generation_{0};
  std::atomic<std::uint64_t> tokens_{0};
  std::uint64_t token_base_ = 0;
  std::mutex adopt_mutex_;
  metric_counter shared_rejected_, probes_, probes_refused_, trips_, closes_, seen_, round_trips_,
      unavailable_, fallback_;
  std::mutex stop_mutex_;
  std::condition_variable stop_cv_;
  bool stopping_ = false;
  std::thread refresher_;
};

template <redis_keyed_client Client>
redis_circuit_breaker(Client&, std::string_view)
    -> redis_circuit_breaker<typename Client::clock_type, Client>;
template <redis_keyed_client Client>
redis_circuit_breaker(Client&, std::string_view, redis_circuit_breaker_options)
    -> redis_circuit_breaker<typename Client::clock_type, Client>;

}  // namespace bulwark
