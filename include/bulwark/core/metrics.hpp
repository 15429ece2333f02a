#pragma once

#include <atomic>
#include <concepts>
#include <cstdint>
#include <string_view>
#include <variant>

namespace bulwark {

/// How a metric behaves over time, as Prometheus and OpenMetrics type it.
enum class metric_type {
  counter,  ///< monotonic since construction; its name ends in "_total"
  gauge,    ///< a current value that goes up and down (a state, a limit, a rate)
};

/// One field of a metrics snapshot. Counters are whole numbers (std::uint64_t), so they render
/// exactly however large they grow; gauges may be signed or fractional.
struct metric {
  std::string_view name;  ///< snake_case, without the component prefix: "admitted_total"
  std::string_view help;  ///< one sentence for the HELP line
  metric_type type = metric_type::counter;
  std::variant<std::uint64_t, std::int64_t, double> value;
};

/// The snapshot convention. Every component's metrics() returns a plain struct of values (no
/// atomics, copyable, comparable in tests) that also lists its fields for exporters:
///
///   struct gcra_metrics {
///     std::uint64_t admitted = 0;
///     std::uint64_t rejected = 0;
///     template <class Visit> void for_each_metric(Visit&& visit) const {
///       visit(metric{"admitted_total", "Requests admitted.", metric_type::counter, admitted});
///       visit(metric{"rejected_total", "Requests refused.", metric_type::counter, rejected});
///     }
///   };
///
/// Counters are monotonic over the component's life: exporters and dashboards derive rates
/// from them, so a snapshot never resets a counter.
template <class S>
concept metrics_snapshot = std::copyable<S> && requires(const S& snapshot, void (*visit)(metric)) {
  snapshot.for_each_metric(visit);
};

/// A monotonic event counter for a component's hot path.
///
/// Relaxed ordering is enough: the only promise a counter makes is that it never goes back and
/// that no increment is lost, and an atomic read-modify-write keeps both in any memory order.
/// A snapshot reads each counter on its own, so two counters read together may be a few
/// events apart under concurrency; snapshots do not claim to be a consistent cut.
class metric_counter {
 public:
  void add(std::uint64_t n = 1) noexcept { value_.fetch_add(n, std::memory_order_relaxed); }
  [[nodiscard]] std::uint64_t load() const noexcept {
    return value_.load(std::memory_order_relaxed);
  }

 private:
  std::atomic<std::uint64_t> value_{0};
};

}  // namespace bulwark
