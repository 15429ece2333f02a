// Must not compile: redis_near_cache refuses a Redis Cluster client with a static_assert
// (client tracking is per node). Built only by the test redis.near_cache_refuses_a_cluster
// (tests/redis/CMakeLists.txt), which passes when the compiler prints the assertion's message.

#include <bulwark/redis/cluster_client.hpp>
#include <bulwark/redis/redis_near_cache.hpp>

void near_cache_over_a_cluster(bulwark::redis_cluster_client<>& cluster) {
  bulwark::redis_near_cache<> near(cluster);
  (void)near.get("k");
}
