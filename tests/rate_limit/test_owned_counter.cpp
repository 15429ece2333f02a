#include <bulwark/core/clock.hpp>
#include <bulwark/rate_limit/detail/owned_counter.hpp>
#include <bulwark/rate_limit/gcra.hpp>
#include <cstdint>
#include <thread>
#include <vector>

#include "catch.hpp"

using bulwark::detail::owned_cells;
using bulwark::detail::owned_counter;

TEST_CASE("owned_counter is exact with more threads than cells, and across thread exits",
          "[rate_limit]") {
  owned_counter counter;
  constexpr std::uint64_t per_thread = 20'000;
  // This thread may own a cell already (other tests count here): the workers must leave the
  // mask as they found it.
  const std::uint32_t before = bulwark::detail::owned_cell_mask.load();
  // Two rounds of 2 x owned_cells threads: in each, some own a cell and the rest share the
  // atomic; the second round reuses the cells the first gave back on exit.
  for (std::uint64_t round = 1; round <= 2; ++round) {
    std::vector<std::thread> threads;
    for (std::uint32_t t = 0; t < 2 * owned_cells; ++t) {
      threads.emplace_back([&counter] {
        for (std::uint64_t i = 0; i < per_thread; ++i)
          counter.add();
      });
    }
    for (auto& t : threads)
      t.join();
    CHECK(counter.load() == std::uint64_t{2} * owned_cells * per_thread * round);
  }
  CHECK(bulwark::detail::owned_cell_mask.load() == before);  // the workers gave theirs back
  counter.add(5);  // this thread's own cell, claimed now if it had none
  CHECK(counter.load() == std::uint64_t{4} * owned_cells * per_thread + 5);
}

TEST_CASE("a limiter's admitted count stays exact under concurrent callers", "[rate_limit]") {
  bulwark::manual_clock clock;
  // Admits exactly burst units at one instant, whichever threads take them.
  bulwark::gcra limiter({.rate = bulwark::per_second(1), .burst = 50'000}, clock);
  std::vector<std::thread> threads;
  for (std::uint32_t t = 0; t < owned_cells + 2; ++t) {
    threads.emplace_back([&limiter] {
      for (int i = 0; i < 10'000; ++i)
        (void)limiter.try_acquire();
    });
  }
  for (auto& t : threads)
    t.join();
  const auto m = limiter.metrics();
  CHECK(m.admitted == 50'000);
  CHECK(m.rejected == (owned_cells + 2) * 10'000 - 50'000);
}
