// double-charge: a client that retries after timeouts charges a card twice, unless the payment
// service runs each charge through an idempotency_executor.
//
// 100 payments per second for a minute. The payment processor (the backend) is slow in its
// tail: median 200 ms, p99 2 s, so about 5% of charges outlast the client's 1 s timeout. The
// client then retries with the same Idempotency-Key (up to 4 attempts, 250 ms backoff doubling).
// The charge it gave up on still completes at the processor: the processor never fails here,
// so every backend call is a charge, and backend calls beyond requests are duplicate charges.
//
// - unprotected: the service calls the processor on every attempt. Each retry of a slow
//   charge is a second (third...) charge of the same payment.
// - idempotent: the service runs each attempt through idempotency_executor::try_begin keyed by
//   (merchant, Idempotency-Key). A retry while the first charge runs waits for its outcome
//   (polling the store, as in_progress_policy::wait does), bounded by the client's timeout;
//   once the charge has completed, a retry gets the stored receipt replayed. One charge per
//   payment: backend calls equal requests.

#include <bulwark/idempotency.hpp>
#include <chrono>
#include <cstdint>
#include <memory>
#include <string>

#include "lab/scenarios.hpp"

namespace lab {

using namespace std::chrono_literals;

namespace {

constexpr duration client_timeout = 1s;
constexpr duration service_timeout = 30s;  // the service waits for the processor far longer
constexpr int max_attempts = 4;
constexpr duration first_backoff = 250ms;
constexpr duration poll_interval = 50ms;  // how often a waiting duplicate looks again

struct receipt {
  std::uint64_t payment = 0;
};

// What the service answers one attempt with.
enum class answer { receipt, error };

using store_t = bulwark::memory_store<receipt, bulwark::manual_clock>;
using executor_t =
    bulwark::idempotency_executor<store_t, bulwark::identity_codec<receipt>, bulwark::manual_clock>;

// One payment as the client sees it: its attempts so far, and whether it is settled.
struct payment {
  request r;
  int attempts = 0;
};

// The client and the payment service of one arm. The executor is null in the unprotected arm.
class payment_client {
 public:
  payment_client(arm_context& context, bool idempotent) : context_{context} {
    if (idempotent) {
      store_ = std::make_unique<store_t>(
          bulwark::memory_store_options{.max_entries = 100'000, .hash_seed = 0}, context.clock());
      executor_ =
          std::make_unique<executor_t>(*store_, bulwark::idempotency_options{}, context.clock());
    }
  }

  void start(const request& r) { send(std::make_shared<payment>(payment{r, 0})); }

 private:
  // One attempt: the client waits client_timeout for its answer; an answer after that is lost.
  void send(const std::shared_ptr<payment>& p) {
    ++p->attempts;
    auto settled = std::make_shared<bool>(false);  // this attempt answered or timed out
    context_.sim().after(client_timeout, [this, p, settled] {
      if (*settled) return;
      *settled = true;
      retry_or_fail(p);
    });
    responder respond{this, p, settled};
    if (executor_) {
      serve_idempotently(p->r, std::move(respond));
    } else {
      context_.backend().call(service_timeout, [respond](const call_result& result) {
        respond(result.ok() ? answer::receipt : answer::error);
      });
    }
  }

  // Answers one attempt, unless its client already gave up (then the response is lost).
  struct responder {
    payment_client* client;
    std::shared_ptr<payment> p;
    std::shared_ptr<bool> settled_flag;

    [[nodiscard]] bool settled() const noexcept { return *settled_flag; }
    void operator()(answer a) const {
      if (*settled_flag) return;
      *settled_flag = true;
      if (a == answer::receipt) {
        client->context_.finish(p->r, outcome::success);
      } else {
        client->retry_or_fail(p);
      }
    }
  };

  void serve_idempotently(const request& r, responder respond) {
    const std::string key = "payment-" + std::to_string(r.id);
    const std::string canonical = "card=4242&amount=1999&order=" + std::to_string(r.id);
    auto attempt = executor_->try_begin({"merchant-7", key}, canonical);
    switch (attempt.status) {
      case bulwark::attempt_status::acquired:
        context_.backend().call(
            service_timeout, [respond, id = r.id, permit = std::move(attempt.permit)](
                                 const call_result& result) mutable {
              if (result.ok()) {
                permit.complete(receipt{id});
                respond(answer::receipt);
              } else {
                permit.fail("processor error");  // released: a retry may charge again
                respond(answer::error);
              }
            });
        return;
      case bulwark::attempt_status::replayed:
        respond(attempt.value ? answer::receipt : answer::error);
        return;
      case bulwark::attempt_status::in_progress:
        // The first charge is still running: wait for its outcome (in_progress_policy::wait,
        // done asynchronously), polling until it settles or this attempt's client gives up.
        context_.sim().after(poll_interval, [this, r, respond]() mutable {
          if (!respond.settled()) serve_idempotently(r, std::move(respond));
        });
        return;
      default:
        respond(answer::error);
        return;
    }
  }

  void retry_or_fail(const std::shared_ptr<payment>& p) {
    if (p->attempts >= max_attempts) {
      context_.finish(p->r, outcome::failure);
      return;
    }
    const duration backoff = first_backoff * (1 << (p->attempts - 1));
    context_.sim().after(backoff, [this, p] { send(p); });
  }

  arm_context& context_;
  std::unique_ptr<store_t> store_;
  std::unique_ptr<executor_t> executor_;
};

arm make_arm(std::string name, bool idempotent) {
  return {.name = std::move(name), .make_client = [idempotent](arm_context& context) -> client {
            auto c = std::make_unique<payment_client>(context, idempotent);
            return [c = std::move(c)](const request& r) { c->start(r); };
          }};
}

}  // namespace

scenario double_charge() {
  return {
      .name = "double-charge",
      .summary =
          "retries after timeouts charge twice; an idempotency executor charges once "
          "(backend calls = charges)",
      .load = {.rate = bulwark::per_second(100), .length = 60s},
      .backend = {.failure_rate = 0.0, .latency = latency_model::log_normal(200ms, 2s)},
      .arms = {make_arm("unprotected", false), make_arm("idempotent", true)},
  };
}

}  // namespace lab
