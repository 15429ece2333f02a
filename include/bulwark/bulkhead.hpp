#pragma once

// Bulkheads: a semaphore bulkhead with a wait queue (FIFO, CoDel, adaptive LIFO), adaptive
// concurrency limits (AIMD, Gradient2), partitioned limits, fixed or adaptive, and client-side
// adaptive throttling.
#include "bulwark/bulkhead/adaptive_limiter.hpp"
#include "bulwark/bulkhead/adaptive_throttle.hpp"
#include "bulwark/bulkhead/bulkhead.hpp"
#include "bulwark/bulkhead/limit_algorithms.hpp"
#include "bulwark/bulkhead/partitioned.hpp"
#include "bulwark/bulkhead/partitioned_adaptive.hpp"
#include "bulwark/bulkhead/semaphore.hpp"
