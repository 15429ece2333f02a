#pragma once
// The redis add-on: rate limits, idempotency records, circuit breaker state and a near cache
// shared by every instance of a service through Redis. Needs hiredis: link the CMake target
// bulwark::redis. See docs/redis.md.

#include "bulwark/redis/client.hpp"
#include "bulwark/redis/cluster_client.hpp"
#include "bulwark/redis/cluster_options.hpp"
#include "bulwark/redis/connection.hpp"
#include "bulwark/redis/decision.hpp"
#include "bulwark/redis/health.hpp"
#include "bulwark/redis/keyed_client.hpp"
#include "bulwark/redis/redis_circuit_breaker.hpp"
#include "bulwark/redis/redis_circuit_breaker_options.hpp"
#include "bulwark/redis/redis_circuit_breaker_permit.hpp"
#include "bulwark/redis/redis_gcra.hpp"
#include "bulwark/redis/redis_gcra_options.hpp"
#include "bulwark/redis/redis_near_cache.hpp"
#include "bulwark/redis/redis_store.hpp"
