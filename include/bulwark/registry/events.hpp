#pragma once
// bulwark::registry_event: the state changes of a registry's instances, delivered to one sink.

#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <utility>

#include "bulwark/core/clock.hpp"

namespace bulwark {

/// What happened to a registry's instance.
enum class registry_event_type : std::uint8_t {
  created,        ///< first use of a name built the instance
  removed,        ///< remove() took the name out of the registry (holders keep the object)
  transition,     ///< a circuit breaker changed state (`from`, `to`: circuit_state names)
  reconfigured,   ///< new options were applied in place (the guard kept its state)
  replaced,       ///< new options rebuilt the instance (the guard has no reconfigure())
  limit_changed,  ///< an adaptive limiter's limit moved (`from`, `to`: the limits, as text)
  ejection,       ///< a load balancer ejected an endpoint (`to`: its id) or took it back
                  ///< (`from`: its id): the registry's own, or forwarded with emit()
  health,         ///< a load balancer's endpoint was marked unhealthy (`to`: its id) or
                  ///< healthy again (`from`: its id), by set_healthy
};

/// "created", "removed", "transition", "reconfigured", "replaced", "limit_changed",
/// "ejection", "health".
[[nodiscard]] constexpr std::string_view to_string(registry_event_type t) noexcept {
  switch (t) {
    case registry_event_type::created:
      return "created";
    case registry_event_type::removed:
      return "removed";
    case registry_event_type::transition:
      return "transition";
    case registry_event_type::reconfigured:
      return "reconfigured";
    case registry_event_type::replaced:
      return "replaced";
    case registry_event_type::limit_changed:
      return "limit_changed";
    case registry_event_type::ejection:
      return "ejection";
    case registry_event_type::health:
      return "health";
  }
  return "unknown";
}

/// One event. The views are valid during the sink's call only: copy what you keep.
struct registry_event {
  registry_event_type type = registry_event_type::created;
  std::string_view kind;  ///< the registry_kind's name (to_string), or what emit() was given
  std::string_view name;  ///< the instance's name in the registry
  std::string_view from;  ///< the state or value before, where there is one
  std::string_view to;    ///< the state or value after, where there is one
  time_point time{};      ///< when it happened, on the registry's clock
};

/// The user's sink. Called by the thread that caused the event (a breaker's transition runs
/// it inside the breaker's noexcept recording path), one event at a time: it must not throw,
/// should be quick, and may use the registry.
using registry_event_sink = std::function<void(const registry_event&)>;

namespace detail {

// The one sink of a registry, shared with the listeners it installs in its instances (a
// breaker's on_transition), which may outlive the registry through a holder's shared_ptr.
// Events are rare (transitions, reconfiguration), so a mutex serializes them: the sink sees
// one event at a time and never needs its own lock.
class event_hub {
 public:
  void set(registry_event_sink sink) {
    const std::scoped_lock lock{mutex_};
    sink_ = std::move(sink);
  }
  void emit(const registry_event& e) const noexcept {
    const std::scoped_lock lock{mutex_};
    if (sink_) sink_(e);
  }

 private:
  mutable std::recursive_mutex mutex_;  // a sink may use the registry, which emits
  registry_event_sink sink_;
};

}  // namespace detail
}  // namespace bulwark
