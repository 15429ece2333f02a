// overload: a slow dependency exhausting a service's request threads, with and without a
// bulkhead, and with an adaptive concurrency limit.
//
// The client is a service with 60 request threads and, in front of them, an unbounded FIFO
// queue (an executor's default). Each request holds a thread while it calls the backend.
// 200 requests per second for 60 s; the backend answers in 20 ms (median) until, from 20 s
// to 40 s, half of its calls hang until the 1 s client timeout. A hung call holds a thread for
// a second, so the service needs about 100 threads to keep up: without a guard the queue
// grows all through the slow spell, every request waits behind it (the fast half too), and
// the backlog takes seconds to drain after the dependency has recovered.
//
// The bulkhead arm admits at most 60 calls, the size of the pool, and refuses the rest at
// once: nothing queues, and the calls that do run answer as fast as the dependency allows.
// The adaptive arm puts a Gradient2 limiter in front instead, which learns the limit from
// each request's latency (queueing included) and treats timeouts as drops: it sheds load as
// soon as latency rises and lets it back as the dependency recovers.
//
// The queue-discipline arms keep every request (no bulkhead refuses at arrival) but run the
// pool's queue as bulwark::bulkhead runs its wait queue with queue = codel / adaptive_lifo /
// codel_adaptive_lifo (Facebook's "Fail at Scale"): once the queue has stayed non-empty for
// the interval (100 ms), nobody waits longer than the target (5 ms), and the newest job is
// served first. A bulkhead's waiters are blocked threads, which this single-threaded
// simulation cannot host, so the pool applies the bulkhead's rule to its queued jobs: a job
// queued at t is dropped at max(nonempty_since + interval, t + target), where nonempty_since
// is when the queue last became non-empty (include/bulwark/bulkhead/semaphore.hpp).
//
// The partitioned arm shares one Gradient2 limit between two classes of caller
// (bulwark::partitioned_adaptive_limiter, Netflix's AbstractPartitionedLimiter): interactive
// requests are guaranteed 70% of the current limit, batch 30%. Half the requests are batch, so
// batch asks for more than its share: below the limit either class borrows, at the limit only
// a class under its share gets in. When the slow spell shrinks the limit, the shedding falls
// on batch and interactive keeps its share. Its extra rows count each class's outcomes.

#include <algorithm>
#include <bulwark/bulkhead/adaptive_limiter.hpp>
#include <bulwark/bulkhead/bulkhead.hpp>
#include <bulwark/bulkhead/partitioned_adaptive.hpp>
#include <chrono>
#include <cstdint>
#include <deque>
#include <map>
#include <memory>

#include "lab/scenarios.hpp"

namespace lab {

using namespace std::chrono_literals;

namespace {

constexpr duration client_timeout = 1s;
constexpr std::uint32_t threads = 60;
constexpr duration slow_from = 20s, slow_until = 40s;  // the backend's slow spell

// The service's request threads: a job runs when a thread is idle, else waits in FIFO order.
class thread_pool {
 public:
  using job = unique_function<void()>;

  void submit(job j) {
    if (idle_ > 0) {
      --idle_;
      j();
    } else {
      queue_.push_back(std::move(j));
    }
  }
  // A job finished: its thread takes the next queued job, or goes idle.
  void done() {
    if (queue_.empty()) {
      ++idle_;
      return;
    }
    job next = std::move(queue_.front());
    queue_.pop_front();
    next();
  }

 private:
  std::uint32_t idle_ = threads;
  std::deque<job> queue_;
};

outcome outcome_of(const call_result& result) {
  return result.ok() ? outcome::success : outcome::failure;
}

// A pool whose queue follows a bulwark::queue_discipline; a job the discipline drops runs its
// `drop` instead. Jobs are keyed by arrival number: FIFO takes the smallest, LIFO the largest.
class disciplined_pool {
 public:
  using job = unique_function<void()>;

  disciplined_pool(simulation& sim, bulwark::queue_discipline discipline)
      : sim_{sim}, discipline_{discipline} {}

  void submit(job run, job drop) {
    if (idle_ > 0) {
      --idle_;
      run();
      return;
    }
    const time_point now = sim_.now();
    if (queue_.empty()) nonempty_since_ = now;
    const std::uint64_t id = next_id_++;
    queue_.emplace(id, entry{std::move(run), std::move(drop)});
    if (codel()) {
      const time_point deadline =
          std::max(nonempty_since_ + options_.queue_interval, now + options_.queue_target);
      sim_.at(deadline, [this, id] {
        const auto it = queue_.find(id);
        if (it == queue_.end()) return;  // served already
        job dropped = std::move(it->second.drop);
        queue_.erase(it);
        dropped();
      });
    }
  }
  void done() {
    if (queue_.empty()) {
      ++idle_;
      return;
    }
    const bool overloaded = sim_.now() >= nonempty_since_ + options_.queue_interval;
    const auto it = lifo() && overloaded ? std::prev(queue_.end()) : queue_.begin();
    job next = std::move(it->second.run);
    queue_.erase(it);
    next();
  }

 private:
  struct entry {
    job run;
    job drop;
  };
  [[nodiscard]] bool codel() const {
    return discipline_ == bulwark::queue_discipline::codel ||
           discipline_ == bulwark::queue_discipline::codel_adaptive_lifo;
  }
  [[nodiscard]] bool lifo() const {
    return discipline_ == bulwark::queue_discipline::adaptive_lifo ||
           discipline_ == bulwark::queue_discipline::codel_adaptive_lifo;
  }

  simulation& sim_;
  bulwark::queue_discipline discipline_;
  bulwark::bulkhead_options options_{};  // the bulkhead's defaults: target 5 ms, interval 100 ms
  std::uint32_t idle_ = threads;
  time_point nonempty_since_{};
  std::uint64_t next_id_ = 0;
  std::map<std::uint64_t, entry> queue_;
};

template <bulwark::queue_discipline Discipline>
client with_discipline(arm_context& context) {
  auto pool = std::make_unique<disciplined_pool>(context.sim(), Discipline);
  return [&context, pool = std::move(pool)](const request& r) {
    disciplined_pool* p = pool.get();
    p->submit(
        [&context, p, r] {
          context.backend().call(client_timeout, [&context, p, r](const call_result& result) {
            p->done();
            context.finish(r, outcome_of(result));
          });
        },
        [&context, r] { context.finish(r, outcome::rejected); });
  };
}

// Runs an admitted request on a pool thread against the backend; `settle(permit, result)` tells
// the guard that admitted it how the call went, before the thread takes its next job.
template <class Permit, class Settle>
void run_admitted(arm_context& context, thread_pool& pool, const request& r, Permit permit,
                  Settle settle) {
  thread_pool* p = &pool;
  p->submit([&context, p, r, permit = std::move(permit), settle]() mutable {
    context.backend().call(client_timeout, [&context, p, r, permit = std::move(permit),
                                            settle](const call_result& result) mutable {
      settle(permit, result);
      p->done();
      context.finish(r, outcome_of(result));
    });
  });
}

client unprotected(arm_context& context) {
  auto pool = std::make_unique<thread_pool>();
  return [&context, pool = std::move(pool)](const request& r) {
    thread_pool* p = pool.get();
    p->submit([&context, p, r] {
      context.backend().call(client_timeout, [&context, p, r](const call_result& result) {
        p->done();
        context.finish(r, outcome_of(result));
      });
    });
  };
}

client with_bulkhead(arm_context& context) {
  struct state {
    explicit state(bulwark::manual_clock clock) : bulkhead{{.max_concurrent = threads}, clock} {}
    thread_pool pool;
    bulwark::bulkhead<bulwark::manual_clock> bulkhead;
  };
  auto s = std::make_unique<state>(context.clock());
  return [&context, s = std::move(s)](const request& r) {
    auto permit = s->bulkhead.try_acquire();
    if (!permit) {
      context.finish(r, outcome::rejected);
      return;
    }
    run_admitted(context, s->pool, r, std::move(permit),
                 [](auto& held, const call_result&) { held.release(); });
  };
}

client adaptive(arm_context& context) {
  using limiter_t = bulwark::adaptive_limiter<bulwark::gradient2_limit, bulwark::manual_clock>;
  struct state {
    explicit state(bulwark::manual_clock clock)
        : limiter{{.initial_limit = 20, .min_limit = 5, .max_limit = threads}, clock} {}
    thread_pool pool;
    limiter_t limiter;
  };
  auto s = std::make_unique<state>(context.clock());
  return [&context, s = std::move(s)](const request& r) {
    auto permit = s->limiter.try_acquire();
    if (!permit) {
      context.finish(r, outcome::rejected);
      return;
    }
    run_admitted(context, s->pool, r, std::move(permit), [](auto& held, const call_result& result) {
      // The latency runs from admission: time queued for a thread counts, as it
      // should.
      if (result.ok()) {
        held.success();
      } else if (result.status == call_status::timed_out ||
                 result.status == call_status::overloaded) {
        held.dropped();
      } else {
        held.ignore();  // an application error says nothing about capacity
      }
    });
  };
}

// A drop or a success for the limit, as the gradient2 arm reports them.
template <class Permit>
void report(Permit& held, const call_result& result) {
  if (result.ok()) {
    held.success();
  } else if (result.status == call_status::timed_out || result.status == call_status::overloaded) {
    held.dropped();
  } else {
    held.ignore();
  }
}

client partitioned(arm_context& context) {
  using limiter_t =
      bulwark::partitioned_adaptive_limiter<bulwark::gradient2_limit, bulwark::manual_clock>;
  struct counts {
    std::uint64_t* ok;
    std::uint64_t* refused;
  };
  struct state {
    explicit state(bulwark::manual_clock clock)
        : limiter{{.initial_limit = 20, .min_limit = 5, .max_limit = threads},
                  {{"interactive", 0.7}, {"batch", 0.3}},
                  clock} {}
    thread_pool pool;
    limiter_t limiter;
    counts by_class[2]{};
    std::uint64_t outside_spell = 0;  // requests before and after the slow spell: not shown
  };
  auto s = std::make_unique<state>(context.clock());
  const char* const names[] = {"interactive", "batch"};
  for (std::size_t c = 0; c < 2; ++c) {
    s->by_class[c] = {&context.counter(std::string{names[c]} + " ok 20-40s"),
                      &context.counter(std::string{names[c]} + " refused 20-40s")};
  }
  return [&context, s = std::move(s)](const request& r) {
    // Half and half, from the arm's own stream: the arrivals stay every arm's.
    const std::size_t c = context.rng()() >> 63U;
    const duration elapsed = context.sim().elapsed();
    const counts tally = elapsed >= slow_from && elapsed < slow_until
                             ? s->by_class[c]
                             : counts{&s->outside_spell, &s->outside_spell};
    auto permit = s->limiter.try_acquire(c);
    if (!permit) {
      ++*tally.refused;
      context.finish(r, outcome::rejected);
      return;
    }
    run_admitted(context, s->pool, r, std::move(permit),
                 [tally](auto& held, const call_result& result) {
                   report(held, result);
                   if (result.ok()) ++*tally.ok;
                 });
  };
}

}  // namespace

scenario overload() {
  return {
      .name = "overload",
      .summary = "a slow dependency exhausts 60 request threads; a bulkhead and an adaptive limit",
      .load = {.rate = bulwark::per_second(200), .length = 60s},
      .backend = {.failure_rate = 0.01,
                  .latency = latency_model::log_normal(20ms, 100ms),
                  .outages = {{.start = slow_from,
                               .end = slow_until,
                               .failure_probability = 0.5,
                               .failure_latency = hang}}},
      .arms = {{.name = "unprotected", .make_client = unprotected},
               {.name = "bulkhead 60", .make_client = with_bulkhead},
               {.name = "gradient2", .make_client = adaptive},
               {.name = "codel", .make_client = with_discipline<bulwark::queue_discipline::codel>},
               {.name = "adaptive lifo",
                .make_client = with_discipline<bulwark::queue_discipline::adaptive_lifo>},
               {.name = "codel+lifo",
                .make_client = with_discipline<bulwark::queue_discipline::codel_adaptive_lifo>},
               {.name = "partitioned", .make_client = partitioned}},
  };
}

}  // namespace lab
