#pragma once
// Jepsen-style histories for the rate limiters: worker threads call a limiter against one shared
// manual_clock while a driver thread advances it in bounded random steps; every admission is
// recorded with the clock reading it was decided at, and the checks below test every window of
// the finished history. Bounded in iterations (the driver waits on the workers' progress, not on
// time), so a run always ends; the assertions must hold for every interleaving.

#include <algorithm>
#include <atomic>
#include <bulwark/core/clock.hpp>
#include <bulwark/core/random.hpp>
#include <cstdint>
#include <iterator>
#include <limits>
#include <thread>
#include <utility>
#include <vector>

namespace invariants {

/// One admission: `at` is the `now` passed to the limiter (its decision time), `after` the
/// clock read once the call returned (the driver only moves forward, so any time the limiter
/// could have charged lies in [at, after]), `cost` the units granted, `key` the key (0 if none).
struct admission {
  std::int64_t at = 0;
  std::int64_t after = 0;
  std::uint32_t cost = 0;
  int key = 0;
};

struct history_shape {
  int threads = 4;
  int iterations = 3'000;  // per thread
  int steps = 600;         // clock advances by the driver
  std::int64_t max_step_ns = 200'000;
  std::uint64_t seed = 1;
};

/// What an attempt returns: the units admitted (0: refused) and the key they were charged to.
struct attempt_result {
  std::uint32_t cost = 0;
  int key = 0;
};

/// Runs `shape.threads` workers, each calling `attempt(rng, now)` `shape.iterations` times with
/// its own seeded generator and a fresh clock read, while one driver advances `clock` by a
/// random step in [0, max_step_ns] each time the workers have made 1/steps of their progress;
/// a worker in turn waits for the driver when it runs more than a step ahead, so the calls
/// spread over the whole run's time. Neither waits on a condition the other may never meet
/// (when every worker waits, their summed progress is past what the driver waits for), so it
/// always ends. Returns every admission. Catch2's assertions are not thread-safe: nothing asserts
/// here.
template <class Attempt>
std::vector<admission> record_history(bulwark::manual_clock& clock, const history_shape& shape,
                                      Attempt attempt) {
  const auto total = static_cast<std::int64_t>(shape.threads) * shape.iterations;
  std::atomic<std::int64_t> progress{0};
  std::atomic<std::int64_t> driven{0};
  std::vector<std::vector<admission>> per_thread(static_cast<std::size_t>(shape.threads));
  std::vector<std::thread> pool;
  pool.emplace_back([&] {
    bulwark::fast_rng rng{shape.seed};
    for (std::int64_t step = 1; step <= shape.steps; ++step) {
      // Waits for progress, never for time: the workers always finish, so this always ends.
      while (progress.load(std::memory_order_acquire) < step * total / shape.steps) {
        std::this_thread::yield();
      }
      const auto ns =
          bulwark::uniform_below(rng, static_cast<std::uint64_t>(shape.max_step_ns) + 1);
      clock.advance(bulwark::duration{static_cast<std::int64_t>(ns)});
      driven.store(step, std::memory_order_release);
    }
  });
  for (int t = 0; t < shape.threads; ++t) {
    pool.emplace_back([&, t] {
      bulwark::fast_rng rng{shape.seed * 1'000 + static_cast<std::uint64_t>(t) + 1};
      auto& mine = per_thread[static_cast<std::size_t>(t)];
      for (int i = 0; i < shape.iterations; ++i) {
        const std::int64_t due = std::int64_t{i} * shape.steps / shape.iterations - 1;
        while (driven.load(std::memory_order_acquire) < due) {
          std::this_thread::yield();
        }
        const auto now = clock.now();
        const attempt_result r = attempt(rng, now);
        if (r.cost > 0) {
          mine.push_back({now.time_since_epoch().count(), clock.now().time_since_epoch().count(),
                          r.cost, r.key});
        }
        progress.fetch_add(1, std::memory_order_release);
      }
    });
  }
  for (auto& thread : pool)
    thread.join();
  std::vector<admission> all;
  for (auto& part : per_thread)
    all.insert(all.end(), part.begin(), part.end());
  std::sort(all.begin(), all.end(),
            [](const admission& a, const admission& b) { return a.at < b.at; });
  return all;
}

/// The admissions of one key, in time order.
inline std::vector<admission> of_key(const std::vector<admission>& history, int key) {
  std::vector<admission> out;
  std::copy_if(history.begin(), history.end(), std::back_inserter(out),
               [key](const admission& a) { return a.key == key; });
  return out;
}

inline std::uint64_t units(const std::vector<admission>& history) {
  std::uint64_t sum = 0;
  for (const auto& a : history)
    sum += a.cost;
  return sum;
}

/// The worst window of a rate bound: over every closed interval [t_i, t_j] between two
/// decision times, units admitted in it minus (burst + floor((t_j - t_i) / interval)). A
/// history within the bound has a worst excess <= 0. `from`/`to` name the worst interval.
struct rate_excess {
  std::int64_t excess = 0;
  std::int64_t from = 0;
  std::int64_t to = 0;
};
inline rate_excess worst_rate_excess(const std::vector<admission>& sorted, std::int64_t interval,
                                     std::int64_t burst) {
  rate_excess worst{std::numeric_limits<std::int64_t>::min(), 0, 0};
  for (std::size_t i = 0; i < sorted.size(); ++i) {
    std::int64_t sum = 0;
    for (std::size_t j = i; j < sorted.size(); ++j) {
      sum += sorted[j].cost;
      const std::int64_t excess = sum - burst - (sorted[j].at - sorted[i].at) / interval;
      if (excess > worst.excess) worst = {excess, sorted[i].at, sorted[j].at};
    }
  }
  return worst;
}

/// The most units in one window [s, s + width) counting only admissions whose whole interval
/// [at, after] lies inside it (so the time the limiter charged surely lies inside too), over
/// every start s that is a decision time. `start` names the worst window.
struct window_count {
  std::uint64_t most = 0;
  std::int64_t start = 0;
};
inline window_count most_in_any_window(const std::vector<admission>& sorted, std::int64_t width) {
  window_count worst;
  for (std::size_t i = 0; i < sorted.size(); ++i) {
    const std::int64_t s = sorted[i].at;
    std::uint64_t sum = 0;
    for (std::size_t j = i; j < sorted.size() && sorted[j].at < s + width; ++j) {
      if (sorted[j].after < s + width) sum += sorted[j].cost;
    }
    if (sum > worst.most) worst = {sum, s};
  }
  return worst;
}

/// The most units in one aligned window [k W, (k+1) W), counting the admissions whose interval
/// [at, after] lies inside it. `start` names the worst window.
inline window_count most_in_aligned_window(const std::vector<admission>& sorted,
                                           std::int64_t width) {
  window_count worst;
  std::size_t i = 0;
  while (i < sorted.size()) {
    const std::int64_t k = sorted[i].at / width;  // times are positive: / is floor
    std::uint64_t sum = 0;
    std::size_t j = i;
    for (; j < sorted.size() && sorted[j].at / width == k; ++j) {
      if (sorted[j].after / width == k) sum += sorted[j].cost;
    }
    if (sum > worst.most) worst = {sum, k * width};
    i = j;
  }
  return worst;
}

}  // namespace invariants
