#include <atomic>
#include <bulwark/hashing/anchor_hash.hpp>
#include <bulwark/hashing/jump_hash.hpp>
#include <bulwark/hashing/maglev.hpp>
#include <bulwark/hashing/placement.hpp>
#include <string>
#include <thread>
#include <vector>

#include "catch.hpp"
#include "hashing_test_support.hpp"

using hashing_test::key_hash;
using hashing_test::make_nodes;

TEST_CASE("placement add and remove publish new snapshots", "[hashing]") {
  bulwark::placement<bulwark::maglev> p{make_nodes(3), {.table_size = 101}};
  const auto first = p.snapshot();
  p.add({.name = "node-3"});
  CHECK(p.snapshot()->nodes().size() == 4);
  CHECK(first->nodes().size() == 3);  // an old snapshot stays valid and unchanged
  p.remove("node-0");
  CHECK(p.snapshot()->nodes().size() == 3);
  CHECK(p.snapshot()->nodes()[0].name == "node-1");
  CHECK_THROWS(p.remove("node-0"));
  CHECK(p.snapshot()->nodes().size() == 3);  // a refused change publishes nothing
  p.assign(make_nodes(5), {.table_size = 11});
  CHECK(p.snapshot()->table().size() == 11);
  CHECK(p.node_for("k").name == p.snapshot()->node_for("k").name);
}

TEST_CASE("placement of jump_nodes refuses removing a middle node", "[hashing]") {
  bulwark::placement<bulwark::jump_nodes> p{make_nodes(4)};
  CHECK_THROWS(p.remove("node-1"));
  p.remove("node-3");
  CHECK(p.snapshot()->nodes().size() == 3);
}

TEST_CASE("placement lookups run while a writer swaps snapshots", "[hashing]") {
  // Readers must always see a complete table of one generation: every looked-up node exists in
  // the snapshot they hold, and the snapshot's size is one of the sizes the writer publishes.
  bulwark::placement<bulwark::anchor_hash> p{make_nodes(8), {.capacity = 16}};
  std::atomic<bool> stop{false};
  std::atomic<std::uint64_t> lookups{0};
  std::atomic<int> torn{0};  // Catch2 assertions are not thread-safe: count, check after join
  auto reader = [&](std::uint64_t seed) {
    std::uint64_t i = seed;
    while (!stop.load(std::memory_order_relaxed)) {
      const auto snap = p.snapshot();
      const std::size_t n = snap->nodes().size();
      if (n != 8 && n != 7) torn.fetch_add(1, std::memory_order_relaxed);
      for (int k = 0; k < 16; ++k) {
        const std::size_t owner = snap->index_for_hash(key_hash(++i));
        if (owner >= n || snap->nodes()[owner].name.empty()) {
          torn.fetch_add(1, std::memory_order_relaxed);
        }
      }
      lookups.fetch_add(16, std::memory_order_relaxed);
    }
  };
  std::thread r1{reader, 1};
  std::thread r2{reader, 1000000};
  // At least 200 swaps, and on until the readers have done some lookups (bounded).
  for (int round = 0; round < 200 || (lookups.load() < 2000 && round < 200000); ++round) {
    p.remove("node-5");
    p.add({.name = "node-5"});
  }
  stop.store(true, std::memory_order_relaxed);
  r1.join();
  r2.join();
  CHECK(p.snapshot()->nodes().size() == 8);
  CHECK(torn.load() == 0);
  CHECK(lookups.load() >= 2000);
}
