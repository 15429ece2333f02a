#pragma once

// The circuit breaker area: bulwark::circuit_breaker and its vocabulary.
// Guide: docs/circuit_breaker.md.

#include "bulwark/circuit_breaker/circuit_breaker.hpp"
#include "bulwark/circuit_breaker/metrics.hpp"
#include "bulwark/circuit_breaker/options.hpp"
#include "bulwark/circuit_breaker/permit.hpp"
#include "bulwark/circuit_breaker/state.hpp"
