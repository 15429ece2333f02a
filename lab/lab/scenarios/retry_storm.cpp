// retry-storm: what retries do to an outage, and how jitter and a budget keep them in check.
//
// The baseline's load and backend (200/s for a minute, capacity 150, 1% background errors,
// a 15 s outage in which calls hang until the client's 1 s timeout), three clients:
//   - unprotected: one attempt (the baseline's client);
//   - naive-retry: up to 4 attempts, each retry sent the moment the last attempt failed;
//   - jitter+budget: up to 4 attempts, exponential backoff with full jitter (AWS), and a
//     ratio retry budget (Finagle's defaults: 20% of recent requests plus 10 per second);
//   - active budget: the same backoff under bulwark::active_request_budget (Envoy's retry
//     budget, its defaults): retries in flight at most 20% of the requests in flight, or 3.
//     A request counts from arrival to its outcome, a retry from the failure that asks for it
//     through its backoff to its answer, as retry_options::active_budget holds them.
//
// During the outage every naive request makes 4 backend calls: the backend's 150 slots fill
// with retries of hung calls, and the retries of overloaded calls are refused within a
// millisecond and sent again, so backend calls reach about four times the load. The budget
// holds retries to about a fifth of the load; the background 1% errors are still retried.
// The active budget caps retries by concurrency instead of by rate: during the outage about
// 200 requests hang at once, so about 40 retries may be in flight, each holding its slot
// through a backoff and a 1 s hang: again about a fifth of the load, with no window to tune.

#include <bulwark/retry/active_request_budget.hpp>
#include <bulwark/retry/backoff.hpp>
#include <bulwark/retry/budget.hpp>
#include <bulwark/retry/policy.hpp>
#include <bulwark/retry/schedule.hpp>
#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>

#include "lab/scenarios.hpp"

namespace lab {

using namespace std::chrono_literals;

namespace {

constexpr duration client_timeout = 1s;
constexpr std::uint32_t max_attempts = 4;

// A retrying client driven by bulwark's retry_schedule, as an event loop drives one: the
// schedule decides (attempts, budgets, backoff drawn from the arm's generator), and the
// simulation waits and sends the next attempt. Lives as long as the client, which outlives
// the run's events.
class retrying_client {
 public:
  retrying_client(arm_context& context, bulwark::backoff_options backoff,
                  std::shared_ptr<bulwark::retry_budget> budget,
                  std::shared_ptr<bulwark::active_request_budget> active = nullptr)
      : context_{context},
        policy_{{.max_attempts = max_attempts,
                 .backoff = backoff,
                 .budget = std::move(budget),
                 .active_budget = std::move(active)}} {}

  void start(const request& r) {
    // A request's schedule holds its budget counts, carried from attempt to attempt.
    attempt(r, std::make_shared<bulwark::retry_schedule>(policy_, context_.sim().now(),
                                                         context_.rng()));
  }

 private:
  // The request's counts end with its outcome, not when the callbacks holding them go.
  void finish(const request& r, outcome result, bulwark::retry_schedule& schedule) {
    schedule.finish();
    context_.finish(r, result);
  }

  void attempt(const request& r, std::shared_ptr<bulwark::retry_schedule> schedule) {
    schedule->begin_attempt();
    context_.backend().call(
        client_timeout, [this, r, schedule = std::move(schedule)](const call_result& result) {
          if (result.ok()) {
            schedule->succeeded();
            finish(r, outcome::success, *schedule);
            return;
          }
          const bulwark::retry_verdict verdict =
              schedule->after_failure(std::nullopt, context_.sim().now());
          if (!verdict.retry) {
            finish(r, outcome::failure, *schedule);
            return;
          }
          context_.sim().after(verdict.delay, [this, r, schedule] { attempt(r, schedule); });
        });
  }

  arm_context& context_;
  bulwark::retry_policy policy_;
};

client make_retrying(arm_context& context, bulwark::backoff_options backoff,
                     std::shared_ptr<bulwark::retry_budget> budget,
                     std::shared_ptr<bulwark::active_request_budget> active = nullptr) {
  auto state =
      std::make_unique<retrying_client>(context, backoff, std::move(budget), std::move(active));
  return [state = std::move(state)](const request& r) { state->start(r); };
}

client naive_client(arm_context& context) {
  return make_retrying(context,
                       {.kind = bulwark::backoff_kind::constant,
                        .base = duration::zero(),
                        .jitter = bulwark::jitter_kind::none},
                       nullptr);
}

client budgeted_client(arm_context& context) {
  return make_retrying(context, {.base = 100ms, .cap = 2s, .jitter = bulwark::jitter_kind::full},
                       std::make_shared<bulwark::retry_budget>(bulwark::ratio_budget_options{}));
}

client active_budget_client(arm_context& context) {
  return make_retrying(context, {.base = 100ms, .cap = 2s, .jitter = bulwark::jitter_kind::full},
                       nullptr, std::make_shared<bulwark::active_request_budget>());
}

}  // namespace

scenario retry_storm() {
  scenario s = baseline();  // the same load, backend and unprotected arm
  s.name = "retry-storm";
  s.summary = "naive retries multiply an outage's load; jittered retries under a budget do not";
  s.arms.push_back({.name = "naive-retry", .make_client = naive_client});
  s.arms.push_back({.name = "jitter+budget", .make_client = budgeted_client});
  s.arms.push_back({.name = "active budget", .make_client = active_budget_client});
  return s;
}

}  // namespace lab
