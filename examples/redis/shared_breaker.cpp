// A circuit breaker shared by a fleet: two instances of a service (here two clients in one
// program, as two processes would each have their own) guard the same dependency under one
// name. Instance A sees the dependency fail and trips; instance B, which has seen no failure,
// stops calling as soon as it reads the shared state, and one probe fleet-wide decides when
// both may call again.
//
//   shared_breaker [port]        (a Redis server on 127.0.0.1:port, default 6379)

#include <bulwark/redis.hpp>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <thread>

namespace {

bulwark::redis_circuit_breaker_options options() {
  bulwark::redis_circuit_breaker_options o;
  o.local.trip_on = bulwark::trip_condition::consecutive_failures;
  o.local.consecutive_failures = 3;
  o.local.wait_in_open = std::chrono::milliseconds{300};
  o.prefix = "example:cb:";
  // No background thread here, so the output is the same on every run: refresh() is what the
  // thread calls every refresh_interval (100ms by default).
  o.refresh_interval = bulwark::duration::zero();
  return o;
}

std::string name(bulwark::circuit_state s) {
  return std::string{bulwark::to_string(s)};
}

}  // namespace

int main(int argc, char** argv) {
  const int port = argc > 1 ? std::atoi(argv[1]) : 6379;
  bulwark::redis_client<> client_a({.port = port});
  bulwark::redis_client<> client_b({.port = port});
  (void)client_a.command({"DEL", "example:cb:{inventory}:state", "example:cb:{inventory}:open"});
  bulwark::redis_circuit_breaker<> a(client_a, "inventory", options());
  bulwark::redis_circuit_breaker<> b(client_b, "inventory", options());
  if (!a.refresh() || !b.refresh()) {
    std::printf("Redis unavailable at 127.0.0.1:%d\n", port);
    return 1;
  }

  // B's calls succeed; its closed path makes no round trip.
  for (int i = 0; i < 1000; ++i)
    b.try_acquire().success();
  std::printf("B: 1000 calls, %llu round trips\n",
              static_cast<unsigned long long>(b.metrics().round_trips));

  // A sees three failures in a row: its local breaker trips and A publishes the trip.
  for (int i = 0; i < 3; ++i)
    a.try_acquire().failure();
  std::printf("A: %s after 3 failures\n", name(a.state()).c_str());

  b.refresh();
  const auto refused = b.try_acquire();
  std::printf("B: %s, call %s\n", name(b.state()).c_str(), refused ? "permitted" : "refused");

  // After the wait (300ms, timed by the expiry of a Redis key) the breaker is half-open for
  // the fleet: one probe lease. B takes it; A is refused while it is out.
  std::this_thread::sleep_for(std::chrono::milliseconds{350});
  a.refresh();
  b.refresh();
  auto probe = b.try_acquire();
  const auto other = a.try_acquire();
  std::printf("B: %s; A: %s\n", probe.probe() ? "probing for the fleet" : "not probing",
              other ? "permitted" : "refused");
  probe.success();  // the dependency is back: B closes the breaker for everyone
  a.refresh();
  std::printf("A: %s, B: %s\n", name(a.state()).c_str(), name(b.state()).c_str());
  return 0;
}
