// The awaitable execute of the guards that decide without waiting and had no awaitable form
// before: adaptive_limiter, partitioned_adaptive_limiter, adaptive_throttle,
// partitioned_bulkhead and keyed_limiter. Each is held to its sync execute: the same permits
// (sync and async callers share one guard), the same refusal, the same reports.
#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>
#include <asio/io_context.hpp>
#include <bulwark/asio.hpp>
#include <bulwark/bulkhead/adaptive_limiter.hpp>
#include <bulwark/bulkhead/adaptive_throttle.hpp>
#include <bulwark/bulkhead/partitioned.hpp>
#include <bulwark/bulkhead/partitioned_adaptive.hpp>
#include <bulwark/core/clock.hpp>
#include <bulwark/core/errors.hpp>
#include <bulwark/rate_limit/gcra.hpp>
#include <bulwark/rate_limit/keyed_limiter.hpp>
#include <chrono>
#include <cstdint>
#include <exception>
#include <optional>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "catch.hpp"
#include "spawned.hpp"

using namespace std::chrono_literals;
using bulwark::manual_clock;
using bulwark_test::answer;
using bulwark_test::fail;
using bulwark_test::run;

namespace {

template <class E>
std::string message_of(const std::exception_ptr& e) {
  try {
    if (e) std::rethrow_exception(e);
  } catch (const E& x) {
    return x.what();
  } catch (...) {
    return "(another exception)";
  }
  return "(none)";
}

asio::awaitable<void> discard(asio::awaitable<int> a) {
  co_await std::move(a);
}

asio::awaitable<int> refused_by_backend() {
  bulwark::detail::raise<bulwark::rejected>("backend", "overloaded");
  co_return 0;
}

// Records the last sample an adaptive limiter reports (as in tests/bulkhead's
// AbstractLimiter.onDropped test), with a fixed limit.
struct recording {
  using options_type = std::uint32_t;
  explicit recording(std::uint32_t l) : value{l} {}
  std::uint32_t value;
  [[nodiscard]] std::uint32_t limit() const noexcept { return value; }
  void on_sample(bulwark::duration rtt, std::uint32_t inflight, bool dropped) {
    ++samples;
    last_rtt = rtt;
    last_inflight = inflight;
    last_dropped = dropped;
  }
  int samples = 0;
  bulwark::duration last_rtt{};
  std::uint32_t last_inflight = 0;
  bool last_dropped = false;
};

}  // namespace

TEST_CASE("adaptive_limiter: the latency sample spans the awaited call", "[asio]") {
  asio::io_context io;
  manual_clock clock;
  bulwark::adaptive_limiter<recording, manual_clock> limiter(recording{2}, clock);
  bool done = false;
  asio::co_spawn(
      io,
      [&]() -> asio::awaitable<void> {
        co_await bulwark::async::execute(limiter, [&]() -> asio::awaitable<void> {
          co_await bulwark::async::sleep_for(clock, 70ms);
        });
        done = true;
      },
      asio::detached);
  io.poll();
  CHECK(limiter.in_flight() == 1);
  // A sync caller takes the second slot of the same limit; a third call, async, is refused
  // with the sync execute's error.
  auto sync_permit = limiter.try_acquire();
  CHECK(sync_permit);
  const auto refusal = run(
      io, [&]() -> asio::awaitable<void> { co_await bulwark::async::execute(limiter, answer); }());
  CHECK(message_of<bulwark::bulkhead_full>(refusal) ==
        "bulwark::adaptive_limiter: the concurrency limit is reached");
  std::string sync_message;
  try {
    limiter.execute([] { return 0; });
  } catch (const bulwark::bulkhead_full& e) {
    sync_message = e.what();
  }
  CHECK(sync_message == message_of<bulwark::bulkhead_full>(refusal));
  sync_permit.ignore();
  bulwark::async::advance(io, clock, 70ms);
  CHECK(done);
  CHECK(limiter.in_flight() == 0);
  limiter.inspect([](const recording& r) {
    CHECK(r.samples == 1);
    CHECK(r.last_rtt == 70ms);  // over the awaited call, on the limiter's clock
    CHECK(r.last_inflight == 1);
    CHECK_FALSE(r.last_dropped);
  });
  CHECK(limiter.metrics().rejected == 2);
}

TEST_CASE("adaptive_limiter: a rejected is a drop, another exception no sample", "[asio]") {
  asio::io_context io;
  manual_clock clock;
  bulwark::adaptive_limiter<recording, manual_clock> limiter(recording{4}, clock);
  CHECK(message_of<bulwark::rejected>(run(io, [&]() -> asio::awaitable<void> {
          co_await bulwark::async::execute(limiter, refused_by_backend);
        }())) == "bulwark::backend: overloaded");
  limiter.inspect([](const recording& r) {
    CHECK(r.samples == 1);
    CHECK(r.last_dropped);
  });
  CHECK(message_of<std::runtime_error>(run(io, [&]() -> asio::awaitable<void> {
          co_await bulwark::async::execute(limiter, fail);
        }())) == "down");
  limiter.inspect([](const recording& r) { CHECK(r.samples == 1); });
  const auto m = limiter.metrics();
  CHECK(m.dropped == 1);
  CHECK(m.ignored == 1);
  CHECK(m.in_flight == 0);
  int got = 0;
  CHECK_FALSE(run(io, [&]() -> asio::awaitable<void> {
    got = co_await bulwark::async::execute(limiter, answer);
  }()));
  CHECK(got == 42);
  CHECK(limiter.metrics().succeeded == 1);
}

TEST_CASE("partitioned_adaptive_limiter: execute(limiter, index, f) holds the partition's slot",
          "[asio]") {
  asio::io_context io;
  manual_clock clock;
  // Netflix's AbstractPartitionedLimiter rules (tests/bulkhead/test_partitioned_adaptive.cpp):
  // limit 2, batch reserves ceil(0.5 x 2) = 1, live 1.
  bulwark::partitioned_adaptive_limiter<recording, manual_clock> limiter(
      recording{2}, {{"batch", 0.5}, {"live", 0.5}}, clock);
  const auto batch = limiter.partition("batch");
  const auto live = limiter.partition("live");
  bool done = false;
  asio::co_spawn(
      io,
      [&]() -> asio::awaitable<void> {
        co_await bulwark::async::execute(limiter, batch, [&]() -> asio::awaitable<void> {
          co_await bulwark::async::sleep_for(clock, 30ms);
        });
        done = true;
      },
      asio::detached);
  io.poll();
  CHECK(limiter.metrics()[batch].in_flight == 1);
  auto live_permit = limiter.try_acquire(live);  // a sync caller in the other partition
  CHECK(live_permit);
  const auto refusal = run(io, [&]() -> asio::awaitable<void> {
    co_await bulwark::async::execute(limiter, batch, answer);
  }());
  CHECK(message_of<bulwark::bulkhead_full>(refusal) ==
        "bulwark::partitioned_adaptive_limiter: partition batch is at its share of a full limit");
  bulwark::async::advance(io, clock, 30ms);
  CHECK(done);
  CHECK(limiter.metrics()[batch].in_flight == 0);
  limiter.inspect([](const recording& r) {
    CHECK(r.samples == 1);
    CHECK(r.last_rtt == 30ms);
  });
}

TEST_CASE("adaptive_throttle: results are accepts, exceptions rejections unless accept_on",
          "[asio]") {
  asio::io_context io;
  manual_clock clock;
  bulwark::adaptive_throttle_options options;
  options.seed = 1;
  options.accept_on = [](const std::exception_ptr& e) {
    try {
      std::rethrow_exception(e);
    } catch (const std::invalid_argument&) {
      return true;  // the backend answered "bad request"
    } catch (...) {
      return false;
    }
  };
  bulwark::adaptive_throttle<manual_clock> throttle(options, clock);
  CHECK_FALSE(run(io, [&]() -> asio::awaitable<void> {
    co_await bulwark::async::execute(throttle, answer);
  }()));
  CHECK(run(
      io, [&]() -> asio::awaitable<void> { co_await bulwark::async::execute(throttle, fail); }()));
  CHECK(run(io, [&]() -> asio::awaitable<void> {
    co_await bulwark::async::execute(throttle, []() -> asio::awaitable<void> {
      throw std::invalid_argument("bad request");
      co_return;
    });
  }()));
  CHECK(throttle.counts().requests == 3);
  CHECK(throttle.counts().accepts == 2);
  const auto m = throttle.metrics();
  CHECK(m.rejects == 1);
}

TEST_CASE("adaptive_throttle: a local refusal throws rejected, as the sync execute does",
          "[asio]") {
  asio::io_context io;
  manual_clock clock;
  bulwark::adaptive_throttle<manual_clock> throttle({.seed = 3}, clock);
  // A backend that refuses everything: the SRE book's p = (requests - 2 x 0) / (requests + 1)
  // climbs towards 1, so within 200 requests some are refused locally.
  int refused = 0;
  for (int i = 0; i < 200; ++i) {
    const auto e = run(
        io, [&]() -> asio::awaitable<void> { co_await bulwark::async::execute(throttle, fail); }());
    if (message_of<bulwark::rejected>(e) == "bulwark::adaptive_throttle: throttled") ++refused;
  }
  CHECK(refused > 0);
  CHECK(static_cast<int>(throttle.metrics().throttled) == refused);
}

TEST_CASE("partitioned_bulkhead: execute(bulkhead, index, f) holds the slot while awaiting",
          "[asio]") {
  asio::io_context io;
  bulwark::partitioned_bulkhead bulkhead(
      {.max_concurrent = 2, .partitions = {{"interactive", 0.5}, {"batch", 0.5}}});
  const auto interactive = bulkhead.partition("interactive");
  const auto batch = bulkhead.partition("batch");
  manual_clock clock;
  int done = 0;
  asio::co_spawn(
      io,
      [&]() -> asio::awaitable<void> {
        const int r =
            co_await bulwark::async::execute(bulkhead, batch, [&]() -> asio::awaitable<int> {
              co_await bulwark::async::sleep_for(clock, 10ms);
              co_return 7;
            });
        done = r;
      },
      asio::detached);
  io.poll();
  CHECK(bulkhead.in_flight() == 1);
  // Batch may borrow interactive's idle slot synchronously; a third batch call is refused.
  auto borrowed = bulkhead.try_acquire(batch);
  CHECK(borrowed);
  const auto refusal = run(io, [&]() -> asio::awaitable<void> {
    co_await bulwark::async::execute(bulkhead, batch, answer);
  }());
  CHECK(message_of<bulwark::bulkhead_full>(refusal) ==
        "bulwark::partitioned_bulkhead: partition batch is at its share of a full limit");
  CHECK(bulkhead.in_flight() == 2);
  borrowed.release();
  // A failing call gives its slot back too.
  CHECK(message_of<std::runtime_error>(run(io, [&]() -> asio::awaitable<void> {
          co_await bulwark::async::execute(bulkhead, interactive, fail);
        }())) == "down");
  CHECK(bulkhead.in_flight() == 1);
  bulwark::async::advance(io, clock, 10ms);
  CHECK(done == 7);
  CHECK(bulkhead.in_flight() == 0);
}

TEST_CASE("keyed_limiter: execute(limiter, key, f) spends the key's unit or throws rate_limited",
          "[asio]") {
  asio::io_context io;
  manual_clock clock;
  bulwark::keyed_limiter<bulwark::gcra<manual_clock>, std::string> limiter(
      {.rate = bulwark::per_second(10), .burst = 1}, {.max_keys = 64, .seed = 5}, clock);
  int got = 0;
  CHECK_FALSE(run(io, [&]() -> asio::awaitable<void> {
    got = co_await bulwark::async::execute(limiter, "alice", answer);
  }()));
  CHECK(got == 42);
  // alice's burst is spent: refused with her retry_after (one emission interval), as the sync
  // execute refuses; bob is not.
  std::optional<bulwark::duration> hint;
  run(io, [&]() -> asio::awaitable<void> {
    try {
      co_await bulwark::async::execute(limiter, "alice", answer);
    } catch (const bulwark::rate_limited& e) {
      hint = e.retry_after();
    }
  }());
  CHECK(hint == 100ms);
  CHECK_THROWS_AS(limiter.execute(std::string("alice"), [] { return 0; }), bulwark::rate_limited);
  CHECK_FALSE(run(io, [&]() -> asio::awaitable<void> {
    co_await bulwark::async::execute(limiter, "bob", answer);
  }()));
  // The key is copied: an awaitable made from a temporary key runs after it is gone.
  auto later = [&] {
    std::string key = "carol";
    return bulwark::async::execute(limiter, key, answer);
  }();
  CHECK_FALSE(run(io, discard(std::move(later))));
  CHECK(limiter.contains("carol"));
  clock.advance(100ms);
  CHECK_FALSE(run(io, [&]() -> asio::awaitable<void> {
    co_await bulwark::async::execute(limiter, "alice", answer);
  }()));
}
