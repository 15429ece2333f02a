#pragma once
// bulwark::prometheus_collectable: a registry's metrics as a prometheus-cpp Collectable, so a
// service's existing prometheus::Exposer serves them (optional target bulwark::prometheus).

#include <prometheus/collectable.h>
#include <prometheus/metric_family.h>

#include <map>
#include <memory>
#include <string>
#include <utility>
#include <variant>
#include <vector>

#include "bulwark/registry/prometheus.hpp"
#include "bulwark/registry/registry.hpp"

namespace bulwark {

/// Hands prometheus-cpp every metric of every live instance of a registry at each scrape, with
/// the names, labels and help text registry_prometheus_text() renders (docs/operate.md):
///
///   prometheus::Exposer exposer{"0.0.0.0:9100"};
///   auto metrics = std::make_shared<bulwark::prometheus_collectable<>>(guards);
///   exposer.RegisterCollectable(metrics);
///
/// Holds the registry by reference: the registry must outlive the exposer's use of it
/// (RemoveCollectable, or destroy the exposer first). Collect() may run on the exposer's
/// thread while the service uses the registry: it reads as for_each_metric does.
template <clock Clock = steady_clock>
class prometheus_collectable : public ::prometheus::Collectable {
 public:
  explicit prometheus_collectable(const registry<Clock>& guards) : guards_{guards} {}

  [[nodiscard]] std::vector<::prometheus::MetricFamily> Collect() const override {
    std::vector<::prometheus::MetricFamily> families;
    std::map<std::string, std::size_t> index;  // family name -> position, first-seen order
    guards_.for_each_metric([&](const registry_sample& s) {
      std::string name{registry_metric_prefix(s.kind)};
      name.append("_").append(s.value.name);
      auto [it, added] = index.try_emplace(name, families.size());
      if (added) {
        ::prometheus::MetricFamily f;
        f.name = name;
        f.help = std::string{s.value.help};
        f.type = s.value.type == metric_type::counter ? ::prometheus::MetricType::Counter
                                                      : ::prometheus::MetricType::Gauge;
        families.push_back(std::move(f));
      }
      ::prometheus::MetricFamily& f = families[it->second];
      ::prometheus::ClientMetric m;
      m.label.push_back({"name", std::string{s.name}});
      if (registry_has_algorithm_label(s.kind))
        m.label.push_back({"algorithm", std::string{registry_algorithm_label(s.kind)}});
      // prometheus-cpp carries every value as a double: counters beyond 2^53 lose their last
      // digits there (prometheus_text renders them exactly).
      const double v = std::visit([](auto x) { return static_cast<double>(x); }, s.value.value);
      if (f.type == ::prometheus::MetricType::Counter) {
        m.counter.value = v;
      } else {
        m.gauge.value = v;
      }
      f.metric.push_back(std::move(m));
    });
    return families;
  }

 private:
  const registry<Clock>& guards_;
};

}  // namespace bulwark
