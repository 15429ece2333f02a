#pragma once
// The non-throwing, asynchronous side of idempotency_executor: try_begin() answers an
// idempotency_attempt, whose permit (when the key was acquired) settles the key later.

#include <optional>
#include <string>
#include <string_view>
#include <utility>

#include "bulwark/core/clock.hpp"
#include "bulwark/detail/raise.hpp"
#include "bulwark/idempotency/store.hpp"

namespace bulwark {

/// How idempotency_executor::try_begin answered.
enum class attempt_status {
  acquired,     ///< the key is this call's: run the handler, then settle the permit
  replayed,     ///< a stored outcome: `value`, or `failure` for a stored failure
  in_progress,  ///< another call holds the key until `deadline` (409)
  key_reused,   ///< the key was used with another request (422)
  store_full,   ///< the store has no room (503)
  invalid_key,  ///< the key is empty or too long (400)
};

/// The right to settle one acquired key: complete() stores the result, fail() applies the
/// executor's failure_policy, release() frees the key for a retry. Move-only; a permit dropped
/// unsettled releases the key, so an abandoned call never blocks its key until the lease
/// expires. Each settles at most once; afterwards the permit is empty.
///
/// Thread-safety: one permit is used by one thread at a time (it may move between threads);
/// permits of one executor may be used concurrently. Complexity: one store operation.
template <class Executor>
class idempotency_permit {
 public:
  using result_type = typename Executor::result_type;

  idempotency_permit() = default;
  idempotency_permit(Executor& executor, idempotency_lease lease) noexcept
      : executor_{&executor}, lease_{std::move(lease)} {}

  idempotency_permit(idempotency_permit&& other) noexcept
      : executor_{std::exchange(other.executor_, nullptr)}, lease_{std::move(other.lease_)} {}
  idempotency_permit& operator=(idempotency_permit&& other) noexcept {
    if (this != &other) {
      settle_quietly();
      executor_ = std::exchange(other.executor_, nullptr);
      lease_ = std::move(other.lease_);
    }
    return *this;
  }
  ~idempotency_permit() { settle_quietly(); }

  /// true while the permit holds its key (acquired and not yet settled).
  [[nodiscard]] explicit operator bool() const noexcept { return executor_ != nullptr; }

  /// The lease: its fencing token is worth passing to downstream writes, so that they too can
  /// refuse a holder that was taken over. Meaningful while the permit holds its key.
  [[nodiscard]] const idempotency_lease& lease() const noexcept { return lease_; }

  /// Stores `value` as the key's result; false if the lease was taken over first (the result
  /// is discarded, as execute() reports with lease_lost) or the permit is empty.
  bool complete(const result_type& value) {
    Executor* executor = std::exchange(executor_, nullptr);
    if (executor == nullptr) return false;
    using stored = stored_result<typename Executor::value_type>;
    if (executor->store_.complete(lease_,
                                  stored{std::in_place_index<0>, executor->codec_.encode(value)},
                                  executor->options_.ttl)) {
      return true;
    }
    executor->leases_lost_.add();
    return false;
  }

  /// The handler failed with message `what`: releases the key or stores the failure, as the
  /// executor's on_failure says. false if the lease was taken over first or the permit is
  /// empty.
  bool fail(std::string_view what) {
    Executor* executor = std::exchange(executor_, nullptr);
    return executor != nullptr && executor->settle_failure(lease_, what);
  }

  /// Frees the key so the next call with it runs the handler; false if the lease was taken
  /// over first or the permit is empty.
  bool release() {
    Executor* executor = std::exchange(executor_, nullptr);
    return executor != nullptr && executor->store_.release(lease_);
  }

 private:
  void settle_quietly() noexcept {
    BULWARK_TRY {
      release();
    }
    BULWARK_CATCH_ALL {}  // a destructor must not throw; the lease then simply expires
  }

  Executor* executor_ = nullptr;
  idempotency_lease lease_{};
};

/// What idempotency_executor::try_begin answers; which members are set depends on `status`.
template <class Executor>
struct idempotency_attempt {
  attempt_status status = attempt_status::invalid_key;
  idempotency_permit<Executor> permit{};                  ///< acquired
  std::optional<typename Executor::result_type> value{};  ///< replayed, a stored result
  std::optional<std::string> failure{};                   ///< replayed, a stored failure
  time_point deadline{};                                  ///< in_progress: lease deadline
};

}  // namespace bulwark
