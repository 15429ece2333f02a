// A per-client API limiter: each client (by API key) may make 5 requests per second with a
// burst of 10; the limiter keeps at most 10000 clients and forgets idle ones. Runs in virtual
// time (bulwark::manual_clock), so its output is the same on every run.

#include <bulwark/rate_limit.hpp>
#include <chrono>
#include <cstdio>
#include <string>

using namespace std::chrono_literals;

namespace {

// What a request handler would do: answer 429 with Retry-After when the client is over its
// limit, 200 otherwise.
template <class Limiter>
int handle(Limiter& limiter, const std::string& api_key) {
  try {
    return limiter.execute(api_key, [] { return 200; });  // the real work goes here
  } catch (const bulwark::rate_limited& e) {
    const auto wait = std::chrono::duration_cast<std::chrono::milliseconds>(*e.retry_after());
    std::printf("  %s: 429, retry after %lldms\n", api_key.c_str(),
                static_cast<long long>(wait.count()));
    return 429;
  }
}

}  // namespace

int main() {
  bulwark::manual_clock clock;
  bulwark::keyed_limiter<bulwark::gcra<bulwark::manual_clock>, std::string> limiter(
      {.rate = bulwark::per_second(5), .burst = 10}, {.max_keys = 10'000, .idle_timeout = 10min},
      clock);

  // A greedy client sends 15 requests at once; a polite one sends one every 200ms.
  int greedy_ok = 0, polite_ok = 0;
  for (int i = 0; i < 15; ++i)
    greedy_ok += handle(limiter, "greedy") == 200;
  for (int i = 0; i < 5; ++i) {
    polite_ok += handle(limiter, "polite") == 200;
    clock.advance(200ms);
  }
  std::printf("greedy: %d of 15 admitted (burst 10)\n", greedy_ok);
  std::printf("polite: %d of 5 admitted\n", polite_ok);
  // One second later the greedy client has earned 5 more.
  int later = 0;
  for (int i = 0; i < 10; ++i)
    later += limiter.try_acquire("greedy");
  std::printf("greedy after 1s: %d of 10 admitted\n", later);
  const auto m = limiter.metrics();
  std::printf("admitted %llu, rejected %llu, clients %llu\n",
              static_cast<unsigned long long>(m.admitted),
              static_cast<unsigned long long>(m.rejected), static_cast<unsigned long long>(m.keys));
  return greedy_ok == 10 && polite_ok == 5 && later == 5 ? 0 : 1;
}
