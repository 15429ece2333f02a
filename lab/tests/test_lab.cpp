// The lab's simulation framework: event ordering and virtual time, the backend model, the
// load generator, the statistics, the reports, and the properties every scenario relies on
// (determinism, stream independence, every request accounted for).

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <memory>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "catch.hpp"
#include "lab/backend.hpp"
#include "lab/event_queue.hpp"
#include "lab/format.hpp"
#include "lab/json.hpp"
#include "lab/latency.hpp"
#include "lab/load.hpp"
#include "lab/report.hpp"
#include "lab/scenario.hpp"
#include "lab/scenarios.hpp"
#include "lab/seeds.hpp"
#include "lab/simulation.hpp"
#include "lab/stats.hpp"
#include "lab/unique_function.hpp"

using namespace std::chrono_literals;
using lab::duration;
using lab::time_point;

namespace {

// A client that sends each request once to the backend, as the baseline's does.
lab::client direct_client(lab::arm_context& context) {
  return [&context](const lab::request& r) {
    context.backend().call(1s, [&context, r](const lab::call_result& result) {
      context.finish(r, result.ok() ? lab::outcome::success : lab::outcome::failure);
    });
  };
}

// A client whose guard refuses every other request: rejections, without any bulwark guard.
lab::client refuse_odd_client(lab::arm_context& context) {
  return [&context, direct = direct_client(context)](const lab::request& r) mutable {
    if (r.id % 2 == 1) {
      context.finish(r, lab::outcome::rejected);
    } else {
      direct(r);
    }
  };
}

// A short scenario for the tests: 10 s at 100/s with a 3 s outage, 1 s timeline slices.
lab::scenario small_scenario() {
  return {.name = "small",
          .summary = "test",
          .load = {.rate = bulwark::per_second(100), .length = 10s},
          .backend = {.failure_rate = 0.05,
                      .capacity = 50,
                      .outages = {{.start = 4s, .end = 7s, .failure_latency = lab::hang}}},
          .timeline_bucket = 1s,
          .arms = {{.name = "direct", .make_client = direct_client}}};
}

double failure_ratio(const std::vector<lab::timeline_bucket>& timeline, std::size_t first,
                     std::size_t last) {
  std::uint64_t failures = 0, requests = 0;
  for (std::size_t i = first; i < last; ++i) {
    failures += timeline[i].failures;
    requests += timeline[i].requests();
  }
  return static_cast<double>(failures) / static_cast<double>(requests);
}

}  // namespace

TEST_CASE("the event queue runs events by time, and same-time events in insertion order", "[lab]") {
  lab::event_queue queue;
  std::vector<int> order;
  const time_point t0{1s};
  queue.push(t0 + 2ms, [&] { order.push_back(3); });
  queue.push(t0, [&] { order.push_back(1); });
  queue.push(t0 + 2ms, [&] { order.push_back(4); });
  queue.push(t0, [&] { order.push_back(2); });
  queue.push(t0 + 1ms, [&] { order.push_back(10); });
  for (int i = 0; i < 100; ++i)
    queue.push(t0 + 3ms, [&order, i] { order.push_back(100 + i); });

  std::vector<time_point> times;
  while (!queue.empty()) {
    times.push_back(queue.next_time());
    auto event = queue.pop();
    event.run();
  }
  REQUIRE(std::is_sorted(times.begin(), times.end()));
  std::vector<int> expected{1, 2, 10, 3, 4};
  for (int i = 0; i < 100; ++i)
    expected.push_back(100 + i);
  REQUIRE(order == expected);
}

TEST_CASE("the simulation sets the clock to each event's time before running it", "[lab]") {
  lab::simulation sim;
  const bulwark::manual_clock clock = sim.clock();      // a guard's copy sees the same time
  std::vector<std::pair<time_point, time_point>> seen;  // (scheduled, observed)
  const auto expect_at = [&](time_point when) {
    sim.at(when, [&seen, &clock, when] { seen.emplace_back(when, clock.now()); });
  };
  expect_at(sim.start() + 5s);
  expect_at(sim.start() + 1ms);
  sim.after(2s, [&] {
    // Scheduled from inside an event, relative to the event's own time.
    const time_point inner = sim.now() + 250ms;
    expect_at(inner);
    REQUIRE(sim.elapsed() == 2s);
  });
  sim.run();

  REQUIRE(seen.size() == 3);
  for (const auto& [scheduled, observed] : seen)
    CHECK(observed == scheduled);
  CHECK(seen[2].first == sim.start() + 5s);
  CHECK(sim.events_run() == 4);
  CHECK(sim.pending() == 0);
  CHECK_FALSE(sim.step());
}

TEST_CASE("the simulation refuses to schedule an event in the past", "[lab]") {
  lab::simulation sim;
  sim.after(1s, [] {});
  sim.run();
  REQUIRE_THROWS_AS(sim.at(sim.start(), [] {}), std::logic_error);
  REQUIRE_THROWS_AS(sim.after(-1ns, [] {}), std::logic_error);
}

TEST_CASE("unique_function holds move-only state", "[lab]") {
  auto owned = std::make_unique<int>(41);
  lab::unique_function<int(int)> add = [p = std::move(owned)](int x) { return *p + x; };
  lab::unique_function<int(int)> moved = std::move(add);
  REQUIRE(moved(1) == 42);
  REQUIRE_FALSE(static_cast<bool>(add));  // documented: empty once moved from
}

TEST_CASE("nearest-rank percentiles are exact and are samples", "[lab]") {
  std::vector<duration> samples;
  for (int i = 1; i <= 100; ++i)
    samples.push_back(duration{i});
  CHECK(lab::nearest_rank(samples, 50) == duration{50});
  CHECK(lab::nearest_rank(samples, 99) == duration{99});
  CHECK(lab::nearest_rank(samples, 100) == duration{100});
  CHECK(lab::nearest_rank(samples, 0.5) == duration{1});

  const std::vector<duration> ten(samples.begin(), samples.begin() + 10);
  CHECK(lab::nearest_rank(ten, 50) == duration{5});
  CHECK(lab::nearest_rank(ten, 99) == duration{10});  // rank ceil(9.9) = 10
  CHECK(lab::nearest_rank(std::vector<duration>{7ms}, 50) == 7ms);
  CHECK(lab::nearest_rank(std::vector<duration>{}, 50) == 0ns);
}

TEST_CASE("the log-normal latency model has the median and p99 it was given", "[lab]") {
  const auto model = lab::latency_model::log_normal(20ms, 100ms);
  bulwark::fast_rng rng{7};
  std::vector<duration> samples(100'000);
  for (auto& s : samples)
    s = model.sample(rng);
  std::sort(samples.begin(), samples.end());
  const auto ms = [](duration d) { return std::chrono::duration<double, std::milli>{d}.count(); };
  CHECK(ms(lab::nearest_rank(samples, 50)) == Approx(20.0).epsilon(0.03));
  CHECK(ms(lab::nearest_rank(samples, 99)) == Approx(100.0).epsilon(0.06));
  CHECK(samples.front() > 0ns);

  const auto fixed = lab::latency_model::constant(5ms);
  CHECK(fixed.sample(rng) == 5ms);
  REQUIRE_THROWS_AS(lab::latency_model::log_normal(0ms, 1ms), std::invalid_argument);
  REQUIRE_THROWS_AS(lab::latency_model::log_normal(10ms, 5ms), std::invalid_argument);
}

TEST_CASE("a backend with no failure rate and no outage never fails", "[lab]") {
  lab::simulation sim;
  lab::simulated_backend backend{{.failure_rate = 0.0}, sim, 3};
  std::uint64_t answered = 0, failed = 0;
  for (int i = 0; i < 5'000; ++i) {
    sim.after(i * 1ms, [&] {
      backend.call(10s, [&](const lab::call_result& r) {
        ++answered;
        if (!r.ok()) ++failed;
      });
    });
  }
  sim.run();
  CHECK(answered == 5'000);
  CHECK(failed == 0);
  CHECK(backend.metrics().calls == 5'000);
  CHECK(backend.metrics().ok == 5'000);
}

TEST_CASE("a backend answers later, after the call's latency, never from inside call()", "[lab]") {
  lab::simulation sim;
  lab::simulated_backend backend{{.latency = lab::latency_model::constant(30ms)}, sim, 1};
  bool answered = false;
  time_point answered_at{};
  backend.call(1s, [&](const lab::call_result& r) {
    answered = true;
    answered_at = sim.now();
    CHECK(r.latency == 30ms);
  });
  CHECK_FALSE(answered);
  CHECK(backend.in_flight() == 1);
  sim.run();
  CHECK(answered);
  CHECK(answered_at == sim.start() + 30ms);
  CHECK(backend.in_flight() == 0);
}

TEST_CASE("a backend times calls out at the caller's timeout", "[lab]") {
  lab::simulation sim;
  lab::simulated_backend backend{{.latency = lab::latency_model::constant(2s)}, sim, 1};
  lab::call_result seen{};
  backend.call(500ms, [&](const lab::call_result& r) { seen = r; });
  sim.run();
  CHECK(seen.status == lab::call_status::timed_out);
  CHECK(seen.latency == 500ms);
  CHECK(sim.elapsed() == 500ms);
  REQUIRE_THROWS_AS(backend.call(lab::hang, [](const lab::call_result&) {}), std::invalid_argument);
}

TEST_CASE("a backend never holds more calls in flight than its capacity", "[lab]") {
  lab::simulation sim;
  constexpr std::uint32_t capacity = 40;
  // 1000/s held 200 ms each would need 200 slots: most calls must be refused.
  lab::simulated_backend backend{
      {.latency = lab::latency_model::constant(200ms), .capacity = capacity}, sim, 5};
  lab::load_generator load{
      {.rate = bulwark::per_second(1000), .length = 5s, .pattern = lab::arrival_pattern::constant},
      sim,
      5};
  std::uint32_t highest = 0;
  std::uint64_t overloaded = 0;
  load.start([&](const lab::request&) {
    backend.call(1s, [&](const lab::call_result& r) {
      if (r.status == lab::call_status::overloaded) ++overloaded;
    });
    highest = std::max(highest, backend.in_flight());
  });
  sim.run();
  CHECK(highest == capacity);
  CHECK(backend.metrics().max_in_flight == capacity);
  CHECK(overloaded > 0);
  CHECK(overloaded == backend.metrics().overloaded);
  CHECK(backend.metrics().calls == 5'000);
}

TEST_CASE("a backend rejects options out of range", "[lab]") {
  lab::simulation sim;
  REQUIRE_THROWS_AS(lab::simulated_backend({.failure_rate = 1.5}, sim, 1), std::invalid_argument);
  REQUIRE_THROWS_AS(lab::simulated_backend({.capacity = 0}, sim, 1), std::invalid_argument);
  REQUIRE_THROWS_AS(lab::simulated_backend({.outages = {{.start = 5s, .end = 5s}}}, sim, 1),
                    std::invalid_argument);
}

TEST_CASE("constant arrivals come exactly at the configured rate", "[lab]") {
  lab::simulation sim;
  // 3/s does not divide a second into whole nanoseconds: arrivals must not drift.
  lab::load_generator load{
      {.rate = bulwark::per_second(3), .length = 10s, .pattern = lab::arrival_pattern::constant},
      sim,
      1};
  std::vector<lab::request> arrivals;
  load.start([&](const lab::request& r) { arrivals.push_back(r); });
  sim.run();
  REQUIRE(arrivals.size() == 30);
  CHECK(arrivals[3].arrival == sim.start() + 1s);
  CHECK(arrivals[29].arrival == sim.start() + 9s + 666'666'666ns);
  for (std::size_t i = 0; i < arrivals.size(); ++i)
    CHECK(arrivals[i].id == i);
}

TEST_CASE("Poisson arrivals match the configured rate within a statistical bound", "[lab]") {
  const std::uint64_t seed = GENERATE(as<std::uint64_t>{}, 1, 2, 3, 42);
  lab::simulation sim;
  lab::load_generator load{{.rate = bulwark::per_second(200), .length = 60s}, sim, seed};
  std::vector<time_point> arrivals;
  load.start([&](const lab::request& r) { arrivals.push_back(r.arrival); });
  sim.run();
  // A Poisson count over 60 s at 200/s has mean 12000 and standard deviation sqrt(12000),
  // about 110: five deviations either side fails a correct generator once in 1.7 million.
  const double expected = 12'000;
  CHECK(std::abs(static_cast<double>(arrivals.size()) - expected) < 5 * std::sqrt(expected));
  CHECK(load.issued() == arrivals.size());
  CHECK(std::is_sorted(arrivals.begin(), arrivals.end()));
  CHECK(arrivals.back() < sim.start() + 60s);
  // The gaps are exponential: their coefficient of variation is 1 (a constant rate's is 0).
  double sum = 0, sum_sq = 0;
  for (std::size_t i = 1; i < arrivals.size(); ++i) {
    const double gap = std::chrono::duration<double>(arrivals[i] - arrivals[i - 1]).count();
    sum += gap;
    sum_sq += gap * gap;
  }
  const double n = static_cast<double>(arrivals.size() - 1);
  const double mean = sum / n;
  CHECK(std::sqrt(sum_sq / n - mean * mean) / mean == Approx(1.0).epsilon(0.05));
}

TEST_CASE("every request is accounted for exactly once", "[lab]") {
  lab::scenario s = small_scenario();
  s.arms.push_back({.name = "refuse odd", .make_client = refuse_odd_client});
  const lab::scenario_result result = lab::run_scenario(s, 9);
  for (const lab::arm_result& a : result.arms) {
    INFO(a.name);
    CHECK(a.stats.requests > 0);
    CHECK(a.stats.successes + a.stats.failures + a.stats.rejections == a.stats.requests);
    std::uint64_t in_timeline = 0;
    for (const auto& bucket : a.stats.timeline)
      in_timeline += bucket.requests();
    CHECK(in_timeline == a.stats.requests);
    CHECK(a.stats.p50 <= a.stats.p99);
  }
  const lab::arm_result& refusing = result.arms[1];
  CHECK(refusing.stats.rejections == refusing.stats.requests / 2);
  // Rejected requests never reach the backend.
  CHECK(refusing.backend.calls == refusing.stats.requests - refusing.stats.rejections);
}

TEST_CASE("a client that loses or double-answers a request fails the run", "[lab]") {
  lab::scenario s = small_scenario();
  s.arms = {{.name = "loses odd", .make_client = [](lab::arm_context& context) -> lab::client {
               return [&context](const lab::request& r) {
                 if (r.id % 2 == 0) context.finish(r, lab::outcome::success);
               };
             }}};
  REQUIRE_THROWS_AS(lab::run_scenario(s, 1), std::logic_error);

  s.arms = {{.name = "answers twice", .make_client = [](lab::arm_context& context) -> lab::client {
               return [&context](const lab::request& r) {
                 context.finish(r, lab::outcome::success);
                 context.finish(r, lab::outcome::failure);
               };
             }}};
  REQUIRE_THROWS_AS(lab::run_scenario(s, 1), std::logic_error);
}

TEST_CASE("a scenario rejects arms it cannot tell apart", "[lab]") {
  lab::scenario s = small_scenario();
  s.arms.push_back(s.arms.front());
  REQUIRE_THROWS_AS(lab::run_scenario(s, 1), std::invalid_argument);
  s.arms.clear();
  REQUIRE_THROWS_AS(lab::run_scenario(s, 1), std::invalid_argument);
}

TEST_CASE("the same seed gives identical results, different seeds different ones", "[lab]") {
  const lab::scenario s = lab::baseline();
  const lab::scenario_result first = lab::run_scenario(s, 7);
  CHECK(lab::run_scenario(s, 7) == first);
  CHECK(lab::render_json(std::vector{first}, 7) ==
        lab::render_json(std::vector{lab::run_scenario(s, 7)}, 7));

  const lab::scenario_result other = lab::run_scenario(s, 8);
  CHECK_FALSE(other == first);
  CHECK(other.arms[0].stats.requests != first.arms[0].stats.requests);
}

// The scenarios whose guards hash keys: caches, stores and keyed limiters take a random hash
// seed per instance by default, which would make the same --seed print another table.
TEST_CASE("scenarios with hashed tables repeat exactly for the same seed", "[lab]") {
  for (const lab::scenario& s : {lab::hot_keys(), lab::double_charge()}) {
    INFO(s.name);
    CHECK(lab::render_json(std::vector{lab::run_scenario(s, 3)}, 3) ==
          lab::render_json(std::vector{lab::run_scenario(s, 3)}, 3));
  }
}

TEST_CASE("adding an arm leaves every other arm's results unchanged", "[lab]") {
  lab::scenario alone = small_scenario();
  lab::scenario with_another = small_scenario();
  with_another.arms.insert(with_another.arms.begin(),
                           {.name = "refuse odd", .make_client = refuse_odd_client});
  const auto a = lab::run_scenario(alone, 11);
  const auto b = lab::run_scenario(with_another, 11);
  REQUIRE(b.arms.size() == 2);
  CHECK(b.arms[1] == a.arms[0]);
  // Both arms saw the same arrivals.
  CHECK(b.arms[0].stats.requests == b.arms[1].stats.requests);
}

TEST_CASE("reporting progress does not change the results", "[lab]") {
  const lab::scenario s = small_scenario();
  std::vector<double> reported;
  const auto with_progress = lab::run_scenario(s, 5, [&](double f) { reported.push_back(f); });
  CHECK(with_progress == lab::run_scenario(s, 5));
  REQUIRE_FALSE(reported.empty());
  CHECK(std::is_sorted(reported.begin(), reported.end()));
  CHECK(reported.back() == 1.0);
}

TEST_CASE("the baseline fails nearly every request in the outage and few outside it", "[lab]") {
  const std::uint64_t seed = GENERATE(as<std::uint64_t>{}, 1, 42);
  const lab::scenario s = lab::baseline();
  const lab::scenario_result result = lab::run_scenario(s, seed);
  REQUIRE(result.arms.size() == 1);
  const lab::arm_result& arm = result.arms[0];
  CHECK(arm.name == "unprotected");
  REQUIRE(s.timeline_bucket == 2s);
  REQUIRE(arm.stats.timeline.size() == 30);

  // Arrivals from 20 s to 34 s (buckets 10 to 16) are all inside the 20-35 s outage.
  CHECK(failure_ratio(arm.stats.timeline, 10, 17) > 0.99);
  // Before it and from 36 s on, only the 1% background failures.
  const double before = failure_ratio(arm.stats.timeline, 0, 10);
  const double after = failure_ratio(arm.stats.timeline, 18, 30);
  CHECK(before == Approx(0.01).margin(0.006));
  CHECK(after == Approx(0.01).margin(0.006));

  // Hung calls fill the backend, the rest fail fast as overloaded; none exceed capacity.
  CHECK(arm.backend.max_in_flight == s.backend.capacity);
  CHECK(arm.backend.overloaded > 0);
  CHECK(arm.backend.timed_out > 0);
  CHECK(arm.backend.calls == arm.stats.requests);
  CHECK(arm.stats.rejections == 0);
  CHECK(arm.stats.p50 <= arm.stats.p99);
  CHECK(arm.stats.p99 == 1s);  // a quarter of the requests wait out the timeout
}

TEST_CASE("every registered scenario runs, under a unique name", "[lab]") {
  const std::vector<lab::scenario> all = lab::all_scenarios();
  REQUIRE_FALSE(all.empty());
  for (const lab::scenario& s : all) {
    INFO(s.name);
    CHECK(lab::find_scenario(all, s.name) == &s);
    CHECK(s.name.find(' ') == std::string::npos);
    const auto result = lab::run_scenario(s, 1);
    CHECK(result.arms.size() == s.arms.size());
  }
  CHECK(lab::find_scenario(all, "no such scenario") == nullptr);
}

TEST_CASE("derived seeds differ by stream name and by seed", "[lab]") {
  CHECK(lab::derive_seed(1, "arrivals") != lab::derive_seed(1, "backend"));
  CHECK(lab::derive_seed(1, "arrivals") != lab::derive_seed(2, "arrivals"));
  CHECK(lab::derive_seed(1, "arrivals") == lab::derive_seed(1, "arrivals"));
}

TEST_CASE("JSON strings are escaped", "[lab]") {
  std::string out;
  lab::append_json_string(out, "a\"b\\c\nd\te\x01\x1f caf\xc3\xa9");
  CHECK(out == R"("a\"b\\c\nd\te\u0001\u001f café")");
}

TEST_CASE("the JSON writer places commas and checks nesting", "[lab]") {
  lab::json_writer json;
  json.begin_object();
  json.key("n").number(std::uint64_t{3});
  json.key("x").number(0.5);
  json.key("nan").number(std::nan(""));
  json.key("list").begin_array().number(1).string("two").boolean(true).null().end_array();
  json.key("empty").begin_object().end_object();
  json.end_object();
  CHECK(std::move(json).str() ==
        R"({"n":3,"x":0.5,"nan":null,"list":[1,"two",true,null],"empty":{}})");

  lab::json_writer misuse;
  misuse.begin_object();
  REQUIRE_THROWS_AS(misuse.number(1), std::logic_error);  // a value without a key
  REQUIRE_THROWS_AS(misuse.end_array(), std::logic_error);
  REQUIRE_THROWS_AS(std::move(misuse).str(), std::logic_error);
}

TEST_CASE("the JSON report holds every arm's numbers", "[lab]") {
  const auto result = lab::run_scenario(small_scenario(), 3);
  const std::string json = lab::render_json(std::vector{result}, 3);
  const auto& stats = result.arms[0].stats;
  CHECK(json.starts_with(R"({"seed":3,"scenarios":[{"name":"small")"));
  CHECK(json.find(R"("requests":)" + std::to_string(stats.requests)) != std::string::npos);
  CHECK(json.find(R"("successes":)" + std::to_string(stats.successes)) != std::string::npos);
  CHECK(json.ends_with("}]}]}\n"));
}

TEST_CASE("the sparkline maps success ratios to eight levels", "[lab]") {
  const std::vector<lab::timeline_bucket> timeline{{.successes = 10},
                                                   {.failures = 10},
                                                   {.successes = 5, .failures = 5},
                                                   {},
                                                   {.successes = 7, .rejections = 1}};
  CHECK(lab::sparkline(timeline) == "█▁▅ █");
}

TEST_CASE("the text report has the arms as columns and a timeline per arm", "[lab]") {
  lab::scenario s = small_scenario();
  s.arms.push_back({.name = "refuse odd", .make_client = refuse_odd_client});
  const std::string text = lab::render_text(lab::run_scenario(s, 2));
  CHECK(text.starts_with("small: test\n"));
  const auto header = text.find("direct");
  REQUIRE(header != std::string::npos);
  CHECK(text.find("refuse odd", header) < text.find('\n', header));  // same line
  for (const char* label : {"requests", "successes", "failures", "rejections", "backend calls",
                            "latency p50", "latency p99"}) {
    CHECK(text.find(label) != std::string::npos);
  }
  CHECK(std::count(text.begin(), text.end(), '\n') == 15);
}

TEST_CASE("durations and percentages read as a person writes them", "[lab]") {
  CHECK(lab::format_duration(0ns) == "0s");
  CHECK(lab::format_duration(1s) == "1s");
  CHECK(lab::format_duration(60s) == "60s");
  CHECK(lab::format_duration(21'384'000ns) == "21.4ms");
  CHECK(lab::format_duration(999'700us) == "1000ms");
  CHECK(lab::format_duration(1'250ms) == "1.25s");
  CHECK(lab::format_duration(850us) == "850us");
  CHECK(lab::format_duration(12ns) == "12ns");
  CHECK(lab::format_percent(0.01) == "1%");
  CHECK(lab::format_percent(0.005) == "0.5%");
  CHECK(lab::format_percent(0.07) == "7%");
}

TEST_CASE("adaptive-throttle: the throttled arm wastes far fewer backend calls", "[lab]") {
  const auto result = lab::run_scenario(lab::adaptive_throttle(), 42);
  REQUIRE(result.arms.size() == 2);
  const auto& plain = result.arms[0];
  const auto& throttled = result.arms[1];
  CHECK(plain.stats.rejections == 0);
  CHECK(throttled.stats.rejections > 0);
  // K = 2: the client sends about twice what the backend accepts, not three times.
  CHECK(throttled.backend.calls < plain.backend.calls * 7 / 10);
  CHECK(throttled.backend.overloaded < plain.backend.overloaded / 2);
  // The backend's useful work is about the same: it was full either way.
  CHECK(throttled.stats.successes > plain.stats.successes * 9 / 10);
}

TEST_CASE("overload: gradient2 admits a healthy load, codel bounds the queue's p99", "[lab]") {
  const std::uint64_t seed = GENERATE(as<std::uint64_t>{}, 1, 42);
  const lab::scenario_result result = lab::run_scenario(lab::overload(), seed);
  const auto arm = [&result](std::string_view name) -> const lab::arm_result& {
    for (const lab::arm_result& a : result.arms)
      if (a.name == name) return a;
    FAIL("no arm " << name);
    throw std::logic_error("unreachable");
  };
  // 0-20 s (buckets 0 to 9), the backend healthy: the limit must not shed (it shed 12%).
  std::uint64_t requests = 0;
  std::uint64_t rejections = 0;
  for (std::size_t b = 0; b < 10; ++b) {
    requests += arm("gradient2").stats.timeline.at(b).requests();
    rejections += arm("gradient2").stats.timeline.at(b).rejections;
  }
  CHECK(static_cast<double>(rejections) < 0.01 * static_cast<double>(requests));
  // Fail at Scale: CoDel turns the standing queue into refusals; LIFO alone starves the old.
  CHECK(arm("codel").stats.p99 < arm("unprotected").stats.p99 / 4);
  CHECK(arm("codel+lifo").stats.p99 < arm("adaptive lifo").stats.p99 / 4);
  CHECK(arm("codel").stats.rejections > 0);
  CHECK(arm("adaptive lifo").stats.rejections == 0);
  CHECK(arm("adaptive lifo").stats.successes >= arm("codel").stats.successes);
}

namespace {

const lab::arm_result& arm_named(const lab::scenario_result& result, std::string_view name) {
  for (const lab::arm_result& a : result.arms)
    if (a.name == name) return a;
  throw std::logic_error("no arm " + std::string{name});
}

std::uint64_t counter_of(const lab::arm_result& a, std::string_view name) {
  for (const auto& [key, value] : a.counters)
    if (key == name) return value;
  throw std::logic_error("no counter " + std::string{name} + " in arm " + a.name);
}

}  // namespace

// Envoy's retry budget (envoy.config.cluster.v3.CircuitBreakers.Thresholds.RetryBudget,
// resource_manager_impl.h): retries in flight <= max(20% x requests in flight, 3). During the
// outage each hung request holds its count about 1 s, so at most about a fifth of them can
// have a retry out: backend calls stay within about 20% of the requests over the outage's
// quarter of the run (about 5% over the run), where naive retries send up to 4 calls each.
TEST_CASE("retry-storm: the active-request budget caps retry amplification", "[lab]") {
  const std::uint64_t seed = GENERATE(as<std::uint64_t>{}, 1, 42);
  const lab::scenario_result result = lab::run_scenario(lab::retry_storm(), seed);
  const auto& active = arm_named(result, "active budget");
  const auto& naive = arm_named(result, "naive-retry");
  CHECK(active.backend.calls > active.stats.requests);  // it does retry (the 1% errors)
  CHECK(active.backend.calls < active.stats.requests * 115 / 100);
  CHECK(active.backend.calls < naive.backend.calls * 7 / 10);
  CHECK(active.stats.successes >= arm_named(result, "unprotected").stats.successes);
}

// Envoy's priority load (docs priority.rst, LoadBalancerBase::recalculatePerPriorityState,
// overprovisioning factor 140) and panic (panic_threshold.rst):
//   17s-27s (a-1, a-2 marked down): P0 health min(100, 140 x 2/4) = 70, P1 100 -> P1 takes 30%;
//   27s-42s (all of zone-a down):   P0 health 0, P1 100, total 100 -> no panic, P1 takes 100%.
// So P1 picks ~ 0.3 x 200/s x 10s + 200/s x 15s = 3600. Plain round robin ignores priorities:
// 2 of 6 healthy is under panic_threshold 0.5, so from 27s it balances over all six and
// about 2/3 of those requests meet a dead endpoint.
TEST_CASE("zone-outage: locality_aware fails over by Envoy's priority load", "[lab]") {
  const std::uint64_t seed = GENERATE(as<std::uint64_t>{}, 1, 42);
  const lab::scenario_result result = lab::run_scenario(lab::zone_outage(), seed);
  const auto& rr = arm_named(result, "round_robin");
  const auto& aware = arm_named(result, "locality_aware");
  const auto p1 = static_cast<double>(counter_of(aware, "picks priority 1"));
  CHECK(p1 > 3600 * 0.9);
  CHECK(p1 < 3600 * 1.1);
  CHECK(aware.stats.failures * 3 < rr.stats.failures);
  // 28s-40s, buckets 14 to 19: P1 serves every request; round robin panics.
  std::uint64_t aware_ok = 0, rr_ok = 0, requests = 0;
  for (std::size_t b = 14; b < 20; ++b) {
    aware_ok += aware.stats.timeline.at(b).successes;
    rr_ok += rr.stats.timeline.at(b).successes;
    requests += rr.stats.timeline.at(b).requests();
  }
  CHECK(aware_ok * 100 >= requests * 99);
  CHECK(rr_ok * 2 < requests);
}

// Netflix concurrency-limits AbstractPartitionedLimiter: at the limit only a partition under
// max(1, ceil(share x limit)) gets in, so with shares 0.7 / 0.3 and half the requests each,
// interactive keeps more of the shrunken limit during the slow spell than batch does.
TEST_CASE("overload: the partitioned limit keeps the interactive share in the slow spell",
          "[lab]") {
  const std::uint64_t seed = GENERATE(as<std::uint64_t>{}, 1, 42);
  const lab::scenario_result result = lab::run_scenario(lab::overload(), seed);
  const auto& partitioned = arm_named(result, "partitioned");
  const std::uint64_t interactive = counter_of(partitioned, "interactive ok 20-40s");
  const std::uint64_t batch = counter_of(partitioned, "batch ok 20-40s");
  CHECK(batch > 0);
  CHECK(interactive * 4 > batch * 5);
  CHECK(counter_of(partitioned, "batch refused 20-40s") >
        counter_of(partitioned, "interactive refused 20-40s"));
}

// gobreaker v2's shared-state breaker, as redis_circuit_breaker keeps it: during the outage a
// fleet of local breakers costs 5 failures per instance to open and a probe per instance per
// wait; the shared state keeps one probe per wait for the fleet, and aggregated counts open it
// after 10 failures anywhere.
TEST_CASE("shared-breaker: one trip and one probe serve the fleet", "[lab]") {
  const std::uint64_t seed = GENERATE(as<std::uint64_t>{}, 1, 42);
  const lab::scenario_result result = lab::run_scenario(lab::shared_breaker(), seed);
  const auto in_outage = [&](std::string_view arm) {
    return counter_of(arm_named(result, arm), "backend calls in outage");
  };
  CHECK(in_outage("local x50") > 250);  // 50 x 5 to open, then 50 probes per wait
  CHECK(in_outage("shared") < in_outage("local x50") * 7 / 10);
  CHECK(in_outage("shared + counts") < 30);  // 10 to open, one probe per 5 s
  CHECK(in_outage("unprotected") > in_outage("local x50") * 5);
}

// Redis client-side caching: with invalidation a read is stale only inside the one round trip
// between a write and its invalidation; with a TTL alone, until the entry expires.
TEST_CASE("near-cache: invalidation removes nearly every stale read", "[lab]") {
  const std::uint64_t seed = GENERATE(as<std::uint64_t>{}, 1, 42);
  const lab::scenario_result result = lab::run_scenario(lab::near_cache(), seed);
  const auto& ttl = arm_named(result, "ttl 5s");
  const auto& tracking = arm_named(result, "tracking");
  CHECK(counter_of(ttl, "stale reads") > 1000);
  CHECK(counter_of(tracking, "stale reads") * 100 < counter_of(ttl, "stale reads"));
  CHECK(counter_of(arm_named(result, "no near cache"), "stale reads") == 0);
  CHECK(tracking.backend.calls * 2 < arm_named(result, "no near cache").backend.calls);
}
