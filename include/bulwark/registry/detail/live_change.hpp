#pragma once
// The one message a registry gives when new options change a field its instance fixes at
// construction (a keyed limiter's table, a load balancer's options).

#include <stdexcept>
#include <string>
#include <string_view>

#include "bulwark/detail/format.hpp"
#include "bulwark/detail/raise.hpp"

namespace bulwark::detail {

// Throws std::invalid_argument: "bulwark::registry: <kind> '<name>': <field> cannot change
// live (<from> to <to>); remove the instance to rebuild it".
[[noreturn]] inline void refuse_live_change(std::string_view kind, std::string_view name,
                                            std::string_view field, const std::string& from,
                                            const std::string& to) {
  raise<std::invalid_argument>("bulwark::registry: " + std::string{kind} + " '" +
                               std::string{name} + "': " + std::string{field} +
                               " cannot change live (" + from + " to " + to +
                               "); remove the instance to rebuild it");
}

// Refuses a change of one fixed field, naming it with both values.
template <class T>
void check_same(std::string_view kind, std::string_view name, std::string_view field, const T& now,
                const T& next) {
  if (!(now == next))
    refuse_live_change(kind, name, field, to_message_text(now), to_message_text(next));
}

}  // namespace bulwark::detail
