#pragma once
// The config tests' view of a refused document: each problem as "<path>: <message>".

#include <bulwark/config.hpp>
#include <string>
#include <vector>

namespace bulwark_test {

// The problems apply() reports for `text`, in order; empty if it applied.
inline std::vector<std::string> problems_of(bulwark::registry_config<bulwark::manual_clock>& config,
                                            const std::string& text) {
  try {
    config.apply(text);
  } catch (const bulwark::config_error& e) {
    std::vector<std::string> out;
    for (const auto& p : e.problems())
      out.push_back(p.path + ": " + p.message);
    return out;
  }
  return {};
}

}  // namespace bulwark_test
