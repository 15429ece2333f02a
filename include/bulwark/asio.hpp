#pragma once
// The asio add-on: awaitable forms of bulwark's guards for C++20 coroutines on standalone asio
// (1.22 or newer), in namespace bulwark::async, and waits on bulwark clocks that run in virtual
// time under test. Needs asio: link the CMake target bulwark::asio. See docs/async.md.

#include "bulwark/asio/adaptive.hpp"
#include "bulwark/asio/bulkhead.hpp"
#include "bulwark/asio/cache.hpp"
#include "bulwark/asio/circuit_breaker.hpp"
#include "bulwark/asio/guard.hpp"
#include "bulwark/asio/hedge.hpp"
#include "bulwark/asio/idempotency.hpp"
#include "bulwark/asio/partitioned.hpp"
#include "bulwark/asio/pipeline.hpp"
#include "bulwark/asio/rate_limit.hpp"
#include "bulwark/asio/retry.hpp"
#include "bulwark/asio/timeout.hpp"
#include "bulwark/asio/timer.hpp"
