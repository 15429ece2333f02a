#pragma once
// bulwark::idempotency_executor: runs a handler at most once per (scope, key), replaying its
// stored outcome to every repeat. Anchors: Stripe's idempotency keys, AWS Lambda Powertools'
// idempotency utility (INPROGRESS / COMPLETED / EXPIRED records, payload validation, in-progress
// expiry), and the IETF Idempotency-Key header draft (409 and 422).

#include <algorithm>
#include <array>
#include <atomic>
#include <concepts>
#include <cstdint>
#include <exception>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <type_traits>
#include <utility>
#include <variant>

#include "bulwark/core/clock.hpp"
#include "bulwark/core/hash.hpp"
#include "bulwark/core/metrics.hpp"
#include "bulwark/detail/false_sharing.hpp"
#include "bulwark/detail/format.hpp"
#include "bulwark/detail/raise.hpp"
#include "bulwark/detail/saturating.hpp"
#include "bulwark/idempotency/codec.hpp"
#include "bulwark/idempotency/errors.hpp"
#include "bulwark/idempotency/options.hpp"
#include "bulwark/idempotency/permit.hpp"
#include "bulwark/idempotency/store.hpp"

namespace bulwark {

namespace detail {

template <class Executor>
struct idempotency_steps;  // defined by the asio add-on (asio/idempotency.hpp)

// Slots for per-thread counters, process-wide: a thread takes the first free one on its first
// count and gives it back when it exits, so at most `thread_slots` live threads own one each;
// more threads than that share an overflow counter. Handing a slot from an exited thread to a
// new one goes through the pool's mutex, so the new owner reads its predecessor's last value.
inline constexpr std::size_t thread_slots = 16;

struct thread_slot_pool {
  std::mutex mutex;
  std::array<bool, thread_slots> taken{};

  static thread_slot_pool& instance() noexcept {
    static thread_slot_pool pool;
    return pool;
  }
  std::size_t acquire() noexcept {
    std::lock_guard lock{mutex};
    for (std::size_t i = 0; i < thread_slots; ++i) {
      if (!taken[i]) {
        taken[i] = true;
        return i;
      }
    }
    return thread_slots;  // none free: the overflow
  }
  void release(std::size_t i) noexcept {
    std::lock_guard lock{mutex};
    if (i < thread_slots) taken[i] = false;
  }
};

// The calling thread's slot, or thread_slots for the overflow. The index itself is trivially
// destructible, so it stays readable after the releaser ran (a count from a later thread_local
// destructor then goes to the overflow).
inline std::size_t this_thread_slot() noexcept {
  constexpr std::size_t unassigned = thread_slots + 1;
  thread_local std::size_t slot = unassigned;
  if (slot == unassigned) [[unlikely]] {
    struct releaser {
      std::size_t& slot;
      ~releaser() { thread_slot_pool::instance().release(std::exchange(slot, thread_slots)); }
    };
    slot = thread_slot_pool::instance().acquire();
    thread_local releaser r{slot};
    (void)r;
  }
  return slot;
}

// A monotonic counter with one cache line per thread slot. Replays are the hot path and run on
// many threads at once over a sharded store: one shared counter would make every replay move a
// cache line between cores, and even an uncontended atomic increment (a locked instruction)
// costs a sizeable part of a replay. A slot has one writer at a time, so it is counted with a
// plain load and store; only the overflow, shared by threads beyond thread_slots, takes a
// read-modify-write. Relaxed, as metric_counter: no increment is lost, and load(), the sum of
// the slots, never goes back.
class striped_counter {
 public:
  void add() noexcept {
    const std::size_t i = this_thread_slot();
    if (i < thread_slots) [[likely]] {
      std::atomic<std::uint64_t>& v = slots_[i].value;
      v.store(v.load(std::memory_order_relaxed) + 1, std::memory_order_relaxed);
    } else {
      slots_[thread_slots].value.fetch_add(1, std::memory_order_relaxed);
    }
  }
  [[nodiscard]] std::uint64_t load() const noexcept {
    std::uint64_t sum = 0;
    for (const auto& s : slots_)
      sum += s.value.load(std::memory_order_relaxed);
    return sum;
  }

 private:
  struct alignas(detail::false_sharing_range) padded {
    std::atomic<std::uint64_t> value{0};
  };
  std::array<padded, thread_slots + 1> slots_{};
};

}  // namespace detail

/// What execute() returns: the handler's result, and whether it was replayed from the store
/// (true) or produced by running the handler in this call (false).
template <class T>
struct idempotency_result {
  T value;
  bool replayed = false;
};

/// Runs `handler(args...)` at most once per (scope, key) while the key's record lives.
///
/// The first call records the key in progress under a lease (deadline and fencing token), runs
/// the handler, stores its result completed for `ttl` and returns it. A repeat with the same
/// fingerprint (hash64 of the caller's canonical form of the request) replays the stored result
/// without running the handler; a repeat with another fingerprint fails with key_reused (422);
/// a repeat while the first is in progress fails with request_in_progress (409), or waits for
/// its outcome (in_progress_policy::wait). If the handler throws, the key is released so a
/// retry runs again (default), or the failure is stored and replayed. A lease that expires lets
/// a later call take over; the store then refuses the old holder's completion (lease_lost).
///
/// Two ways to call: execute() throws; try_begin() returns an idempotency_attempt with a permit
/// to complete, fail or release (RAII: a dropped permit releases), for code without exceptions
/// and for asynchronous handlers.
///
/// Store models idempotency_store; Codec maps the handler's result type to Store::value_type
/// (identity_codec when the store keeps the result itself); Clock times waits only (the store
/// has its own clock for leases and TTLs). The store must outlive the executor, and the
/// executor its permits.
///
/// Thread-safety: every member function may be called from any thread; atomicity per key is
/// the store's. Complexity: per call, hash64 over the canonical form and the key's length,
/// one store operation for a replay, two for an execution, one per poll while waiting.
template <class Store, class Codec = identity_codec<typename Store::value_type>,
          clock Clock = steady_clock>
requires idempotency_store<Store> && result_codec<Codec, typename Store::value_type>
class idempotency_executor {
 public:
  using result_type = typename Codec::result_type;
  using value_type = typename Store::value_type;
  using permit = idempotency_permit<idempotency_executor>;
  using attempt = idempotency_attempt<idempotency_executor>;

  /// Validates `options` (std::invalid_argument naming the field and value).
  explicit idempotency_executor(Store& store, idempotency_options options = {},
                                Clock clock = {}) requires std::default_initializable<Codec>
      : idempotency_executor(store, options, Codec{}, std::move(clock)) {}

  idempotency_executor(Store& store, idempotency_options options, Codec codec, Clock clock = {})
      : store_{store},
        options_{(detail::validate(options), options)},
        codec_{std::move(codec)},
        clock_{std::move(clock)} {}

  idempotency_executor(const idempotency_executor&) = delete;  // permits point to it
  idempotency_executor& operator=(const idempotency_executor&) = delete;

  /// Runs `f(args...)` unless `id` already has an outcome; see the class comment.
  /// `canonical_request` is the caller's canonical form of the request (the fields that define
  /// the operation, in a fixed order); its hash64 is the fingerprint.
  /// Throws invalid_idempotency_key, key_reused, request_in_progress, idempotency_store_full,
  /// replayed_failure, lease_lost, or what `f` throws. Not offered without exceptions
  /// (detail::with_exceptions): try_begin is.
  template <detail::with_exceptions F, class... Args>
  requires std::invocable<F, Args...> &&
      std::convertible_to<std::invoke_result_t<F, Args...>, result_type>
          idempotency_result<result_type> execute(idempotency_key id,
                                                  std::string_view canonical_request, F&& f,
                                                  Args&&... args) {
    if (!valid_key(id)) detail::raise<invalid_idempotency_key>(key_message(id));
    const std::uint64_t fingerprint = hash64(canonical_request);
    waiting state{.pause = options_.poll_interval};
    for (;;) {
      turn next = next_turn(id, fingerprint, state);
      if (next.lease) return run(*next.lease, std::forward<F>(f), std::forward<Args>(args)...);
      if (next.stored) return replay(std::move(*next.stored));
      clock_.sleep_for(next.wait);
    }
  }

  /// The non-throwing start of a call: records `id` in progress and hands back a permit
  /// (status acquired), or answers replayed (with the stored value or failure), in_progress,
  /// key_reused, store_full or invalid_key. Never waits and never runs anything.
  [[nodiscard]] attempt try_begin(idempotency_key id, std::string_view canonical_request) {
    attempt out;
    if (!valid_key(id)) {
      out.status = attempt_status::invalid_key;
      return out;
    }
    begin_outcome<value_type> begun =
        detail::begin_on(store_, id, hash64(canonical_request), options_.lease);
    if (auto* lease = std::get_if<idempotency_lease>(&begun)) {
      executions_.add();
      out.status = attempt_status::acquired;
      out.permit = permit{*this, std::move(*lease)};
    } else if (auto* stored = std::get_if<stored_result<value_type>>(&begun)) {
      replays_.add();
      out.status = attempt_status::replayed;
      if (auto* failure = std::get_if<stored_failure>(stored)) {
        out.failure = std::move(failure->what);
      } else {
        out.value.emplace(codec_.decode(std::get<0>(std::move(*stored))));
      }
    } else if (auto* busy = std::get_if<in_progress_until>(&begun)) {
      in_progress_.add();
      out.status = attempt_status::in_progress;
      out.deadline = busy->deadline;
    } else if (std::get<begin_status>(begun) == begin_status::mismatch) {
      mismatches_.add();
      out.status = attempt_status::key_reused;
    } else {
      store_full_.add();
      out.status = attempt_status::store_full;
    }
    return out;
  }

  [[nodiscard]] const idempotency_options& options() const noexcept { return options_; }

  [[nodiscard]] idempotency_metrics metrics() const noexcept {
    return {.executions = executions_.load(),
            .replays = replays_.load(),
            .in_progress = in_progress_.load(),
            .mismatches = mismatches_.load(),
            .waits = waits_.load(),
            .leases_lost = leases_lost_.load(),
            .failures_released = failures_released_.load(),
            .failures_stored = failures_stored_.load(),
            .store_full = store_full_.load(),
            .invalid_keys = invalid_keys_.load()};
  }

 private:
  friend permit;
  template <class>
  friend struct detail::idempotency_steps;  // the asio add-on's awaitable execute

  // A call's wait for a key in progress: until when, and the next pause.
  // A plain flag beside the deadline, not an optional: g++ 12 at -O1 (the TSan build) reads
  // the optional's payload as maybe-uninitialized through the inlined loop.
  struct waiting {
    bool started = false;  // whether the wait for an in-progress holder has begun
    time_point until{};
    duration pause{};
  };
  // One turn of execute's loop: the lease to run under, or the stored outcome to replay, or
  // the pause before the next turn; raises the refusals (and request_in_progress once the
  // wait, if any, is over).
  struct turn {
    std::optional<idempotency_lease> lease{};
    std::optional<stored_result<value_type>> stored{};
    duration wait{};
  };
  turn next_turn(idempotency_key id, std::uint64_t fingerprint, waiting& state) {
    begin_outcome<value_type> begun = detail::begin_on(store_, id, fingerprint, options_.lease);
    if (auto* lease = std::get_if<idempotency_lease>(&begun)) return {.lease = std::move(*lease)};
    if (auto* stored = std::get_if<stored_result<value_type>>(&begun)) {
      return {.stored = std::move(*stored)};
    }
    if (auto* status = std::get_if<begin_status>(&begun)) {
      if (*status == begin_status::mismatch) {
        mismatches_.add();
        detail::raise<key_reused>("idempotency", "key reused with a different request");
      }
      store_full_.add();
      detail::raise<idempotency_store_full>("idempotency", "store full of in-progress records");
    }
    const time_point holder_deadline = std::get<in_progress_until>(begun).deadline;
    const time_point now = clock_.now();
    if (options_.on_in_progress == in_progress_policy::wait && !state.started) {
      waits_.add();
      state.started = true;
      state.until = detail::deadline_after(now, options_.wait_timeout);
    }
    if (!state.started || !(now < state.until)) {
      in_progress_.add();
      detail::raise<request_in_progress>("idempotency", "a request with this key is in progress");
    }
    // Poll again after `pause`, sooner if the wait ends or the holder's lease expires first
    // (then this call takes the key over). Positive, since now < state.until.
    duration sleep = std::min(state.pause, state.until - now);
    if (holder_deadline > now)
      sleep = std::min(sleep, detail::saturating_sub(holder_deadline, now));
    state.pause = std::min(detail::saturating_mul(state.pause, 2), options_.max_poll_interval);
    return {.wait = sleep};
  }

  bool valid_key(idempotency_key id) noexcept {
    if (!id.key.empty() && id.key.size() <= options_.max_key_length) return true;
    invalid_keys_.add();
    return false;
  }

  std::string key_message(idempotency_key id) const {
    std::string message = "bulwark::idempotency: key must be 1 to ";
    detail::append_number(message, options_.max_key_length);
    message += " bytes (got ";
    detail::append_number(message, id.key.size());
    message += " bytes)";
    return message;
  }

  template <class F, class... Args>
  idempotency_result<result_type> run(const idempotency_lease& lease, F&& f, Args&&... args) {
    executions_.add();
    std::optional<result_type> value;
    BULWARK_TRY {
      value.emplace(std::invoke(std::forward<F>(f), std::forward<Args>(args)...));
    }
    BULWARK_CATCH_ALL {
      settle_failure(lease, detail::what_of(std::current_exception(), "unknown exception"));
      BULWARK_RETHROW;
    }
    if (!store_.complete(lease,
                         stored_result<value_type>{std::in_place_index<0>, codec_.encode(*value)},
                         options_.ttl)) {
      leases_lost_.add();
      detail::raise<lease_lost>(
          "bulwark::idempotency: the lease expired and was taken over; result "
          "discarded");
    }
    return {std::move(*value), false};
  }

  idempotency_result<result_type> replay(stored_result<value_type>&& stored) {
    replays_.add();
    if (auto* failure = std::get_if<stored_failure>(&stored)) {
      detail::raise<replayed_failure>(failure->what);
    }
    return {codec_.decode(std::get<0>(std::move(stored))), true};
  }

  // The handler threw: release the key or keep the failure, as the options say. A false
  // answer from the store (the lease was taken over meanwhile) changes nothing for the caller,
  // who gets the handler's own exception either way.
  bool settle_failure(const idempotency_lease& lease, std::string_view what) {
    if (options_.on_failure == failure_policy::release) {
      failures_released_.add();
      return store_.release(lease);
    }
    failures_stored_.add();
    return store_.complete(lease, stored_result<value_type>{stored_failure{std::string{what}}},
                           options_.ttl);
  }

  Store& store_;
  idempotency_options options_;
  [[no_unique_address]] Codec codec_;
  [[no_unique_address]] Clock clock_;
  detail::striped_counter executions_;
  detail::striped_counter replays_;
  metric_counter in_progress_;
  metric_counter mismatches_;
  metric_counter waits_;
  metric_counter leases_lost_;
  metric_counter failures_released_;
  metric_counter failures_stored_;
  metric_counter store_full_;
  metric_counter invalid_keys_;
};

template <class Store>
idempotency_executor(Store&) -> idempotency_executor<Store>;
template <class Store>
idempotency_executor(Store&, idempotency_options) -> idempotency_executor<Store>;
template <class Store, clock Clock>
idempotency_executor(Store&, idempotency_options, Clock)
    -> idempotency_executor<Store, identity_codec<typename Store::value_type>, Clock>;
template <class Store, class Codec>
requires(!clock<Codec>) idempotency_executor(Store&, idempotency_options, Codec)
->idempotency_executor<Store, Codec, steady_clock>;
template <class Store, class Codec, clock Clock>
idempotency_executor(Store&, idempotency_options, Codec, Clock)
    -> idempotency_executor<Store, Codec, Clock>;

}  // namespace bulwark
