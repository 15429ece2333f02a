#pragma once

#include <cstdint>
#include <optional>
#include <utility>

#include "bulwark/circuit_breaker/detail/probes.hpp"
#include "bulwark/circuit_breaker/detail/state_word.hpp"
#include "bulwark/circuit_breaker/state.hpp"
#include "bulwark/core/clock.hpp"

namespace bulwark {

/// The permission for one call, returned by circuit_breaker::try_acquire() and named
/// circuit_breaker<Clock>::permit. Converts to true when the call may go ahead; give it a
/// verdict with success(), failure(), ignore() or record(). A permit destroyed without a
/// verdict counts as ignored and frees its half-open slot. Verdicts after the first are no-ops;
/// a verdict recorded after the breaker changed state is dropped (and counted in
/// late_results). Move-only; one permit is used by one thread at a time.
template <class Breaker>
class circuit_breaker_permit {
 public:
  circuit_breaker_permit() noexcept = default;
  circuit_breaker_permit(circuit_breaker_permit&& other) noexcept { *this = std::move(other); }
  circuit_breaker_permit& operator=(circuit_breaker_permit&& other) noexcept {
    if (this != &other) {
      if (breaker_ != nullptr) record(call_outcome::ignored);
      breaker_ = std::exchange(other.breaker_, nullptr);
      word_ = other.word_;
      lease_ = other.lease_;
      start_ = other.start_;
      retry_after_ = other.retry_after_;
      granted_ = std::exchange(other.granted_, false);
    }
    return *this;
  }
  ~circuit_breaker_permit() {
    if (breaker_ != nullptr) record(call_outcome::ignored);
  }

  /// True when the call was permitted.
  explicit operator bool() const noexcept { return granted_; }
  /// The state the permit was granted or refused in.
  [[nodiscard]] circuit_state state() const noexcept { return detail::state_word{word_}.state(); }
  /// The generation of that state: circuit_breaker_transition::generation of the transition
  /// into it (mod 2^16). Half-open probes with equal generations belong to the same period.
  [[nodiscard]] std::uint32_t generation() const noexcept {
    return detail::state_word{word_}.generation();
  }
  /// For a refused permit: the time left in open (empty when forced open or out of probes).
  [[nodiscard]] std::optional<duration> retry_after() const noexcept { return retry_after_; }

  void success() noexcept { record(call_outcome::success); }
  void failure() noexcept { record(call_outcome::failure); }
  void ignore() noexcept { record(call_outcome::ignored); }
  /// Records `outcome`, reading the clock only if slow-call detection or a time-based window
  /// needs the time. O(1), or O(permitted_calls_in_half_open) for a half-open probe.
  void record(call_outcome outcome) noexcept {
    if (auto* b = std::exchange(breaker_, nullptr)) b->finish(*this, outcome, nullptr);
  }
  /// The same with the caller's clock read.
  void record(call_outcome outcome, time_point now) noexcept {
    if (auto* b = std::exchange(breaker_, nullptr)) b->finish(*this, outcome, &now);
  }

 private:
  friend Breaker;
  circuit_breaker_permit(Breaker* b, std::uint64_t word, time_point start,
                         detail::probe_lease lease = {}) noexcept
      : breaker_{b}, word_{word}, lease_{lease}, start_{start}, granted_{true} {}
  circuit_breaker_permit(std::uint64_t word, std::optional<duration> retry_after) noexcept
      : word_{word}, retry_after_{retry_after} {}

  Breaker* breaker_ = nullptr;
  std::uint64_t word_ = 0;
  detail::probe_lease lease_{};  // the half-open slot held, for a probe
  time_point start_{};
  std::optional<duration> retry_after_{};
  bool granted_ = false;
};

}  // namespace bulwark
