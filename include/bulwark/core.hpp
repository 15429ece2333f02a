#pragma once

// The shared vocabulary every component uses: clocks, rates, options checks, errors, the
// policy concept, stable and flood-resistant hashing, random generators and metrics.
#include "bulwark/core/clock.hpp"
#include "bulwark/core/error_handler.hpp"
#include "bulwark/core/errors.hpp"
#include "bulwark/core/hash.hpp"
#include "bulwark/core/metrics.hpp"
#include "bulwark/core/options.hpp"
#include "bulwark/core/policy.hpp"
#include "bulwark/core/prometheus.hpp"
#include "bulwark/core/random.hpp"
#include "bulwark/core/rate.hpp"
#include "bulwark/core/siphash.hpp"
