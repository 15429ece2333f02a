#pragma once

// Composition: pipelines of policies, timeouts, fallbacks and hedged requests.
#include "bulwark/compose/fallback.hpp"
#include "bulwark/compose/hedge.hpp"
#include "bulwark/compose/pipeline.hpp"
#include "bulwark/compose/timeout.hpp"
