#include <bulwark/core/random.hpp>
#include <bulwark/hashing/maglev.hpp>
#include <bulwark/sharding/consistent_router.hpp>
#include <bulwark/sharding/hash_mod_router.hpp>
#include <bulwark/sharding/reshard_plan.hpp>
#include <cstdint>
#include <string>
#include <vector>

#include "catch.hpp"

using bulwark::range_move;
using bulwark::range_router;

namespace {

/// The move of `moves` holding `key`, or nullptr.
template <class Key>
const range_move<Key>* move_holding(const std::vector<range_move<Key>>& moves, const Key& key) {
  for (const auto& m : moves) {
    if ((!m.start || *m.start <= key) && (!m.end || key < *m.end)) return &m;
  }
  return nullptr;
}

}  // namespace

TEST_CASE("plan lists the key ranges that change owner", "[sharding]") {
  const range_router<std::uint64_t> before({100, 200}, {"a", "b", "c"});
  const auto after = before.split(150, "d").merge(0, 1, "a");
  // after: [-,150) a, [150,200) d, [200,-) c
  CHECK(bulwark::plan(before, after) ==
        std::vector<range_move<std::uint64_t>>{{100, 150, "b", "a"}, {150, 200, "b", "d"}});
  CHECK(bulwark::plan(before, before).empty());
  // Neighbouring moves with the same shards are joined.
  const range_router<std::uint64_t> all_to_z({10, 20}, {"z", "z", "z"});
  const range_router<std::uint64_t> from_a({5}, {"a", "a"});
  CHECK(bulwark::plan(from_a, all_to_z) ==
        std::vector<range_move<std::uint64_t>>{{std::nullopt, std::nullopt, "a", "z"}});
}

TEST_CASE("plan agrees with routing a key sample through both routers", "[sharding]") {
  bulwark::fast_rng rng{2026};
  for (int round = 0; round < 20; ++round) {
    auto random_router = [&] {
      std::vector<std::uint64_t> splits;
      std::vector<std::string> owners{"s" + std::to_string(bulwark::uniform_below(rng, 4))};
      std::uint64_t at = 0;
      const auto count = bulwark::uniform_below(rng, 12);
      for (std::uint64_t i = 0; i < count; ++i) {
        at += 1 + (rng() >> 5);
        splits.push_back(at);
        owners.push_back("s" + std::to_string(bulwark::uniform_below(rng, 4)));
      }
      return range_router<std::uint64_t>(splits, owners);
    };
    const auto before = random_router();
    const auto after = random_router();
    const auto moves = bulwark::plan(before, after);
    for (int i = 0; i < 2000; ++i) {
      const std::uint64_t key = rng() >> bulwark::uniform_below(rng, 8);
      const std::string& from = before.shards()[before.shard_for(key)];
      const std::string& to = after.shards()[after.shard_for(key)];
      const auto* m = move_holding(moves, key);
      INFO("round " << round << " key " << key);
      if (from == to) {
        CHECK(m == nullptr);
      } else {
        REQUIRE(m != nullptr);
        CHECK(m->from == from);
        CHECK(m->to == to);
      }
    }
    for (std::size_t i = 1; i < moves.size(); ++i)
      CHECK((moves[i - 1].end && moves[i].start && *moves[i - 1].end <= *moves[i].start));
  }
}

TEST_CASE("plan lists the slots that change owner", "[sharding]") {
  const auto three = bulwark::slot_router::evenly({"a", "b", "c"});
  const auto four = bulwark::slot_router::evenly({"a", "b", "c", "d"});
  // evenly over 4: 0-4095 a, 4096-8191 b, 8192-12287 c, 12288-16383 d.
  CHECK(bulwark::plan(three, four) == std::vector<bulwark::slot_move>{{4096, 5460, "a", "b"},
                                                                      {8192, 10922, "b", "c"},
                                                                      {12288, 16383, "c", "d"}});
  const auto moved = three.begin_migration(0, 9, "d").finish_migration(0, 9);
  CHECK(bulwark::plan(three, moved) == std::vector<bulwark::slot_move>{{0, 9, "a", "d"}});
  bulwark::fast_rng rng{5};
  const auto moves = bulwark::plan(three, four);
  for (int i = 0; i < 3000; ++i) {
    const std::string key = std::to_string(rng());
    const auto slot = bulwark::redis_key_slot(key);
    bool listed = false;
    for (const auto& m : moves)
      listed = listed || (m.first <= slot && slot <= m.last);
    CHECK(listed == (three.shards()[three.shard_for(key)] != four.shards()[four.shard_for(key)]));
  }
}

TEST_CASE("plan over a sample counts moved keys and flows for any routers", "[sharding]") {
  const bulwark::hash_mod_router four({"s0", "s1", "s2", "s3"});
  const bulwark::hash_mod_router five({"s0", "s1", "s2", "s3", "s4"});
  std::vector<std::uint64_t> sample;
  for (std::uint64_t i = 0; i < 10'000; ++i)
    sample.push_back(i);
  const auto mod = bulwark::plan(four, five, sample);
  CHECK(mod.keys == 10'000);
  CHECK(mod.moved_fraction() == Approx(0.8).margin(0.02));
  std::size_t flowed = 0;
  for (std::size_t i = 0; i < mod.flows.size(); ++i) {
    flowed += mod.flows[i].keys;
    CHECK(mod.flows[i].from != mod.flows[i].to);
    if (i > 0) CHECK(mod.flows[i - 1].keys >= mod.flows[i].keys);
  }
  CHECK(flowed == mod.moved);

  const bulwark::consistent_router<bulwark::maglev> m4(
      {{.name = "s0"}, {.name = "s1"}, {.name = "s2"}, {.name = "s3"}});
  const auto m5 = m4.with_added({.name = "s4"});
  const auto consistent = bulwark::plan(m4, m5, sample);
  CHECK(consistent.moved_fraction() == Approx(0.2).margin(0.03));
  // Routers of different strategies compare by shard name.
  const auto across = bulwark::plan(four, m4, sample);
  CHECK(across.moved_fraction() == Approx(0.75).margin(0.03));
  CHECK(bulwark::plan(four, four, sample).moved == 0);
  CHECK(bulwark::plan(four, five, std::vector<std::uint64_t>{}).moved_fraction() == 0.0);
}
