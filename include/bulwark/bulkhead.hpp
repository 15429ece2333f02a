#pragma once

// Bulkheads: a semaphore bulkhead with a FIFO wait queue, adaptive concurrency limits (AIMD,
// Gradient2), partitioned limits and client-side adaptive throttling.
#include "bulwark/bulkhead/adaptive_limiter.hpp"
#include "bulwark/bulkhead/adaptive_throttle.hpp"
#include "bulwark/bulkhead/bulkhead.hpp"
#include "bulwark/bulkhead/limit_algorithms.hpp"
#include "bulwark/bulkhead/partitioned.hpp"
#include "bulwark/bulkhead/semaphore.hpp"
