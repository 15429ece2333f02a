#pragma once
// The permission for one call of bulwark::redis_circuit_breaker (redis_circuit_breaker.hpp).

#include <cstdint>
#include <optional>
#include <utility>

#include "bulwark/circuit_breaker/state.hpp"
#include "bulwark/core/clock.hpp"

namespace bulwark {

/// The permission for one call of a redis_circuit_breaker, named
/// redis_circuit_breaker<Clock>::permit: converts to true when granted; give it a verdict
/// with success(), failure(), ignore() or record() (a permit destroyed without one counts as
/// ignored). A verdict may make one round trip: the local breaker's trip (published), a
/// fleet-wide probe's verdict, or a failure counted fleet-wide (fleet_failures); every other
/// verdict is the local breaker's. Move-only; one permit is used by one thread at a time.
template <class Owner, class LocalPermit>
class redis_circuit_breaker_permit {
 public:
  redis_circuit_breaker_permit() = default;
  redis_circuit_breaker_permit(redis_circuit_breaker_permit&& other) noexcept {
    *this = std::move(other);
  }
  redis_circuit_breaker_permit& operator=(redis_circuit_breaker_permit&& other) noexcept {
    if (this != &other) {
      record(call_outcome::ignored);
      owner_ = std::exchange(other.owner_, nullptr);
      local_ = std::move(other.local_);
      kind_ = std::exchange(other.kind_, kind::refused);
      slot_ = other.slot_;
      token_ = other.token_;
      generation_ = other.generation_;
      retry_after_ = other.retry_after_;
    }
    return *this;
  }
  ~redis_circuit_breaker_permit() { record(call_outcome::ignored); }

  explicit operator bool() const noexcept { return kind_ != kind::refused; }
  /// Whether this call is a fleet-wide half-open probe.
  [[nodiscard]] bool probe() const noexcept { return kind_ == kind::probe; }
  /// For a refused permit: the time left in open, when known.
  [[nodiscard]] std::optional<duration> retry_after() const noexcept { return retry_after_; }

  void success() { record(call_outcome::success); }
  void failure() { record(call_outcome::failure); }
  void ignore() { record(call_outcome::ignored); }
  void record(call_outcome outcome) {
    Owner* o = std::exchange(owner_, nullptr);
    if (o == nullptr) return;
    if (kind_ == kind::probe) {
      o->finish_probe(*this, outcome);
      return;
    }
    local_.record(outcome);
    if (kind_ == kind::local) o->after_local(outcome);
  }

 private:
  friend Owner;
  enum class kind : std::uint8_t { refused, local, probe, passthrough };
  redis_circuit_breaker_permit(Owner* o, LocalPermit p) noexcept
      : owner_{p ? o : nullptr},
        retry_after_{p.retry_after()},
        kind_{p ? kind::local : kind::refused},
        local_{std::move(p)} {}
  explicit redis_circuit_breaker_permit(std::optional<duration> retry_after) noexcept
      : retry_after_{retry_after} {}

  Owner* owner_ = nullptr;
  std::optional<duration> retry_after_{};
  kind kind_ = kind::refused;
  LocalPermit local_{};
  std::uint32_t slot_ = 0;
  std::uint64_t token_ = 0;
  std::uint64_t generation_ = 0;
};

}  // namespace bulwark
