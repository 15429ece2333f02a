// A redis_gcra decision and a redis_store try_begin + release, through redis_client on one
// standalone redis-server and through redis_cluster_client on a 3-master Redis Cluster, for
// callgrind: a fixed number of operations, so that the client's instructions per operation are
// exact and repeatable (the servers run natively, outside valgrind; their time and the network
// are not counted). Not a CMake target; docs/benchmarks.md gives the command.
#include <bulwark/redis.hpp>
#include <chrono>
#include <cstdio>
#include <string>
#include <vector>

#include "../../tests/redis/redis_cluster.hpp"
#include "../../tests/redis/redis_server.hpp"

namespace {

constexpr int operations = 2000;

std::vector<std::string> keys() {
  std::vector<std::string> out;
  for (int i = 0; i < 64; ++i)
    out.push_back("client-" + std::to_string(i));
  return out;
}

template <class Limiter>
[[gnu::noinline]] int decide(Limiter& limiter, const std::vector<std::string>& k) {
  int admitted = 0;
  for (int i = 0; i < operations; ++i)
    admitted += limiter.try_acquire(k[static_cast<std::size_t>(i) & 63]).admitted ? 1 : 0;
  return admitted;
}

template <class Store>
[[gnu::noinline]] int begin_release(Store& store, const std::vector<std::string>& k) {
  int acquired = 0;
  for (int i = 0; i < operations; ++i) {
    const auto begun =
        store.try_begin({"cg", k[static_cast<std::size_t>(i) & 63]}, 1, std::chrono::seconds{10});
    if (begun.lease) acquired += store.release(*begun.lease) ? 1 : 0;
  }
  return acquired;
}

[[gnu::noinline]] int run_standalone_gcra(bulwark::redis_gcra<>& g,
                                          const std::vector<std::string>& k) {
  return decide(g, k);
}
[[gnu::noinline]] int run_cluster_gcra(
    bulwark::redis_gcra<bulwark::steady_clock, bulwark::redis_cluster_client<>>& g,
    const std::vector<std::string>& k) {
  return decide(g, k);
}
[[gnu::noinline]] int run_standalone_store(bulwark::redis_store<>& s,
                                           const std::vector<std::string>& k) {
  return begin_release(s, k);
}
[[gnu::noinline]] int run_cluster_store(
    bulwark::redis_store<bulwark::steady_clock, bulwark::redis_cluster_client<>>& s,
    const std::vector<std::string>& k) {
  return begin_release(s, k);
}

}  // namespace

int main() {
  bulwark_test::redis_cluster cluster;
  bulwark_test::redis_server single;
  bulwark::redis_cluster_client<> cluster_client(
      {.seeds = cluster.seeds(), .node = {.command_timeout = std::chrono::seconds{1}}});
  bulwark::redis_client<> single_client(
      {.port = single.port(), .command_timeout = std::chrono::seconds{1}});
  const bulwark::redis_gcra_options options{.rate = bulwark::per_second(1'000'000'000),
                                            .burst = 100'000};
  bulwark::redis_gcra<> gcra_single(single_client, options);
  bulwark::redis_gcra gcra_cluster(cluster_client, options);
  bulwark::redis_store<> store_single(single_client);
  bulwark::redis_store store_cluster(cluster_client);
  const auto k = keys();
  // Warm up: connections, scripts, the slot map, the slot-tag table.
  for (std::size_t i = 0; i < 64; ++i) {
    (void)gcra_single.try_acquire(k[i]);
    (void)gcra_cluster.try_acquire(k[i]);
  }
  (void)begin_release(store_single, k);
  (void)begin_release(store_cluster, k);
  const int a = run_standalone_gcra(gcra_single, k);
  const int b = run_cluster_gcra(gcra_cluster, k);
  const int c = run_standalone_store(store_single, k);
  const int d = run_cluster_store(store_cluster, k);
  std::printf("%d %d %d %d (of %d each); cluster commands %llu\n", a, b, c, d, operations,
              static_cast<unsigned long long>(cluster_client.metrics().nodes.commands));
  return a == operations && b == operations && c == operations && d == operations ? 0 : 1;
}
