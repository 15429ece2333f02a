// A scrape through prometheus-cpp's real Exposer on a loopback port, fetched with a plain
// HTTP/1.0 GET over a socket, as Prometheus would.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <prometheus/exposer.h>
#include <sys/socket.h>
#include <unistd.h>

#include <bulwark/prometheus.hpp>
#include <memory>
#include <string>
#include <vector>

#include "catch.hpp"

namespace {

std::string http_get(std::uint16_t port, const std::string& path) {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  REQUIRE(fd >= 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  REQUIRE(::connect(fd, reinterpret_cast<const sockaddr*>(&addr), sizeof addr) == 0);
  const std::string request = "GET " + path + " HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n";
  REQUIRE(::send(fd, request.data(), request.size(), 0) == static_cast<ssize_t>(request.size()));
  std::string response;
  char buffer[4096];
  for (ssize_t n = 0; (n = ::recv(fd, buffer, sizeof buffer, 0)) > 0;)
    response.append(buffer, static_cast<std::size_t>(n));
  ::close(fd);
  return response;
}

}  // namespace

TEST_CASE("a prometheus-cpp Exposer serves the registry's metrics over HTTP", "[config]") {
  bulwark::manual_clock clock;
  bulwark::registry<bulwark::manual_clock> guards{clock};
  guards.add_config("default", bulwark::gcra_options{.rate = bulwark::per_second(10), .burst = 2});
  auto api = guards.gcra("api");
  CHECK(api->try_acquire(2));
  CHECK_FALSE(api->try_acquire());
  guards.circuit_breaker("payments")->transition_to(bulwark::circuit_state::forced_open);

  prometheus::Exposer exposer{"127.0.0.1:0"};  // port 0: the system picks a free one
  auto metrics = std::make_shared<bulwark::prometheus_collectable<bulwark::manual_clock>>(guards);
  exposer.RegisterCollectable(metrics);
  const auto ports = exposer.GetListeningPorts();
  REQUIRE(ports.size() == 1);

  const std::string response = http_get(static_cast<std::uint16_t>(ports[0]), "/metrics");
  INFO(response);
  CHECK(response.starts_with("HTTP/1.1 200"));
  CHECK(response.find("# TYPE bulwark_rate_limit_admitted_total counter") != std::string::npos);
  CHECK(response.find("bulwark_rate_limit_admitted_total{name=\"api\",algorithm=\"gcra\"} 1") !=
        std::string::npos);
  CHECK(response.find("bulwark_rate_limit_rejected_total{name=\"api\",algorithm=\"gcra\"} 1") !=
        std::string::npos);
  CHECK(response.find("bulwark_circuit_breaker_state{name=\"payments\"} 5") != std::string::npos);
  exposer.RemoveCollectable(metrics);
}

// prometheus_collectable builds a family on its first sample, as prometheus_text does: a
// breaker below its minimum number of calls adds no ratio sample, and a family without any
// sample is not handed to prometheus-cpp at all (no HELP or TYPE line in the scrape).
TEST_CASE("prometheus_collectable leaves out a breaker's ratios below its minimum", "[config]") {
  bulwark::manual_clock clock;
  bulwark::registry<bulwark::manual_clock> guards{clock};
  guards.add_config("default",
                    bulwark::circuit_breaker_options{.window_size = 4, .minimum_calls = 2});
  auto payments = guards.circuit_breaker("payments");
  (void)guards.circuit_breaker("search");
  const bulwark::prometheus_collectable<bulwark::manual_clock> metrics{guards};
  const auto find = [](const std::vector<prometheus::MetricFamily>& families,
                       const std::string& name) -> const prometheus::MetricFamily* {
    for (const auto& f : families)
      if (f.name == name) return &f;
    return nullptr;
  };

  auto families = metrics.Collect();
  REQUIRE(find(families, "bulwark_circuit_breaker_state") != nullptr);
  CHECK(find(families, "bulwark_circuit_breaker_state")->metric.size() == 2);
  CHECK(find(families, "bulwark_circuit_breaker_failure_ratio") == nullptr);
  CHECK(find(families, "bulwark_circuit_breaker_slow_call_ratio") == nullptr);

  payments->try_acquire().failure();
  payments->try_acquire().success();
  families = metrics.Collect();
  for (const char* name :
       {"bulwark_circuit_breaker_failure_ratio", "bulwark_circuit_breaker_slow_call_ratio"}) {
    INFO(name);
    const prometheus::MetricFamily* f = find(families, name);
    REQUIRE(f != nullptr);
    CHECK(f->type == prometheus::MetricType::Gauge);
    REQUIRE(f->metric.size() == 1);
    REQUIRE(f->metric[0].label.size() == 1);
    CHECK(f->metric[0].label[0].value == "payments");
  }
  CHECK(find(families, "bulwark_circuit_breaker_failure_ratio")->metric[0].gauge.value == 0.5);
}
