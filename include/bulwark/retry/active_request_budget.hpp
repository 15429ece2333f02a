#pragma once

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <utility>

#include "bulwark/core/metrics.hpp"
#include "bulwark/core/options.hpp"
#include "bulwark/detail/false_sharing.hpp"

namespace bulwark {

/// Envoy's retry budget (envoy.config.cluster.v3.CircuitBreakers.Thresholds.RetryBudget): the
/// defaults are Envoy's, 20% and 3.
struct active_request_budget_options {
  /// Retries in flight may be at most this percentage of the requests in flight. In [0, 1000].
  double budget_percent = 20.0;
  /// ...or at least this many, however few requests are in flight. In [0, 2^31).
  std::uint32_t min_retry_concurrency = 3;
};

namespace detail {
inline void validate(const active_request_budget_options& options) {
  const option_check check{"active_request_budget"};
  check.in_range("budget_percent", options.budget_percent, 0.0, 1000.0);
  check.at_most("min_retry_concurrency", options.min_retry_concurrency, std::uint32_t{0x7fffffff});
}
}  // namespace detail

/// What an active-request budget has done, and its state now.
struct active_request_budget_metrics {
  std::uint64_t granted = 0;          ///< retries allowed
  std::uint64_t refused = 0;          ///< retries refused
  std::uint64_t active_requests = 0;  ///< requests in flight now
  std::uint64_t active_retries = 0;   ///< retries in flight now
  std::uint64_t retry_limit = 0;      ///< retries allowed in flight now

  template <class Visit>
  void for_each_metric(Visit&& visit) const {
    visit(metric{"granted_total", "Retries the budget allowed.", metric_type::counter, granted});
    visit(metric{"refused_total", "Retries the budget refused.", metric_type::counter, refused});
    visit(
        metric{"active_requests", "Requests in flight now.", metric_type::gauge, active_requests});
    visit(metric{"active_retries", "Retries in flight now.", metric_type::gauge, active_retries});
    visit(metric{"retry_limit", "Retries allowed in flight now.", metric_type::gauge, retry_limit});
  }
  friend bool operator==(const active_request_budget_metrics&,
                         const active_request_budget_metrics&) = default;
};

/// A retry budget by concurrency (Envoy's RetryBudget, source/common/upstream/
/// resource_manager_impl.h): a retry may start while the retries in flight are fewer than
///
///   max(floor(budget_percent / 100 x requests in flight), min_retry_concurrency)
///
/// so retries stay a fixed share of the load however the load moves, with no window to tune.
/// Unlike retry_budget (which counts requests over time), it needs to know when requests and
/// retries end; RAII scopes tell it, so an exception cannot leak a count:
///
///   auto budget = std::make_shared<bulwark::active_request_budget>(
///       bulwark::active_request_budget_options{});
///   bulwark::retry retry({.max_attempts = 4, .active_budget = budget});  // does the below
///
///   auto call = budget->enter();            // a request in flight, until `call` ends
///   ... first attempt fails ...
///   auto slot = budget->try_retry();        // a retry in flight, until `slot` ends
///   if (!slot) give_up();
///
/// Thread-safe and lock-free: two relaxed atomic counters. try_retry is a CAS loop on the
/// retry count against the request count it reads, so the limit holds exactly against the
/// request count each try saw (a request that just ended may have raised the limit a moment
/// longer, as in Envoy, whose check and increment are not one step either).
class active_request_budget {
 public:
  /// A count held in flight: a request (enter) or a retry (try_retry). Empty when refused.
  /// Move-only; releases at destruction or release().
  class [[nodiscard]] scope {
   public:
    scope() noexcept = default;
    scope(scope&& other) noexcept : counter_{std::exchange(other.counter_, nullptr)} {}
    scope& operator=(scope&& other) noexcept {
      if (this != &other) {
        release();
        counter_ = std::exchange(other.counter_, nullptr);
      }
      return *this;
    }
    ~scope() { release(); }

    [[nodiscard]] explicit operator bool() const noexcept { return counter_ != nullptr; }
    /// Ends the request or retry now. Idempotent.
    void release() noexcept {
      // Relaxed: the count is the only state; nothing is published through it.
      if (counter_ != nullptr)
        std::exchange(counter_, nullptr)->fetch_sub(1, std::memory_order_relaxed);
    }

   private:
    friend class active_request_budget;
    explicit scope(std::atomic<std::uint64_t>* counter) noexcept : counter_{counter} {}
    std::atomic<std::uint64_t>* counter_ = nullptr;
  };

  /// Throws std::invalid_argument ("bulwark::active_request_budget: budget_percent must be
  /// in [0, 1000] (got -1)").
  explicit active_request_budget(active_request_budget_options options = {})
      : options_{(detail::validate(options), options)} {}

  active_request_budget(const active_request_budget&) = delete;  // shared: a copy would split it
  active_request_budget& operator=(const active_request_budget&) = delete;

  /// A request starts; it counts until the scope ends. Never refused.
  scope enter() noexcept {
    requests_.fetch_add(1, std::memory_order_relaxed);
    return scope{&requests_};
  }

  /// A retry wants to start: a scope holding it in flight if the retries in flight are under
  /// the limit, else an empty scope. The retry counts until the scope ends: hold it across the
  /// retry's backoff and attempt, as Envoy holds its retry resource until the retry's answer.
  scope try_retry() noexcept {
    std::uint64_t current = retries_.load(std::memory_order_relaxed);
    do {
      if (current >= retry_limit()) {
        refused_.add();
        return scope{};
      }
    } while (!retries_.compare_exchange_weak(current, current + 1, std::memory_order_relaxed));
    granted_.add();
    return scope{&retries_};
  }

  /// Retries allowed in flight now: Envoy's max(budget_percent / 100 x active, min), the
  /// product truncated to an integer as Envoy's conversion to uint64_t does.
  [[nodiscard]] std::uint64_t retry_limit() const noexcept {
    const auto active = static_cast<double>(requests_.load(std::memory_order_relaxed));
    const auto share = static_cast<std::uint64_t>(options_.budget_percent / 100.0 * active);
    return std::max<std::uint64_t>(share, options_.min_retry_concurrency);
  }
  [[nodiscard]] std::uint64_t active_requests() const noexcept {
    return requests_.load(std::memory_order_relaxed);
  }
  [[nodiscard]] std::uint64_t active_retries() const noexcept {
    return retries_.load(std::memory_order_relaxed);
  }
  [[nodiscard]] active_request_budget_metrics metrics() const noexcept {
    return {granted_.load(), refused_.load(), active_requests(), active_retries(), retry_limit()};
  }
  [[nodiscard]] const active_request_budget_options& options() const noexcept { return options_; }

 private:
  active_request_budget_options options_;
  alignas(detail::false_sharing_range) std::atomic<std::uint64_t> requests_{0};
  alignas(detail::false_sharing_range) std::atomic<std::uint64_t> retries_{0};
  metric_counter granted_;
  metric_counter refused_;
};

}  // namespace bulwark
