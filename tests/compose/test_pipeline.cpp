#include <bulwark/bulkhead.hpp>
#include <bulwark/circuit_breaker.hpp>
#include <bulwark/compose.hpp>
#include <bulwark/core/clock.hpp>
#include <bulwark/rate_limit.hpp>
#include <bulwark/retry.hpp>
#include <memory>
#include <stdexcept>
#include <stop_token>
#include <string>
#include <thread>
#include <vector>

#include "catch.hpp"

using namespace std::chrono_literals;

namespace {

// A user-written policy: records entry and exit in a shared log.
struct recorder {
  std::string name;
  std::vector<std::string>* log;
  template <class F>
  decltype(auto) execute(F&& f) {
    log->push_back(name + ">");
    struct on_exit {
      recorder& r;
      ~on_exit() { r.log->push_back("<" + r.name); }
    } exit{*this};
    return f();
  }
};
static_assert(bulwark::policy<recorder>);

struct custom_error : std::runtime_error {
  using std::runtime_error::runtime_error;
  int code = 7;
};

}  // namespace

TEST_CASE("a pipeline nests its policies outermost first", "[compose]") {
  std::vector<std::string> log;
  recorder a{"a", &log}, b{"b", &log}, c{"c", &log};
  bulwark::pipeline p(a, b, c);
  static_assert(bulwark::policy<decltype(p)>);
  const int r = p.execute(
      [&log](int x) {
        log.push_back("f");
        return x + 1;
      },
      41);
  CHECK(r == 42);
  CHECK(log == std::vector<std::string>{"a>", "b>", "c>", "f", "<c", "<b", "<a"});

  // Pipelines nest, and a user-written policy composes like the built-in ones.
  log.clear();
  bulwark::passthrough none;
  bulwark::pipeline outer(a, p, none);
  outer.execute([&log] { log.push_back("f"); });
  CHECK(log == std::vector<std::string>{"a>", "a>", "b>", "c>", "f", "<c", "<b", "<a", "<a"});
}

TEST_CASE("exceptions propagate through a pipeline unchanged", "[compose]") {
  std::vector<std::string> log;
  recorder a{"a", &log};
  bulwark::bulkhead bulkhead({.max_concurrent = 1});
  bulwark::pipeline p(a, bulkhead);
  try {
    p.execute([]() -> int {
      custom_error e{"bad"};
      e.code = 42;
      throw e;
    });
    FAIL("no exception");
  } catch (const custom_error& e) {
    CHECK(e.code == 42);
    CHECK(std::string{e.what()} == "bad");
  }
  CHECK(log == std::vector<std::string>{"a>", "<a"});
  CHECK(bulkhead.in_flight() == 0);
}

TEST_CASE("references, void and move-only results pass through", "[compose]") {
  bulwark::bulkhead bulkhead({.max_concurrent = 1});
  bulwark::pipeline p(bulkhead, bulwark::passthrough{});
  int value = 3;
  int& ref = p.execute([&value]() -> int& { return value; });
  CHECK(&ref == &value);
  auto owned = p.execute([] { return std::make_unique<int>(5); });
  CHECK(*owned == 5);
  p.execute([] {});
  bulwark::pipeline<> empty;
  CHECK(empty.execute([](int x) { return x; }, 9) == 9);
}

TEST_CASE("the standard guards compose: retry, breaker, limiter, bulkhead", "[compose]") {
  bulwark::manual_clock clock;
  bulwark::retry retry({.max_attempts = 3, .seed = 1}, clock);
  bulwark::circuit_breaker breaker({}, clock);
  bulwark::gcra limiter({.rate = bulwark::per_second(1000), .burst = 10}, clock);
  bulwark::bulkhead bulkhead({.max_concurrent = 2});
  bulwark::pipeline p(retry, breaker, limiter, bulkhead);

  int attempts = 0;
  const int r = p.execute([&] {
    if (++attempts < 3) throw std::runtime_error("flaky");
    return 7;
  });
  CHECK(r == 7);
  CHECK(attempts == 3);  // the retry, outermost, re-ran the inner guards each time
  CHECK(bulkhead.in_flight() == 0);
  CHECK(bulkhead.metrics().rejected == 0);

  // A refusal from an inner guard reaches the outer ones as a bulwark::rejected subclass.
  auto held = bulkhead.try_acquire();
  auto held2 = bulkhead.try_acquire();
  bulwark::pipeline inner(breaker, bulkhead);
  CHECK_THROWS_AS(inner.execute([] { return 1; }), bulwark::bulkhead_full);
}

TEST_CASE("rejections reach a fallback placed outside the guard", "[compose]") {
  bulwark::bulkhead bulkhead({.max_concurrent = 1});
  bulwark::fallback on_refusal([](const bulwark::rejected&) { return -1; });
  bulwark::pipeline p(on_refusal, bulkhead);
  CHECK(p.execute([] { return 5; }) == 5);
  auto held = bulkhead.try_acquire();
  CHECK(p.execute([] { return 5; }) == -1);
  // Not a rejection: passes through the fallback unchanged.
  held.release();
  CHECK_THROWS_AS(p.execute([]() -> int { throw std::logic_error("bug"); }), std::logic_error);
}

namespace {

// A user-written policy that offers a stop token, as timeout and hedge do: it requests the stop
// before the call when told to, so the test needs no thread and no deadline.
struct token_source {
  static constexpr bool offers_stop_token = true;
  bool stop_before_call = false;
  std::vector<std::string>* log;
  template <class F>
  decltype(auto) execute(F&& f) {
    log->push_back("token");
    if constexpr (std::invocable<F&, std::stop_token>) {
      std::stop_source source;
      if (stop_before_call) source.request_stop();
      return f(source.get_token());
    } else {
      return f();
    }
  }
};

template <class Pipeline, class F>
concept pipeline_accepts = requires(Pipeline& p, F f) {
  p.execute(f);
};

}  // namespace

TEST_CASE("a stop-token callable gets the token of the innermost policy that offers one",
          "[compose]") {
  std::vector<std::string> log;
  recorder outer{"outer", &log};
  recorder inner{"inner", &log};
  token_source source{.stop_before_call = true, .log = &log};
  bulwark::pipeline p(outer, source, inner);
  const int got =
      p.execute([](std::stop_token stop, int x) { return stop.stop_requested() ? -x : x; }, 5);
  CHECK(got == -5);  // the token reached f through `inner`, which knows nothing of tokens
  CHECK(log == std::vector<std::string>{"outer>", "token", "inner>", "<inner", "<outer"});

  source.stop_before_call = false;
  CHECK(p.execute([](std::stop_token stop) { return stop.stop_requested() ? 0 : 1; }) == 1);

  // Plain callables still go through every layer without a token.
  CHECK(p.execute([] { return 7; }) == 7);
}

TEST_CASE("a pipeline without a token source refuses a stop-token callable at compile time",
          "[compose]") {
  std::vector<std::string> log;
  recorder a{"a", &log};
  auto takes_token = [](std::stop_token) { return 1; };
  auto plain = [] { return 1; };
  STATIC_REQUIRE_FALSE(pipeline_accepts<bulwark::pipeline<recorder&>, decltype(takes_token)>);
  STATIC_REQUIRE(pipeline_accepts<bulwark::pipeline<recorder&>, decltype(plain)>);
  STATIC_REQUIRE(
      pipeline_accepts<bulwark::pipeline<recorder&, bulwark::timeout<>>, decltype(takes_token)>);
  STATIC_REQUIRE(
      pipeline_accepts<bulwark::pipeline<bulwark::timeout<>, recorder&>, decltype(takes_token)>);
}

TEST_CASE("a pipeline nested in another passes the stop token of a policy inside it", "[compose]") {
  std::vector<std::string> log;
  recorder outer{"outer", &log};
  recorder inner{"inner", &log};
  token_source source{.stop_before_call = true, .log = &log};
  bulwark::pipeline guarded(source, inner);
  STATIC_REQUIRE(decltype(guarded)::offers_stop_token);
  STATIC_REQUIRE_FALSE(bulwark::pipeline<recorder&>::offers_stop_token);

  bulwark::pipeline p(outer, guarded);
  CHECK(p.execute([](std::stop_token stop, int x) { return stop.stop_requested() ? -x : x; }, 3) ==
        -3);
  CHECK(log == std::vector<std::string>{"outer>", "token", "inner>", "<inner", "<outer"});
  CHECK(p.execute([] { return 2; }) == 2);

  // A timeout two pipelines deep: its token reaches f, and stops at the deadline.
  bulwark::manual_clock clock;
  bulwark::retry retry({.max_attempts = 1}, clock);
  bulwark::circuit_breaker breaker({.minimum_calls = 100}, clock);
  bulwark::pipeline attempt(breaker, bulwark::timeout({.timeout = 50ms}, clock));
  bulwark::pipeline protect(retry, attempt);
  CHECK(protect.execute([](std::stop_token stop) { return stop.stop_possible() ? 1 : 0; }) == 1);
  CHECK_THROWS_AS(protect.execute([&](std::stop_token stop) {
    while (!stop.stop_requested()) {
      clock.advance(10ms);
      std::this_thread::yield();
    }
    return 0;
  }),
                  bulwark::retries_exhausted);
}

// docs/compose.md's example: a timeout innermost, the stop token passed through retry and
// breaker to the call, which stops cooperatively at the deadline.
TEST_CASE("retry, breaker and an innermost timeout pass the timeout's stop token to the call",
          "[compose]") {
  bulwark::manual_clock clock;
  bulwark::retry retry({.max_attempts = 2}, clock);
  bulwark::circuit_breaker breaker({.minimum_calls = 100}, clock);
  bulwark::pipeline protect(retry, breaker, bulwark::timeout({.timeout = 100ms}, clock));

  CHECK(protect.execute([](std::stop_token stop, int x) { return stop.stop_requested() ? 0 : x; },
                        4) == 4);

  // The work advances virtual time itself, 10 ms per step, until told to stop; the timeout's
  // watchdog thread notices each deadline within a millisecond of real time.
  int attempts = 0;
  CHECK_THROWS_AS(protect.execute([&](std::stop_token stop) {
    ++attempts;
    while (!stop.stop_requested()) {
      clock.advance(10ms);
      std::this_thread::yield();
    }
    return 0;
  }),
                  bulwark::retries_exhausted);
  CHECK(attempts == 2);
}
