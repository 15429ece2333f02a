// A real service on loopback: a TCP server on 127.0.0.1 (an ephemeral port) that answers,
// fails, is slow or hangs as it is told, and a client that sends thousands of concurrent
// requests from coroutines on one thread, first unprotected, then through a pipeline of
// retry (with a budget), circuit breaker, rate limiter, bulkhead and an attempt timeout. The
// server is told, mid-run, to fail and hang a share of requests, then to recover. The two runs
// print side by side as the lab prints its arms (docs/async.md, "Example service").
//
//   asio_service            2000 requests per run over 2 s
//   asio_service --quick    300 requests over 0.3 s (ctest)
//
// Each request is a connection: "GET <n>\n" answered "OK <n>\n" or "ERR\n". A control
// connection sends "MODE ok\n" or "MODE outage\n" (in an outage, of each 10 requests 3 fail, 2
// hang until the client gives up, 2 are slow (200 ms), 3 are answered at once).

#include <algorithm>
#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>
#include <asio/io_context.hpp>
#include <asio/ip/tcp.hpp>
#include <asio/read_until.hpp>
#include <asio/steady_timer.hpp>
#include <asio/use_awaitable.hpp>
#include <asio/write.hpp>
#include <atomic>
#include <bulwark/asio.hpp>
#include <bulwark/bulkhead.hpp>
#include <bulwark/circuit_breaker.hpp>
#include <bulwark/compose.hpp>
#include <bulwark/rate_limit.hpp>
#include <bulwark/retry.hpp>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <exception>
#include <memory>
#include <stdexcept>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "loopback.hpp"

using namespace std::chrono_literals;
using asio::ip::tcp;
using loopback::call;
using loopback::server;
using clock_type = std::chrono::steady_clock;

namespace {

struct arm_result {
  std::uint64_t requests = 0;
  std::uint64_t successes = 0;
  std::uint64_t failures = 0;                   // the backend failed, or a timeout
  std::uint64_t rejections = 0;                 // refused by a guard without reaching the backend
  std::uint64_t unfinished = 0;                 // still waiting when the run ended
  std::uint64_t backend = 0;                    // requests the server saw
  std::vector<clock_type::duration> latencies;  // of successes

  [[nodiscard]] double percentile_ms(double p) const {
    if (latencies.empty()) return 0;
    std::vector<clock_type::duration> sorted = latencies;
    std::sort(sorted.begin(), sorted.end());
    const auto i = static_cast<std::size_t>(p * static_cast<double>(sorted.size() - 1));
    return std::chrono::duration<double, std::milli>(sorted[i]).count();
  }
};

// A guard's refusal (circuit_open, rate_limited, bulkhead_full), possibly as the last error
// of a retry that gave up.
bool refused(std::exception_ptr error) {
  for (;;) {
    try {
      std::rethrow_exception(error);
    } catch (const bulwark::circuit_open&) {
      return true;
    } catch (const bulwark::rate_limited&) {
      return true;
    } catch (const bulwark::bulkhead_full&) {
      return true;
    } catch (const bulwark::retries_exhausted& e) {
      if (!e.last_error()) return false;
      error = e.last_error();
    } catch (...) {
      return false;
    }
  }
}

struct run_options {
  int requests = 2000;
  clock_type::duration spacing = 1ms;  // between arrivals
  clock_type::duration drain = 2s;     // after the last arrival
};

// Sends `requests` requests, one every `spacing`, each a coroutine on this thread running
// `send(n)`; the server is in an outage from the first third to the second.
template <class Send>
arm_result run_arm(server& backend, const run_options& options, Send send) {
  asio::io_context io;
  arm_result out;
  out.requests = static_cast<std::uint64_t>(options.requests);
  const std::uint64_t before = backend.requests();
  auto finished = std::make_shared<std::uint64_t>(0);
  auto one = [&, finished](int n) -> asio::awaitable<void> {
    const auto start = clock_type::now();
    try {
      co_await send(n);
      ++out.successes;
      out.latencies.push_back(clock_type::now() - start);
    } catch (...) {
      if (refused(std::current_exception())) {
        ++out.rejections;
      } else {
        ++out.failures;
      }
    }
    ++*finished;
  };
  auto command = [&](std::string mode) -> asio::awaitable<void> {
    co_await call(backend.endpoint(), "MODE " + mode + "\n");
  };
  auto arrivals = [&]() -> asio::awaitable<void> {
    asio::steady_timer tick{io};
    auto next = clock_type::now();
    for (int n = 0; n < options.requests; ++n) {
      if (n == options.requests / 3) co_await command("outage");
      if (n == 2 * options.requests / 3) co_await command("ok");
      asio::co_spawn(io, one(n), asio::detached);
      next += options.spacing;
      tick.expires_at(next);
      co_await tick.async_wait(asio::use_awaitable);
    }
  };
  asio::co_spawn(io, arrivals(), asio::detached);
  io.run_for(options.spacing * options.requests + options.drain);
  out.unfinished = out.requests - *finished;
  out.backend = backend.requests() - before;
  return out;  // io goes with the requests still hanging: their sockets close
}

}  // namespace

int main(int argc, char** argv) {
  const bool quick = argc > 1 && std::string_view{argv[1]} == "--quick";
  run_options options;
  if (quick) options = {.requests = 300, .spacing = 1ms, .drain = 1500ms};

  server backend;
  const tcp::endpoint at = backend.endpoint();

  const arm_result plain = run_arm(backend, options, [&](int n) -> asio::awaitable<void> {
    co_await call(at, "GET " + std::to_string(n) + "\n");
  });

  // Outermost first, in the order docs/compose.md recommends.
  bulwark::retry retry({.max_attempts = 3,
                        .backoff = {.base = 10ms},
                        .budget = std::make_shared<bulwark::retry_budget>(
                            bulwark::ratio_budget_options{.retry_ratio = 0.2})});
  bulwark::circuit_breaker breaker({.failure_rate_threshold = 0.5,
                                    .window_size = 20,
                                    .minimum_calls = 10,
                                    .wait_in_open = 50ms});
  bulwark::gcra limiter({.rate = bulwark::per_second(2000), .burst = 200});
  bulwark::bulkhead bulkhead({.max_concurrent = 100});
  bulwark::timeout attempt_timeout({.timeout = 100ms});
  bulwark::pipeline protect(retry, breaker, limiter, bulkhead, attempt_timeout);

  const arm_result guarded = run_arm(backend, options, [&](int n) -> asio::awaitable<void> {
    const std::string request = "GET " + std::to_string(n) + "\n";
    co_await bulwark::async::execute(protect, [&] { return call(at, request); });
  });

  std::printf(
      "%d requests per run, one per ms, to %s:%u; outage from the first third to the "
      "second\n\n",
      options.requests, at.address().to_string().c_str(), at.port());
  std::printf("%-18s %12s %12s\n", "", "unprotected", "protected");
  const auto row = [](const char* name, std::uint64_t a, std::uint64_t b) {
    std::printf("%-18s %12llu %12llu\n", name, static_cast<unsigned long long>(a),
                static_cast<unsigned long long>(b));
  };
  row("requests", plain.requests, guarded.requests);
  row("successes", plain.successes, guarded.successes);
  row("failures", plain.failures, guarded.failures);
  row("rejections", plain.rejections, guarded.rejections);
  row("unfinished", plain.unfinished, guarded.unfinished);
  row("backend requests", plain.backend, guarded.backend);
  std::printf("%-18s %12.1f %12.1f\n", "p50 ms (successes)", plain.percentile_ms(0.5),
              guarded.percentile_ms(0.5));
  std::printf("%-18s %12.1f %12.1f\n", "p99 ms (successes)", plain.percentile_ms(0.99),
              guarded.percentile_ms(0.99));

  // What must hold whatever the timing: every request is accounted for once; the unprotected
  // client refuses nothing; the protected one leaves nothing hanging (each attempt is bounded).
  const bool accounted =
      plain.successes + plain.failures + plain.rejections + plain.unfinished == plain.requests &&
      guarded.successes + guarded.failures + guarded.rejections + guarded.unfinished ==
          guarded.requests;
  const bool ok = accounted && plain.rejections == 0 && guarded.unfinished == 0;
  std::printf("\ninvariants: %s\n", ok ? "ok" : "VIOLATED");
  return ok ? 0 : 1;
}
