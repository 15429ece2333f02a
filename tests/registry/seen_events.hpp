#pragma once
// The registry's events as a test compares them: owned strings, equality.

#include <bulwark/registry.hpp>
#include <string>
#include <vector>

namespace bulwark_test {

struct seen {
  bulwark::registry_event_type type;
  std::string kind, name, from, to;
  bool operator==(const seen&) const = default;
};

/// Appends each event `guards` emits from now on to `events`, which must outlive the sink.
template <class Registry>
void record(Registry& guards, std::vector<seen>& events) {
  guards.set_event_sink([&events](const bulwark::registry_event& e) {
    events.push_back(
        {e.type, std::string{e.kind}, std::string{e.name}, std::string{e.from}, std::string{e.to}});
  });
}

}  // namespace bulwark_test
