// Built with -fno-exceptions (tests/no_exceptions/CMakeLists.txt): every area's permit API
// works there, and invalid options end in the error handler with the message the exception
// would carry (the messages are those tests/*/ assert with exceptions on). Catch2 needs
// exceptions, so this is a plain program with its own check macro; each mode is one ctest.
//
//   no_exceptions permits        every area's non-throwing API, driven by a manual clock
//   no_exceptions invalid_option a child with the default handler aborts, printing the message
//   no_exceptions user_handler   a child's own handler receives the message; one that returns
//                                still ends in abort

#include <sys/wait.h>
#include <unistd.h>

#include <bulwark/bulwark.hpp>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#if BULWARK_HAS_EXCEPTIONS
#error "tests/no_exceptions must be built with -fno-exceptions"
#endif

namespace {

using namespace std::chrono_literals;
using bulwark::manual_clock;

int failures = 0;

#define NX_CHECK(cond)                                                              \
  do {                                                                              \
    if (!(cond)) {                                                                  \
      std::fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #cond); \
      ++failures;                                                                   \
    }                                                                               \
  } while (false)

void rate_limiters() {
  manual_clock clock;
  bulwark::gcra gcra({.rate = bulwark::per_second(10), .burst = 2}, clock);
  NX_CHECK(gcra.try_acquire());
  NX_CHECK(gcra.try_acquire());
  NX_CHECK(!gcra.try_acquire());
  NX_CHECK(gcra.time_until_available() == 100ms);

  bulwark::token_bucket bucket({.rate = bulwark::per_second(10), .capacity = 2}, clock);
  NX_CHECK(bucket.try_acquire(2));
  NX_CHECK(!bucket.try_acquire());

  bulwark::leaky_bucket leaky({.rate = bulwark::per_second(10), .capacity = 2}, clock);
  NX_CHECK(leaky.try_acquire());
  NX_CHECK(!leaky.try_acquire());  // try_acquire never queues: the next slot is 100 ms away

  bulwark::fixed_window fixed({.limit = 2, .window = 1s}, clock);
  bulwark::sliding_window_counter counter({.limit = 2, .window = 1s}, clock);
  bulwark::sliding_window_log log({.limit = 2, .window = 1s}, clock);
  for (int i = 0; i < 2; ++i) {
    NX_CHECK(fixed.try_acquire());
    NX_CHECK(counter.try_acquire());
    NX_CHECK(log.try_acquire());
  }
  NX_CHECK(!fixed.try_acquire());
  NX_CHECK(!counter.try_acquire());
  NX_CHECK(!log.try_acquire());

  bulwark::keyed_limiter<bulwark::gcra<manual_clock>, std::string> keyed(
      {.rate = bulwark::per_second(10), .burst = 1}, {}, clock);
  NX_CHECK(keyed.try_acquire("alice"));
  NX_CHECK(!keyed.try_acquire("alice"));
  NX_CHECK(keyed.try_acquire("bob"));

  clock.advance(1s);
  NX_CHECK(gcra.try_acquire());
  NX_CHECK(bucket.try_acquire());
  NX_CHECK(leaky.try_acquire());
  NX_CHECK(fixed.try_acquire());
  NX_CHECK(log.try_acquire());
  NX_CHECK(keyed.try_acquire("alice"));
}

void circuit_breaker() {
  manual_clock clock;
  bulwark::circuit_breaker breaker({.window_size = 2, .minimum_calls = 2, .wait_in_open = 1s},
                                   clock);
  for (int i = 0; i < 2; ++i) {
    auto permit = breaker.try_acquire();
    NX_CHECK(static_cast<bool>(permit));
    permit.failure();
  }
  NX_CHECK(breaker.state() == bulwark::circuit_state::open);
  NX_CHECK(!breaker.try_acquire());
  clock.advance(1001ms);  // resilience4j's OpenState: a probe strictly after the wait
  auto probe = breaker.try_acquire();
  NX_CHECK(static_cast<bool>(probe));
  NX_CHECK(breaker.state() == bulwark::circuit_state::half_open);
}

void bulkheads() {
  manual_clock clock;
  bulwark::bulkhead bulkhead({.max_concurrent = 1, .max_waiting = 0}, clock);
  {
    auto inside = bulkhead.try_acquire();
    NX_CHECK(static_cast<bool>(inside));
    NX_CHECK(!bulkhead.try_acquire());
    NX_CHECK(bulkhead.in_flight() == 1);
  }
  NX_CHECK(bulkhead.try_acquire());

  bulwark::adaptive_limiter<bulwark::aimd_limit, manual_clock> adaptive(
      bulwark::aimd_options{.initial_limit = 1, .min_limit = 1, .max_limit = 4}, clock);
  {
    auto permit = adaptive.try_acquire();
    NX_CHECK(static_cast<bool>(permit));
    NX_CHECK(!adaptive.try_acquire());
    permit.success();
  }
  NX_CHECK(adaptive.try_acquire());
}

void retry_budgets() {
  manual_clock clock;
  bulwark::retry_budget tokens(bulwark::token_budget_options{.max_tokens = 2, .token_ratio = 0.5});
  std::uint64_t granted = 0;
  for (int i = 0; i < 4; ++i) {
    tokens.record_failure();
    if (tokens.try_spend(clock.now())) ++granted;
  }
  NX_CHECK(granted < 4);  // failures drain the bucket below its threshold

  bulwark::active_request_budget active({.budget_percent = 0, .min_retry_concurrency = 1});
  auto request = active.enter();
  auto first = active.try_retry();
  NX_CHECK(static_cast<bool>(first));
  NX_CHECK(!active.try_retry());
}

void caches() {
  manual_clock clock;
  bulwark::cache<std::string, int, bulwark::tiny_lfu_eviction, manual_clock> cache(
      {.maximum_size = 8, .expire_after_write = 1s}, clock);
  cache.put("a", 1);
  NX_CHECK(cache.get("a") == 1);
  NX_CHECK(!cache.get("b"));
  NX_CHECK(cache.get_or_load("b", [](const std::string&) { return 2; }) == 2);
  clock.advance(2s);
  NX_CHECK(!cache.get("a"));
}

void idempotency() {
  manual_clock clock;
  bulwark::memory_store<std::string, manual_clock> store({.max_entries = 16}, clock);
  bulwark::idempotency_executor exec(store, {}, clock);
  auto first = exec.try_begin({"tenant", "key"}, "request");
  NX_CHECK(first.status == bulwark::attempt_status::acquired);
  NX_CHECK(exec.try_begin({"tenant", "key"}, "request").status ==
           bulwark::attempt_status::in_progress);
  NX_CHECK(exec.try_begin({"tenant", "key"}, "other").status ==
           bulwark::attempt_status::key_reused);
  NX_CHECK(first.permit.complete("done"));
  auto again = exec.try_begin({"tenant", "key"}, "request");
  NX_CHECK(again.status == bulwark::attempt_status::replayed);
  NX_CHECK(again.value == std::string{"done"});
  NX_CHECK(exec.try_begin({"tenant", ""}, "request").status ==
           bulwark::attempt_status::invalid_key);
}

void hashing_and_sharding() {
  const std::vector<bulwark::node> nodes{{.name = "a"}, {.name = "b"}, {.name = "c"}};
  const bulwark::maglev maglev{nodes, {.table_size = 251}};
  const auto& owner = maglev.node_for("user:42");
  NX_CHECK(&maglev.node_for("user:42") == &owner);  // the same key, the same node
  NX_CHECK(bulwark::jump_hash(42, 3) == bulwark::jump_hash(42, 3));

  const bulwark::hash_mod_router router({"s0", "s1"});
  NX_CHECK(router.shard_for(std::string_view{"user:42"}) < 2);
  const auto slots = bulwark::slot_router::evenly({"s0", "s1"});
  NX_CHECK(slots.route("user:42").owner < 2);
  NX_CHECK(!slots.route("user:42").migrating());
}

void balancing() {
  manual_clock clock;
  bulwark::load_balancer<bulwark::round_robin, manual_clock> lb({{.id = "a"}, {.id = "b"}}, {}, {},
                                                                clock);
  bulwark::fast_rng rng{7};
  auto first = lb.pick(rng);
  auto second = lb.pick(rng);
  NX_CHECK(static_cast<bool>(first) && static_cast<bool>(second));
  NX_CHECK(first.id() != second.id());  // round robin alternates
  first.success(1ms);
  second.failure(1ms);
}

// A user-written policy that never throws: it counts the calls it lets through.
struct counting {
  int* calls;
  template <class F>
  decltype(auto) execute(F&& f) const {
    ++*calls;
    return std::forward<F>(f)();
  }
};

// A pipeline of policies that never throw still composes.
void compose() {
  int calls = 0;
  bulwark::pipeline chain(bulwark::passthrough{}, counting{&calls});
  NX_CHECK(chain.execute([](int x) { return x * 2; }, 21) == 42);
  NX_CHECK(calls == 1);
}

int permits() {
  rate_limiters();
  circuit_breaker();
  bulkheads();
  retry_budgets();
  caches();
  idempotency();
  hashing_and_sharding();
  balancing();
  compose();
  if (failures == 0) std::puts("no_exceptions: every permit API checked");
  return failures == 0 ? 0 : 1;
}

// Runs `body` in a child whose stderr is captured; returns its wait status and output.
struct child_result {
  int status = 0;
  std::string output;
};

child_result in_child(void (*body)()) {
  int fds[2];
  if (pipe(fds) != 0) std::abort();
  std::fflush(nullptr);
  const pid_t pid = fork();
  if (pid < 0) std::abort();
  if (pid == 0) {
    close(fds[0]);
    dup2(fds[1], STDERR_FILENO);
    dup2(fds[1], STDOUT_FILENO);
    close(fds[1]);
    body();
    std::_Exit(0);  // the body was meant not to return
  }
  close(fds[1]);
  child_result out;
  char buffer[512];
  for (ssize_t n; (n = read(fds[0], buffer, sizeof buffer)) > 0;)
    out.output.append(buffer, static_cast<std::size_t>(n));
  close(fds[0]);
  waitpid(pid, &out.status, 0);
  return out;
}

bool aborted(int status) {
  return WIFSIGNALED(status) && WTERMSIG(status) == SIGABRT;
}

void make_bad_gcra() {
  bulwark::gcra limiter({.rate = bulwark::per_second(10), .burst = 0});
  static_cast<void>(limiter);
}

int invalid_option() {
  // The message tests/rate_limit asserts for the thrown std::invalid_argument.
  const child_result r = in_child(make_bad_gcra);
  NX_CHECK(aborted(r.status));
  NX_CHECK(r.output == "bulwark: bulwark::gcra: burst must be >= 1 (got 0)\n");
  // Misuse other than options: an unknown partition name.
  const child_result misuse = in_child(+[] {
    bulwark::partitioned_bulkhead bulkhead({.max_concurrent = 2, .partitions = {{"read", 1}}});
    static_cast<void>(bulkhead.partition("write"));
  });
  NX_CHECK(aborted(misuse.status));
  NX_CHECK(misuse.output ==
           "bulwark: bulwark::partitioned_bulkhead: no partition named \"write\"\n");
  if (failures != 0) std::fprintf(stderr, "child printed: %s", r.output.c_str());
  return failures == 0 ? 0 : 1;
}

int user_handler() {
  // A handler that ends the process its own way: it receives the exact message.
  const child_result exits = in_child(+[] {
    bulwark::set_error_handler([](const char* what) noexcept {
      std::fprintf(stdout, "handled: %s\n", what);
      std::fflush(stdout);
      std::_Exit(42);
    });
    make_bad_gcra();
  });
  NX_CHECK(WIFEXITED(exits.status) && WEXITSTATUS(exits.status) == 42);
  NX_CHECK(exits.output == "handled: bulwark::gcra: burst must be >= 1 (got 0)\n");
  // A handler that returns: bulwark still aborts, as raise is [[noreturn]].
  const child_result returns = in_child(+[] {
    bulwark::set_error_handler([](const char* what) noexcept {
      std::fprintf(stdout, "logged: %s\n", what);
      std::fflush(stdout);
    });
    make_bad_gcra();
  });
  NX_CHECK(aborted(returns.status));
  NX_CHECK(returns.output == "logged: bulwark::gcra: burst must be >= 1 (got 0)\n");
  // nullptr restores the default, and set_error_handler returns the previous handler.
  const auto previous = bulwark::set_error_handler(nullptr);
  NX_CHECK(previous == bulwark::get_error_handler());
  return failures == 0 ? 0 : 1;
}

}  // namespace

int main(int argc, char** argv) {
  const std::string_view mode = argc > 1 ? argv[1] : "";
  if (mode == "permits") return permits();
  if (mode == "invalid_option") return invalid_option();
  if (mode == "user_handler") return user_handler();
  std::fprintf(stderr, "usage: %s permits|invalid_option|user_handler\n", argv[0]);
  return 2;
}
