#pragma once

#include <chrono>
#include <concepts>
#include <condition_variable>
#include <cstdint>
#include <exception>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <stop_token>
#include <thread>
#include <tuple>
#include <type_traits>
#include <utility>
#include <vector>

#include "bulwark/core/clock.hpp"
#include "bulwark/core/metrics.hpp"
#include "bulwark/core/options.hpp"
#include "bulwark/detail/clock_wait.hpp"
#include "bulwark/detail/raise.hpp"
#include "bulwark/retry/active_request_budget.hpp"
#include "bulwark/retry/budget.hpp"
#include "bulwark/retry/policy.hpp"
#include "bulwark/retry/schedule.hpp"

namespace bulwark {

/// Where a hedge runs its attempts: `post(task)` runs task() soon, on some other thread.
template <class E>
concept hedge_executor = requires(E& e, std::function<void()> task) {
  e.post(std::move(task));
};

/// The small default executor: one new thread per task. Threads that finished are joined at
/// the next post(); the destructor joins the rest, so no attempt outlives its hedge.
/// Thread-safe; movable (its state lives on the heap).
class thread_executor {
 public:
  thread_executor() : state_{std::make_unique<state>()} {}
  thread_executor(thread_executor&&) noexcept = default;
  thread_executor& operator=(thread_executor&&) noexcept = default;
  ~thread_executor() {
    if (state_ == nullptr) return;
    std::vector<worker> workers;
    {
      const std::lock_guard lock{state_->mutex};
      workers.swap(state_->workers);
    }
    for (auto& w : workers)
      w.thread.join();
  }

  void post(std::function<void()> task) {
    std::vector<worker> finished;
    const std::lock_guard lock{state_->mutex};
    auto& workers = state_->workers;
    for (auto it = workers.begin(); it != workers.end();) {
      if (it->done->load(std::memory_order_acquire)) {
        finished.push_back(std::move(*it));
        it = workers.erase(it);
      } else {
        ++it;
      }
    }
    auto done = std::make_shared<std::atomic<bool>>(false);
    // Release pairs with the acquire above: the joiner sees the finished task's writes.
    workers.push_back({std::thread{[task = std::move(task), done] {
                         task();
                         done->store(true, std::memory_order_release);
                       }},
                       done});
    for (auto& w : finished)
      w.thread.join();  // already finished: returns at once
  }

 private:
  struct worker {
    std::thread thread;
    std::shared_ptr<std::atomic<bool>> done;
  };
  struct state {
    std::mutex mutex;
    std::vector<worker> workers;
  };
  std::unique_ptr<state> state_;
};

/// A hedge's configuration. The defaults are Polly v8's hedging strategy (one hedged attempt
/// after 2 s).
struct hedge_options {
  /// How long to wait for the attempts in flight before starting another. >= 0; zero starts
  /// all attempts at once. A failed attempt starts the next one at once, whatever the delay.
  duration delay = std::chrono::seconds{2};
  /// Attempts beyond the first. In [1, 10] (Polly's range).
  std::uint32_t max_hedged_attempts = 1;
  /// A budget shared with retries: each hedged attempt spends one retry from it (try_spend),
  /// each call records one request, each winning success one success. When it refuses, no
  /// more hedges start for the call. Empty: unlimited.
  std::shared_ptr<retry_budget> budget{};
  /// A concurrency budget (Envoy's), shared with retries: each call is a request in flight and
  /// each hedged attempt a retry, as Envoy's hedge on per-try timeout goes through the same
  /// RetryStateImpl::shouldRetry. As there, a call holds at most one retry: the next hedge
  /// releases the previous one first, and the call's end releases the last. When it refuses,
  /// no more hedges start for the call. Empty: unlimited.
  std::shared_ptr<active_request_budget> active_budget{};
};

/// A hedge's counters.
struct hedge_metrics {
  std::uint64_t calls = 0;    ///< executions
  std::uint64_t hedges = 0;   ///< hedged attempts started
  std::uint64_t refused = 0;  ///< hedges the budget refused

  template <class Visit>
  void for_each_metric(Visit&& visit) const {
    visit(metric{"calls_total", "Calls executed.", metric_type::counter, calls});
    visit(metric{"hedges_total", "Hedged attempts started.", metric_type::counter, hedges});
    visit(metric{"refused_total", "Hedged attempts the budget refused.", metric_type::counter,
                 refused});
  }
  friend bool operator==(const hedge_metrics&, const hedge_metrics&) = default;
};

namespace detail {
inline void validate(const hedge_options& options) {
  const option_check check{"hedge"};
  check.non_negative("delay", options.delay);
  check.in_range("max_hedged_attempts", options.max_hedged_attempts, std::uint32_t{1},
                 std::uint32_t{10});
}

/// What a hedge is besides how it waits, shared by bulwark::hedge (threads) and
/// bulwark::async::hedge (coroutines): the options, the budgets seen as a retry policy, and
/// the counters. A call's budget bookkeeping is a retry_schedule, each hedge a retry it grants.
template <clock Clock>
class hedge_core {
 public:
  /// Throws std::invalid_argument naming the option.
  hedge_core(hedge_options options, Clock clock)
      : options_{(validate(options), std::move(options))}, clock_{std::move(clock)} {}

  [[nodiscard]] const hedge_options& options() const noexcept { return options_; }
  [[nodiscard]] const Clock& clock() const noexcept { return clock_; }
  [[nodiscard]] hedge_metrics metrics() const noexcept {
    return {calls_.load(), hedges_.load(), refused_.load()};
  }

  /// Counts a call and starts its bookkeeping; the caller begins the first attempt.
  [[nodiscard]] retry_schedule begin_call() {
    calls_.add();
    return retry_schedule{budgets_, clock_};
  }

  /// After the delay passed or every attempt so far failed: whether the budgets grant another
  /// attempt (counted as a hedge and begun in `schedule`) or refuse it (counted as refused).
  bool grant_hedge(retry_schedule& schedule) {
    // The schedule reads `now` only with a retry_budget: skip the read otherwise.
    const time_point now = budgets_.reads_clock() ? clock_.now() : time_point{};
    if (!schedule.after_failure(std::nullopt, now).retry) {
      refused_.add();
      return false;
    }
    hedges_.add();
    schedule.begin_attempt();
    return true;
  }

 private:
  // The budgets as a retry policy: an attempt per hedge, no backoff (a hedge waits `delay`
  // from each start, which the hedge times itself), no deadline.
  static retry_options budget_options(const hedge_options& options) {
    return {.max_attempts = 1 + options.max_hedged_attempts,
            .backoff = {.kind = backoff_kind::constant,
                        .base = duration::zero(),
                        .jitter = jitter_kind::none},
            .budget = options.budget,
            .active_budget = options.active_budget};
  }

  hedge_options options_;
  retry_policy budgets_{budget_options(options_)};
  [[no_unique_address]] Clock clock_;
  metric_counter calls_;
  metric_counter hedges_;
  metric_counter refused_;
};
}  // namespace detail

/// Hedged requests ("The Tail at Scale", Dean and Barroso, 2013; Polly v8's hedging
/// strategy): the call starts once; if no attempt has succeeded after `delay`, another copy
/// starts, up to max_hedged_attempts more. The first success wins and is returned; every other
/// attempt gets a stop request (through the std::stop_token that f may take as its first
/// parameter). If every attempt fails, the last failure is rethrown.
///
///   bulwark::hedge hedged({.delay = 50ms, .max_hedged_attempts = 2, .budget = budget});
///   auto row = hedged.execute([&](std::stop_token stop) { return replica_read(key, stop); });
///
/// The attempts run on the executor, never on the calling thread, which waits. So f and the
/// arguments are copied once into state shared by the attempts and may be called from several
/// threads at once; the result type must be void or an object type. Losing attempts may still
/// be running when execute returns: they hold the shared copies, not the caller's objects.
///
/// Thread-safe. Cost: one allocation per call for the shared state plus the executor's (a
/// thread for thread_executor), so hedge calls that take milliseconds, not nanoseconds.
template <hedge_executor Executor = thread_executor, clock Clock = steady_clock>
class hedge {
 public:
  /// Callables taking a std::stop_token get one: a pipeline passes it through the policies
  /// inside this one.
  static constexpr bool offers_stop_token = true;

  /// Throws std::invalid_argument ("bulwark::hedge: max_hedged_attempts must be in [1, 10]
  /// (got 0)").
  explicit hedge(hedge_options options = {}, Executor executor = {}, Clock clock = {})
      : core_{std::move(options), std::move(clock)}, executor_{std::move(executor)} {}

  template <class F, class... Args>
  requires std::invocable < std::decay_t<F>
  &, std::stop_token,
      std::decay_t<Args>&... > ||
          std::invocable<std::decay_t<F>&, std::decay_t<Args>&...> auto execute(F&& f,
                                                                                Args&&... args) {
    using fn_t = std::decay_t<F>;
    constexpr bool with_token = std::invocable<fn_t&, std::stop_token, std::decay_t<Args>&...>;
    using result = typename std::conditional_t<
        with_token, std::invoke_result<fn_t&, std::stop_token, std::decay_t<Args>&...>,
        std::invoke_result<fn_t&, std::decay_t<Args>&...>>::type;
    static_assert(std::is_void_v<result> || std::is_object_v<result>,
                  "bulwark::hedge: the result must be void or an object type");
    using stored = std::conditional_t<std::is_void_v<result>, bool, result>;

    struct shared {
      shared(F&& fn, Args&&... a) : call{std::forward<F>(fn)}, args{std::forward<Args>(a)...} {}
      fn_t call;
      std::tuple<std::decay_t<Args>...> args;
      std::mutex mutex;
      std::condition_variable changed;
      std::vector<std::stop_source> stops;
      std::optional<stored> value;
      std::exception_ptr last_error;
      std::uint32_t failed = 0;
    };
    auto state = std::make_shared<shared>(std::forward<F>(f), std::forward<Args>(args)...);
    // Declared before the lock: the schedule's budget holds end after it, with the call,
    // winner or exception.
    retry_schedule schedule = core_.begin_call();
    const Clock& clock = core_.clock();

    // Starts attempt number state->stops.size(); called with the mutex held.
    const auto launch = [&] {
      state->stops.emplace_back();
      executor_.post([state, stop = state->stops.back().get_token()]() mutable {
        std::optional<stored> value;
        std::exception_ptr error;
        BULWARK_TRY {
          value.emplace(run_attempt<with_token, result>(*state, stop));
        }
        BULWARK_CATCH_ALL {
          error = std::current_exception();
        }
        const std::lock_guard lock{state->mutex};
        if (value) {
          if (!state->value) state->value.emplace(std::move(*value));
        } else {
          ++state->failed;
          state->last_error = error;
        }
        state->changed.notify_all();
      });
    };

    std::unique_lock lock{state->mutex};
    // The delay runs from each attempt's start, read before it is posted: read after, a fast
    // attempt (or a test advancing a manual clock once it sees the attempt) could move time
    // past the start first and push the hedge's deadline out by that much.
    time_point launched_at = clock.now();
    schedule.begin_attempt();
    launch();
    const std::uint32_t most = 1 + core_.options().max_hedged_attempts;
    bool may_hedge = true;
    for (;;) {
      const auto started = static_cast<std::uint32_t>(state->stops.size());
      const auto settled = [&] { return state->value.has_value() || state->failed == started; };
      const bool can_start = may_hedge && started < most;
      if (can_start) {
        const time_point deadline = detail::deadline_after(launched_at, core_.options().delay);
        detail::wait_until(state->changed, lock, clock, deadline, settled);
      } else {
        state->changed.wait(lock, settled);
      }
      if (state->value) break;
      if (state->failed == started && !can_start) break;  // every attempt failed
      // The delay passed, or every attempt so far failed: hedge, if the budgets allow.
      if (!core_.grant_hedge(schedule)) {
        may_hedge = false;
        if (state->failed == started) break;
        continue;
      }
      launched_at = clock.now();
      launch();
    }
    for (auto& s : state->stops)
      s.request_stop();  // the winner has finished; the others are asked to stop
    if (!state->value) std::rethrow_exception(state->last_error);
    schedule.succeeded();
    if constexpr (!std::is_void_v<result>) return std::move(*state->value);
  }

  [[nodiscard]] hedge_metrics metrics() const noexcept { return core_.metrics(); }
  [[nodiscard]] const hedge_options& options() const noexcept { return core_.options(); }

 private:
  template <bool WithToken, class Result, class Shared>
  static auto run_attempt(Shared& state, const std::stop_token& stop) {
    const auto invoke = [&](auto&... a) -> Result {
      if constexpr (WithToken) {
        return std::invoke(state.call, stop, a...);
      } else {
        return std::invoke(state.call, a...);
      }
    };
    if constexpr (std::is_void_v<Result>) {
      std::apply(invoke, state.args);
      return true;
    } else {
      return std::apply(invoke, state.args);
    }
  }

  detail::hedge_core<Clock> core_;
  Executor executor_;
};

hedge()->hedge<>;
hedge(hedge_options)->hedge<>;

}  // namespace bulwark
