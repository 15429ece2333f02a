#pragma once
// The idempotency store concept: the three atomic per-key operations an executor needs, shaped
// so that a remote store (Redis, SQL) can offer each as one round trip. See docs/idempotency.md
// ("What a store must guarantee") for the state machine and the Redis and SQL mappings.

#include <concepts>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <variant>

#include "bulwark/core/clock.hpp"

namespace bulwark {

/// Where a key lives: `scope` is the owner of the key (a tenant, an account), chosen by the
/// service, never by the client; `key` is the client's Idempotency-Key. Two scopes never share
/// a record, so one tenant can never replay another's response. Views: the caller keeps the
/// strings alive for the duration of the call.
struct idempotency_key {
  std::string_view scope{};
  std::string_view key{};
};

/// A failure kept as the outcome of a key (failure_policy::store): the exception's message.
struct stored_failure {
  std::string what{};

  friend bool operator==(const stored_failure&, const stored_failure&) = default;
};

/// What a completed record holds: the handler's result (as the store's value type) or the
/// failure it threw.
template <class V>
using stored_result = std::variant<V, stored_failure>;

/// The right to complete or release one key, handed out by try_begin when it records the key as
/// in progress. `token` is the fencing token (Kleppmann, "How to do distributed locking", 2016):
/// strictly greater than every token handed out before for any key of the store, so that a
/// store refuses a completion or release from a holder whose lease was taken over.
/// `deadline` is when the lease expires by the store's clock. Holds copies of the key, so it
/// may outlive the strings the call was made with.
struct idempotency_lease {
  std::string scope{};
  std::string key{};
  std::uint64_t token = 0;
  time_point deadline{};

  [[nodiscard]] idempotency_key id() const noexcept { return {scope, key}; }
};

/// The outcome of try_begin.
enum class begin_status {
  acquired,     ///< the key was absent or expired; it is now in progress, held by `lease`
  in_progress,  ///< another call holds a live lease; `deadline` is when it expires
  completed,    ///< a result is stored; `result` is a copy of it
  mismatch,     ///< the key is in use (in progress or completed) with another fingerprint
  full,         ///< a store with a bound has no room and nothing it may evict
};

/// What try_begin answers: `lease` is set when acquired, `result` when completed, `deadline`
/// (of the live lease) when in progress.
template <class V>
struct begin_result {
  begin_status status = begin_status::full;
  std::optional<idempotency_lease> lease{};
  std::optional<stored_result<V>> result{};
  time_point deadline{};
};

/// try_begin's answer when another call holds the key: its lease expires at `deadline`.
struct in_progress_until {
  time_point deadline{};
};

/// try_begin's answer as one value, holding only what its outcome carries: the lease
/// (acquired), a copy of the result (completed), the live lease's deadline (in_progress), or
/// begin_status::mismatch or begin_status::full. A store may offer it (see idempotency_store)
/// besides begin_result, which is for people to read: building a begin_result default-
/// constructs an empty std::optional<idempotency_lease>, and g++ 12 zero-fills all 150 bytes of
/// a begin_result with `rep stos` (about 10 ns on the x86-64 machines measured, a third of a
/// replay through memory_store), where a variant writes only its alternative.
template <class V>
using begin_outcome =
    std::variant<idempotency_lease, stored_result<V>, in_progress_until, begin_status>;

/// A store of idempotency records, every operation atomic per key:
///
/// - `try_begin(key, fingerprint, lease_duration)`: if the key has no live record (none, a
///   completed one past its TTL, or an in-progress one past its lease deadline), records it as
///   in progress with a new fencing token and deadline now + lease_duration: `acquired`.
///   Otherwise a live record with another fingerprint gives `mismatch`, an in-progress one
///   `in_progress`, a completed one `completed` with its result. Redis: SET NX PX, or a Lua
///   script that also reads the existing record; SQL: INSERT ... ON CONFLICT DO NOTHING then
///   SELECT, or UPDATE ... WHERE the record expired.
/// - `complete(lease, result, ttl)`: if the record is still in progress under lease.token,
///   stores `result`, completed, to expire ttl from now, and returns true; otherwise (fenced:
///   taken over, released, or gone) changes nothing and returns false.
/// - `release(lease)`: if the record is still in progress under lease.token, removes it and
///   returns true; otherwise changes nothing and returns false.
///
/// `S::value_type` is the stored result type: bytes (std::string) for a remote store, or any
/// copyable value for memory_store. A store may also offer `try_begin_outcome(key, fingerprint,
/// lease_duration) -> begin_outcome<value_type>`, the same operation answering one value;
/// idempotency_executor then calls it instead of try_begin (memory_store does, for speed; a
/// remote store gains nothing from it next to its round trip).
template <class S>
concept idempotency_store = std::copyable<typename S::value_type> &&
    requires(S& store, idempotency_key key, std::uint64_t fingerprint, duration d,
             const idempotency_lease& lease, stored_result<typename S::value_type> result) {
  { store.try_begin(key, fingerprint, d) } -> std::same_as<begin_result<typename S::value_type>>;
  { store.complete(lease, std::move(result), d) } -> std::same_as<bool>;
  { store.release(lease) } -> std::same_as<bool>;
};

namespace detail {

// begin_outcome and begin_result say the same thing; these convert between them, moving.
template <class V>
begin_outcome<V> to_outcome(begin_result<V>&& r) {
  switch (r.status) {
    case begin_status::acquired:
      return begin_outcome<V>{std::in_place_index<0>, std::move(*r.lease)};
    case begin_status::completed:
      return begin_outcome<V>{std::in_place_index<1>, std::move(*r.result)};
    case begin_status::in_progress:
      return begin_outcome<V>{std::in_place_index<2>, in_progress_until{r.deadline}};
    default:
      return begin_outcome<V>{std::in_place_index<3>, r.status};
  }
}

template <class V>
begin_result<V> to_begin_result(begin_outcome<V>&& o) {
  begin_result<V> r;
  if (auto* lease = std::get_if<idempotency_lease>(&o)) {
    r.status = begin_status::acquired;
    r.lease.emplace(std::move(*lease));
  } else if (auto* result = std::get_if<stored_result<V>>(&o)) {
    r.status = begin_status::completed;
    r.result.emplace(std::move(*result));
  } else if (auto* busy = std::get_if<in_progress_until>(&o)) {
    r.status = begin_status::in_progress;
    r.deadline = busy->deadline;
  } else {
    r.status = std::get<begin_status>(o);
  }
  return r;
}

// The store's answer as a begin_outcome: through try_begin_outcome where the store has it.
template <idempotency_store S>
begin_outcome<typename S::value_type> begin_on(S& store, idempotency_key key,
                                               std::uint64_t fingerprint, duration lease) {
  using outcome = begin_outcome<typename S::value_type>;
  if constexpr (requires {
                  { store.try_begin_outcome(key, fingerprint, lease) } -> std::same_as<outcome>;
                }) {
    return store.try_begin_outcome(key, fingerprint, lease);
  } else {
    return to_outcome(store.try_begin(key, fingerprint, lease));
  }
}

}  // namespace detail

}  // namespace bulwark
