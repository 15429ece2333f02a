#pragma once

// The optional config add-on (target bulwark::config, needs nlohmann_json): a registry built
// from a JSON document and reloaded from changed ones (docs/operate.md).
#include "bulwark/config/config.hpp"
#include "bulwark/config/fields.hpp"
