#pragma once
// Options and metrics of bulwark::idempotency_executor.

#include <chrono>
#include <cstddef>
#include <cstdint>

#include "bulwark/core/clock.hpp"
#include "bulwark/core/metrics.hpp"
#include "bulwark/core/options.hpp"

namespace bulwark {

/// What a call does when another call with the same key is still in progress.
enum class in_progress_policy {
  reject,  ///< fail at once with request_in_progress (HTTP 409, as the IETF draft says)
  wait,    ///< poll the store until the first call settles, at most wait_timeout
};

/// What happens to the key when the handler throws.
enum class failure_policy {
  release,  ///< remove the record, so a retry runs the handler again (Powertools' behaviour)
  store,    ///< store the failure, so a retry replays it as replayed_failure (Stripe stores 500s)
};

/// Options of idempotency_executor. Defaults: Stripe's 24 h key lifetime and 255-byte keys,
/// the IETF draft's 409 for a concurrent duplicate, Powertools' release on failure.
struct idempotency_options {
  /// How long a call holds its key in progress before another call may take it over (the
  /// holder crashed or hung). Make it longer than the handler's worst case: a takeover runs
  /// the handler again. Powertools ties it to the Lambda's remaining time.
  duration lease = std::chrono::seconds{60};
  /// How long a completed result is replayed (Stripe: 24 h; Powertools: 1 h).
  duration ttl = std::chrono::hours{24};
  in_progress_policy on_in_progress = in_progress_policy::reject;
  /// With in_progress_policy::wait: the longest a duplicate waits before request_in_progress.
  duration wait_timeout = std::chrono::seconds{5};
  /// With in_progress_policy::wait: the first pause between polls; it doubles after each poll
  /// up to max_poll_interval, and never outlasts the wait or the holder's lease.
  duration poll_interval = std::chrono::milliseconds{5};
  duration max_poll_interval = std::chrono::milliseconds{200};
  failure_policy on_failure = failure_policy::release;
  /// Longer keys, and empty ones, are refused with invalid_idempotency_key (Stripe: 255).
  std::size_t max_key_length = 255;
};

namespace detail {

inline void validate(const idempotency_options& o) {
  option_check check{"idempotency_executor"};
  check.positive("lease", o.lease);
  check.positive("ttl", o.ttl);
  check.non_negative("wait_timeout", o.wait_timeout);
  check.positive("poll_interval", o.poll_interval);
  check.at_least("max_poll_interval", o.max_poll_interval, o.poll_interval);
  check.at_least("max_key_length", o.max_key_length, std::size_t{1});
}

}  // namespace detail

/// Counters of an idempotency_executor (see for_each_metric for their meaning).
struct idempotency_metrics {
  std::uint64_t executions = 0;
  std::uint64_t replays = 0;
  std::uint64_t in_progress = 0;
  std::uint64_t mismatches = 0;
  std::uint64_t waits = 0;
  std::uint64_t leases_lost = 0;
  std::uint64_t failures_released = 0;
  std::uint64_t failures_stored = 0;
  std::uint64_t store_full = 0;
  std::uint64_t invalid_keys = 0;

  template <class Visit>
  void for_each_metric(Visit&& visit) const {
    const auto counter = [&](std::string_view name, std::string_view help, std::uint64_t v) {
      visit(metric{name, help, metric_type::counter, v});
    };
    counter("executions_total", "Handler runs: keys acquired.", executions);
    counter("replays_total", "Stored outcomes replayed without running the handler.", replays);
    counter("in_progress_total", "Duplicates refused while the key was in progress (409).",
            in_progress);
    counter("mismatches_total", "Keys reused with another request fingerprint (422).", mismatches);
    counter("waits_total", "Duplicates that waited for an in-progress call.", waits);
    counter("leases_lost_total", "Results discarded: the lease was taken over first.", leases_lost);
    counter("failures_released_total", "Handler failures that released the key.",
            failures_released);
    counter("failures_stored_total", "Handler failures stored for replay.", failures_stored);
    counter("store_full_total", "Calls refused because the store was full.", store_full);
    counter("invalid_keys_total", "Calls with an empty or over-long key.", invalid_keys);
  }

  friend bool operator==(const idempotency_metrics&, const idempotency_metrics&) = default;
};

}  // namespace bulwark
