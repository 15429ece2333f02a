#pragma once
// bulwark::redis_client: a small pool of hiredis connections shared by the redis components
// of one process (redis_gcra, redis_store), with its counters.

#include <atomic>
#include <concepts>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <random>
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
/// Clock times the backoff only (manual_clock in tests); the network waits are real.
/// Thread-safe: every member may be called from any thread; at most `connections` round trips
/// are in flight at once. Not copyable or movable (components keep a reference to it).
template <clock Clock = steady_clock>
class redis_client {
 public:
  /// Validates `options` (std::invalid_argument naming the field and value). Does not connect.
  explicit redis_client(redis_client_options options = {}, Clock clock = {})
      : options_{validated(std::move(options))}, clock_{std::move(clock)} {
    std::random_device device;
    const std::uint64_t seed = (std::uint64_t{device()} << 32) ^ device();
    slots_.reserve(options_.connections);
    for (std::size_t i = 0; i < options_.connections; ++i)
      slots_.push_back(std::make_unique<slot>(options_, clock_, counters_, seed + i));
  }

  redis_client(const redis_client&) = delete;
  redis_client& operator=(const redis_client&) = delete;

  /// Sends one command, e.g. command({"INCR", "visits"}). Binary-safe; never throws for
  /// network errors (status unavailable). Blocks for at most one connect and one command
  /// timeout.
  redis_result command(const std::vector<std::string_view>& args) {
    return with_connection([&](auto& c) { return c.command(args); });
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
    return {.commands = counters_.commands.load(),
            .unavailable = counters_.unavailable.load(),
            .connects = counters_.connects.load(),
            .connect_failures = counters_.connect_failures.load(),
            .script_loads = counters_.script_loads.load()};
  }

 private:
  static redis_client_options validated(redis_client_options options) {
    detail::check(options);
    return options;
  }

  struct slot {
    slot(const redis_client_options& o, const Clock& c, detail::redis_connection_counters& k,
         std::uint64_t seed)
        : connection{o, c, k, seed} {}
    std::mutex mutex;
    detail::redis_connection<Clock> connection;
  };

  redis_client_options options_;
  [[no_unique_address]] Clock clock_;
  detail::redis_connection_counters counters_;
  std::vector<std::unique_ptr<slot>> slots_;
  std::atomic<std::size_t> next_{0};
};

}  // namespace bulwark
