// Built when the package provides bulwark::redis (the redis component, with hiredis): proves
// the component's headers and hiredis link from an installed package. Needs no server: a key
// that can never be valid is refused before any connection is made.
#include <bulwark/redis.hpp>
#include <cstdio>

int main() {
  bulwark::redis_client<> client({.port = 6379});
  bulwark::redis_gcra<> limiter(client, {.on_failure = bulwark::redis_failure_policy::fail_closed});
  const auto decision = limiter.try_acquire("not a key");
  const bool ok = !decision.admitted &&
                  decision.source == bulwark::redis_decision_source::invalid_key &&
                  client.metrics().commands == 0;
  std::printf("test_package_redis: %s\n", ok ? "ok" : "FAILED");
  return ok ? 0 : 1;
}
