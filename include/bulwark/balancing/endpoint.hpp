#pragma once
// The vocabulary of load balancing: an endpoint's description, its live state (outstanding
// requests, peak-EWMA latency, health marks), and the handle a pick returns.

#include <algorithm>
#include <atomic>
#include <bit>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <utility>

#include "bulwark/core/clock.hpp"
#include "bulwark/core/metrics.hpp"

namespace bulwark {

/// One backend a balancer may pick: a unique id (an address, a pod name), a weight (relative
/// share for the weighted balancers, >= 1), a zone and free-form metadata. `region`, `zone`
/// and `sub_zone` form its locality and `priority` its priority level (0 = highest); only the
/// locality_aware policy reads them (see locality.hpp).
struct endpoint {
  std::string id{};
  std::uint32_t weight = 1;
  std::string zone{};
  std::map<std::string, std::string, std::less<>> metadata{};
  std::string region{};
  std::string sub_zone{};
  std::uint32_t priority = 0;

  friend bool operator==(const endpoint&, const endpoint&) = default;
};

/// The live state of one endpoint, shared by every snapshot that lists it and by every handle
/// picked from it: what a balancing policy reads to choose (endpoint_set::routable() lists
/// them, and a policy's pick() returns one of those pointers). Policies read it; the balancer
/// writes it.
///
/// Its lifetime is an intrusive count in one 64-bit word:
///   low 32 bits  outstanding requests (handles not yet completed)
///   high 32 bits snapshots that list the endpoint
/// A pick increments the low half with the same fetch_add that counts the request, so holding
/// a handle keeps the state alive without a second atomic; whoever brings the word to zero
/// deletes it. A pick only ever happens through a snapshot the picker holds, so the word is
/// non-zero while it increments (no resurrection).
class endpoint_state {
 public:
  static constexpr std::uint64_t snapshot_ref = std::uint64_t{1} << 32;

  endpoint_state(endpoint description, time_point added)
      : description_{std::move(description)}, added_{added}, weight_{description_.weight} {}

  /// The endpoint as it joined. Its weight may since have changed in place (the balancer's
  /// set_weight, or an update() changing only the weight): weight() is the current one.
  [[nodiscard]] const endpoint& description() const noexcept { return description_; }
  /// The weight snapshots are built with now. Relaxed: only the balancer's writers (under its
  /// mutex) store and read it; pickers read the weights copied into their snapshot.
  [[nodiscard]] std::uint32_t weight() const noexcept {
    return weight_.load(std::memory_order_relaxed);
  }
  /// The balancer's business (policies never call it): it republishes after a change.
  void set_weight(std::uint32_t weight) noexcept {
    weight_.store(weight, std::memory_order_relaxed);
  }
  [[nodiscard]] time_point added() const noexcept { return added_; }

  /// Requests picked and not completed. Relaxed: a load signal, read racily by design (two
  /// concurrent P2C picks may both see the same count, as in every P2C implementation).
  [[nodiscard]] std::uint32_t outstanding() const noexcept {
    return static_cast<std::uint32_t>(refs_.load(std::memory_order_relaxed) & 0xffffffffu);
  }

  // Reference counting, the balancer's and the handles' business (policies never call these).
  // Increments are relaxed (the caller already holds a reference, through
  // its snapshot or handle); the decrement is acq_rel so that the deleting thread sees every
  // write made by the other holders before it frees the object (the shared_ptr protocol).
  void acquire_request() noexcept { refs_.fetch_add(1, std::memory_order_relaxed); }
  void acquire_snapshot() noexcept { refs_.fetch_add(snapshot_ref, std::memory_order_relaxed); }
  static void release(endpoint_state* s, std::uint64_t amount) noexcept {
    if (s->refs_.fetch_sub(amount, std::memory_order_acq_rel) == amount) delete s;
  }

  // Health marks, set by active checks and outlier ejection, read when a pool builds a
  // snapshot. Relaxed: each flag is a standalone fact; the pool republishes after changing one.
  std::atomic<bool> active_unhealthy{false};
  std::atomic<bool> ejected{false};

  /// Peak EWMA (Finagle's PeakEwma): the latency estimate in nanoseconds. A sample above the
  /// estimate replaces it at once (the "peak": one slow answer is enough to react); a lower
  /// one is mixed in with weight 1 - exp(-elapsed / window), so a slowdown is forgotten over
  /// the window. The estimate and its update time share one atomic word (a CAS loop, no
  /// lock): the estimate as a float's bits (31 bits, it is never negative) and the time in
  /// milliseconds since the endpoint joined (32 bits, wrapping after 49 days, which the
  /// unsigned subtraction tolerates), plus a "has a sample" bit.
  void observe_latency(duration rtt, time_point now, duration window) noexcept {
    const double sample = static_cast<double>(rtt.count());
    const auto now_ms = static_cast<std::uint32_t>(
        std::chrono::duration_cast<std::chrono::milliseconds>(now - added_).count());
    std::uint64_t old = ewma_.load(std::memory_order_relaxed);
    for (;;) {
      const double estimate = unpack_cost(old);
      const std::uint32_t stamp = static_cast<std::uint32_t>(old);
      double next = sample;
      if (sample < estimate && (old & has_sample) != 0) {
        const double elapsed_ms = static_cast<double>(now_ms - stamp);
        const double window_ms = static_cast<double>(
            std::chrono::duration_cast<std::chrono::milliseconds>(window).count());
        const double w = std::exp(-elapsed_ms / window_ms);
        next = estimate * w + sample * (1.0 - w);
      }
      const std::uint64_t word = pack(next, now_ms);
      // Relaxed: the estimate is a heuristic with no other data attached to it.
      if (ewma_.compare_exchange_weak(old, word, std::memory_order_relaxed)) return;
    }
  }

  /// The current peak-EWMA estimate in nanoseconds, decayed to `now` towards zero as Finagle
  /// does, so an endpoint that has not answered for a while gets probed again; 0 before the
  /// first sample (an unknown endpoint looks fast, so new endpoints get traffic).
  [[nodiscard]] double latency_estimate(time_point now, duration window) const noexcept {
    const std::uint64_t word = ewma_.load(std::memory_order_relaxed);
    if ((word & has_sample) == 0) return 0.0;
    const auto now_ms = static_cast<std::uint32_t>(
        std::chrono::duration_cast<std::chrono::milliseconds>(now - added_).count());
    const double elapsed_ms = static_cast<double>(now_ms - static_cast<std::uint32_t>(word));
    const double window_ms =
        static_cast<double>(std::chrono::duration_cast<std::chrono::milliseconds>(window).count());
    return unpack_cost(word) * std::exp(-elapsed_ms / window_ms);
  }

  // Outcome counters: lifetime totals for metrics, and the current outlier-detection interval.
  metric_counter successes;
  metric_counter failures;
  std::atomic<std::uint64_t> interval_successes{0};
  std::atomic<std::uint64_t> interval_failures{0};
  std::atomic<std::uint32_t> consecutive_failures{0};

 private:
  // Layout: bit 63 "has a sample", bits 32..62 the float's bits without the sign, bits 0..31
  // the stamp.
  static constexpr std::uint64_t has_sample = std::uint64_t{1} << 63;

  static std::uint64_t pack(double cost, std::uint32_t stamp) noexcept {
    const auto bits = std::bit_cast<std::uint32_t>(static_cast<float>(cost));
    return has_sample | (std::uint64_t{bits & 0x7fffffffu} << 32) | stamp;
  }
  static double unpack_cost(std::uint64_t word) noexcept {
    return static_cast<double>(
        std::bit_cast<float>(static_cast<std::uint32_t>((word >> 32) & 0x7fffffffu)));
  }

  endpoint description_;
  time_point added_;
  std::atomic<std::uint32_t> weight_;
  std::atomic<std::uint64_t> refs_{0};
  std::atomic<std::uint64_t> ewma_{0};
};

/// How a request through a picked endpoint ended; `latency` feeds the load-aware balancers.
struct completion {
  bool success = true;
  duration latency{};
};

/// What pick() returns: the chosen endpoint, counted as one outstanding request until the
/// handle is completed (or destroyed, which counts the request as cancelled: no latency and no
/// outcome are recorded). Move-only. Keeps the endpoint's state alive, so completing after the
/// endpoint left the set is safe.
///
/// A handle reports its completion to the balancer that picked it, so complete (or destroy)
/// every handle before destroying the balancer.
/// Thread-safety: a handle is used by one thread at a time; it may complete on another thread
/// than the one that picked. Complexity: O(1).
class endpoint_handle {
 public:
  endpoint_handle() noexcept = default;
  endpoint_handle(endpoint_handle&& other) noexcept
      : state_{std::exchange(other.state_, nullptr)},
        sink_{std::exchange(other.sink_, nullptr)},
        context_{other.context_} {}
  endpoint_handle& operator=(endpoint_handle&& other) noexcept {
    if (this != &other) {
      release();
      state_ = std::exchange(other.state_, nullptr);
      sink_ = std::exchange(other.sink_, nullptr);
      context_ = other.context_;
    }
    return *this;
  }
  endpoint_handle(const endpoint_handle&) = delete;
  endpoint_handle& operator=(const endpoint_handle&) = delete;
  ~endpoint_handle() { release(); }

  /// False for an empty handle (moved from, or completed).
  explicit operator bool() const noexcept { return state_ != nullptr; }

  /// The picked endpoint. Precondition: the handle is not empty.
  [[nodiscard]] const endpoint& get() const noexcept { return state_->description(); }
  [[nodiscard]] const endpoint* operator->() const noexcept { return &state_->description(); }
  [[nodiscard]] const std::string& id() const noexcept { return state_->description().id; }

  /// Reports the request's outcome and latency and ends the handle. Does nothing on an empty
  /// handle.
  void complete(completion result) noexcept {
    if (state_ == nullptr) return;
    if (sink_ != nullptr) sink_(context_, *state_, result);
    release();
  }
  void success(duration latency) noexcept { complete({true, latency}); }
  void failure(duration latency) noexcept { complete({false, latency}); }

  /// Internal: built by the pools. `sink` records a completion (may be null).
  using sink_fn = void (*)(const void* context, endpoint_state&, completion) noexcept;
  endpoint_handle(endpoint_state* state, sink_fn sink, const void* context) noexcept
      : state_{state}, sink_{sink}, context_{context} {
    state_->acquire_request();
  }

 private:
  void release() noexcept {
    if (state_ != nullptr) endpoint_state::release(std::exchange(state_, nullptr), 1);
  }

  endpoint_state* state_ = nullptr;
  sink_fn sink_ = nullptr;
  const void* context_ = nullptr;
};

}  // namespace bulwark
