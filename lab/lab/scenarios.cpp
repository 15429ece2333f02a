#include "lab/scenarios.hpp"

#include <algorithm>

namespace lab {

std::vector<scenario> all_scenarios() {
  std::vector<scenario> list;
  list.push_back(baseline());
  list.push_back(rate_limit());
  list.push_back(adaptive_throttle());
  list.push_back(outage_scenario());
  list.push_back(retry_storm());
  list.push_back(overload());
  list.push_back(rebalance());
  list.push_back(hot_keys());
  list.push_back(slow_replica());
  list.push_back(double_charge());
  list.push_back(global_limit());
  list.push_back(reshard());
  list.push_back(zone_outage());
  list.push_back(shared_breaker());
  list.push_back(near_cache());
  // An area adds its scenario here, one line, e.g. list.push_back(rate_limit());
  return list;
}

const scenario* find_scenario(std::span<const scenario> scenarios, std::string_view name) noexcept {
  const auto found = std::find_if(scenarios.begin(), scenarios.end(),
                                  [name](const scenario& s) { return s.name == name; });
  return found == scenarios.end() ? nullptr : &*found;
}

}  // namespace lab
