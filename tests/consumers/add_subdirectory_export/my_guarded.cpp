#include <bulwark/rate_limit.hpp>

int my_guarded_allowed() {
  bulwark::manual_clock clock;
  bulwark::gcra limiter({.rate = bulwark::per_second(10), .burst = 2}, clock);
  int allowed = 0;
  for (int i = 0; i < 5; ++i)
    allowed += limiter.try_acquire() ? 1 : 0;
  return allowed;
}
