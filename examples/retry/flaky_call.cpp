// Retrying a flaky call that sometimes answers "503, Retry-After: 2s".
//
// The service below fails twice: first with a 503 carrying a Retry-After header, then with a
// timeout. The retry executor waits what the server asked for after the 503, its own jittered
// backoff after the timeout, and gives up (retries_exhausted, dead letter) when a call keeps
// failing. A budget shared by all callers keeps retries a bounded share of the traffic.
//
// The example runs in virtual time (bulwark::manual_clock) so that it finishes at once and
// prints the same lines every run; in production, leave the clock out (steady_clock).
#include <bulwark/retry.hpp>
#include <chrono>
#include <cstdio>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>

using namespace std::chrono_literals;

namespace {

// What an HTTP client might throw for a non-2xx answer.
struct http_error : std::runtime_error {
  http_error(int code, std::optional<bulwark::duration> after)
      : std::runtime_error{"HTTP " + std::to_string(code)}, status{code}, retry_after{after} {}
  int status;
  std::optional<bulwark::duration> retry_after;  // the parsed Retry-After header
};

struct timeout_error : std::runtime_error {
  timeout_error() : std::runtime_error{"timed out"} {}
};

// Maps the client's errors to a delay hint: Retry-After when the server sent one.
std::optional<bulwark::duration> retry_after_header(const std::exception_ptr& error) {
  try {
    std::rethrow_exception(error);
  } catch (const http_error& e) {
    return e.retry_after;
  } catch (...) {
    return std::nullopt;
  }
}

// Retry only what may succeed later: 429/503 and timeouts, not a 404.
bool transient(const std::exception_ptr& error) {
  try {
    std::rethrow_exception(error);
  } catch (const http_error& e) {
    return e.status == 429 || e.status == 503;
  } catch (const timeout_error&) {
    return true;
  } catch (...) {
    return false;
  }
}

double seconds(bulwark::duration d) {
  return std::chrono::duration<double>(d).count();
}

}  // namespace

int main() {
  bulwark::manual_clock clock;
  const auto start = clock.now();
  auto budget = std::make_shared<bulwark::retry_budget>(bulwark::token_budget_options{});

  bulwark::retry retry({.max_attempts = 4,
                        .max_elapsed = 30s,
                        .backoff = {.base = 200ms, .cap = 5s, .jitter = bulwark::jitter_kind::full},
                        .retry_on = transient,
                        .retry_after = retry_after_header,
                        .on_retry =
                            [&](const bulwark::retry_event& e) {
                              std::printf("  attempt %u failed; retrying in %.3fs%s\n", e.attempt,
                                          seconds(e.delay), e.hinted ? " (Retry-After)" : "");
                            },
                        .budget = budget,
                        .seed = 7},
                       clock);

  // A flaky endpoint: 503 with Retry-After, then a timeout, then the answer.
  int calls = 0;
  const auto fetch = [&](const std::string& path) -> std::string {
    ++calls;
    if (calls == 1) throw http_error{503, 2s};
    if (calls == 2) throw timeout_error{};
    return "200 OK " + path;
  };

  std::printf("GET /orders/42\n");
  const std::string body = retry.execute(fetch, std::string{"/orders/42"});
  std::printf("  -> %s after %d attempts, %.3fs\n", body.c_str(), calls,
              seconds(clock.now() - start));

  // Calls that keep failing go to a dead letter with their input. The second finds the
  // budget drained by the first (gRPC's rule: no retries at or below half the tokens).
  const auto to_dead_letter = bulwark::retry_call{}.dead_letter(
      [](const bulwark::retries_exhausted& e, const std::string& path) {
        std::printf("  dead letter: %s (%s)\n", path.c_str(), e.what());
      });
  for (const std::string path : {"/orders/43", "/orders/44"}) {
    std::printf("GET %s\n", path.c_str());
    try {
      (void)retry.execute(
          to_dead_letter,
          [](const std::string&) -> std::string {
            throw http_error{503, std::nullopt};
          },
          path);
    } catch (const bulwark::retries_exhausted& e) {
      std::printf("  gave up: %u attempt%s, reason %s\n", e.attempts(),
                  e.attempts() == 1 ? "" : "s", std::string{to_string(e.reason())}.c_str());
    }
  }
  std::printf("budget tokens left: %.1f of 10\n", budget->tokens());
}
