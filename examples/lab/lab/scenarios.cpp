#include "lab/scenarios.hpp"

#include <algorithm>

namespace lab {

std::vector<scenario> all_scenarios() {
  std::vector<scenario> list;
  list.push_back(baseline());
  // An area adds its scenario here, one line, e.g. list.push_back(rate_limit());
  return list;
}

const scenario* find_scenario(std::span<const scenario> scenarios, std::string_view name) noexcept {
  const auto found = std::find_if(scenarios.begin(), scenarios.end(),
                                  [name](const scenario& s) { return s.name == name; });
  return found == scenarios.end() ? nullptr : &*found;
}

}  // namespace lab
