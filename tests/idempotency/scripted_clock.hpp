#pragma once
// A manual clock whose sleep_for is recorded and may run a hook: lets a test script what the
// "other" caller does while this one waits, single-threaded and deterministic.

#include <bulwark/core/clock.hpp>
#include <functional>
#include <memory>
#include <vector>

namespace idempotency_test {

struct scripted_clock {
  using duration = bulwark::duration;
  using time_point = bulwark::time_point;
  bulwark::manual_clock base;
  std::shared_ptr<std::vector<duration>> sleeps = std::make_shared<std::vector<duration>>();
  std::shared_ptr<std::function<void()>> on_sleep = std::make_shared<std::function<void()>>();

  [[nodiscard]] time_point now() const noexcept { return base.now(); }
  void sleep_for(duration d) {
    sleeps->push_back(d);
    base.advance(d);
    if (*on_sleep) (*on_sleep)();
  }
};
static_assert(bulwark::clock<scripted_clock>);

}  // namespace idempotency_test
