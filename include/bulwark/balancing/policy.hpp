#pragma once
// What a balancing policy is: the pick_context it is handed and the balancing_policy concept
// load_balancer checks it against, with the optional declarations (uses_latency, prepare) the
// balancer looks for.

#include <concepts>
#include <cstdint>
#include <memory>
#include <optional>

#include "bulwark/balancing/endpoint.hpp"
#include "bulwark/balancing/endpoint_set.hpp"
#include "bulwark/core/clock.hpp"
#include "bulwark/core/random.hpp"

namespace bulwark {

/// What a balancing policy sees during one pick: the clock (read at most once, and only if
/// the policy asks), a generator, the sticky key's hash if any, and the EWMA window.
template <clock Clock, class G>
class pick_context {
 public:
  pick_context(const Clock& clock, G& rng, std::optional<std::uint64_t> key, duration window)
      : clock_{clock}, rng_{rng}, key_{key}, window_{window} {}
  [[nodiscard]] time_point now() {
    if (!now_) now_ = clock_.now();
    return *now_;
  }
  [[nodiscard]] G& rng() noexcept { return rng_; }
  [[nodiscard]] std::optional<std::uint64_t> key() const noexcept { return key_; }
  [[nodiscard]] duration ewma_window() const noexcept { return window_; }

 private:
  const Clock& clock_;
  G& rng_;
  std::optional<std::uint64_t> key_;
  duration window_;
  std::optional<time_point> now_{};
};

/// A balancing policy: `pick(set, context)` returns one of `set.routable()` (it is never
/// called with an empty one). A policy that learns from latency declares
/// `static constexpr bool uses_latency = true` (or, chosen at run time, a member
/// `bool observes_latency() const`), and completions then feed each endpoint's peak-EWMA
/// estimate (one clock read per completion, paid only by such policies).
template <class P>
concept balancing_policy = requires(P& p, const endpoint_set& set,
                                    pick_context<steady_clock, fast_rng>& context) {
  { p.pick(set, context) } -> std::same_as<endpoint_state*>;
};

namespace detail {
template <class P>
inline constexpr bool uses_latency_v = requires {
  requires P::uses_latency;
};
// A policy chosen at run time (named_policy) answers per instance instead, with
// `bool observes_latency() const`.
template <class P>
[[nodiscard]] bool observes_latency([[maybe_unused]] const P& policy) noexcept {
  if constexpr (uses_latency_v<P>) {
    return true;
  } else if constexpr (requires {
                         { policy.observes_latency() } -> std::same_as<bool>;
                       }) {
    return policy.observes_latency();
  } else {
    return false;
  }
}
// A policy that precomputes per-snapshot tables (locality_aware) declares
// `std::shared_ptr<const void> prepare(const endpoint_set&)`.
template <class P>
inline constexpr bool prepares_v = requires(P& p, const endpoint_set& set) {
  { p.prepare(set) } -> std::convertible_to<std::shared_ptr<const void>>;
};
}  // namespace detail

}  // namespace bulwark
