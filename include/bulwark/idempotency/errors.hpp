#pragma once
// The errors of the idempotency area, each with the HTTP status a service answers with.
//
// Refusals (the handler did not run) derive from bulwark::rejected, so that
// `catch (const bulwark::rejected&)` handles them with every other guard's. The statuses follow
// the IETF draft "The Idempotency-Key HTTP Header Field" (draft-ietf-httpapi-idempotency-key-
// header), section 2.7: 400 for a missing or malformed key, 409 for a request still being
// processed, 422 for a key reused with another payload.

#include <stdexcept>
#include <string>
#include <string_view>

#include "bulwark/core/errors.hpp"

namespace bulwark {

/// A call with this key is still in progress (its lease has not expired), and the executor was
/// told not to wait for it, or waited for `wait_timeout` in vain. The handler did not run.
/// HTTP: 409 Conflict; the client retries later and then receives the first call's result.
class request_in_progress : public rejected {
 public:
  using rejected::rejected;
};

/// The key was used before with a request whose fingerprint differs: the client reused a key
/// for another operation. The handler did not run. HTTP: 422 Unprocessable Content.
class key_reused : public rejected {
 public:
  using rejected::rejected;
};

/// The store cannot take another in-progress record: it is at its bound and holds nothing it
/// may evict (completed records are evicted oldest first, in-progress ones never). The handler
/// did not run. HTTP: 503 Service Unavailable.
class idempotency_store_full : public rejected {
 public:
  using rejected::rejected;
};

/// The idempotency key is empty or longer than `max_key_length` bytes (255 by default, as
/// Stripe's). The caller's input is bad, not the service's state. HTTP: 400 Bad Request.
class invalid_idempotency_key : public std::invalid_argument {
 public:
  using std::invalid_argument::invalid_argument;
};

/// The handler ran, but its lease expired and another call took the key over before the result
/// could be stored, so the store refused the late completion (its fencing token is stale) and
/// the result was discarded. Not a refusal: the handler's side effects happened. HTTP: 409
/// Conflict; a retry receives the result of the call that took over.
class lease_lost : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

/// Replays a failure stored by an earlier call with the same key (failure_policy::store, as
/// Stripe replays a 500): what() is the original exception's message. The handler did not run
/// again. HTTP: the status the first failure was answered with, typically 500.
class replayed_failure : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

}  // namespace bulwark
