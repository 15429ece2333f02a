#pragma once

// The optional prometheus-cpp adapter (target bulwark::prometheus, needs prometheus-cpp's core
// library): a registry's metrics served by a prometheus::Exposer (docs/operate.md).
#include "bulwark/prometheus/collectable.hpp"
