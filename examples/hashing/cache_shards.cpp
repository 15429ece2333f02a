// Shard cache keys over memcached servers with consistent hashing, then lose a server: only
// the lost server's keys move, where "hash % n" would move almost all of them.

#include <bulwark/hashing.hpp>
#include <cstdio>
#include <string>
#include <vector>

int main() {
  std::vector<bulwark::node> servers;
  for (int i = 1; i <= 10; ++i) {
    servers.push_back(
        {.name = "10.0.0." + std::to_string(i) + ":11211", .zone = i % 2 ? "a" : "b"});
  }

  // A live placement: lookups read a snapshot while add()/remove() publish new ones.
  bulwark::placement<bulwark::maglev> tier{servers};
  const auto before = tier.snapshot();
  std::printf("user:42 -> %s\n", before->node_for("user:42").name.c_str());

  // Two replicas in different zones for a key that must survive a zone outage.
  for (const std::size_t i : bulwark::replicas(*before, "user:42", 2, {.spread_zones = true})) {
    std::printf("replica %s (zone %s)\n", before->nodes()[i].name.c_str(),
                before->nodes()[i].zone.c_str());
  }

  tier.remove("10.0.0.7:11211");  // the server died
  const auto after = tier.snapshot();

  constexpr int keys = 100000;
  int moved = 0, moved_mod = 0;
  for (int k = 0; k < keys; ++k) {
    const std::string key = "user:" + std::to_string(k);
    moved += before->node_for(key).name != after->node_for(key).name;
    const std::uint64_t h = bulwark::hash64(key);
    // hash % n: the same key over 10 servers, then over the 9 survivors.
    const std::uint64_t was = h % 10, now = h % 9;
    moved_mod += servers[was].name != (now >= 6 ? servers[now + 1] : servers[now]).name;
  }
  std::printf("keys moved: %.1f%% with maglev, %.1f%% with hash %% n\n", 100.0 * moved / keys,
              100.0 * moved_mod / keys);
  return 0;
}
