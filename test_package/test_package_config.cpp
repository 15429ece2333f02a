// Built when the package provides bulwark::config (the config component, with nlohmann_json):
// proves the component's headers and nlohmann_json compile and link from an installed package.
// A one-limiter document builds a registry whose limiter then admits its burst.
#include <bulwark/config.hpp>
#include <cstdio>

int main() {
  bulwark::registry<> guards;
  bulwark::registry_config config{guards};
  config.apply(R"({"gcra_limiters": {"instances": {"api": {"rate": "10/s", "burst": 2}}}})");
  auto api = guards.gcra("api");
  const bool ok = api->try_acquire() && api->try_acquire() && !api->try_acquire();
  std::printf("test_package_config: %s\n", ok ? "ok" : "FAILED");
  return ok ? 0 : 1;
}
