#pragma once

// Everything bulwark offers. Each area also has its own umbrella (<bulwark/core.hpp>,
// <bulwark/rate_limit.hpp>, ...) for translation units that need only one area. The optional
// Redis add-on, <bulwark/redis.hpp>, needs hiredis and target bulwark::redis, so it is not here.
#include "bulwark/balancing.hpp"
#include "bulwark/bulkhead.hpp"
#include "bulwark/cache.hpp"
#include "bulwark/circuit_breaker.hpp"
#include "bulwark/compose.hpp"
#include "bulwark/core.hpp"
#include "bulwark/hashing.hpp"
#include "bulwark/idempotency.hpp"
#include "bulwark/rate_limit.hpp"
#include "bulwark/registry.hpp"
#include "bulwark/retry.hpp"
#include "bulwark/sharding.hpp"
#include "bulwark/version.hpp"
