#pragma once
// bulwark::token_bucket: a bucket of `capacity` tokens refilled continuously at `rate`
// (token_bucket_rule), kept as one 64-bit "zero time" updated by a CAS loop.

#include <utility>

#include "bulwark/core/clock.hpp"
#include "bulwark/rate_limit/detail/cas_limiter.hpp"
#include "bulwark/rate_limit/rules/token_bucket_rule.hpp"

namespace bulwark {

/// A token bucket: holds up to `capacity` tokens, gains one every rate.interval() (refilled
/// continuously, as Envoy's TokenBucketImpl and folly's TokenBucket do, not in steps), and a
/// request of cost c takes c tokens or is refused. **It starts full**: `capacity` tokens at
/// construction, as Envoy's and folly's do.
///
/// It decides with token_bucket_rule (rules/token_bucket_rule.hpp): with Z the time at which
/// the bucket would hold zero tokens, T = rate.interval() and C = capacity, taking c tokens
/// sets Z := max(Z, t - C x T) + c x T, allowed iff the result is <= t; a refused request could
/// succeed at max(Z, t - C x T) + c x T (its retry_after). A clock that goes back adds no
/// tokens. The same decision as gcra with burst = capacity, in the vocabulary of tokens;
/// available() counts whole tokens, floor((t - max(Z, t - C x T)) / T).
///
/// Thread-safe and lock-free: one relaxed load and one CAS per admitted call. O(1).
template <clock Clock = steady_clock>
class token_bucket : public detail::cas_limiter<token_bucket_rule, Clock> {
 public:
  /// Validates `options` (std::invalid_argument naming the field); the bucket starts full.
  explicit token_bucket(token_bucket_options options, Clock clock = {})
      : detail::cas_limiter<token_bucket_rule, Clock>{options, std::move(clock)} {}
};

}  // namespace bulwark
