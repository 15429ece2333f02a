#pragma once

#include <string>

#include "bulwark/core/clock.hpp"

namespace lab {

/// A duration as a person reads it, to three significant digits in the largest unit that
/// keeps it at or above 1: "21.4ms", "1s", "850us", "1.25s", "60s", "0s".
[[nodiscard]] std::string format_duration(bulwark::duration d);

/// A fraction in [0, 1] as a percentage to three significant digits: "1%", "0.5%", "99.2%".
[[nodiscard]] std::string format_percent(double fraction);

/// A double in its shortest round-trip decimal form, independent of the locale: "0.1", "20".
[[nodiscard]] std::string format_number(double value);

}  // namespace lab
