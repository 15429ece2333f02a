#pragma once
// What a redis_client knows about its server's health, shared by every connection of the
// pool: a consecutive-failures breaker on the connection (so that a server that accepts
// connections but never answers, e.g. stopped by SIGSTOP or behind a black-holing network,
// costs a few timeouts and not one per call), and the server's run_id (so that a restart,
// which empties a Redis without persistence, is reported instead of silently forgetting).

#include <algorithm>
#include <cstdint>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

#include "bulwark/core/clock.hpp"

namespace bulwark {

/// What redis_client_options::on_restart is told when a new connection finds a server whose
/// run_id differs from the one its previous connections saw: the server restarted (and lost
/// whatever it did not persist) or another server took over (a failover).
struct redis_restart {
  std::string previous_run_id;  ///< the run_id the client knew
  std::string run_id;           ///< the run_id the server reports now
};

namespace detail {

/// The value of the "run_id:" line of an INFO server reply (40 hex characters in Redis 7),
/// or empty when there is none.
[[nodiscard]] inline std::string_view parse_run_id(std::string_view info) noexcept {
  constexpr std::string_view field = "run_id:";
  std::size_t at = 0;
  while (at < info.size()) {
    const std::size_t end = std::min(info.find('\n', at), info.size());
    std::string_view line = info.substr(at, end - at);
    if (line.ends_with('\r')) line.remove_suffix(1);
    if (line.starts_with(field)) return line.substr(field.size());
    at = end + 1;
  }
  return {};
}

/// A breaker that opens after `threshold` consecutive calls that reached the network and got
/// no answer (a command or connect that timed out, broke or was refused). Open, it refuses
/// every call without touching the network for `cooldown`; then it lets one call through as
/// a probe (the others are still refused): an answer closes it, no answer opens it for
/// another cooldown. Calls that never reached the network (the connection's reconnect
/// backoff) are neither: a probe that does not reach the network hands its turn on.
/// Thread-safe (one mutex; every caller is about to make a round trip anyway).
class redis_breaker {
 public:
  enum class state : std::uint8_t { closed, open, half_open };

  redis_breaker(std::uint32_t threshold, duration cooldown) noexcept
      : threshold_{threshold}, cooldown_{cooldown} {}

  /// Whether a call may go to the network at `now`. After true, the caller reports exactly
  /// one of answered(), no_answer() or abstained().
  [[nodiscard]] bool allow(time_point now) noexcept {
    const std::lock_guard lock{mutex_};
    if (state_ == state::closed) return true;
    if (state_ == state::open) {
      if (now < open_until_) return false;
      state_ = state::half_open;
    }
    if (probing_) return false;
    probing_ = true;
    return true;
  }

  void answered() noexcept {
    const std::lock_guard lock{mutex_};
    state_ = state::closed;
    probing_ = false;
    consecutive_ = 0;
  }

  /// Returns true when this failure opened the breaker (a trip).
  bool no_answer(time_point now) noexcept {
    const std::lock_guard lock{mutex_};
    if (state_ == state::open) return false;  // a call allowed before the trip ended late
    if (state_ == state::closed && ++consecutive_ < threshold_) return false;
    state_ = state::open;
    probing_ = false;
    consecutive_ = 0;
    open_until_ = now + cooldown_;
    return true;
  }

  void abstained() noexcept {
    const std::lock_guard lock{mutex_};
    if (state_ == state::half_open) probing_ = false;
  }

  [[nodiscard]] state current() const noexcept {
    const std::lock_guard lock{mutex_};
    return state_;
  }

 private:
  mutable std::mutex mutex_;
  std::uint32_t threshold_;
  duration cooldown_;
  state state_ = state::closed;
  bool probing_ = false;
  std::uint32_t consecutive_ = 0;
  time_point open_until_{};
};

/// The last run_id the client's connections saw, and when it last changed.
class redis_run_ids {
 public:
  /// Records the run_id a new connection read; returns the restart when it differs from the
  /// last known one (not for the first one ever seen, nor for an empty one).
  [[nodiscard]] std::optional<redis_restart> seen(std::string_view run_id, time_point now) {
    if (run_id.empty()) return std::nullopt;
    const std::lock_guard lock{mutex_};
    if (run_id == run_id_) return std::nullopt;
    std::string previous = std::exchange(run_id_, std::string{run_id});
    if (previous.empty()) return std::nullopt;
    last_restart_ = now;
    return redis_restart{std::move(previous), run_id_};
  }

  [[nodiscard]] std::string run_id() const {
    const std::lock_guard lock{mutex_};
    return run_id_;
  }

  [[nodiscard]] std::optional<time_point> last_restart() const {
    const std::lock_guard lock{mutex_};
    return last_restart_;
  }

 private:
  mutable std::mutex mutex_;
  std::string run_id_;
  std::optional<time_point> last_restart_;
};

}  // namespace detail
}  // namespace bulwark
