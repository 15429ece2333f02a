// Exactly-once: under concurrent duplicates, the idempotency executor over memory_store runs
// each key's handler at most once, and every duplicate ends with the first call's outcome
// replayed: its value, or with failure_policy::store its failure's message (docs/idempotency.md,
// the state machine and "What a call with key k and fingerprint f does"). Duplicates refused
// with request_in_progress (409) ask once more after the race, as a client retrying would:
// bounded, and the record is settled by then.

#include <array>
#include <atomic>
#include <bulwark/core/random.hpp>
#include <bulwark/idempotency.hpp>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "catch.hpp"

namespace {

constexpr int keys = 16;
constexpr int threads = 4;
constexpr int rounds = 3;

using store_t = bulwark::memory_store<std::string, bulwark::manual_clock>;
using executor_t = bulwark::idempotency_executor<store_t, bulwark::identity_codec<std::string>,
                                                 bulwark::manual_clock>;

// What one call saw.
struct outcome {
  enum kind { ran, replayed, in_progress } how = ran;
  std::string text;  // the value, or a failure's message (prefixed "!")
};

outcome call(executor_t& exec, int key, int thread, std::array<std::atomic<int>, keys>& runs) {
  auto handler = [&runs, key, thread]() -> std::string {
    runs[static_cast<std::size_t>(key)].fetch_add(1, std::memory_order_relaxed);
    std::this_thread::yield();  // widen the in-progress window
    if (key % 2 == 1) throw std::runtime_error("declined by " + std::to_string(thread));
    return "charged by " + std::to_string(thread);
  };
  try {
    auto r = exec.execute({"tenant", "key-" + std::to_string(key)}, "same payload", handler);
    return {r.replayed ? outcome::replayed : outcome::ran, r.value};
  } catch (const bulwark::replayed_failure& e) {
    return {outcome::replayed, std::string{"!"} + e.what()};
  } catch (const bulwark::request_in_progress&) {
    return {outcome::in_progress, {}};
  } catch (const std::runtime_error& e) {  // the first call's own failure
    return {outcome::ran, std::string{"!"} + e.what()};
  }
}

}  // namespace

TEST_CASE("idempotency_executor runs each key once and replays its outcome to every duplicate",
          "[invariants]") {
  bulwark::manual_clock clock;  // never advanced: no lease or ttl runs out during the race
  store_t store({.max_entries = 1'024, .shards = 4}, clock);
  executor_t exec(store, {.on_failure = bulwark::failure_policy::store}, clock);
  std::array<std::atomic<int>, keys> runs{};
  // seen[thread][round * keys + key]: each thread's own outcomes; nothing asserts in threads.
  std::vector<std::vector<outcome>> seen(threads, std::vector<outcome>(rounds * keys));
  std::vector<std::thread> pool;
  for (int t = 0; t < threads; ++t) {
    pool.emplace_back([&, t] {
      bulwark::fast_rng rng{static_cast<std::uint64_t>(t) + 61};
      for (int round = 0; round < rounds; ++round) {
        const auto start = static_cast<int>(bulwark::uniform_below(rng, keys));
        for (int i = 0; i < keys; ++i) {
          const int k = (i + start) % keys;
          seen[static_cast<std::size_t>(t)][static_cast<std::size_t>(round * keys + k)] =
              call(exec, k, t, runs);
        }
      }
    });
  }
  for (auto& th : pool)
    th.join();
  // The retries of the 409s, after the race: every record is settled now.
  for (int t = 0; t < threads; ++t) {
    for (int slot = 0; slot < rounds * keys; ++slot) {
      auto& o = seen[static_cast<std::size_t>(t)][static_cast<std::size_t>(slot)];
      if (o.how == outcome::in_progress) {
        o = call(exec, slot % keys, t, runs);
        CHECK(o.how == outcome::replayed);
      }
    }
  }
  for (int k = 0; k < keys; ++k) {
    INFO("key " << k);
    CHECK(runs[static_cast<std::size_t>(k)].load() == 1);
    std::vector<const outcome*> first;
    for (int t = 0; t < threads; ++t) {
      for (int round = 0; round < rounds; ++round) {
        const auto& o =
            seen[static_cast<std::size_t>(t)][static_cast<std::size_t>(round * keys + k)];
        if (o.how == outcome::ran) first.push_back(&o);
      }
    }
    REQUIRE(first.size() == 1);
    CHECK(first[0]->text.starts_with(k % 2 == 1 ? "!declined by " : "charged by "));
    for (int t = 0; t < threads; ++t) {
      for (int round = 0; round < rounds; ++round) {
        const auto& o =
            seen[static_cast<std::size_t>(t)][static_cast<std::size_t>(round * keys + k)];
        if (&o != first[0]) CHECK(o.text == first[0]->text);
      }
    }
  }
  const auto m = exec.metrics();
  CHECK(m.executions == static_cast<std::uint64_t>(keys));
  CHECK(m.leases_lost == 0);
}
