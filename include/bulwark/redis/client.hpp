#pragma once
// bulwark::redis_client: a small pool of hiredis connections shared by the redis components
// of one process (redis_gcra, redis_store), with its counters.

#include <atomic>
#include <concepts>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <random>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

#include "bulwark/core/clock.hpp"
#include "bulwark/core/metrics.hpp"
#include "bulwark/redis/connection.hpp"

namespace bulwark {

/// A snapshot of a redis_client's counters.
struct redis_client_metrics {
  std::uint64_t commands = 0;          ///< commands sent, EVALSHA retries and SCRIPT LOADs included
  std::uint64_t unavailable = 0;       ///< calls that got no answer (down, backing off, timed out)
  std::uint64_t connects = 0;          ///< connections opened
  std::uint64_t connect_failures = 0;  ///< connect attempts that failed
  std::uint64_t script_loads = 0;      ///< scripts reloaded after NOSCRIPT
  std::uint64_t timeouts = 0;          ///< commands and connects that waited out their timeout
  std::uint64_t breaker_trips = 0;     ///< times the breaker opened
  std::uint64_t breaker_rejected = 0;  ///< calls failed at once by the open breaker
  std::uint64_t breaker_open = 0;      ///< gauge: 1 while the breaker is open or half-open
  std::uint64_t restarts_detected = 0;  ///< run_id changes seen on a new connection

  template <class Visit>
  void for_each_metric(Visit&& visit) const {
    visit(metric{"commands_total", "Commands sent to Redis.", metric_type::counter, commands});
    visit(metric{"unavailable_total", "Calls that got no answer from Redis.", metric_type::counter,
                 unavailable});
    visit(metric{"connects_total", "Connections opened.", metric_type::counter, connects});
    visit(metric{"connect_failures_total", "Connect attempts that failed.", metric_type::counter,
                 connect_failures});
    visit(metric{"script_loads_total", "Scripts reloaded after NOSCRIPT.", metric_type::counter,
                 script_loads});
    visit(metric{"timeouts_total", "Commands and connects that waited out their timeout.",
                 metric_type::counter, timeouts});
    visit(metric{"breaker_trips_total", "Times the connection breaker opened.",
                 metric_type::counter, breaker_trips});
    visit(metric{"breaker_rejected_total", "Calls failed at once by the open breaker.",
                 metric_type::counter, breaker_rejected});
    visit(metric{"breaker_open", "1 while the connection breaker is open or half-open.",
                 metric_type::gauge, breaker_open});
    visit(metric{"restarts_detected_total", "Server restarts or failovers seen (run_id changed).",
                 metric_type::counter, restarts_detected});
  }

  friend bool operator==(const redis_client_metrics&, const redis_client_metrics&) = default;
};

/// A pool of `connections` hiredis connections to one Redis server.
///
/// Each call takes a free connection (trying each once, from a rotating start), or waits for
/// one when all are busy, and holds it for one command or script: a round trip. Connections
/// open lazily, reconnect after failures with jittered exponential backoff (reconnect_min
/// doubling to reconnect_max), and time out commands after command_timeout; a call that gets
/// no answer returns redis_status::unavailable and never throws. Scripts are sent by EVALSHA
/// and reloaded on NOSCRIPT (a restarted or flushed server).
///
/// A breaker guards the server for the whole pool: after breaker_failures consecutive calls
/// that reached the network without an answer, every call fails at once for
/// breaker_cooldown, then one probe goes through (an answer closes it). Each new connection
/// reads INFO server's run_id; a change (a restart or failover: a Redis without persistence
/// comes back empty) counts in restarts_detected and calls options.on_restart.
///
/// Clock times the backoff, the breaker and restart detection (manual_clock in tests); the
/// network waits are real.
/// Thread-safe: every member may be called from any thread; at most `connections` round trips
/// are in flight at once. Not copyable or movable (components keep a reference to it).
template <clock Clock = steady_clock>
class redis_client {
 public:
  using clock_type = Clock;

  /// Validates `options` (std::invalid_argument naming the field and value). Does not connect.
  explicit redis_client(redis_client_options options = {}, Clock clock = {})
      : options_{(detail::validate(options), std::move(options))},
        clock_{std::move(clock)},
        shared_{options_} {
    std::random_device device;
    const std::uint64_t seed = (std::uint64_t{device()} << 32) ^ device();
    slots_.reserve(options_.connections);
    for (std::size_t i = 0; i < options_.connections; ++i)
      slots_.push_back(std::make_unique<slot>(options_, clock_, shared_, seed + i));
  }

  redis_client(const redis_client&) = delete;
  redis_client& operator=(const redis_client&) = delete;

  /// Sends one command, e.g. command({"INCR", "visits"}). Binary-safe; never throws for
  /// network errors (status unavailable). Blocks for at most one connect timeout and the
  /// command timeouts of AUTH (with a password) and INFO server on a new connection and of
  /// the command itself, plus the wait for a connection when the pool is busy; never on the
  /// network while the breaker is open.
  redis_result command(const std::vector<std::string_view>& args) {
    return with_connection([&](auto& c) { return c.command(args); });
  }

  /// The same as command(args): one server holds every key (redis_keyed_client, which
  /// redis_cluster_client routes by `key`'s slot).
  redis_result keyed_command(std::string_view key, const std::vector<std::string_view>& args) {
    (void)key;
    return command(args);
  }

  /// Runs `script` by EVALSHA with `keys` and `args`, reloading it on NOSCRIPT.
  redis_result eval(const redis_script& script, const std::vector<std::string_view>& keys,
                    const std::vector<std::string_view>& args) {
    return with_connection([&](auto& c) { return c.eval(script, keys, args); });
  }

  /// Runs f(connection&) holding one connection, for a caller that sends several commands
  /// in a row on one connection. f must not keep the reference.
  template <class F>
  decltype(auto) with_connection(F&& f) {
    const std::size_t n = slots_.size();
    // relaxed: the counter only spreads callers over the slots; the mutex orders the slot.
    const std::size_t start = next_.fetch_add(1, std::memory_order_relaxed) % n;
    for (std::size_t i = 0; i < n; ++i) {
      slot& s = *slots_[(start + i) % n];
      std::unique_lock lock{s.mutex, std::try_to_lock};
      if (lock.owns_lock()) return f(s.connection);
    }
    slot& s = *slots_[start];
    const std::lock_guard lock{s.mutex};
    return f(s.connection);
  }

  [[nodiscard]] const redis_client_options& options() const noexcept { return options_; }
  [[nodiscard]] const Clock& clock() const noexcept { return clock_; }

  /// The counters, summed over the connections. Relaxed reads. O(1).
  [[nodiscard]] redis_client_metrics metrics() const noexcept {
    const detail::redis_connection_counters& k = shared_.counters;
    const bool open = shared_.breaker.current() != detail::redis_breaker::state::closed;
    return {.commands = k.commands.load(),
            .unavailable = k.unavailable.load(),
            .connects = k.connects.load(),
            .connect_failures = k.connect_failures.load(),
            .script_loads = k.script_loads.load(),
            .timeouts = k.timeouts.load(),
            .breaker_trips = k.breaker_trips.load(),
            .breaker_rejected = k.breaker_rejected.load(),
            .breaker_open = open ? 1U : 0U,
            .restarts_detected = k.restarts.load()};
  }

  /// The run_id the last new connection read from INFO server; empty before the first.
  [[nodiscard]] std::string run_id() const { return shared_.run_ids.run_id(); }

  /// When (by Clock) a restart was last detected; nullopt if never.
  [[nodiscard]] std::optional<time_point> last_restart() const {
    return shared_.run_ids.last_restart();
  }

 private:
  struct slot {
    slot(const redis_client_options& o, const Clock& c, detail::redis_connection_shared& shared,
         std::uint64_t seed)
        : connection{o, c, shared, seed} {}
    std::mutex mutex;
    detail::redis_connection<Clock> connection;
  };

  redis_client_options options_;
  [[no_unique_address]] Clock clock_;
  detail::redis_connection_shared shared_;
  std::vector<std::unique_ptr<slot>> slots_;
  std::atomic<std::size_t> next_{0};
};

}  // namespace bulwark
