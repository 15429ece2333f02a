// idempotency_executor: exactly-once, replay, mismatch, in-progress (reject and wait), failure
// policies, lease takeover with fencing, bad keys, codecs and exactly-once under threads.

#include <array>
#include <atomic>
#include <bulwark/core/random.hpp>
#include <bulwark/idempotency.hpp>
#include <chrono>
#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>
#include <thread>
#include <variant>
#include <vector>

#include "catch.hpp"
#include "scripted_clock.hpp"

using namespace std::chrono_literals;
using bulwark::duration;

namespace {

using store_t = bulwark::memory_store<std::string, bulwark::manual_clock>;

using idempotency_test::scripted_clock;

// Time stands still and a sleep yields: waits poll without end (bounded by the test's own
// iteration counts), whatever the scheduler does.
struct yielding_clock {
  using duration = bulwark::duration;
  using time_point = bulwark::time_point;
  bulwark::manual_clock base;
  [[nodiscard]] time_point now() const noexcept { return base.now(); }
  static void sleep_for(duration) { std::this_thread::yield(); }
};

struct fixture {
  bulwark::manual_clock clock;
  store_t store{{.max_entries = 1024, .shards = 4}, clock};
};

}  // namespace

TEST_CASE("the first call runs the handler and repeats replay its result", "[idempotency]") {
  fixture f;
  bulwark::idempotency_executor exec(f.store, {}, f.clock);
  int runs = 0;
  auto charge = [&](int cents) {
    ++runs;
    return "charged " + std::to_string(cents);
  };
  auto first = exec.execute({"acct-1", "key-1"}, "amount=500", charge, 500);
  CHECK(first.value == "charged 500");
  CHECK_FALSE(first.replayed);
  for (int i = 0; i < 3; ++i) {
    auto again = exec.execute({"acct-1", "key-1"}, "amount=500", charge, 500);
    CHECK(again.value == "charged 500");
    CHECK(again.replayed);
  }
  CHECK(runs == 1);
  const auto m = exec.metrics();
  CHECK(m.executions == 1);
  CHECK(m.replays == 3);
}

TEST_CASE("a key reused with another request is refused with key_reused", "[idempotency]") {
  fixture f;
  bulwark::idempotency_executor exec(f.store, {}, f.clock);
  int runs = 0;
  auto handler = [&] { return std::to_string(++runs); };
  exec.execute({"acct-1", "key-1"}, "amount=500", handler);
  CHECK_THROWS_WITH(exec.execute({"acct-1", "key-1"}, "amount=900", handler),
                    "bulwark::idempotency: key reused with a different request");
  CHECK_THROWS_AS(exec.execute({"acct-1", "key-1"}, "amount=900", handler), bulwark::key_reused);
  CHECK(runs == 1);
  CHECK(exec.metrics().mismatches == 2);
  // The same canonical form in another scope is a different key altogether.
  CHECK(exec.execute({"acct-2", "key-1"}, "amount=900", handler).value == "2");
}

TEST_CASE("one tenant never replays another's response", "[idempotency]") {
  fixture f;
  bulwark::idempotency_executor exec(f.store, {}, f.clock);
  auto a = exec.execute({"tenant-a", "k"}, "p", [] { return std::string{"a's secret"}; });
  auto b = exec.execute({"tenant-b", "k"}, "p", [] { return std::string{"b's own"}; });
  CHECK_FALSE(b.replayed);
  CHECK(b.value == "b's own");
  CHECK(exec.execute({"tenant-a", "k"}, "p", [] { return std::string{}; }).value == a.value);
}

TEST_CASE("a duplicate of an in-progress call fails at once by default", "[idempotency]") {
  fixture f;
  bulwark::idempotency_executor exec(f.store, {}, f.clock);
  auto holder = exec.try_begin({"s", "k"}, "p");
  REQUIRE(holder.status == bulwark::attempt_status::acquired);
  bool ran = false;
  auto handler = [&] {
    ran = true;
    return std::string{};
  };
  CHECK_THROWS_WITH(exec.execute({"s", "k"}, "p", handler),
                    "bulwark::idempotency: a request with this key is in progress");
  try {
    exec.execute({"s", "k"}, "p", handler);
    FAIL("no exception");
  } catch (const bulwark::rejected& e) {  // a refusal like every guard's
    CHECK(dynamic_cast<const bulwark::request_in_progress*>(&e) != nullptr);
  }
  CHECK_FALSE(ran);
  CHECK(exec.metrics().in_progress == 2);
  // A mismatch is reported before in-progress: the request is wrong whatever the timing.
  CHECK_THROWS_AS(exec.execute({"s", "k"}, "other", handler), bulwark::key_reused);
}

TEST_CASE("a waiting duplicate replays the first call's result when it completes",
          "[idempotency]") {
  scripted_clock clock;
  store_t store({.max_entries = 16, .shards = 1}, clock.base);
  bulwark::idempotency_executor exec(store,
                                     {.on_in_progress = bulwark::in_progress_policy::wait,
                                      .wait_timeout = 1s,
                                      .poll_interval = 10ms,
                                      .max_poll_interval = 40ms},
                                     clock);
  auto holder = exec.try_begin({"s", "k"}, "p");
  REQUIRE(holder.status == bulwark::attempt_status::acquired);
  *clock.on_sleep = [&] {
    if (clock.sleeps->size() == 2) REQUIRE(holder.permit.complete("first's result"));
  };
  bool ran = false;
  auto r = exec.execute({"s", "k"}, "p", [&] {
    ran = true;
    return std::string{"second's"};
  });
  CHECK(r.replayed);
  CHECK(r.value == "first's result");
  CHECK_FALSE(ran);
  CHECK(*clock.sleeps == std::vector<duration>{10ms, 20ms});
  CHECK(exec.metrics().waits == 1);
}

TEST_CASE("a wait is bounded by wait_timeout, its pauses doubling up to the maximum",
          "[idempotency]") {
  scripted_clock clock;
  store_t store({.max_entries = 16, .shards = 1}, clock.base);
  bulwark::idempotency_executor exec(store,
                                     {.lease = 1h,
                                      .on_in_progress = bulwark::in_progress_policy::wait,
                                      .wait_timeout = 100ms,
                                      .poll_interval = 10ms,
                                      .max_poll_interval = 40ms},
                                     clock);
  auto holder = exec.try_begin({"s", "k"}, "p");
  const auto start = clock.now();
  CHECK_THROWS_AS(exec.execute({"s", "k"}, "p", [] { return std::string{}; }),
                  bulwark::request_in_progress);
  // 10, 20, 40, then 40 capped to the 30ms the wait has left; then the wait is over.
  CHECK(*clock.sleeps == std::vector<duration>{10ms, 20ms, 40ms, 30ms});
  CHECK(clock.now() - start == 100ms);
  // A zero wait_timeout means one look and no sleep.
  clock.sleeps->clear();
  bulwark::idempotency_executor no_wait(
      store, {.on_in_progress = bulwark::in_progress_policy::wait, .wait_timeout = 0s}, clock);
  CHECK_THROWS_AS(no_wait.execute({"s", "k"}, "p", [] { return std::string{}; }),
                  bulwark::request_in_progress);
  CHECK(clock.sleeps->empty());
}

TEST_CASE("a waiter takes over when the holder's lease expires, and the holder is fenced out",
          "[idempotency]") {
  scripted_clock clock;
  store_t store({.max_entries = 16, .shards = 1}, clock.base);
  bulwark::idempotency_executor exec(store,
                                     {.lease = 25ms,
                                      .on_in_progress = bulwark::in_progress_policy::wait,
                                      .wait_timeout = 1s,
                                      .poll_interval = 10ms},
                                     clock);
  auto crashed = exec.try_begin({"s", "k"}, "p");
  REQUIRE(crashed.status == bulwark::attempt_status::acquired);
  auto r = exec.execute({"s", "k"}, "p", [] { return std::string{"taken over"}; });
  CHECK_FALSE(r.replayed);
  CHECK(r.value == "taken over");
  // 10ms, then the 15ms left of the 25ms lease rather than a full 20ms pause.
  CHECK(*clock.sleeps == std::vector<duration>{10ms, 15ms});
  // The first holder wakes up and tries to complete: the store refuses its stale token.
  CHECK_FALSE(crashed.permit.complete("stale"));
  CHECK(exec.metrics().leases_lost == 1);
  CHECK(exec.execute({"s", "k"}, "p", [] { return std::string{}; }).value == "taken over");
}

TEST_CASE("execute reports lease_lost when its lease was taken over before completion",
          "[idempotency]") {
  fixture f;
  bulwark::idempotency_executor exec(f.store, {.lease = 5s}, f.clock);
  auto slow = [&] {
    f.clock.advance(6s);  // hung past its lease; meanwhile a retry takes over and completes
    auto retry = exec.execute({"s", "k"}, "p", [] { return std::string{"retry"}; });
    CHECK_FALSE(retry.replayed);
    return std::string{"slow"};
  };
  CHECK_THROWS_AS(exec.execute({"s", "k"}, "p", slow), bulwark::lease_lost);
  CHECK(exec.execute({"s", "k"}, "p", [] { return std::string{}; }).value == "retry");
  CHECK(f.store.metrics().takeovers == 1);
  CHECK(f.store.metrics().fenced == 1);
}

TEST_CASE("by default a failed handler releases its key so a retry runs again", "[idempotency]") {
  fixture f;
  bulwark::idempotency_executor exec(f.store, {}, f.clock);
  int runs = 0;
  auto flaky = [&]() -> std::string {
    if (++runs == 1) throw std::runtime_error("gateway timeout");
    return "ok";
  };
  CHECK_THROWS_WITH(exec.execute({"s", "k"}, "p", flaky), "gateway timeout");
  auto retry = exec.execute({"s", "k"}, "p", flaky);
  CHECK(retry.value == "ok");
  CHECK_FALSE(retry.replayed);
  CHECK(runs == 2);
  CHECK(exec.metrics().failures_released == 1);
  // Not only std::exception: anything thrown releases the key and propagates as is.
  CHECK_THROWS_AS(exec.execute({"s", "k2"}, "p", []() -> std::string { throw 42; }), int);
  CHECK(exec.execute({"s", "k2"}, "p", [] { return std::string{"x"}; }).value == "x");
}

TEST_CASE("with failure_policy::store a failure is replayed without running again",
          "[idempotency]") {
  fixture f;
  bulwark::idempotency_executor exec(f.store, {.on_failure = bulwark::failure_policy::store},
                                     f.clock);
  int runs = 0;
  auto failing = [&]() -> std::string {
    ++runs;
    throw std::runtime_error("card declined");
  };
  CHECK_THROWS_AS(exec.execute({"s", "k"}, "p", failing), std::runtime_error);
  CHECK_THROWS_WITH(exec.execute({"s", "k"}, "p", failing), "card declined");
  CHECK_THROWS_AS(exec.execute({"s", "k"}, "p", failing), bulwark::replayed_failure);
  CHECK(runs == 1);
  CHECK(exec.metrics().failures_stored == 1);
  CHECK(exec.metrics().replays == 2);
}

TEST_CASE("a replay expires with the ttl and the handler runs again", "[idempotency]") {
  fixture f;
  bulwark::idempotency_executor exec(f.store, {.ttl = 1h}, f.clock);
  int runs = 0;
  auto handler = [&] { return std::to_string(++runs); };
  exec.execute({"s", "k"}, "p", handler);
  f.clock.advance(1h - 1ms);
  CHECK(exec.execute({"s", "k"}, "p", handler).replayed);
  f.clock.advance(1ms);
  auto fresh = exec.execute({"s", "k"}, "p", handler);
  CHECK_FALSE(fresh.replayed);
  CHECK(fresh.value == "2");
}

TEST_CASE("empty and over-long keys are refused before the store is touched", "[idempotency]") {
  fixture f;
  bulwark::idempotency_executor exec(f.store, {}, f.clock);
  auto handler = [] { return std::string{}; };
  CHECK_THROWS_WITH(exec.execute({"s", ""}, "p", handler),
                    "bulwark::idempotency: key must be 1 to 255 bytes (got 0 bytes)");
  const std::string longest(255, 'k');
  const std::string too_long(256, 'k');
  CHECK_THROWS_WITH(exec.execute({"s", too_long}, "p", handler),
                    "bulwark::idempotency: key must be 1 to 255 bytes (got 256 bytes)");
  CHECK_THROWS_AS(exec.execute({"s", too_long}, "p", handler), bulwark::invalid_idempotency_key);
  CHECK_THROWS_AS(exec.execute({"s", too_long}, "p", handler), std::invalid_argument);
  CHECK_NOTHROW(exec.execute({"s", longest}, "p", handler));
  CHECK(f.store.size() == 1);
  CHECK(exec.metrics().invalid_keys == 4);

  bulwark::idempotency_executor short_keys(f.store, {.max_key_length = 8}, f.clock);
  CHECK_NOTHROW(short_keys.execute({"s", "12345678"}, "p", handler));
  CHECK_THROWS_WITH(short_keys.execute({"s", "123456789"}, "p", handler),
                    "bulwark::idempotency: key must be 1 to 8 bytes (got 9 bytes)");
}

TEST_CASE("idempotency_executor options are validated", "[idempotency]") {
  fixture f;
  using opts = bulwark::idempotency_options;
  using exec_t = bulwark::idempotency_executor<store_t>;
  CHECK_THROWS_WITH(exec_t(f.store, opts{.lease = 0s}),
                    "bulwark::idempotency_executor: lease must be > 0 (got 0s)");
  CHECK_THROWS_WITH(exec_t(f.store, opts{.ttl = -1s}),
                    "bulwark::idempotency_executor: ttl must be > 0 (got -1s)");
  CHECK_THROWS_WITH(exec_t(f.store, opts{.wait_timeout = -5ms}),
                    "bulwark::idempotency_executor: wait_timeout must be >= 0 (got -5ms)");
  CHECK_THROWS_WITH(exec_t(f.store, opts{.poll_interval = 0ms}),
                    "bulwark::idempotency_executor: poll_interval must be > 0 (got 0s)");
  CHECK_THROWS_WITH(exec_t(f.store, opts{.poll_interval = 50ms, .max_poll_interval = 10ms}),
                    "bulwark::idempotency_executor: max_poll_interval must be >= 50ms (got 10ms)");
  CHECK_THROWS_WITH(exec_t(f.store, opts{.max_key_length = 0}),
                    "bulwark::idempotency_executor: max_key_length must be >= 1 (got 0)");
  const opts defaults{};
  CHECK(defaults.ttl == 24h);
  CHECK(defaults.max_key_length == 255);
  CHECK(defaults.on_in_progress == bulwark::in_progress_policy::reject);
  CHECK(defaults.on_failure == bulwark::failure_policy::release);
}

namespace {

struct receipt {
  std::uint64_t id = 0;
  std::string currency;
};

}  // namespace

TEST_CASE("results can be stored as bytes through a codec", "[idempotency]") {
  bulwark::manual_clock clock;
  bulwark::memory_store<std::string, bulwark::manual_clock> bytes({.max_entries = 8}, clock);
  auto codec = bulwark::make_codec<receipt>(
      [](const receipt& r) { return std::to_string(r.id) + "|" + r.currency; },
      [](const std::string& s) {
        const auto bar = s.find('|');
        return receipt{std::stoull(s.substr(0, bar)), s.substr(bar + 1)};
      });
  bulwark::idempotency_executor exec(bytes, {}, codec, clock);
  auto first = exec.execute({"s", "k"}, "p", [] { return receipt{42, "EUR"}; });
  auto again = exec.execute({"s", "k"}, "p", [] { return receipt{0, ""}; });
  CHECK(again.replayed);
  CHECK(again.value.id == 42);
  CHECK(again.value.currency == "EUR");
  // What the store keeps is the encoded form.
  auto raw = bytes.try_begin({"s", "k"}, bulwark::hash64("p"), 1s);
  REQUIRE(raw.status == bulwark::begin_status::completed);
  CHECK(std::get<0>(*raw.result) == "42|EUR");
  CHECK(first.value.id == 42);
}

TEST_CASE("the fingerprint is hash64 of the canonical form", "[idempotency]") {
  fixture f;
  bulwark::idempotency_executor exec(f.store, {}, f.clock);
  exec.execute({"s", "k"}, "amount=5&currency=EUR", [] { return std::string{"r"}; });
  CHECK(f.store.try_begin({"s", "k"}, bulwark::hash64("amount=5&currency=EUR"), 1s).status ==
        bulwark::begin_status::completed);
  CHECK(f.store.try_begin({"s", "k"}, bulwark::hash64("amount=5&currency=USD"), 1s).status ==
        bulwark::begin_status::mismatch);
}

TEST_CASE("each handler runs once per key under concurrency and every caller sees its result",
          "[idempotency]") {
  constexpr int threads = 4;
  constexpr int keys = 128;
  constexpr int rounds = 4;
  const bool wait = GENERATE(false, true);
  bulwark::manual_clock time;
  bulwark::memory_store<std::string, bulwark::manual_clock> store({.max_entries = 1024}, time);
  yielding_clock waits{time};
  bulwark::idempotency_executor exec(store,
                                     {.on_in_progress = wait ? bulwark::in_progress_policy::wait
                                                             : bulwark::in_progress_policy::reject},
                                     waits);
  std::array<std::atomic<int>, keys> runs{};
  std::atomic<int> inconsistent{0};  // Catch2's assertions are not thread-safe: count instead
  std::vector<std::vector<std::string>> seen(threads, std::vector<std::string>(keys));
  std::vector<std::thread> pool;
  for (int t = 0; t < threads; ++t) {
    pool.emplace_back([&, t] {
      bulwark::fast_rng rng{static_cast<std::uint64_t>(t) + 1};
      for (int round = 0; round < rounds; ++round) {
        // Each thread visits every key per round from its own random start, so threads collide
        // on keys in every state: absent, in progress and completed.
        const std::uint64_t start = bulwark::uniform_below(rng, keys);
        for (int i = 0; i < keys; ++i) {
          const int k = static_cast<int>((static_cast<std::uint64_t>(i) + start) % keys);
          const std::string key = "key-" + std::to_string(k);
          auto handler = [&runs, k, t] {
            runs[static_cast<std::size_t>(k)].fetch_add(1, std::memory_order_relaxed);
            std::this_thread::yield();  // widen the in-progress window
            return "by thread " + std::to_string(t);
          };
          for (;;) {  // a client retrying a 409 until it gets the outcome
            try {
              auto r = exec.execute({"tenant", key}, "same payload", handler);
              auto& slot = seen[static_cast<std::size_t>(t)][static_cast<std::size_t>(k)];
              if (slot.empty()) slot = r.value;
              if (slot != r.value) inconsistent.fetch_add(1, std::memory_order_relaxed);
              break;
            } catch (const bulwark::request_in_progress&) {
              std::this_thread::yield();
            }
          }
        }
      }
    });
  }
  for (auto& th : pool)
    th.join();
  CHECK(inconsistent.load() == 0);
  for (int k = 0; k < keys; ++k) {
    CHECK(runs[static_cast<std::size_t>(k)].load() == 1);
    for (int t = 1; t < threads; ++t) {
      CHECK(seen[static_cast<std::size_t>(t)][static_cast<std::size_t>(k)] ==
            seen[0][static_cast<std::size_t>(k)]);
    }
  }
  CHECK(exec.metrics().executions == keys);
  CHECK(exec.metrics().replays == threads * keys * rounds - keys);
}

TEST_CASE("idempotency metrics list every field", "[idempotency]") {
  bulwark::idempotency_metrics m{};
  std::vector<std::string> names;
  m.for_each_metric([&](const bulwark::metric& x) { names.emplace_back(x.name); });
  CHECK(names == std::vector<std::string>{"executions_total", "replays_total", "in_progress_total",
                                          "mismatches_total", "waits_total", "leases_lost_total",
                                          "failures_released_total", "failures_stored_total",
                                          "store_full_total", "invalid_keys_total"});
}

TEST_CASE("replay and execution counts are exact with more threads than counter slots",
          "[idempotency]") {
  // 24 threads in three waves: more live threads than the executor's per-thread counter slots
  // (16), so some count through the shared overflow, and later waves reuse the slots of
  // threads that exited. Every count must survive.
  bulwark::manual_clock clock;
  store_t store{{.max_entries = 4096, .shards = 8}, clock};
  bulwark::idempotency_executor exec{store};
  constexpr int threads = 24;
  constexpr int keys = 32;
  constexpr int rounds = 3;
  std::atomic<int> runs{0};
  std::atomic<int> wrong{0};  // Catch's CHECK is not thread-safe: count in threads, check after
  for (int wave = 0; wave < 3; ++wave) {
    std::vector<std::thread> pool;
    for (int t = 0; t < threads; ++t) {
      pool.emplace_back([&, wave] {
        for (int r = 0; r < rounds; ++r) {
          for (int k = 0; k < keys; ++k) {
            const std::string key = "w" + std::to_string(wave) + "-k" + std::to_string(k);
            try {
              auto out = exec.execute({"s", key}, "c", [&] {
                runs.fetch_add(1);
                return std::string{"v"};
              });
              if (out.value != "v") wrong.fetch_add(1);
            } catch (const bulwark::request_in_progress&) {
            }
          }
        }
      });
    }
    for (auto& th : pool)
      th.join();
  }
  const auto m = exec.metrics();
  CHECK(wrong.load() == 0);
  CHECK(runs.load() == 3 * keys);
  CHECK(m.executions == static_cast<std::uint64_t>(3 * keys));
  CHECK(m.executions + m.replays + m.in_progress ==
        static_cast<std::uint64_t>(3 * threads * rounds * keys));
}

namespace {

// A store with the concept's three operations only, as a remote store has them: the executor
// then goes through try_begin and begin_result rather than try_begin_outcome.
struct concept_only_store {
  using value_type = std::string;
  store_t& inner;
  bulwark::begin_result<std::string> try_begin(bulwark::idempotency_key id, std::uint64_t fp,
                                               duration lease) {
    return inner.try_begin(id, fp, lease);
  }
  bool complete(const bulwark::idempotency_lease& lease, bulwark::stored_result<std::string> result,
                duration ttl) {
    return inner.complete(lease, std::move(result), ttl);
  }
  bool release(const bulwark::idempotency_lease& lease) { return inner.release(lease); }
};
static_assert(bulwark::idempotency_store<concept_only_store>);

}  // namespace

TEST_CASE("a store without try_begin_outcome gives the same answers", "[idempotency]") {
  fixture f;
  concept_only_store plain{f.store};
  bulwark::idempotency_executor exec(plain, {}, f.clock);
  int runs = 0;
  auto handler = [&] { return "r" + std::to_string(++runs); };
  CHECK_FALSE(exec.execute({"s", "k"}, "p", handler).replayed);
  auto again = exec.execute({"s", "k"}, "p", handler);
  CHECK(again.replayed);
  CHECK(again.value == "r1");
  CHECK_THROWS_AS(exec.execute({"s", "k"}, "other", handler), bulwark::key_reused);
  auto held = exec.try_begin({"s", "busy"}, "p");
  REQUIRE(held.status == bulwark::attempt_status::acquired);
  CHECK(exec.try_begin({"s", "busy"}, "p").status == bulwark::attempt_status::in_progress);
  CHECK(exec.try_begin({"s", "busy"}, "p").deadline == f.clock.now() + exec.options().lease);
  CHECK_THROWS_AS(exec.execute({"s", "busy"}, "p", handler), bulwark::request_in_progress);
  CHECK(held.permit.complete("done"));
  auto replayed = exec.try_begin({"s", "busy"}, "p");
  CHECK(replayed.status == bulwark::attempt_status::replayed);
  CHECK(replayed.value == std::optional<std::string>{"done"});
  CHECK(runs == 1);
}

TEST_CASE("begin_outcome and begin_result convert into each other", "[idempotency]") {
  using bulwark::begin_status;
  using outcome = bulwark::begin_outcome<std::string>;
  const bulwark::time_point t{std::chrono::seconds{7}};
  auto acquired = bulwark::detail::to_begin_result(
      outcome{std::in_place_index<0>, bulwark::idempotency_lease{"s", "k", 9, t}});
  CHECK(acquired.status == begin_status::acquired);
  REQUIRE(acquired.lease);
  CHECK(acquired.lease->token == 9);
  CHECK(acquired.lease->key == "k");
  CHECK_FALSE(acquired.result);
  auto completed = bulwark::detail::to_begin_result(
      outcome{std::in_place_index<1>, bulwark::stored_result<std::string>{"v"}});
  CHECK(completed.status == begin_status::completed);
  REQUIRE(completed.result);
  CHECK(std::get<0>(*completed.result) == "v");
  auto busy = bulwark::detail::to_begin_result(outcome{bulwark::in_progress_until{t}});
  CHECK(busy.status == begin_status::in_progress);
  CHECK(busy.deadline == t);
  for (const auto status : {begin_status::mismatch, begin_status::full}) {
    auto r = bulwark::detail::to_begin_result(outcome{status});
    CHECK(r.status == status);
    CHECK_FALSE(r.lease);
    CHECK_FALSE(r.result);
    auto back = bulwark::detail::to_outcome(std::move(r));
    REQUIRE(std::holds_alternative<begin_status>(back));
    CHECK(std::get<begin_status>(back) == status);
  }
  auto round_trip = bulwark::detail::to_outcome(std::move(acquired));
  REQUIRE(std::holds_alternative<bulwark::idempotency_lease>(round_trip));
  CHECK(std::get<bulwark::idempotency_lease>(round_trip).token == 9);
  auto busy_back = bulwark::detail::to_outcome(std::move(busy));
  REQUIRE(std::holds_alternative<bulwark::in_progress_until>(busy_back));
  CHECK(std::get<bulwark::in_progress_until>(busy_back).deadline == t);
}
