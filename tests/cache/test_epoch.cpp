// The cache's epoch domain (include/bulwark/cache/detail/epoch.hpp): when the epoch may advance,
// with pins nested and slots shared. Single-threaded and deterministic: a domain of one slot makes
// every pin share it, which is what two threads that hash to one slot do.

#include <atomic>
#include <bulwark/cache/detail/epoch.hpp>
#include <bulwark/cache/detail/retire_list.hpp>
#include <bulwark/cache/detail/slab.hpp>
#include <cstdint>
#include <latch>
#include <memory>
#include <thread>
#include <vector>

#include "catch.hpp"

using bulwark::detail::epoch_domain;

TEST_CASE("epoch advances past a pin only once the pinned slot has seen the epoch", "[cache]") {
  epoch_domain d{4};
  const std::uint64_t e = d.epoch();
  CHECK(d.try_advance() == e + 1);  // nobody pinned
  {
    const epoch_domain::guard pin{d};
    CHECK(pin.slot() < 4);
    // Pinned at e + 1: one advance (to e + 2) is allowed, a second is not.
    CHECK(d.try_advance() == e + 2);
    CHECK(d.try_advance() == e + 2);
    CHECK(d.try_advance() == e + 2);
  }
  CHECK(d.try_advance() == e + 3);  // unpinned: free again
  CHECK(d.try_advance() == e + 4);
}

TEST_CASE("epoch: a pin that joins a shared slot counts under the slot's older epoch", "[cache]") {
  epoch_domain d{1};  // one slot: every pin shares it
  const std::uint64_t e = d.epoch();
  auto first = std::make_unique<epoch_domain::guard>(d);  // publishes e
  CHECK(d.try_advance() == e + 1);
  {
    // Joins the slot (count 2) without publishing e + 1: the slot still shows e, which holds
    // the epoch at e + 1 even after the first pin leaves, until the joined pin leaves too.
    const epoch_domain::guard second{d};
    CHECK(d.try_advance() == e + 1);
    first.reset();
    CHECK(d.try_advance() == e + 1);
  }
  CHECK(d.try_advance() == e + 2);
  {
    const epoch_domain::guard again{d};  // count 0 before: publishes the current epoch
    CHECK(d.try_advance() == e + 3);
    CHECK(d.try_advance() == e + 3);
  }
}

TEST_CASE("epoch: a pin held by another thread holds the advance back", "[cache]") {
  epoch_domain d{8};
  std::latch pinned{1};
  std::latch release{1};
  std::thread reader{[&] {
    const epoch_domain::guard pin{d};
    pinned.count_down();
    release.wait();
  }};
  pinned.wait();
  const std::uint64_t e = d.epoch();
  const std::uint64_t once = d.try_advance();  // the reader published e: one step at most
  const std::uint64_t twice = d.try_advance();
  release.count_down();
  reader.join();
  CHECK(once == e + 1);
  CHECK(twice == e + 1);
  CHECK(d.try_advance() == e + 2);
}

TEST_CASE("epoch: a pin that finds its slot pinned moves the thread's probe", "[cache]") {
  // Threads that share a slot bounce its cache line; the first overlapping pin moves the later
  // pinner's probe, so its next pins (and read-buffer appends) use another slot. Here the
  // overlap is this thread's own nested pin, which takes the same path.
  epoch_domain d{8};
  const std::uint32_t before = bulwark::detail::thread_probe();
  {
    const epoch_domain::guard outer{d};
    CHECK(bulwark::detail::thread_probe() == before);  // an unshared slot: the probe stays
    const epoch_domain::guard inner{d};
    CHECK(inner.slot() == outer.slot());  // the pin in progress keeps its slot
  }
  const std::uint32_t after = bulwark::detail::thread_probe();
  CHECK(after != before);
  CHECK(after != 0);
}

TEST_CASE("retire list: cells are freed in order, two epochs after their tag, across ring growth",
          "[cache]") {
  bulwark::detail::retire_list<bulwark::detail::cache_slab<int, int>> list;
  std::vector<std::uint32_t> freed;
  const auto free_cell = [&freed](std::uint32_t cell) { freed.push_back(cell); };
  // 40 cells under epoch 2, 1 under 3, 60 under 4: the rings grow past 16 and 32 entries, and
  // the second batch wraps around the ring's end after the first is freed.
  std::uint32_t next = 0;
  for (; next < 40; ++next)
    list.retire_cell(next, 2);
  list.retire_cell(next++, 3);
  CHECK(list.cells() == 41);
  list.reclaim(3, free_cell);
  CHECK(freed.empty());  // 2 + 2 > 3: still young
  list.reclaim(4, free_cell);
  REQUIRE(freed.size() == 40);
  for (; next < 101; ++next)
    list.retire_cell(next, 4);
  list.reclaim(5, free_cell);
  CHECK(freed.size() == 41);
  CHECK(list.cells() == 60);
  list.reclaim(6, free_cell);
  REQUIRE(freed.size() == 101);
  for (std::uint32_t i = 0; i < 101; ++i)
    CHECK(freed[i] == i);
  CHECK(list.empty());
  CHECK(list.memory_bytes() > 0);  // the rings' capacity stays for the next batch
}
