// Route users to database shards by user id with consistent hashing, give one celebrity
// account a shard of its own with a directory override, then plan growing from 4 to 5 shards:
// which users move, compared with "hash % n".

#include <bulwark/hashing.hpp>
#include <bulwark/sharding.hpp>
#include <cstdio>
#include <string>
#include <string_view>
#include <vector>

namespace {

// Users are placed by maglev over the database shards; the directory sends listed users
// elsewhere, here to "users-vip", a shard only the directory uses (its own shard).
using user_router = bulwark::directory_router<bulwark::consistent_router<bulwark::maglev>>;

// The users' shards: maglev over `shards` database shards, plus the celebrity's own shard.
user_router make_router(std::size_t shards) {
  std::vector<bulwark::node> nodes;
  for (std::size_t i = 0; i < shards; ++i)
    nodes.push_back({.name = "users-" + std::to_string(i)});
  return user_router{{{"user:taylor", "users-vip"}},
                     bulwark::consistent_router<bulwark::maglev>{nodes},
                     {"users-vip"}};
}

}  // namespace

int main() {
  const user_router before = make_router(4);
  for (const std::string_view user : {"user:1", "user:42", "user:1001", "user:taylor"}) {
    std::printf("%-12s -> %s%s\n", std::string{user}.c_str(),
                before.shards()[before.shard_for(user)].c_str(),
                before.overridden(user) ? " (override)" : "");
  }

  // Grow to 5 shards. The plan routes a sample of users through both routers and reports the
  // flows between shards, compared by name.
  const user_router after = make_router(5);
  std::vector<std::string> sample;
  for (int id = 0; id < 100000; ++id)
    sample.push_back("user:" + std::to_string(id));
  sample.emplace_back("user:taylor");

  // Maglev sends almost only users to the new shard; its lookup table also shifts a few slots
  // between old shards (about 0.3% of users: maglev's price for O(1) lookups, see hashing.md).
  const bulwark::reshard_sample maglev_plan = bulwark::plan(before, after, sample);
  std::size_t to_new = 0;
  std::printf("resharding 4 -> 5 shards, %zu sampled users:\n", maglev_plan.keys);
  for (const bulwark::shard_flow& flow : maglev_plan.flows) {
    if (flow.to != "users-4") continue;
    std::printf("  %s -> %s: %zu users\n", flow.from.c_str(), flow.to.c_str(), flow.keys);
    to_new += flow.keys;
  }
  std::printf("  between old shards: %zu users\n", maglev_plan.moved - to_new);

  // The same growth with hash % n (bulwark::hash_mod_router).
  const bulwark::hash_mod_router mod4{"users-0", "users-1", "users-2", "users-3"};
  const bulwark::hash_mod_router mod5{"users-0", "users-1", "users-2", "users-3", "users-4"};
  const bulwark::reshard_sample mod_plan = bulwark::plan(mod4, mod5, sample);

  // The celebrity stays put, and at least 98% of the moving users go to the new shard.
  const bool sound = after.shards()[after.shard_for("user:taylor")] == "users-vip" &&
                     static_cast<double>(to_new) >= 0.98 * static_cast<double>(maglev_plan.moved);
  if (!sound) {
    std::printf("unexpected plan\n");
    return 1;
  }
  std::printf(
      "user:taylor stays on users-vip; users moved: %.1f%% with maglev, %.1f%% with hash %% n\n",
      100.0 * maglev_plan.moved_fraction(), 100.0 * mod_plan.moved_fraction());
  return 0;
}
