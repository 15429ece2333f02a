#pragma once
// The rate_limit area: token bucket, GCRA, leaky bucket, fixed and sliding windows, warm-up,
// and keyed limiters. See docs/rate_limit.md.

#include "bulwark/rate_limit/fixed_window.hpp"
#include "bulwark/rate_limit/gcra.hpp"
#include "bulwark/rate_limit/keyed_limiter.hpp"
#include "bulwark/rate_limit/keyed_options.hpp"
#include "bulwark/rate_limit/leaky_bucket.hpp"
#include "bulwark/rate_limit/limiter_base.hpp"
#include "bulwark/rate_limit/sliding_window_counter.hpp"
#include "bulwark/rate_limit/sliding_window_log.hpp"
#include "bulwark/rate_limit/smooth_warmup.hpp"
#include "bulwark/rate_limit/token_bucket.hpp"
