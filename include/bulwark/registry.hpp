#pragma once

// Named guards from shared configs, their metrics and events in one place (docs/operate.md).
#include "bulwark/registry/events.hpp"
#include "bulwark/registry/keyed_options.hpp"
#include "bulwark/registry/kinds.hpp"
#include "bulwark/registry/load_balancer_options.hpp"
#include "bulwark/registry/prometheus.hpp"
#include "bulwark/registry/registry.hpp"
