// docs/operate.md's metrics table against what bulwark exports: every family the registry
// renders and every field each component's snapshot lists, with its type, labels and HELP
// text, and nothing more; and the naming conventions the table promises (issue 20).
#include <bulwark/bulwark.hpp>
#include <cstddef>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>
#if defined(BULWARK_TEST_REDIS)
#include <bulwark/redis.hpp>
#endif

#include "catch.hpp"

namespace {

struct row {
  std::string metric;
  std::string type;
  std::string unit;
  std::string labels;
  std::string meaning;
  friend bool operator==(const row&, const row&) = default;
};

std::ostream& operator<<(std::ostream& os, const row& r) {
  return os << "| " << r.metric << " | " << r.type << " | " << r.unit << " | " << r.labels << " | "
            << r.meaning << " |";
}

// The table's rows by section: a row whose first cell is bold ("**`cache_metrics`** ...")
// opens a section named by its bold text: "cache_metrics", "registry".
std::map<std::string, std::vector<row>> read_table() {
  std::ifstream in{BULWARK_SOURCE_DIR "/docs/operate.md"};
  REQUIRE(in);
  std::map<std::string, std::vector<row>> sections;
  std::string line;
  while (std::getline(in, line) && line != "| metric | type | unit | labels | meaning |") {
  }
  REQUIRE(line == "| metric | type | unit | labels | meaning |");
  REQUIRE(std::getline(in, line));  // the delimiter row
  std::string section;
  while (std::getline(in, line) && line.starts_with("| ")) {
    // No cell holds a '|': split on every one, and trim the space either side.
    std::vector<std::string> cells;
    for (std::size_t at = 1, bar; (bar = line.find('|', at)) != std::string::npos; at = bar + 1) {
      std::string cell = line.substr(at, bar - at);
      if (cell.starts_with(' ')) cell.erase(0, 1);
      if (cell.ends_with(' ')) cell.pop_back();
      cells.push_back(std::move(cell));
    }
    INFO(line);
    REQUIRE(cells.size() == 5);
    if (cells[0].starts_with("**")) {
      section.clear();
      for (char c : cells[0].substr(2, cells[0].find("**", 2) - 2))
        if (c != '`') section += c;
      continue;
    }
    sections[section].push_back({cells[0], cells[1], cells[2], cells[3], cells[4]});
  }
  return sections;
}

std::string unit_of(const bulwark::metric& m) {
  return m.name.ends_with("_ratio") ? "ratio in [0, 1]" : "";
}

// The conventions: counters and only counters end in _total, ratios end in _ratio.
void check_conventions(const bulwark::metric& m) {
  INFO(m.name);
  CHECK(m.name.ends_with("_total") == (m.type == bulwark::metric_type::counter));
  CHECK_FALSE(m.name.ends_with("_rate"));
  CHECK_FALSE(m.name.ends_with("_probability"));
  if (m.name.ends_with("_ratio")) {
    CHECK(m.type == bulwark::metric_type::gauge);
    const double v = std::get<double>(m.value);
    CHECK(v >= 0.0);
    CHECK(v <= 1.0);
  }
}

row row_of(const std::string& metric, const bulwark::metric& m, std::string_view labels,
           std::string_view table_unit) {
  // The unit column is prose except for ratios: take the table's where no rule applies, unless
  // it claims a ratio.
  std::string unit = unit_of(m);
  if (unit.empty()) unit = table_unit == "ratio in [0, 1]" ? "not a ratio" : table_unit;
  return {"`" + metric + "`", m.type == bulwark::metric_type::counter ? "counter" : "gauge", unit,
          std::string{labels}, std::string{m.help}};
}

template <class Snapshot>
void check_section(const std::map<std::string, std::vector<row>>& table, const std::string& name,
                   const Snapshot& snapshot) {
  INFO(name);
  REQUIRE(table.contains(name));
  const std::vector<row>& documented = table.at(name);
  std::vector<row> exported;
  snapshot.for_each_metric([&](const bulwark::metric& m) {
    check_conventions(m);
    const std::size_t i = exported.size();
    exported.push_back(row_of("<prefix>_" + std::string{m.name}, m, "yours",
                              i < documented.size() ? documented[i].unit : "?"));
  });
  CHECK(exported == documented);
}

}  // namespace

TEST_CASE("the metrics table of docs/operate.md lists every exported metric as exported",
          "[registry]") {
  const auto table = read_table();

  // The registry: one instance of each kind, the breaker past its minimum so that its ratios
  // are listed too.
  bulwark::manual_clock clock;
  bulwark::registry<bulwark::manual_clock> guards{clock};
  guards.add_config("default", bulwark::cache_options{.maximum_size = 10});
  guards.add_config("default",
                    bulwark::circuit_breaker_options{.window_size = 2, .minimum_calls = 1});
  auto breaker = guards.circuit_breaker("payments");
  breaker->try_acquire().record(bulwark::call_outcome::success);
  (void)guards.gcra("api");
  (void)guards.token_bucket("api");
  (void)guards.bulkhead("db");
  (void)guards.retry("payments");
  (void)guards.cache<int, int>("users");
  (void)guards.keyed_gcra<std::string>("per_client");
  (void)guards.keyed_token_bucket<int>("uploads");
  (void)guards.aimd_limiter("db");
  (void)guards.gradient2_limiter("search");
  (void)guards.load_balancer<bulwark::round_robin>("backends");

  REQUIRE(table.contains("registry"));
  const std::vector<row>& documented = table.at("registry");
  std::vector<row> exported;
  std::map<std::string, std::size_t> seen;
  guards.for_each_metric([&](const bulwark::registry_sample& s) {
    check_conventions(s.value);
    const std::string family =
        std::string{bulwark::registry_metric_prefix(s.kind)} + "_" + std::string{s.value.name};
    if (!seen.emplace(family, exported.size()).second) return;  // the second rate limiter
    const std::size_t i = exported.size();
    exported.push_back(
        row_of(family, s.value,
               bulwark::registry_has_algorithm_label(s.kind) ? "`name`, `algorithm`" : "`name`",
               i < documented.size() ? documented[i].unit : "?"));
  });
  CHECK(exported == documented);
  // Every family the text exposition declares is in the table.
  const std::string text = bulwark::registry_prometheus_text(guards);
  std::istringstream lines{text};
  std::size_t families = 0;
  for (std::string line; std::getline(lines, line);) {
    if (!line.starts_with("# TYPE ")) continue;
    ++families;
    const std::string name = line.substr(7, line.find(' ', 7) - 7);
    INFO(name);
    CHECK(seen.contains(name));
  }
  CHECK(families == seen.size());

  check_section(table, "keyed_limiter_metrics", bulwark::keyed_limiter_metrics{});
  check_section(table, "partition_metrics", bulwark::partition_metrics{});
  check_section(table, "adaptive_limiter_metrics", bulwark::adaptive_limiter_metrics{});
  check_section(table, "adaptive_throttle_metrics", bulwark::adaptive_throttle_metrics{});
  check_section(table, "retry_budget_metrics", bulwark::retry_budget_metrics{});
  check_section(table, "active_request_budget_metrics", bulwark::active_request_budget_metrics{});
  check_section(table, "hedge_metrics", bulwark::hedge_metrics{});
  check_section(table, "load_balancer_metrics", bulwark::load_balancer_metrics{});
  check_section(table, "locality_aware_metrics", bulwark::locality_aware_metrics{});
  check_section(table, "idempotency_metrics", bulwark::idempotency_metrics{});
  check_section(table, "memory_store_metrics", bulwark::memory_store_metrics{});
  std::size_t checked = 12;  // the registry and the sections above
#if defined(BULWARK_TEST_REDIS)
  check_section(table, "redis_client_metrics", bulwark::redis_client_metrics{});
  check_section(table, "redis_cluster_metrics", bulwark::redis_cluster_metrics{});
  check_section(table, "redis_gcra_metrics", bulwark::redis_gcra_metrics{});
  check_section(table, "redis_circuit_breaker_metrics", bulwark::redis_circuit_breaker_metrics{});
  check_section(table, "redis_store_metrics", bulwark::redis_store_metrics{});
  check_section(table, "redis_near_cache_metrics", bulwark::redis_near_cache_metrics{});
  checked += 6;
#else
  // Without hiredis the redis sections cannot be checked, only counted.
  std::size_t redis = 0;
  for (const auto& [name, rows] : table)
    redis += name.starts_with("redis_") ? 1 : 0;
  CHECK(redis == 6);
  checked += redis;
#endif
  CHECK(table.size() == checked);  // no section the test does not know
}
