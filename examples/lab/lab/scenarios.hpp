#pragma once

#include <span>
#include <string_view>
#include <vector>

#include "lab/scenario.hpp"

namespace lab {

// One function per scenario, each defined in scenarios/<name>.cpp.

/// An unprotected client against a backend through an outage: the reference every other
/// scenario's protected arm is measured against.
[[nodiscard]] scenario baseline();

/// Every scenario, in the order `--list` shows them and a full run plays them. Built on each
/// call: a plain list, with no registration at static-initialisation time to go wrong.
[[nodiscard]] std::vector<scenario> all_scenarios();

/// The scenario named `name` in `scenarios`, or nullptr.
[[nodiscard]] const scenario* find_scenario(std::span<const scenario> scenarios,
                                            std::string_view name) noexcept;

}  // namespace lab
