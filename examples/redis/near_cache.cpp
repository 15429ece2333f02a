// A near cache in front of Redis: reads are answered in process, and a write by anyone else
// (here a second client, as another instance would be) evicts the entry within one round trip,
// through Redis's client-side caching (CLIENT TRACKING on REDIRECT, RESP2).
//
//   near_cache [port]        (a Redis server on 127.0.0.1:port, default 6379)

#include <bulwark/redis.hpp>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>

namespace {
const char* from(bulwark::near_cache_source s) {
  switch (s) {
    case bulwark::near_cache_source::local:
      return "local";
    case bulwark::near_cache_source::redis:
      return "redis";
    case bulwark::near_cache_source::unavailable:
      break;
  }
  return "unavailable";
}
}  // namespace

int main(int argc, char** argv) {
  const int port = argc > 1 ? std::atoi(argv[1]) : 6379;
  bulwark::redis_client<> data({.port = port});   // the near cache's own client
  bulwark::redis_client<> other({.port = port});  // another instance writing
  bulwark::redis_near_cache<> near(data);
  if (!near.wait_for_tracking(std::chrono::seconds{2}) ||
      !other.command({"SET", "example:price:42", "10"}).ok()) {
    std::printf("Redis unavailable at 127.0.0.1:%d\n", port);
    return 1;
  }

  for (int i = 0; i < 3; ++i) {
    const auto r = near.get("example:price:42");
    std::printf("get: %s from %s\n", r.value.value_or("(none)").c_str(), from(r.source));
  }

  // Another instance changes the price: Redis tells the near cache, which evicts the entry.
  const auto seen = near.metrics().invalidations;
  (void)other.command({"SET", "example:price:42", "12"});
  near.wait_for_invalidations(seen, std::chrono::seconds{2});
  const auto r = near.get("example:price:42");
  std::printf("after another instance's write: %s from %s\n", r.value.value_or("(none)").c_str(),
              from(r.source));
  const auto m = near.metrics();
  std::printf("hits %llu, GETs %llu, invalidations %llu\n", static_cast<unsigned long long>(m.hits),
              static_cast<unsigned long long>(m.misses),
              static_cast<unsigned long long>(m.invalidations));
  return 0;
}
