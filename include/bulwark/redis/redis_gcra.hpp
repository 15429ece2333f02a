#pragma once
// bulwark::redis_gcra: a GCRA rate limiter whose state lives in Redis, so that one limit holds
// across every instance of a service. The decision is one Lua script on the server's clock
// (TIME); the algorithm is bulwark::gcra's (ITU-T I.371 virtual scheduling, as redis-cell).

#include <algorithm>
#include <chrono>
#include <cmath>
#include <concepts>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "bulwark/core/clock.hpp"
#include "bulwark/core/errors.hpp"
#include "bulwark/core/metrics.hpp"
#include "bulwark/core/options.hpp"
#include "bulwark/core/rate.hpp"
#include "bulwark/rate_limit/gcra.hpp"
#include "bulwark/rate_limit/keyed_limiter.hpp"
#include "bulwark/rate_limit/limiter_base.hpp"
#include "bulwark/redis/batch.hpp"
#include "bulwark/redis/client.hpp"
#include "bulwark/redis/decision.hpp"
#include "bulwark/redis/keys.hpp"
#include "bulwark/redis/scripts.hpp"

namespace bulwark {

/// Options of bulwark::redis_gcra (defaults in parentheses).
struct redis_gcra_options {
  /// The global sustained rate per key (100/s); T = period / count in whole nanoseconds.
  bulwark::rate rate = per_second(100);
  /// Unit requests admitted at one instant, fleet-wide (1); tau = burst x T, at most 2^53 ns
  /// (about 104 days), since Redis's Lua computes in doubles.
  std::uint32_t burst = 1;
  /// Prepended to each key ("bulwark:gcra:"): the Redis key of client "42" is
  /// "bulwark:gcra:42".
  std::string prefix = "bulwark:gcra:";
  /// What to do when Redis does not answer (fail_open, as Envoy's rate limit filter).
  redis_failure_policy on_failure = redis_failure_policy::fail_open;
  /// With on_failure = local: this process's share of the global rate and burst (1.0). With n
  /// instances behind an even balancer, 1/n keeps the fleet near the global limit.
  double local_share = 1.0;
  /// Units reserved per round trip and then spent locally (1: no batching). Fewer round trips,
  /// less precision: see docs/redis.md for the bound. At most burst.
  std::uint32_t batch = 1;
  /// How long reserved units may be spent before they are dropped unspent (100ms).
  duration batch_ttl = std::chrono::milliseconds{100};
  /// The longest key accepted, in bytes (200); longer ones never reach Redis.
  std::size_t max_key_length = 200;
  /// Keys the batch cache and the local fallback hold at most (100000).
  std::size_t max_local_keys = 100'000;
};

/// A snapshot of a redis_gcra's counters (calls, not cost units).
struct redis_gcra_metrics {
  std::uint64_t admitted = 0;        ///< every source
  std::uint64_t rejected = 0;        ///< every source
  std::uint64_t round_trips = 0;     ///< decisions sent to Redis
  std::uint64_t batch_admitted = 0;  ///< admitted from a local batch, no round trip
  std::uint64_t unavailable = 0;     ///< decisions Redis did not answer (the policy applied)
  std::uint64_t failed_open = 0;
  std::uint64_t failed_closed = 0;
  std::uint64_t local_admitted = 0;
  std::uint64_t local_rejected = 0;
  std::uint64_t invalid_keys = 0;

  template <class Visit>
  void for_each_metric(Visit&& visit) const {
    using enum metric_type;
    visit(metric{"admitted_total", "Requests admitted.", counter, admitted});
    visit(metric{"rejected_total", "Requests refused.", counter, rejected});
    visit(metric{"round_trips_total", "Decisions sent to Redis.", counter, round_trips});
    visit(metric{"batch_admitted_total", "Requests admitted from a locally held batch.", counter,
                 batch_admitted});
    visit(metric{"unavailable_total", "Decisions Redis did not answer.", counter, unavailable});
    visit(metric{"failed_open_total", "Admitted by fail_open.", counter, failed_open});
    visit(metric{"failed_closed_total", "Refused by fail_closed.", counter, failed_closed});
    visit(
        metric{"local_admitted_total", "Admitted by the local fallback.", counter, local_admitted});
    visit(
        metric{"local_rejected_total", "Refused by the local fallback.", counter, local_rejected});
    visit(
        metric{"invalid_keys_total", "Keys refused before reaching Redis.", counter, invalid_keys});
  }

  friend bool operator==(const redis_gcra_metrics&, const redis_gcra_metrics&) = default;
};

/// A GCRA limiter per key whose state is one Redis string per key: the theoretical arrival
/// time TAT in nanoseconds. A request of cost c at server time t is admitted iff
/// max(TAT, t) + c T - t <= tau, and then TAT := max(TAT, t) + c T (bulwark::gcra's rule, so
/// the same schedule gets the same decisions, retry_after and remaining; tested). The decision
/// is one script (GET, compare, SET PX) run atomically by Redis on its own clock, so the
/// instances' clocks do not matter; the key expires when TAT passes.
///
/// When Redis does not answer, options.on_failure applies and is counted. With batch > 1, a
/// round trip reserves up to `batch` units and the process spends them locally for
/// batch_ttl (docs/redis.md states what that costs in precision).
///
/// Keys are checked before any round trip: 1 to max_key_length bytes, no spaces, control
/// characters or braces; a bad key is refused (source invalid_key), counted, never sent.
///
/// Thread-safety: every member may be called from any thread. Complexity: one round trip
/// per decision (or none, from a batch), O(key length) locally. The client must outlive it.
template <clock Clock = steady_clock>
class redis_gcra {
 public:
  /// Validates `options` (std::invalid_argument naming the field and value).
  redis_gcra(redis_client<Clock>& client, redis_gcra_options options)
      : client_{client},
        options_{validated(std::move(options))},
        interval_{options_.rate.interval().count()},
        tau_{interval_ * static_cast<std::int64_t>(options_.burst)},
        batches_{options_.max_local_keys},
        local_burst_{local_options(options_).burst},
        fallback_{local_options(options_),
                  {.max_keys = options_.max_local_keys, .idle_timeout = idle_timeout(options_)},
                  client.clock()} {}

  redis_gcra(const redis_gcra&) = delete;
  redis_gcra& operator=(const redis_gcra&) = delete;

  /// Takes `cost` units from `key`'s global limit on the server's clock (or from a batch held
  /// here). Throws std::invalid_argument for a cost outside [1, burst]; never throws for a bad
  /// key or an unreachable Redis (see the decision's source).
  redis_gcra_decision try_acquire(std::string_view key, std::uint32_t cost = 1) {
    return decide(key, cost, client_.clock().now(), false);
  }

  /// The same, deciding as if the server's clock read `now` (its time_since_epoch() taken as
  /// the server's time): for tests and simulations whose callers share one virtual clock. Do
  /// not mix the two overloads on one key: they keep time on different timelines. A key
  /// written through this overload is kept a minute longer than its TAT needs, since `now`
  /// does not advance with the server's clock.
  redis_gcra_decision try_acquire(std::string_view key, std::uint32_t cost, time_point now) {
    return decide(key, cost, now, true);
  }

  /// Runs f(args...) if `key` may take one unit; otherwise throws bulwark::rate_limited with
  /// the decision's retry_after (none for fail_closed), or std::invalid_argument for a bad key.
  template <class F, class... Args>
  requires std::invocable<F, Args...>
  decltype(auto) execute(std::string_view key, F&& f, Args&&... args) {
    const redis_gcra_decision d = try_acquire(key);
    if (d.source == redis_decision_source::invalid_key) {
      throw std::invalid_argument(
          detail::key_part_message("redis_gcra", "key", key, options_.max_key_length));
    }
    if (!d.admitted) {
      if (d.source == redis_decision_source::fail_closed) {
        throw rate_limited("redis_gcra", "Redis unavailable, failing closed");
      }
      throw rate_limited("redis_gcra", "rate limit exceeded", d.retry_after);
    }
    return std::invoke(std::forward<F>(f), std::forward<Args>(args)...);
  }

  /// The Redis key that holds `key`'s state: prefix + key.
  [[nodiscard]] std::string redis_key(std::string_view key) const {
    std::string out = options_.prefix;
    out.append(key);
    return out;
  }

  [[nodiscard]] const redis_gcra_options& options() const noexcept { return options_; }

  /// The counters. Relaxed reads. O(1).
  [[nodiscard]] redis_gcra_metrics metrics() const noexcept {
    return {.admitted = admitted_.load(),
            .rejected = rejected_.load(),
            .round_trips = round_trips_.load(),
            .batch_admitted = batch_admitted_.load(),
            .unavailable = unavailable_.load(),
            .failed_open = failed_open_.load(),
            .failed_closed = failed_closed_.load(),
            .local_admitted = local_admitted_.load(),
            .local_rejected = local_rejected_.load(),
            .invalid_keys = invalid_keys_.load()};
  }

 private:
  static redis_gcra_options validated(redis_gcra_options o) {
    const option_check check{"redis_gcra"};
    detail::check_rate(check, "rate", o.rate);
    check.at_least("burst", o.burst, std::uint32_t{1});
    const auto most = static_cast<std::uint64_t>(detail::lua_exact_ns / o.rate.interval().count());
    check.that(o.burst <= most, "burst", "<= " + std::to_string(most) + " at this rate", o.burst);
    check.fraction("local_share", o.local_share);
    check.in_range("batch", o.batch, std::uint32_t{1}, o.burst);
    check.positive("batch_ttl", o.batch_ttl);
    check.in_range("max_key_length", o.max_key_length, std::size_t{1}, std::size_t{4096});
    check.at_least("max_local_keys", o.max_local_keys, std::size_t{1});
    check.that(detail::valid_key_part(o.prefix, 256) || o.prefix.empty(), "prefix",
               "at most 256 bytes without spaces, control characters or braces", o.prefix);
    return o;
  }

  // The fallback: the same algorithm at local_share of the rate and burst, at least 1 each.
  static gcra_options local_options(const redis_gcra_options& o) {
    const auto share = [&](std::uint64_t n) {
      return std::max<std::uint64_t>(
          1, static_cast<std::uint64_t>(std::ceil(static_cast<double>(n) * o.local_share)));
    };
    return {.rate = {share(o.rate.count), o.rate.period},
            .burst = static_cast<std::uint32_t>(share(o.burst))};
  }

  // A key idle for longer than its bucket takes to refill is full again: forgetting it is
  // exact. The fallback keeps a key at least a minute.
  static duration idle_timeout(const redis_gcra_options& o) {
    return std::max<duration>(o.rate.interval() * o.burst, std::chrono::minutes{1});
  }

  redis_gcra_decision decide(std::string_view key, std::uint32_t cost, time_point now,
                             bool explicit_time) {
    if (cost == 0 || cost > options_.burst) {
      throw_invalid_option("redis_gcra", "cost", "in [1, " + std::to_string(options_.burst) + "]",
                           cost);
    }
    if (!detail::valid_key_part(key, options_.max_key_length)) {
      invalid_keys_.add();
      rejected_.add();
      return {.source = redis_decision_source::invalid_key};
    }
    if (options_.batch > 1) {
      if (const auto left = batches_.try_take(key, cost, now)) {
        batch_admitted_.add();
        admitted_.add();
        return {.admitted = true, .remaining = *left, .source = redis_decision_source::batch};
      }
    }
    const std::string redis_key_text = redis_key(key);
    const std::string t = std::to_string(interval_);
    const std::string tau = std::to_string(tau_);
    const std::string c = std::to_string(cost);
    const std::string want = std::to_string(std::max(cost, options_.batch));
    std::string seconds;
    std::string nanos;
    std::vector<std::string_view> args{t, tau, c, want};
    if (explicit_time) {
      const std::int64_t ns = detail::to_ns(now);
      seconds = std::to_string(detail::floor_div(ns, 1'000'000'000));
      nanos = std::to_string(ns - detail::floor_div(ns, 1'000'000'000) * 1'000'000'000);
      args.push_back(seconds);
      args.push_back(nanos);
    }
    round_trips_.add();
    const redis_result r = client_.eval(detail::gcra_script(), {redis_key_text}, args);
    if (!r.ok() || r.value().size() != 3 || !r.value()[0].is_integer()) {
      unavailable_.add();
      return on_failure(key, cost, now);
    }
    const auto granted = static_cast<std::uint64_t>(r.value()[0].integer());
    const auto remaining = static_cast<std::uint64_t>(r.value()[2].integer());
    if (granted == 0) {
      rejected_.add();
      return {.retry_after = duration{r.value()[1].integer()}, .remaining = remaining};
    }
    if (granted > cost) batches_.put(key, granted - cost, now + options_.batch_ttl, now);
    admitted_.add();
    return {.admitted = true, .remaining = remaining};
  }

  redis_gcra_decision on_failure(std::string_view key, std::uint32_t cost, time_point now) {
    switch (options_.on_failure) {
      case redis_failure_policy::fail_open:
        failed_open_.add();
        admitted_.add();
        return {.admitted = true, .source = redis_decision_source::fail_open};
      case redis_failure_policy::fail_closed:
        failed_closed_.add();
        rejected_.add();
        return {.source = redis_decision_source::fail_closed};
      case redis_failure_policy::local:
        break;
    }
    // The fallback's own refusals say when it would admit; a cost above its (shared) burst
    // can never pass locally, so it is refused without a hint.
    if (cost > local_burst_) {
      local_rejected_.add();
      rejected_.add();
      return {.source = redis_decision_source::local};
    }
    const std::string k{key};
    if (fallback_.try_acquire(k, cost, now)) {
      local_admitted_.add();
      admitted_.add();
      return {.admitted = true, .source = redis_decision_source::local};
    }
    local_rejected_.add();
    rejected_.add();
    return {.retry_after = fallback_.time_until_available(k, cost),
            .source = redis_decision_source::local};
  }

  redis_client<Clock>& client_;
  redis_gcra_options options_;
  std::int64_t interval_;
  std::int64_t tau_;
  detail::token_batches batches_;
  std::uint32_t local_burst_;
  keyed_limiter<gcra<Clock>, std::string> fallback_;
  metric_counter admitted_, rejected_, round_trips_, batch_admitted_, unavailable_;
  metric_counter failed_open_, failed_closed_, local_admitted_, local_rejected_, invalid_keys_;
};

}  // namespace bulwark
