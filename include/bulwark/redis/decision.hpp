#pragma once
// What a redis_gcra decision says, and where it came from: Redis, a locally held batch, or the
// failure policy applied because Redis did not answer.

#include <cstdint>
#include <string_view>

#include "bulwark/core/clock.hpp"

namespace bulwark {

/// What redis_gcra does when Redis does not answer (down, backing off, slower than
/// command_timeout, or answering an error). Each application is counted in the metrics and
/// named in the decision's `source`, so a failure is never silent.
enum class redis_failure_policy {
  fail_open,    ///< admit: availability over the limit (Envoy's global rate limit default)
  fail_closed,  ///< refuse: the limit over availability (Envoy's failure_mode_deny)
  local,        ///< decide with a per-process gcra at local_share of the global rate and burst
};

/// Which path made a decision.
enum class redis_decision_source {
  redis,        ///< the script in Redis, on the server's clock
  batch,        ///< units this process reserved from Redis earlier (batching)
  fail_open,    ///< Redis did not answer; admitted by policy
  fail_closed,  ///< Redis did not answer; refused by policy
  local,        ///< Redis did not answer; decided by the local fallback limiter
  invalid_key,  ///< the key was refused before reaching Redis
};

/// A rate-limit decision: `admitted`, and when refused, `retry_after` (how long until the
/// request's cost could be had if nobody else took any; zero when unknown: fail_closed,
/// invalid_key). `remaining` is the units that could still be taken at once after this
/// decision: Redis's count (redis-cell's "remaining") for source redis, the batch's leftover
/// for source batch, 0 otherwise.
/// Contextually converts to bool: `if (limiter.try_acquire(client)) ...`.
struct redis_gcra_decision {
  bool admitted = false;
  duration retry_after{};
  std::uint64_t remaining = 0;
  redis_decision_source source = redis_decision_source::redis;

  explicit operator bool() const noexcept { return admitted; }
  friend bool operator==(const redis_gcra_decision&, const redis_gcra_decision&) = default;
};

/// "redis", "batch", "fail_open", "fail_closed", "local", "invalid_key".
[[nodiscard]] constexpr std::string_view to_string(redis_decision_source s) noexcept {
  switch (s) {
    case redis_decision_source::redis:
      return "redis";
    case redis_decision_source::batch:
      return "batch";
    case redis_decision_source::fail_open:
      return "fail_open";
    case redis_decision_source::fail_closed:
      return "fail_closed";
    case redis_decision_source::local:
      return "local";
    case redis_decision_source::invalid_key:
      return "invalid_key";
  }
  return "unknown";
}

}  // namespace bulwark
