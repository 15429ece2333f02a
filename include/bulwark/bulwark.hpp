#pragma once

// Everything bulwark offers. Each area also has its own umbrella (<bulwark/core.hpp>, ...)
// for translation units that need only one area.
#include "bulwark/core.hpp"
#include "bulwark/version.hpp"
