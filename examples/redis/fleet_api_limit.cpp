// A fleet-wide per-client API limit: three instances of a service (here three clients in one
// program, as three processes would each have their own) share one limit of 5 requests per
// second with a burst of 5 per client, through Redis. A client whose requests are spread over
// the instances still gets 5 at once, not 5 per instance.
//
//   fleet_api_limit [port]        (a Redis server on 127.0.0.1:port, default 6379)

#include <bulwark/redis.hpp>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>
#include <vector>

int main(int argc, char** argv) {
  const int port = argc > 1 ? std::atoi(argv[1]) : 6379;

  struct instance {
    explicit instance(int p)
        : client{{.port = p}},
          limiter{client,
                  {.rate = bulwark::per_second(5),
                   .burst = 5,
                   .prefix = "example:api:",
                   // Redis down: each of 3 instances allows a third of the limit on its own.
                   .on_failure = bulwark::redis_failure_policy::local,
                   .local_share = 1.0 / 3}} {}
    bulwark::redis_client<> client;
    bulwark::redis_gcra<> limiter;
  };
  std::vector<std::unique_ptr<instance>> fleet;
  for (int i = 0; i < 3; ++i)
    fleet.push_back(std::make_unique<instance>(port));

  // Start clean, so that the example prints the same on every run.
  (void)fleet[0]->client.command({"DEL", "example:api:greedy", "example:api:polite"});

  // "greedy" sends 12 requests at once, round-robin over the instances; "polite" sends 3.
  const auto send = [&](const std::string& who, int requests) {
    int admitted = 0;
    bulwark::duration retry{};
    for (int i = 0; i < requests; ++i) {
      const auto d = fleet[static_cast<std::size_t>(i) % fleet.size()]->limiter.try_acquire(who);
      if (d.source != bulwark::redis_decision_source::redis) {
        std::printf("Redis unavailable at 127.0.0.1:%d (decided by %s)\n", port,
                    std::string{bulwark::to_string(d.source)}.c_str());
        std::exit(1);
      }
      if (d) {
        ++admitted;
      } else {
        retry = d.retry_after;
      }
    }
    std::printf("%s: %d of %d admitted across 3 instances", who.c_str(), admitted, requests);
    if (admitted < requests) {
      // One unit comes back every 200 ms fleet-wide: the refusals say when.
      std::printf(" (retry after <= 200ms: %s)",
                  retry <= std::chrono::milliseconds{200} ? "yes" : "no");
    }
    std::printf("\n");
  };
  send("greedy", 12);
  send("polite", 3);

  // A batch job would rather wait its turn than be refused: try_acquire_for reserves greedy's
  // next unit fleet-wide in one round trip and sleeps until it is due (at most 200ms here).
  const auto queued =
      fleet[1]->limiter.try_acquire_for("greedy", 1, std::chrono::milliseconds{500});
  std::printf("greedy, waiting up to 500ms: %s\n", queued ? "admitted" : "refused");

  std::uint64_t round_trips = 0;
  for (const auto& i : fleet)
    round_trips += i->limiter.metrics().round_trips;
  std::printf("round trips: %llu\n", static_cast<unsigned long long>(round_trips));
  return 0;
}
