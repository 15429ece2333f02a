#include <bulwark/core/metrics.hpp>
#include <bulwark/core/prometheus.hpp>
#include <cstdint>
#include <limits>
#include <stdexcept>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "catch.hpp"

namespace {

// A snapshot written the way every component writes one (see core/metrics.hpp).
struct limiter_metrics {
  std::uint64_t admitted = 0;
  std::uint64_t rejected = 0;
  double available = 0;

  template <class Visit>
  void for_each_metric(Visit&& visit) const {
    using bulwark::metric, bulwark::metric_type;
    visit(metric{"admitted_total", "Requests admitted.", metric_type::counter, admitted});
    visit(metric{"rejected_total", "Requests refused.", metric_type::counter, rejected});
    visit(metric{"available", "Tokens available now.", metric_type::gauge, available});
  }
};

// A snapshot that leaves a field out when it has no value (the circuit breaker's ratios below
// the minimum number of calls).
struct breaker_like_metrics {
  std::uint64_t calls = 0;
  double ratio = -1;  // -1: no ratio yet

  template <class Visit>
  void for_each_metric(Visit&& visit) const {
    using bulwark::metric, bulwark::metric_type;
    if (ratio >= 0) visit(metric{"failure_ratio", "Failed share.", metric_type::gauge, ratio});
    visit(metric{"calls_total", "Calls.", metric_type::counter, calls});
  }
};

}  // namespace

TEST_CASE("snapshots model metrics_snapshot", "[core]") {
  STATIC_REQUIRE(bulwark::metrics_snapshot<limiter_metrics>);
  STATIC_REQUIRE_FALSE(bulwark::metrics_snapshot<int>);
}

TEST_CASE("prometheus_text renders families, labels and escapes exactly (golden)", "[core]") {
  bulwark::prometheus_text out;
  out.add("bulwark_rate_limit", limiter_metrics{5, 2, 0.5}, {{"limiter", "payments"}});
  out.add("bulwark_rate_limit", limiter_metrics{18446744073709551615ULL, 0, -1.25},
          {{"limiter", "search \"v2\"\nC:\\tmp"}, {"zone", "eu"}});
  out.add("bulwark", bulwark::metric{"build_info", "Version\\build, one\nline.",
                                     bulwark::metric_type::gauge, std::int64_t{-3}});

  // Each family once with its HELP and TYPE, samples grouped under it, label values escaped
  // (\\ \" \n), HELP escaped (\\ \n), counters exact up to 2^64 - 1.
  const std::string expected =
      "# HELP bulwark_rate_limit_admitted_total Requests admitted.\n"
      "# TYPE bulwark_rate_limit_admitted_total counter\n"
      "bulwark_rate_limit_admitted_total{limiter=\"payments\"} 5\n"
      "bulwark_rate_limit_admitted_total{limiter=\"search \\\"v2\\\"\\nC:\\\\tmp\",zone=\"eu\"} "
      "18446744073709551615\n"
      "# HELP bulwark_rate_limit_rejected_total Requests refused.\n"
      "# TYPE bulwark_rate_limit_rejected_total counter\n"
      "bulwark_rate_limit_rejected_total{limiter=\"payments\"} 2\n"
      "bulwark_rate_limit_rejected_total{limiter=\"search \\\"v2\\\"\\nC:\\\\tmp\",zone=\"eu\"} 0\n"
      "# HELP bulwark_rate_limit_available Tokens available now.\n"
      "# TYPE bulwark_rate_limit_available gauge\n"
      "bulwark_rate_limit_available{limiter=\"payments\"} 0.5\n"
      "bulwark_rate_limit_available{limiter=\"search \\\"v2\\\"\\nC:\\\\tmp\",zone=\"eu\"} -1.25\n"
      "# HELP bulwark_build_info Version\\\\build, one\\nline.\n"
      "# TYPE bulwark_build_info gauge\n"
      "bulwark_build_info -3\n";
  CHECK(out.str() == expected);
}

// A family is written only with samples: a field one instance leaves out is simply missing
// from its series, and a field every instance leaves out has no HELP or TYPE line either.
TEST_CASE("prometheus_text writes a family only when some snapshot lists it (golden)", "[core]") {
  bulwark::prometheus_text none;
  none.add("b", breaker_like_metrics{3, -1}, {{"name", "x"}});
  none.add("b", breaker_like_metrics{4, -1}, {{"name", "y"}});
  CHECK(none.str() ==
        "# HELP b_calls_total Calls.\n"
        "# TYPE b_calls_total counter\n"
        "b_calls_total{name=\"x\"} 3\n"
        "b_calls_total{name=\"y\"} 4\n");

  bulwark::prometheus_text some;
  some.add("b", breaker_like_metrics{3, -1}, {{"name", "x"}});
  some.add("b", breaker_like_metrics{4, 0.25}, {{"name", "y"}});
  some.add("b", breaker_like_metrics{5, -1}, {{"name", "z"}});
  some.add("b", breaker_like_metrics{6, 1}, {{"name", "w"}});
  CHECK(some.str() ==
        "# HELP b_calls_total Calls.\n"
        "# TYPE b_calls_total counter\n"
        "b_calls_total{name=\"x\"} 3\n"
        "b_calls_total{name=\"y\"} 4\n"
        "b_calls_total{name=\"z\"} 5\n"
        "b_calls_total{name=\"w\"} 6\n"
        "# HELP b_failure_ratio Failed share.\n"
        "# TYPE b_failure_ratio gauge\n"
        "b_failure_ratio{name=\"y\"} 0.25\n"
        "b_failure_ratio{name=\"w\"} 1\n");
}

TEST_CASE("prometheus_text writes special floating values as the format spells them", "[core]") {
  bulwark::prometheus_text out;
  const auto gauge = [](std::string_view name, double v) {
    return bulwark::metric{name, "h", bulwark::metric_type::gauge, v};
  };
  out.add("x", gauge("nan", std::numeric_limits<double>::quiet_NaN()));
  out.add("x", gauge("pos", std::numeric_limits<double>::infinity()));
  out.add("x", gauge("neg", -std::numeric_limits<double>::infinity()));
  out.add("x", gauge("big", 1e21));
  const auto text = out.str();
  CHECK(text.find("x_nan NaN\n") != std::string::npos);
  CHECK(text.find("x_pos +Inf\n") != std::string::npos);
  CHECK(text.find("x_neg -Inf\n") != std::string::npos);
  CHECK(text.find("x_big 1e+21\n") != std::string::npos);
}

TEST_CASE("prometheus_text refuses names and series the format does not allow", "[core]") {
  bulwark::prometheus_text out;
  const bulwark::metric ok{"calls_total", "Calls.", bulwark::metric_type::counter,
                           std::uint64_t{1}};
  CHECK_THROWS_WITH(out.add("9lives", ok),
                    "bulwark::prometheus_text: metric name must be "
                    "[a-zA-Z_:][a-zA-Z0-9_:]* (got \"9lives_calls_total\")");
  CHECK_THROWS_AS(out.add("has-dash", ok), std::invalid_argument);
  CHECK_THROWS_AS(out.add("ns", ok, {{"__reserved", "x"}}), std::invalid_argument);
  CHECK_THROWS_AS(out.add("ns", ok, {{"bad:label", "x"}}), std::invalid_argument);
  CHECK_THROWS_AS(out.add("ns", ok, {{"a", "1"}, {"a", "2"}}), std::invalid_argument);

  CHECK_NOTHROW(out.add("ns", ok, {{"shard", "1"}}));
  CHECK_THROWS_AS(out.add("ns", ok, {{"shard", "1"}}), std::invalid_argument);  // same series
  CHECK_THROWS_AS(
      out.add("ns", bulwark::metric{"calls_total", "Calls.", bulwark::metric_type::gauge, 1.0}),
      std::invalid_argument);  // family type changed
  CHECK_THROWS_AS(out.add("ns", bulwark::metric{"calls_total", "Other help.",
                                                bulwark::metric_type::counter, std::uint64_t{1}}),
                  std::invalid_argument);  // family help changed
}

// The exposition format (https://prometheus.io/docs/instrumenting/exposition_formats/, "Text
// format details") requires every metric family to have samples grouped under its HELP/TYPE; a
// family left behind by a refused add would print a HELP and TYPE with no sample at all.
TEST_CASE("prometheus_text add that throws leaves the output unchanged", "[core]") {
  bulwark::prometheus_text out;
  out.add("svc", limiter_metrics{1, 2, 3.0}, {{"limiter", "a"}});
  const std::string before = out.str();

  // A single sample of a new family with a bad label name: the family must not appear.
  const bulwark::metric fresh{"fresh_total", "New.", bulwark::metric_type::counter,
                              std::uint64_t{1}};
  CHECK_THROWS_AS(out.add("svc", fresh, {{"bad-label", "x"}}), std::invalid_argument);
  CHECK(out.str() == before);

  // A snapshot whose third field collides with an existing series: its first two fields,
  // which were valid, must not stay behind either.
  bulwark::prometheus_text partial;
  partial.add(
      "svc",
      bulwark::metric{"available", "Tokens available now.", bulwark::metric_type::gauge, 0.0},
      {{"limiter", "b"}});
  const std::string partial_before = partial.str();
  CHECK_THROWS_AS(partial.add("svc", limiter_metrics{4, 5, 6.0}, {{"limiter", "b"}}),
                  std::invalid_argument);
  CHECK(partial.str() == partial_before);
  // The rolled-back families are really gone: adding them again under another label works.
  CHECK_NOTHROW(partial.add("svc", limiter_metrics{4, 5, 6.0}, {{"limiter", "c"}}));
  CHECK(partial.str().find("svc_admitted_total{limiter=\"c\"} 4\n") != std::string::npos);

  // The first, valid, add is still there and a retry with a good label succeeds.
  out.add("svc", fresh, {{"good", "x"}});
  CHECK(out.str() == before +
                         "# HELP svc_fresh_total New.\n"
                         "# TYPE svc_fresh_total counter\n"
                         "svc_fresh_total{good=\"x\"} 1\n");
}

TEST_CASE("metric_counter loses no increment across threads", "[core]") {
  bulwark::metric_counter counter;
  constexpr int threads = 4;
  constexpr int increments = 25'000;
  std::vector<std::thread> workers;
  for (int t = 0; t < threads; ++t) {
    workers.emplace_back([&] {
      for (int i = 0; i < increments; ++i)
        counter.add();
    });
  }
  for (auto& w : workers)
    w.join();
  CHECK(counter.load() == std::uint64_t{threads} * increments);
  counter.add(10);
  CHECK(counter.load() == std::uint64_t{threads} * increments + 10);
}

// Found by fuzz/prometheus.cpp. The text exposition format 0.0.4 (exposition_formats.md,
// "Text format details"): label values are UTF-8, and each line must have a unique
// combination of metric name and labels; Prometheus's data model makes a label set unordered.
TEST_CASE("prometheus_text refuses a series already added with its labels in another order",
          "[core]") {
  bulwark::prometheus_text out;
  const bulwark::metric m{"keys", "Keys held.", bulwark::metric_type::gauge, std::uint64_t{1}};
  out.add("x", m, {{"a", "1"}, {"b", "2"}});
  CHECK_THROWS_AS(out.add("x", m, {{"b", "2"}, {"a", "1"}}), std::invalid_argument);
  out.add("x", m, {{"b", "1"}, {"a", "2"}});  // another label set
  CHECK(out.str() ==
        "# HELP x_keys Keys held.\n# TYPE x_keys gauge\nx_keys{a=\"1\",b=\"2\"} 1\n"
        "x_keys{b=\"1\",a=\"2\"} 1\n");
}

TEST_CASE("prometheus_text refuses a label value that is not UTF-8, naming the label", "[core]") {
  bulwark::prometheus_text out;
  const bulwark::metric m{"keys", "Keys held.", bulwark::metric_type::gauge, std::uint64_t{1}};
  try {
    out.add("x", m, {{"client", "\xff"}});
    FAIL("a label value of byte 0xff was accepted");
  } catch (const std::invalid_argument& e) {
    CHECK(std::string_view{e.what()}.starts_with(
        "bulwark::prometheus_text: label value of client must be valid UTF-8 (got "));
  }
  CHECK_THROWS_AS(out.add("x", m, {{"client", "\xc0\xaf"}}), std::invalid_argument);  // overlong
  CHECK_THROWS_AS(out.add("x", m, {{"client", "\xed\xa0\x80"}}), std::invalid_argument);  // D800
  out.add("x", m, {{"client", "caf\xc3\xa9 \xf0\x9f\x98\x80"}});
  CHECK(out.str().find("client=\"caf\xc3\xa9 \xf0\x9f\x98\x80\"") != std::string::npos);
}

TEST_CASE("prometheus_text leaves no trace of a refused sample", "[core]") {
  bulwark::prometheus_text out;
  const bulwark::metric m{"keys", "Keys held.", bulwark::metric_type::gauge, std::uint64_t{1}};
  CHECK_THROWS_AS(out.add("x", m, {{"__bad", "1"}}), std::invalid_argument);
  CHECK(out.str().empty());
  // The refused sample fixed neither the family's help nor its type.
  const bulwark::metric other{"keys", "Other.", bulwark::metric_type::counter, std::uint64_t{2}};
  out.add("x", other);
  CHECK(out.str() == "# HELP x_keys Other.\n# TYPE x_keys counter\nx_keys 2\n");
}
