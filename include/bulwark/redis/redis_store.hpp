#pragma once
// bulwark::redis_store: the idempotency_store concept over Redis, so that a handler runs at
// most once per key across every process of a fleet, not only across one process's threads.

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

#include "bulwark/core/clock.hpp"
#include "bulwark/core/metrics.hpp"
#include "bulwark/core/options.hpp"
#include "bulwark/detail/raise.hpp"
#include "bulwark/detail/saturating.hpp"
#include "bulwark/idempotency/store.hpp"
#include "bulwark/redis/client.hpp"
#include "bulwark/redis/detail/keys.hpp"
#include "bulwark/redis/detail/scripts.hpp"
#include "bulwark/redis/keyed_client.hpp"
#include "bulwark/sharding/slot_router.hpp"

namespace bulwark {

/// Options of bulwark::redis_store (defaults in parentheses).
struct redis_store_options {
  /// Prepended to every key ("bulwark:idem:"): records are
  /// "<prefix><scope length>:<scope>:<key>", the fencing counter "<prefix>fence" (on a Redis
  /// Cluster, one per slot, "<prefix>fence{<tag>}", in the slot of its records: fence_key).
  std::string prefix = "bulwark:idem:";
  /// The longest scope and the longest key, in bytes each (512).
  std::size_t max_key_length = 512;
  /// After the client detects a Redis restart (its run_id changed), try_begin refuses for
  /// this long to acquire a key that has no record, since the restart may have erased its
  /// completed record (0: never refuse; the restart is only reported). Set it to the longest
  /// ttl given to complete() to rule out a silent second execution within a record's life.
  duration restart_quarantine = duration::zero();
};

/// A snapshot of a redis_store's counters.
struct redis_store_metrics {
  std::uint64_t acquired = 0;     ///< try_begin answered acquired
  std::uint64_t replays = 0;      ///< try_begin answered completed
  std::uint64_t in_progress = 0;  ///< try_begin answered in_progress
  std::uint64_t mismatches = 0;   ///< try_begin answered mismatch
  std::uint64_t fenced = 0;       ///< complete/release refused (token stale, record gone)
  std::uint64_t unavailable = 0;  ///< operations Redis did not answer (redis_error thrown)
  std::uint64_t quarantined = 0;  ///< acquisitions refused during restart_quarantine

  template <class Visit>
  void for_each_metric(Visit&& visit) const {
    using enum metric_type;
    visit(metric{"acquired_total", "Keys acquired for a first execution.", counter, acquired});
    visit(metric{"replays_total", "Completed records read for a replay.", counter, replays});
    visit(metric{"in_progress_total", "Begins that found a live lease.", counter, in_progress});
    visit(metric{"mismatches_total", "Begins with another fingerprint.", counter, mismatches});
    visit(metric{"fenced_total", "Completions or releases refused for a stale token.", counter,
                 fenced});
    visit(metric{"unavailable_total", "Operations Redis did not answer.", counter, unavailable});
    visit(metric{"quarantined_total", "Acquisitions refused after a Redis restart.", counter,
                 quarantined});
  }

  friend bool operator==(const redis_store_metrics&, const redis_store_metrics&) = default;
};

namespace detail {
inline void validate(const redis_store_options& o) {
  const option_check check{"redis_store"};
  check.in_range("max_key_length", o.max_key_length, std::size_t{1}, std::size_t{4096});
  check.that(detail::valid_key_part(o.prefix, 256) || o.prefix.empty(), "prefix",
             "at most 256 bytes without spaces, control characters or braces", o.prefix);
  check.non_negative("restart_quarantine", o.restart_quarantine);
}
}  // namespace detail

/// Idempotency records in Redis, one string per (scope, key), each operation one script:
///
/// - try_begin: if the record is absent (never written, released, or expired by Redis), takes
///   a fencing token from INCR on the store's counter (fence_key) and SET NX PX the
///   in-progress record with the lease; otherwise answers mismatch, in_progress (deadline from
///   PTTL) or completed (the stored bytes or failure).
/// - complete: if the record is in progress under the lease's token, SET PX the completed
///   record with the ttl; else false (fenced).
/// - release: the same check, then DEL.
///
/// Expiry is Redis's own (PX), so processes with skewed clocks agree on who holds a key, and
/// an expired lease is simply an absent key: the next try_begin takes it over with a greater
/// token. Unlike memory_store, a completion after its lease expired is refused even if nobody
/// took the key over (the record is gone). Deadlines reported to the caller are its Clock's
/// now plus the time Redis says is left.
///
/// Errors: a scope or key that is not 0 (scope) or 1 (key) to max_key_length bytes without
/// spaces, control characters or braces throws std::invalid_argument before any round trip;
/// no answer from Redis (or an error reply) throws redis_error, which makes the executor's
/// execute() fail without running the handler (and, after the handler ran, leaves the record
/// to expire with its lease: a retry then runs the handler again).
///
/// Restarts: a Redis without persistence comes back empty, so a completed record may be gone
/// and the next try_begin acquires its key as if it never ran. The client reports the restart
/// (restarts_detected); with restart_quarantine > 0, a try_begin that acquires within that
/// time after the detection releases the key again and throws redis_error instead (counted in
/// quarantined), so that the handler does not run a second time unnoticed.
///
/// Thread-safety: every member may be called from any thread and any process. Complexity:
/// one round trip per operation, O(key and result size). The client must outlive the store.
template <clock Clock = steady_clock, redis_keyed_client Client = redis_client<Clock>>
requires std::same_as<typename Client::clock_type, Clock>
class redis_store {
 public:
  using value_type = std::string;

  /// Validates `options` (std::invalid_argument naming the field and value).
  explicit redis_store(Client& client, redis_store_options options = {})
      : client_{client}, options_{(detail::validate(options), std::move(options))} {}

  redis_store(const redis_store&) = delete;
  redis_store& operator=(const redis_store&) = delete;

  /// See the class comment. Throws std::invalid_argument (bad key) or redis_error.
  [[nodiscard]] begin_result<std::string> try_begin(idempotency_key id, std::uint64_t fingerprint,
                                                    duration lease) {
    const std::string key = record_key(id);
    const std::string fence = fence_key(id);
    const std::string fp = std::to_string(fingerprint);
    const std::string ms = to_ms(lease);
    const time_point now = client_.clock().now();
    const redis_result r = client_.eval(detail::begin_script(), {key, fence}, {fp, ms});
    const redis_value v = checked(r);
    const std::string_view status = v.size() > 0 ? v[0].str() : std::string_view{};
    begin_result<std::string> out;
    if (status == "acquired" && v.size() == 2) {
      acquired_.add();
      out.status = begin_status::acquired;
      out.lease = idempotency_lease{std::string{id.scope}, std::string{id.key},
                                    parse_token(v[1].str()), detail::deadline_after(now, lease)};
    } else if (status == "in_progress" && v.size() == 2) {
      in_progress_.add();
      out.status = begin_status::in_progress;
      // PTTL of a lease of duration::max() is more milliseconds than nanoseconds fit.
      const std::int64_t pttl_ms = std::max<std::int64_t>(v[1].integer(), 0);
      out.deadline =
          detail::deadline_after(now, duration{detail::saturating_mul(pttl_ms, 1'000'000)});
    } else if (status == "completed" && v.size() == 2 && !v[1].str().empty()) {
      replays_.add();
      out.status = begin_status::completed;
      const std::string_view payload = v[1].str();
      if (payload.starts_with('f')) {
        out.result.emplace(stored_failure{std::string{payload.substr(1)}});
      } else {
        out.result.emplace(std::in_place_index<0>, std::string{payload.substr(1)});
      }
    } else if (status == "mismatch") {
      mismatches_.add();
      out.status = begin_status::mismatch;
    } else {
      unavailable_.add();
      detail::raise<redis_error>("bulwark::redis_store: unexpected reply to try_begin");
    }
    if (out.status == begin_status::acquired && in_quarantine()) refuse_after_restart(*out.lease);
    return out;
  }

  /// Stores `result` for `ttl` if the record is still in progress under lease.token.
  /// Throws redis_error when Redis does not answer.
  bool complete(const idempotency_lease& lease, stored_result<std::string> result, duration ttl) {
    std::string payload;
    if (const auto* failure = std::get_if<stored_failure>(&result)) {
      payload = "f" + failure->what;
    } else {
      payload = "v" + std::get<0>(result);
    }
    const std::string key = record_key(lease.id());
    const std::string token = std::to_string(lease.token);
    const std::string ms = to_ms(ttl);
    return settled(client_.eval(detail::complete_script(), {key}, {token, ms, payload}));
  }

  /// Removes the record if it is still in progress under lease.token.
  /// Throws redis_error when Redis does not answer.
  bool release(const idempotency_lease& lease) {
    const std::string key = record_key(lease.id());
    const std::string token = std::to_string(lease.token);
    return settled(client_.eval(detail::release_script(), {key}, {token}));
  }

  /// The Redis key of a record: "<prefix><scope length>:<scope>:<key>" (the length keeps
  /// ("a:b", "c") and ("a", "b:c") apart). Throws std::invalid_argument for a bad scope or key.
  [[nodiscard]] std::string record_key(idempotency_key id) const {
    if (!id.scope.empty() && !detail::valid_key_part(id.scope, options_.max_key_length)) {
      detail::raise<std::invalid_argument>(
          detail::key_part_message("redis_store", "scope", id.scope, options_.max_key_length));
    }
    if (!detail::valid_key_part(id.key, options_.max_key_length)) {
      detail::raise<std::invalid_argument>(
          detail::key_part_message("redis_store", "key", id.key, options_.max_key_length));
    }
    std::string out = options_.prefix;
    out.append(std::to_string(id.scope.size())).append(":").append(id.scope);
    out.append(":").append(id.key);
    return out;
  }

  /// The key of the fencing counter `id`'s token comes from. On one server (redis_client),
  /// "<prefix>fence", one counter for the store: tokens increase across every key, as the
  /// idempotency_store concept asks. On a Redis Cluster (redis_cluster_client), whose scripts
  /// may name keys of one slot only, "<prefix>fence{<tag>}": one counter per hash slot, in the
  /// record's slot (detail::slot_tag), so tokens increase per slot, hence per key, but not
  /// across keys of different slots. Throws std::invalid_argument for a bad scope or key.
  [[nodiscard]] std::string fence_key(idempotency_key id) const {
    if constexpr (!redis_routes_by_slot<Client>) {
      (void)record_key(id);
      return options_.prefix + "fence";
    } else {
      std::string out = options_.prefix;
      out.append("fence{").append(detail::slot_tag(redis_key_slot(record_key(id)))).append("}");
      return out;
    }
  }

  [[nodiscard]] const redis_store_options& options() const noexcept { return options_; }

  [[nodiscard]] redis_store_metrics metrics() const noexcept {
    return {.acquired = acquired_.load(),
            .replays = replays_.load(),
            .in_progress = in_progress_.load(),
            .mismatches = mismatches_.load(),
            .fenced = fenced_.load(),
            .unavailable = unavailable_.load(),
            .quarantined = quarantined_.load()};
  }

 private:
  // Checked after the round trip: the connect that detects a restart is usually the one
  // that sent this try_begin. Differences of clock readings, so no time_point overflows.
  bool in_quarantine() const {
    if (options_.restart_quarantine <= duration::zero()) return false;
    const auto restarted = client_.last_restart();
    return restarted && client_.clock().now() - *restarted < options_.restart_quarantine;
  }

  [[noreturn]] void refuse_after_restart(const idempotency_lease& lease) {
    quarantined_.add();
    BULWARK_TRY {
      (void)release(lease);  // best effort: otherwise the key waits out the lease
    }
    BULWARK_CATCH(const redis_error&) {}
    detail::raise<redis_error>(
        "bulwark::redis_store: Redis restarted (run_id changed) within restart_quarantine; "
        "refusing to acquire a key whose completed record the restart may have erased");
  }

  // PX takes whole milliseconds: round up, and never 0 (which Redis refuses).
  static std::string to_ms(duration d) {
    const auto ms = std::chrono::ceil<std::chrono::milliseconds>(d).count();
    return std::to_string(std::max<std::int64_t>(ms, 1));
  }

  static std::uint64_t parse_token(std::string_view text) {
    std::uint64_t token = 0;
    for (const char c : text) {
      if (c < '0' || c > '9')
        detail::raise<redis_error>("bulwark::redis_store: malformed fencing token");
      token = token * 10 + static_cast<std::uint64_t>(c - '0');
    }
    return token;
  }

  redis_value checked(const redis_result& r) {
    if (r.status() != redis_status::ok) {
      unavailable_.add();
      detail::raise<redis_error>("bulwark::redis_store: Redis unavailable");
    }
    if (r.value().is_error()) {
      unavailable_.add();
      detail::raise<redis_error>("bulwark::redis_store: " + std::string{r.value().str()});
    }
    return r.value();
  }

  bool settled(const redis_result& r) {
    const redis_value v = checked(r);
    if (v.is_integer() && v.integer() == 1) return true;
    fenced_.add();
    return false;
  }

  Client& client_;
  redis_store_options options_;
  metric_counter acquired_, replays_, in_progress_, mismatches_, fenced_, unavailable_,
      quarantined_;
};

/// redis_store s{client, options} picks the client's clock and type.
template <redis_keyed_client Client>
redis_store(Client&, redis_store_options = {}) -> redis_store<typename Client::clock_type, Client>;

}  // namespace bulwark
