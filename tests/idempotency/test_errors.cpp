// The area's errors: refusals are bulwark::rejected, bad keys are invalid_argument, and the
// outcomes of a handler that ran are neither.

#include <bulwark/idempotency/errors.hpp>
#include <stdexcept>
#include <type_traits>

#include "catch.hpp"

static_assert(std::is_base_of_v<bulwark::rejected, bulwark::request_in_progress>);          // 409
static_assert(std::is_base_of_v<bulwark::rejected, bulwark::key_reused>);                   // 422
static_assert(std::is_base_of_v<bulwark::rejected, bulwark::idempotency_store_full>);       // 503
static_assert(std::is_base_of_v<std::invalid_argument, bulwark::invalid_idempotency_key>);  // 400
static_assert(!std::is_base_of_v<bulwark::rejected, bulwark::lease_lost>);
static_assert(!std::is_base_of_v<bulwark::rejected, bulwark::replayed_failure>);

TEST_CASE("idempotency refusals read like every guard's", "[idempotency]") {
  const bulwark::request_in_progress busy{"idempotency", "a request with this key is in progress"};
  CHECK(std::string{busy.what()} == "bulwark::idempotency: a request with this key is in progress");
  CHECK_FALSE(busy.retry_after().has_value());
  const bulwark::key_reused reused{"idempotency", "key reused with a different request"};
  CHECK(std::string{reused.what()} == "bulwark::idempotency: key reused with a different request");
}
