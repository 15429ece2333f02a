#pragma once
// bulwark::redis_gcra: a GCRA rate limiter whose state lives in Redis, so that one limit holds
// across every instance of a service. The decision is one Lua script on the server's clock
// (TIME); the algorithm is bulwark::gcra's (ITU-T I.371 virtual scheduling, as redis-cell).

#include <algorithm>
#include <chrono>
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
#include "bulwark/detail/raise.hpp"
#include "bulwark/detail/saturating.hpp"
#include "bulwark/rate_limit/limiter_base.hpp"
#include "bulwark/rate_limit/rules/gcra_rule.hpp"
#include "bulwark/redis/client.hpp"
#include "bulwark/redis/decision.hpp"
#include "bulwark/redis/detail/batch.hpp"
#include "bulwark/redis/detail/keys.hpp"
#include "bulwark/redis/detail/local_fallback.hpp"
#include "bulwark/redis/detail/scripts.hpp"
#include "bulwark/redis/keyed_client.hpp"
#include "bulwark/redis/redis_gcra_options.hpp"

namespace bulwark {

namespace detail {
inline void validate(const redis_gcra_options& o) {
  const option_check check{"redis_gcra"};
  detail::check_rate(check, "rate", o.rate);
  check.at_least("burst", o.burst, std::uint32_t{1});
  const auto most = static_cast<std::uint64_t>((detail::lua_exact_ns - detail::lua_time_slack_ns) /
                                               o.rate.interval().count());
  check.that(o.burst <= most, "burst", "<= " + std::to_string(most) + " at this rate", o.burst);
  check.fraction("local_share", o.local_share);
  check.in_range("batch", o.batch, std::uint32_t{1}, o.burst);
  check.positive("batch_ttl", o.batch_ttl);
  check.in_range("max_key_length", o.max_key_length, std::size_t{1}, std::size_t{4096});
  check.at_least("max_local_keys", o.max_local_keys, std::size_t{1});
  check.that(detail::valid_key_part(o.prefix, 256) || o.prefix.empty(), "prefix",
             "at most 256 bytes without spaces, control characters or braces", o.prefix);
}
}  // namespace detail

/// A GCRA limiter per key whose state is one Redis string per key: the theoretical arrival
/// time TAT in nanoseconds. A request of cost c at server time t is admitted iff
/// max(TAT, t) + c T - t <= tau, and then TAT := max(TAT, t) + c T (bulwark::gcra_rule, so
/// the same schedule gets the same decisions, retry_after and remaining; tested). The decision
/// is one script (GET, compare, SET PX) run atomically by Redis on its own clock, so the
/// instances' clocks do not matter; the key expires when TAT passes.
///
/// The API is the local limiters' with a key in front: try_acquire, try_acquire_for,
/// time_until_available, available, execute. Each call that reaches Redis is one round trip.
///
/// When Redis does not answer, options.on_failure applies and is counted. With batch > 1, a
/// round trip reserves up to `batch` units and the process spends them locally for
/// batch_ttl (docs/redis.md states what that costs in precision).
///
/// Keys are checked before any round trip: 1 to max_key_length bytes, no spaces, control
/// characters or braces; a bad key is refused (source invalid_key), counted, never sent.
///
/// Thread-safety: every member may be called from any thread. Complexity: one round trip
/// per call (or none, from a batch), O(key length) locally. The client must outlive it.
///
/// Client: redis_client (one server) or redis_cluster_client (a Redis Cluster: each key's
/// state is one key, so it lives in one slot, and the script runs where the slot is).
template <clock Clock = steady_clock, redis_keyed_client Client = redis_client<Clock>>
requires std::same_as<typename Client::clock_type, Clock>
class redis_gcra {
 public:
  /// Validates `options` (std::invalid_argument naming the field and value).
  redis_gcra(Client& client, redis_gcra_options options)
      : client_{client},
        clock_{client.clock()},
        options_{(detail::validate(options), std::move(options))},
        rule_{gcra_options{options_.rate, options_.burst}},
        interval_{rule_.emission_interval().count()},
        tau_{rule_.tolerance().count()},
        horizon_{
            std::max<std::int64_t>(detail::lua_exact_ns - detail::lua_time_slack_ns - 2 * tau_, 0)},
        batches_{options_.max_local_keys},
        fallback_{options_, client.clock()} {}

  redis_gcra(const redis_gcra&) = delete;
  redis_gcra& operator=(const redis_gcra&) = delete;

  /// Takes `cost` units from `key`'s global limit on the server's clock (or from a batch held
  /// here), without waiting. Throws std::invalid_argument for a cost outside [1, burst]; never
  /// throws for a bad key or an unreachable Redis (see the decision's source).
  redis_gcra_decision try_acquire(std::string_view key, std::uint32_t cost = 1) {
    return decide(key, cost, clock_.now(), false, 0);
  }

  /// The same, deciding as if the server's clock read `now` (its time_since_epoch() taken as
  /// the server's time): for tests and simulations whose callers share one virtual clock. Do
  /// not mix the two timelines on one key. A key written at a given `now` is kept a minute
  /// longer than its TAT needs, since `now` does not advance with the server's clock.
  redis_gcra_decision try_acquire(std::string_view key, std::uint32_t cost, time_point now) {
    return decide(key, cost, now, true, 0);
  }

  /// Takes `cost` units, waiting through the clock (clock.sleep_for) for at most `timeout`, as
  /// gcra::try_acquire_for: one round trip reserves the units at the time they fit (moving
  /// TAT as an admission then would, so the caller keeps its place against every instance),
  /// then the caller sleeps until that time, holding no connection; admitted decisions after a
  /// wait count in `waited`. Refused at once, with retry_after, when they fit only later than
  /// `timeout` (negative: 0; at most 2^53 ns - 1 s - 2 tau, about 104 days, is reserved). A
  /// batch holding `cost` units admits at once. When Redis does not answer: fail_open admits,
  /// fail_closed refuses, local waits on the local limiter within `timeout`. Throws
  /// std::invalid_argument for a cost outside [1, burst]; a bad key is refused (invalid_key).
  /// Blocks the caller for at most `timeout` plus one round trip.
  redis_gcra_decision try_acquire_for(std::string_view key, std::uint32_t cost, duration timeout) {
    return decide(key, cost, clock_.now(), false, max_wait(timeout));
  }

  /// The same, deciding at `now` (see the `now` overload of try_acquire); the wait still
  /// sleeps through the client's clock.
  redis_gcra_decision try_acquire_for(std::string_view key, std::uint32_t cost, duration timeout,
                                      time_point now) {
    return decide(key, cost, now, true, max_wait(timeout));
  }

  /// How long until `key` could take `cost` units without waiting, if no one else takes any:
  /// zero when try_acquire(key, cost) would be admitted now (by Redis, or by a batch held
  /// here), else the retry_after its refusal would carry. One read-only round trip (counted
  /// in queries). When Redis does not answer, what the failure policy would do now: zero for
  /// fail_open, duration::max() ("not while Redis is away") for fail_closed, the local
  /// limiter's wait for local (duration::max() for a cost above its share of the burst).
  /// Throws std::invalid_argument for a bad key or a cost outside [1, burst].
  [[nodiscard]] duration time_until_available(std::string_view key, std::uint32_t cost = 1) {
    return query_wait(key, cost, clock_.now(), false);
  }

  /// The same at `now` (see the `now` overload of try_acquire).
  [[nodiscard]] duration time_until_available(std::string_view key, std::uint32_t cost,
                                              time_point now) {
    return query_wait(key, cost, now, true);
  }

  /// The most units one try_acquire(key, cost) could take now: floor((tau - max(TAT - t, 0)) / T),
  /// the local gcra's available() and redis-cell's "remaining", plus units a batch here still
  /// holds. A fleet-wide snapshot that other instances may change at once; a decision
  /// already carries `remaining` without this extra round trip. When Redis does not answer:
  /// burst for fail_open, 0 for fail_closed, the local limiter's for local. Throws
  /// std::invalid_argument for a bad key. One read-only round trip (counted in queries).
  [[nodiscard]] std::uint64_t available(std::string_view key) {
    return query_available(key, clock_.now(), false);
  }

  /// The same at `now` (see the `now` overload of try_acquire).
  [[nodiscard]] std::uint64_t available(std::string_view key, time_point now) {
    return query_available(key, now, true);
  }

  /// Runs f(args...) if `key` may take one unit; otherwise throws bulwark::rate_limited with
  /// the decision's retry_after (none for fail_closed), or std::invalid_argument for a bad key.
  /// Not offered without exceptions (detail::with_exceptions): try_acquire is.
  template <detail::with_exceptions F, class... Args>
  requires std::invocable<F, Args...>
  decltype(auto) execute(std::string_view key, F&& f, Args&&... args) {
    const redis_gcra_decision d = try_acquire(key);
    if (d.source == redis_decision_source::invalid_key) throw_bad_key(key);
    if (!d.admitted) {
      if (d.source == redis_decision_source::fail_closed) {
        detail::raise<rate_limited>("redis_gcra", "Redis unavailable, failing closed");
      }
      detail::raise<rate_limited>("redis_gcra", "rate limit exceeded", d.retry_after);
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
            .waited = waited_.load(),
            .round_trips = round_trips_.load(),
            .queries = queries_.load(),
            .batch_admitted = batch_admitted_.load(),
            .unavailable = unavailable_.load(),
            .failed_open = failed_open_.load(),
            .failed_closed = failed_closed_.load(),
            .local_admitted = local_admitted_.load(),
            .local_rejected = local_rejected_.load(),
            .invalid_keys = invalid_keys_.load()};
  }

 private:
  // A reservation horizon the script computes with exactly: a reservation leaves a backlog of
  // at most tau + max_wait, and the next decision adds up to tau to it (scripts.hpp).
  [[nodiscard]] std::int64_t max_wait(duration timeout) const noexcept {
    return std::clamp<std::int64_t>(timeout.count(), 0, horizon_);
  }

  void check_cost(std::uint32_t cost) const {
    if (cost == 0 || cost > options_.burst)
      detail::throw_bad_cost("redis_gcra", options_.burst, cost);
  }

  [[noreturn]] void throw_bad_key(std::string_view key) const {
    detail::raise<std::invalid_argument>(
        detail::key_part_message("redis_gcra", "key", key, options_.max_key_length));
  }

  // One script round trip's answer (scripts.hpp): granted units, wait, remaining.
  struct answer {
    std::uint64_t granted;
    std::int64_t wait;
    std::uint64_t remaining;
  };

  // Runs the GCRA script for `key`; empty (counted) when Redis gives no usable answer.
  std::optional<answer> ask(std::string_view key, std::uint32_t cost, std::uint32_t want,
                            std::int64_t wait_limit, time_point now, bool explicit_time) {
    const std::string redis_key_text = redis_key(key);
    const std::string t = std::to_string(interval_);
    const std::string tau = std::to_string(tau_);
    const std::string c = std::to_string(cost);
    const std::string w = std::to_string(want);
    const std::string limit = std::to_string(wait_limit);
    std::string seconds;
    std::string nanos;
    std::vector<std::string_view> args{t, tau, c, w, limit};
    if (explicit_time) {
      const std::int64_t ns = detail::to_ns(now);
      const std::int64_t s = detail::floor_div(ns, 1'000'000'000);
      seconds = std::to_string(s);
      nanos = std::to_string(ns - s * 1'000'000'000);
      args.push_back(seconds);
      args.push_back(nanos);
    }
    round_trips_.add();
    const redis_result r = client_.eval(detail::gcra_script(), {redis_key_text}, args);
    if (!r.ok() || r.value().size() != 3 || !r.value()[0].is_integer() ||
        !r.value()[1].is_integer() || !r.value()[2].is_integer()) {
      unavailable_.add();
      return std::nullopt;
    }
    return answer{static_cast<std::uint64_t>(r.value()[0].integer()),
                  static_cast<std::int64_t>(r.value()[1].integer()),
                  static_cast<std::uint64_t>(r.value()[2].integer())};
  }

  redis_gcra_decision decide(std::string_view key, std::uint32_t cost, time_point now,
                             bool explicit_time, std::int64_t wait_limit) {
    check_cost(cost);
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
    const auto a = ask(key, cost, std::max(cost, options_.batch), wait_limit, now, explicit_time);
    if (!a) return on_failure(key, cost, now, wait_limit);
    if (a->granted == 0) {
      rejected_.add();
      return {.retry_after = duration{a->wait}, .remaining = a->remaining};
    }
    if (a->wait > 0) {  // reserved ahead: the units are this caller's once the wait is over
      clock_.sleep_for(duration{a->wait});
      waited_.add();
      admitted_.add();
      return {.admitted = true};
    }
    if (a->granted > cost)
      batches_.put(key, a->granted - cost, detail::deadline_after(now, options_.batch_ttl), now);
    admitted_.add();
    return {.admitted = true, .remaining = a->remaining};
  }

  redis_gcra_decision on_failure(std::string_view key, std::uint32_t cost, time_point now,
                                 std::int64_t wait_limit) {
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
    const auto local = fallback_.acquire(key, cost, now, wait_limit);
    (local.admitted ? local_admitted_ : local_rejected_).add();
    (local.admitted ? admitted_ : rejected_).add();
    if (local.admitted && local.slept) waited_.add();
    return {.admitted = local.admitted,
            .retry_after = local.retry_after,
            .source = redis_decision_source::local};
  }

  duration query_wait(std::string_view key, std::uint32_t cost, time_point now,
                      bool explicit_time) {
    check_cost(cost);
    if (!detail::valid_key_part(key, options_.max_key_length)) {
      invalid_keys_.add();
      throw_bad_key(key);
    }
    if (options_.batch > 1 && batches_.held(key, now) >= cost) return duration::zero();
    queries_.add();
    if (const auto a = ask(key, cost, 0, 0, now, explicit_time)) return duration{a->wait};
    switch (options_.on_failure) {
      case redis_failure_policy::fail_open:
        return duration::zero();
      case redis_failure_policy::fail_closed:
        return duration::max();
      case redis_failure_policy::local:
        break;
    }
    return fallback_.wait(key, cost);
  }

  std::uint64_t query_available(std::string_view key, time_point now, bool explicit_time) {
    if (!detail::valid_key_part(key, options_.max_key_length)) {
      invalid_keys_.add();
      throw_bad_key(key);
    }
    const std::uint64_t held = options_.batch > 1 ? batches_.held(key, now) : 0;
    queries_.add();
    if (const auto a = ask(key, 1, 0, 0, now, explicit_time)) return held + a->remaining;
    switch (options_.on_failure) {
      case redis_failure_policy::fail_open:
        return options_.burst;
      case redis_failure_policy::fail_closed:
        return 0;
      case redis_failure_policy::local:
        break;
    }
    return held + fallback_.available(key);
  }

  Client& client_;
  Clock clock_;  // a copy of the client's: sleeps of try_acquire_for (manual_clock: shared time)
  redis_gcra_options options_;
  // The rule the script computes on the server (scripts.hpp): its T and tau are the script's
  // ARGV[1] and ARGV[2]. Built after options_ is validated, by stricter bounds than its own.
  gcra_rule rule_;
  std::int64_t interval_;
  std::int64_t tau_;
  std::int64_t horizon_;  // the longest reservation, ns (max_wait)
  detail::token_batches batches_;
  detail::redis_local_fallback<Clock> fallback_;
  metric_counter admitted_, rejected_, waited_, round_trips_, queries_, batch_admitted_;
  metric_counter unavailable_, failed_open_, failed_closed_, local_admitted_, local_rejected_;
  metric_counter invalid_keys_;
};

/// redis_gcra g{client, options} picks the client's clock and type.
template <redis_keyed_client Client>
redis_gcra(Client&, redis_gcra_options) -> redis_gcra<typename Client::clock_type, Client>;

}  // namespace bulwark
