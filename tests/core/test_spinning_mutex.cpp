// detail::spinning_mutex: the shard lock of the cache, the keyed limiter and the idempotency
// memory store, a std::mutex that retries before it sleeps.
// Mutual exclusion is checked by counting (and by ThreadSanitizer in CI); try_lock's answer
// against a holder on another thread is checked with joins, not timing.

#include <cstdint>
#include <mutex>
#include <thread>
#include <vector>

#include "bulwark/detail/spinning_mutex.hpp"
#include "catch.hpp"

namespace detail = bulwark::detail;

TEST_CASE("spinning_mutex: try_lock fails while another thread holds it", "[core]") {
  detail::spinning_mutex m;
  m.lock();
  bool got = true;
  std::thread([&] { got = m.try_lock(); }).join();
  CHECK_FALSE(got);
  m.unlock();
  std::thread([&] {
    got = m.try_lock();
    if (got) m.unlock();
  }).join();
  CHECK(got);
}

TEST_CASE("spinning_mutex: lock() returns once the holder on another thread unlocks", "[core]") {
  // The waiter may find the lock held (then it spins, or sleeps in std::mutex::lock()) or free,
  // as the scheduler decides; either way it must get in, and its write must be seen by the
  // next holder.
  detail::spinning_mutex m;
  bool entered = false;
  m.lock();
  std::thread waiter([&] {
    m.lock();
    entered = true;  // under m: the main thread reads it after taking m itself
    m.unlock();
  });
  m.unlock();
  waiter.join();
  const std::lock_guard lock{m};
  CHECK(entered);
}

TEST_CASE("spinning_mutex: increments under the lock are never lost", "[core]") {
  constexpr int threads = 4;
  constexpr int per_thread = 20000;  // bounded: enough overlap to contend on two cores
  detail::spinning_mutex m;
  std::uint64_t counter = 0;  // plain: only the lock orders the increments
  std::vector<std::thread> pool;
  for (int t = 0; t < threads; ++t) {
    pool.emplace_back([&] {
      for (int i = 0; i < per_thread; ++i) {
        if (i % 3 == 0) {
          std::unique_lock lock{m, std::try_to_lock};
          if (!lock) lock.lock();
          ++counter;
        } else {
          const std::lock_guard lock{m};
          ++counter;
        }
      }
    });
  }
  for (auto& t : pool)
    t.join();
  CHECK(counter == std::uint64_t{threads} * per_thread);
}
