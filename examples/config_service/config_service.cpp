// A service that takes its guards from a JSON file and reloads it on SIGHUP or when the file
// changes (its modification time, polled), keeping each guard's state across reloads, and
// serves their metrics as Prometheus text.
//
//   config_service guards.json     serve: poll the file every second, reload on change or HUP
//   config_service                 the demo ctest runs: writes a file, changes it, checks
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <bulwark/balancing/round_robin.hpp>
#include <bulwark/config.hpp>
#include <bulwark/registry.hpp>
#include <chrono>
#include <csignal>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>
#include <string>
#include <thread>

namespace {

std::atomic<bool> hangup{false};
std::atomic<bool> stop{false};

extern "C" void on_signal(int signal) {
  (signal == SIGHUP ? hangup : stop).store(true);
}

std::string read_file(const std::string& path) {
  std::ifstream in{path};
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

// The file's modification time, to the nanosecond where the file system keeps it, and size:
// two writes within one second still differ.
std::pair<long long, long long> stamp(const std::string& path) {
  struct stat s {};
  if (::stat(path.c_str(), &s) != 0) return {0, 0};
  return {static_cast<long long>(s.st_mtim.tv_sec) * 1'000'000'000 + s.st_mtim.tv_nsec,
          static_cast<long long>(s.st_size)};
}

template <class Clock>
class service {
 public:
  service(std::string path, Clock clock) : path_{std::move(path)}, guards_{clock} {
    guards_.set_event_sink([](const bulwark::registry_event& e) {
      std::cout << "event: " << to_string(e.type) << " " << e.kind << " " << e.name << "\n";
    });
  }

  // Reloads if the file changed or a HUP arrived; a refused document changes nothing.
  bool poll() {
    const auto now = stamp(path_);
    if (now == seen_ && !hangup.exchange(false)) return false;
    seen_ = now;
    try {
      const auto changes = config_.apply(read_file(path_));
      std::cout << "reloaded: " << changes.created.size() << " created, "
                << changes.reconfigured.size() << " reconfigured, " << changes.removed.size()
                << " removed\n";
    } catch (const bulwark::config_error& e) {
      std::cout << "refused, nothing changed:\n" << e.what() << "\n";
    }
    return true;
  }

  bulwark::registry<Clock>& guards() { return guards_; }

 private:
  std::string path_;
  std::pair<long long, long long> seen_{};
  bulwark::registry<Clock> guards_;
  bulwark::registry_config<Clock> config_{guards_};
};

int admitted_of(bulwark::gcra<bulwark::manual_clock>& api, int requests) {
  int admitted = 0;
  for (int i = 0; i < requests; ++i)
    admitted += api.try_acquire() ? 1 : 0;
  return admitted;
}

void write(const std::string& path, const std::string& text) {
  std::ofstream{path} << text;
}

int demo() {
  const std::string path = (std::filesystem::temp_directory_path() /
                            ("bulwark_config_service_" + std::to_string(::getpid()) + ".json"))
                               .string();
  bulwark::manual_clock clock;
  service<bulwark::manual_clock> svc{path, clock};
  write(path, R"({"gcra_limiters": {"instances": {"api": {"rate": "10/s", "burst": 5}}},
                  "circuit_breakers": {"instances": {"payments": {"minimum_calls": 10}}},
                  "keyed_gcra_limiters": {"instances": {"per_client": {"rate": "1/s", "burst": 2}}},
                  "load_balancers": {"instances": {"backends": {"endpoints": [
                    {"id": "10.0.0.1:80"}, {"id": "10.0.0.2:80"}]}}}})");
  svc.poll();
  auto api = svc.guards().gcra("api");
  // A load balancer's policy comes with its first get; a request stays in flight on one member.
  auto backends = svc.guards().load_balancer<bulwark::round_robin>("backends");
  auto in_flight = backends->pick();
  std::cout << "burst 5: " << admitted_of(*api, 20) << " of 20 admitted\n";
  // A keyed limiter's key type comes with its first get: one limiter per client.
  auto per_client = svc.guards().keyed_gcra<std::string>("per_client");
  int alice = 0;
  for (int i = 0; i < 5; ++i)
    alice += per_client->try_acquire("alice") ? 1 : 0;
  std::cout << "per client, burst 2: alice " << alice << " of 5, bob "
            << (per_client->try_acquire("bob") ? "admitted" : "refused") << "\n";

  // An operator raises the burst; the service notices the file changed.
  clock.advance(std::chrono::seconds{1});  // the limiter refills its 5
  // The same edit gives the second backend three times the first's weight.
  const std::string backends_weighted = R"("load_balancers": {"instances": {"backends": {
    "endpoints": [{"id": "10.0.0.1:80"}, {"id": "10.0.0.2:80", "weight": 3}]}}})";
  write(path, R"({"gcra_limiters": {"instances": {"api": {"rate": "10/s", "burst": 12}}},
                  "circuit_breakers": {"instances": {"payments": {"minimum_calls": 10}}},
                  "keyed_gcra_limiters": {"instances": {"per_client": {"rate": "1/s", "burst": 2}}},)" +
                  backends_weighted + "}");
  svc.poll();
  std::cout << "burst 12: " << admitted_of(*api, 20)
            << " of 20 admitted (same limiter: " << (svc.guards().gcra("api") == api ? "yes" : "no")
            << ")\n";
  std::uint32_t outstanding = 0;  // the one request picked before the reload
  for (const auto* member : backends->snapshot()->members())
    outstanding += member->outstanding();
  std::cout << "backends: weight of 10.0.0.2:80 now "
            << backends->snapshot()->members()[1]->weight()
            << ", the request in flight kept: " << (outstanding == 1 ? "yes" : "no") << "\n";
  in_flight.success(std::chrono::milliseconds{1});

  // A bad edit is refused whole; SIGHUP asks for a reload without a file change.
  write(path, R"({"gcra_limiters": {"instances": {"api": {"rate": "10/s", "burst": 0}}}})");
  svc.poll();
  write(path, R"({"gcra_limiters": {"instances": {"api": {"rate": "10/s", "burst": 12}}},
                  "keyed_gcra_limiters": {"instances": {"per_client": {"rate": "1/s", "burst": 2}}},)" +
                  backends_weighted + "}");
  std::raise(SIGHUP);
  svc.poll();
  std::cout << "payments breaker listed: "
            << (svc.guards().contains(bulwark::registry_kind::circuit_breaker, "payments") ? "yes"
                                                                                           : "no")
            << "\n";
  std::filesystem::remove(path);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  std::signal(SIGHUP, on_signal);
  std::signal(SIGINT, on_signal);
  std::signal(SIGTERM, on_signal);
  if (argc < 2) return demo();
  service<bulwark::steady_clock> svc{argv[1], {}};
  while (!stop.load()) {
    if (svc.poll()) std::cout << bulwark::registry_prometheus_text(svc.guards()) << std::flush;
    std::this_thread::sleep_for(std::chrono::seconds{1});
  }
  return 0;
}
