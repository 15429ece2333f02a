// The program from README's "A first look": a call guarded by a retry, a circuit breaker and a
// rate limiter composed in a pipeline, run in virtual time, with the breaker's metrics exported for
// Prometheus.
#include <bulwark/bulwark.hpp>
#include <chrono>
#include <cstdio>
#include <stdexcept>

using namespace std::chrono_literals;

int main() {
  // Virtual time: the waits below take no real time, and every run prints the same.
  bulwark::manual_clock clock;

  bulwark::gcra limiter({.rate = bulwark::per_second(100), .burst = 10}, clock);
  bulwark::circuit_breaker breaker({.window_size = 20, .minimum_calls = 10, .wait_in_open = 5s},
                                   clock);
  bulwark::retry retry({.max_attempts = 3, .seed = 1}, clock);  // seeded jitter: runs repeat
  bulwark::pipeline protect(retry, breaker, limiter);           // outermost first

  // A backend that fails one call in five, and every call during an outage.
  int calls = 0;
  bool down = false;
  auto backend = [&] {
    if (++calls % 5 == 0 || down) throw std::runtime_error{"503"};
    return 42;
  };

  int ok = 0, refused = 0, failed = 0;
  for (int i = 0; i < 1000; ++i) {  // 1000 requests, 5 ms apart; the outage is requests 400-599
    down = i >= 400 && i < 600;
    try {
      protect.execute(backend);
      ++ok;
    } catch (const bulwark::rejected&) {
      ++refused;  // a guard said no (or retries ran out): the caller can shed or degrade
    } catch (const std::exception&) {
      ++failed;
    }
    clock.advance(5ms);
  }
  std::printf("ok=%d refused=%d failed=%d backend calls=%d, %llu refused by the open breaker\n", ok,
              refused, failed, calls,
              static_cast<unsigned long long>(breaker.metrics().not_permitted_calls));

  bulwark::prometheus_text out;
  out.add("bulwark_circuit_breaker", breaker.metrics(), {{"breaker", "backend"}});
  std::fputs(out.str().c_str(), stdout);
}
