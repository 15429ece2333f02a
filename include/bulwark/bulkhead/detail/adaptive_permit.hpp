#pragma once
// The permit of the adaptive limiters (adaptive_limiter, partitioned_adaptive_limiter): one
// type for the right to one call and the report of its outcome, whichever limiter issued it.

#include <cstdint>
#include <utility>

#include "bulwark/core/clock.hpp"

namespace bulwark::detail {

/// What a permit reports when its call ends with a sample: the latency, the calls in flight
/// when it was admitted (the algorithm's `inflight`), and whether the backend dropped it.
struct adaptive_sample {
  duration latency;
  std::uint32_t inflight;
  bool dropped;
};

/// The slot of a limiter without partitions: nothing (no_unique_address makes it free).
struct no_partition {};

/// The right to one call of `Owner`, in `Slot` (a partition index, or no_partition); reports its
/// outcome once: success() / success(latency), dropped() / dropped(latency), or ignore(), which
/// the destructor does for a permit never reported. Move-only; an empty permit is false.
///
/// Owner befriends this class and provides `clock_` and `release(Slot, const adaptive_sample*)`,
/// called exactly once per admitted call, with nullptr when the permit is ignored (no sample:
/// then release must not throw, as ignore() and the destructor are noexcept).
template <class Owner, class Slot = no_partition>
class [[nodiscard]] adaptive_permit {
 public:
  adaptive_permit() noexcept = default;
  adaptive_permit(adaptive_permit&& other) noexcept
      : owner_{std::exchange(other.owner_, nullptr)},
        slot_{other.slot_},
        start_{other.start_},
        inflight_{other.inflight_} {}
  adaptive_permit& operator=(adaptive_permit&& other) noexcept {
    if (this != &other) {
      ignore();
      owner_ = std::exchange(other.owner_, nullptr);
      slot_ = other.slot_;
      start_ = other.start_;
      inflight_ = other.inflight_;
    }
    return *this;
  }
  ~adaptive_permit() { ignore(); }

  [[nodiscard]] explicit operator bool() const noexcept { return owner_ != nullptr; }
  /// When the call was admitted (the limiter's clock).
  [[nodiscard]] time_point start() const noexcept { return start_; }

  /// The call succeeded; its latency is measured with the limiter's clock (one read).
  void success() {
    if (owner_ != nullptr) success(owner_->clock_.now() - start_);
  }
  /// The call succeeded in `latency`.
  void success(duration latency) { finish(latency, false); }
  /// The call was dropped (refused, overloaded, timed out): the algorithm backs off. Its
  /// latency is measured too (one clock read), as Netflix's AbstractLimiter.onDropped
  /// passes `clock - startTime`: Gradient2 with drop_ratio = 1 uses it as a sample.
  void dropped() {
    if (owner_ != nullptr) dropped(owner_->clock_.now() - start_);
  }
  /// The call was dropped after `latency`.
  void dropped(duration latency) { finish(latency, true); }
  /// Releases the slot without a sample. Idempotent; what the destructor does.
  void ignore() noexcept {
    if (owner_ != nullptr) std::exchange(owner_, nullptr)->release(slot_, nullptr);
  }

 private:
  friend Owner;
  adaptive_permit(Owner* owner, Slot slot, time_point start, std::uint32_t inflight) noexcept
      : owner_{owner}, slot_{slot}, start_{start}, inflight_{inflight} {}

  void finish(duration latency, bool dropped) {
    if (owner_ == nullptr) return;
    const adaptive_sample s{latency, inflight_, dropped};
    std::exchange(owner_, nullptr)->release(slot_, &s);
  }

  Owner* owner_ = nullptr;
  [[no_unique_address]] Slot slot_{};
  time_point start_{};
  std::uint32_t inflight_ = 0;
};

}  // namespace bulwark::detail
