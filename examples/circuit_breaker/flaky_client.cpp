// A circuit breaker around a flaky client: the client fails every call for a while, the
// breaker opens and fails fast instead of waiting on it, then probes and closes once the
// client recovers. Runs in virtual time (bulwark::manual_clock), so it finishes at once.
#include <bulwark/circuit_breaker.hpp>
#include <chrono>
#include <cstdio>
#include <stdexcept>
#include <string>

using namespace std::chrono_literals;

namespace {

// Stands in for a network client: broken between 10s and 40s of virtual time.
class flaky_client {
 public:
  explicit flaky_client(bulwark::manual_clock clock) : clock_{clock}, start_{clock.now()} {}
  std::string get(const std::string& key) {
    const auto t = clock_.now() - start_;
    if (t >= 10s && t < 40s) throw std::runtime_error{"connection refused"};
    return "value of " + key;
  }

 private:
  bulwark::manual_clock clock_;
  bulwark::time_point start_;
};

}  // namespace

int main() {
  bulwark::manual_clock clock;
  flaky_client client{clock};
  bulwark::circuit_breaker breaker({.window_size = 20,
                                    .minimum_calls = 10,
                                    .wait_in_open = 5s,
                                    .wait_in_open_multiplier = 2.0,
                                    .max_wait_in_open = 20s,
                                    .permitted_calls_in_half_open = 3,
                                    .on_transition =
                                        [](const bulwark::circuit_breaker_transition& t) {
                                          std::printf("  transition %s -> %s (%s)\n",
                                                      std::string{to_string(t.from)}.c_str(),
                                                      std::string{to_string(t.to)}.c_str(),
                                                      std::string{to_string(t.reason)}.c_str());
                                        }},
                                   clock);

  int ok = 0, failed = 0, refused = 0;
  for (int second = 0; second < 60; ++second) {
    for (int i = 0; i < 10; ++i) {  // 10 calls a second
      try {
        breaker.execute([&] { return client.get("user:42"); });
        ++ok;
      } catch (const bulwark::circuit_open&) {
        ++refused;  // failed fast: the client was not even called
      } catch (const std::runtime_error&) {
        ++failed;
      }
      clock.advance(100ms);
    }
    if (second % 10 == 9)
      std::printf("t=%2ds state=%-9s ok=%d failed=%d refused=%d\n", second + 1,
                  std::string{to_string(breaker.state())}.c_str(), ok, failed, refused);
  }
  const auto m = breaker.metrics();
  std::printf("final state %s, %llu calls refused without touching the client\n",
              std::string{to_string(m.state)}.c_str(),
              static_cast<unsigned long long>(m.not_permitted_calls));
  return m.state == bulwark::circuit_state::closed ? 0 : 1;
}
