// retry::reconfigure: new options for the calls that start afterwards; a call in progress
// finishes with the options it started with.
#include <atomic>
#include <bulwark/core/clock.hpp>
#include <bulwark/retry.hpp>
#include <chrono>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "catch.hpp"

using namespace std::chrono_literals;
using bulwark::duration;
using bulwark::manual_clock;

namespace {
bulwark::backoff_options fixed(duration d) {
  return {.kind = bulwark::backoff_kind::exponential,
          .base = d,
          .multiplier = 1,
          .cap = d,
          .jitter = bulwark::jitter_kind::none};
}
// A call failing every attempt; returns how many attempts it ran.
template <class R>
int attempts_of(R& retry) {
  int attempts = 0;
  try {
    retry.execute([&] {
      ++attempts;
      throw std::runtime_error{"down"};
    });
  } catch (const bulwark::retries_exhausted&) {
  }
  return attempts;
}
}  // namespace

TEST_CASE("reconfigure changes attempts and backoff for the calls that start after it", "[retry]") {
  manual_clock clock;
  bulwark::retry retry({.max_attempts = 3, .backoff = fixed(10ms)}, clock);
  CHECK(attempts_of(retry) == 3);
  retry.reconfigure({.max_attempts = 5, .backoff = fixed(1s)});
  const auto before = clock.now();
  CHECK(attempts_of(retry) == 5);
  CHECK(clock.now() - before == 4s);  // four waits of the new backoff
  CHECK(retry.options().max_attempts == 5);
}

TEST_CASE("a call in progress keeps the options it started with", "[retry]") {
  manual_clock clock;
  bulwark::retry retry({.max_attempts = 2, .backoff = fixed(10ms)}, clock);
  int attempts = 0;
  try {
    retry.execute([&] {
      if (++attempts == 1) retry.reconfigure({.max_attempts = 6, .backoff = fixed(10ms)});
      throw std::runtime_error{"down"};
    });
  } catch (const bulwark::retries_exhausted&) {
  }
  CHECK(attempts == 2);
  CHECK(attempts_of(retry) == 6);
}

TEST_CASE("invalid retry options are refused with the constructor's message, changing nothing",
          "[retry]") {
  manual_clock clock;
  bulwark::retry retry({.max_attempts = 2, .backoff = fixed(10ms)}, clock);
  std::string got;
  try {
    retry.reconfigure({.max_attempts = 0});
  } catch (const std::invalid_argument& e) {
    got = e.what();
  }
  CHECK(got == "bulwark::retry: max_attempts must be >= 1 (got 0)");
  auto bad_backoff = fixed(10ms);
  bad_backoff.multiplier = 0.5;
  CHECK_THROWS_WITH(retry.check_reconfigure({.backoff = bad_backoff}),
                    "bulwark::backoff: multiplier must be >= 1 and finite (got 0.5)");
  CHECK(retry.options().max_attempts == 2);
  CHECK(attempts_of(retry) == 2);
}

TEST_CASE("reconfigure under concurrent calls: each call runs wholly under one setting",
          "[retry]") {
  bulwark::retry retry({.max_attempts = 2, .backoff = fixed(0ms)}, manual_clock{});
  std::atomic<int> done{0};
  std::atomic<int> odd{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 3; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 500; ++i) {
        const int n = attempts_of(retry);
        if (n != 2 && n != 4) odd.fetch_add(1);
      }
      done.fetch_add(1);
    });
  }
  // Bounded: each reconfigure keeps its policy until the executor goes (detail::versioned).
  for (std::uint32_t i = 0; done.load() < 3 && i < 2000; ++i) {
    retry.reconfigure({.max_attempts = i % 2 == 0 ? 4u : 2u, .backoff = fixed(0ms)});
    std::this_thread::yield();
  }
  for (auto& thread : threads)
    thread.join();
  CHECK(odd.load() == 0);
}
