#pragma once
// bulwark::leaky_bucket: a shaper. Callers queue in a bounded bucket and are released one
// after another at the leak rate; a request that would overflow the bucket is refused at once.
// The queue is virtual: one 64-bit time (when the bucket will have drained, leaky_bucket_rule)
// and a CAS loop.

#include <utility>

#include "bulwark/core/clock.hpp"
#include "bulwark/rate_limit/detail/cas_limiter.hpp"
#include "bulwark/rate_limit/rules/leaky_bucket_rule.hpp"

namespace bulwark {

/// A leaky bucket as a queue: requests leave it evenly spaced, one unit every T =
/// rate.interval(), with no burst; the bucket absorbs bursts by delaying them.
///
/// It decides with leaky_bucket_rule (rules/leaky_bucket_rule.hpp): with D the time the
/// bucket will have drained, a request of cost c arriving at t starts leaving at s = max(D, t)
/// and takes c x T; if the bucket would then hold more than `capacity` units it is refused at
/// once, otherwise D := s + c x T and the caller is released at s.
///
/// - try_acquire(c) admits only a request that needs no wait (D <= t): pure spacing.
/// - try_acquire_for(c, timeout) joins the queue if it has room and s - t <= timeout, then
///   sleeps through the clock until s.
/// - execute(f) joins the queue and waits its turn; a full queue throws rate_limited with
///   retry_after = when the bucket will have room.
/// - time_until_available(c) is max(D - t, 0): the wait before a try_acquire(c) succeeds.
/// - available() is the room left in the bucket, floor(capacity - (D - t) / T).
///
/// Thread-safe and lock-free (one CAS per admitted call; a waiting caller sleeps outside it).
template <clock Clock = steady_clock>
class leaky_bucket : public detail::cas_limiter<leaky_bucket_rule, Clock> {
 public:
  /// Validates `options` (std::invalid_argument naming the field); the bucket starts empty.
  explicit leaky_bucket(leaky_bucket_options options, Clock clock = {})
      : detail::cas_limiter<leaky_bucket_rule, Clock>{options, std::move(clock)} {}
};

}  // namespace bulwark
