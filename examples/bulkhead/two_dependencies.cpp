// Two dependencies, each behind its own bulkhead, in one pipeline per call path: when the
// recommendations service hangs, its bulkhead fills and refuses at once, and the fallback
// serves a default, while payments keep their own slots and go through untouched.
#include <bulwark/bulkhead.hpp>
#include <bulwark/compose.hpp>
#include <chrono>
#include <cstdio>
#include <string>

using namespace std::chrono_literals;

int main() {
  bulwark::bulkhead payments({.max_concurrent = 4});
  bulwark::bulkhead recommendations({.max_concurrent = 2});

  // Outermost first: the fallback sees the bulkhead's refusal (a bulwark::rejected).
  bulwark::fallback popular_items(
      [](const bulwark::rejected&) { return std::string{"popular items (fallback)"}; });
  bulwark::pipeline recommend(popular_items, recommendations);
  bulwark::pipeline pay(payments);

  // Simulate a hang: every slot of the recommendations bulkhead is held by a stuck call.
  auto stuck1 = recommendations.try_acquire();
  auto stuck2 = recommendations.try_acquire();

  const std::string shown = recommend.execute([] { return std::string{"personalised"}; });
  std::printf("recommendations: %s\n", shown.c_str());

  const int receipt = pay.execute([](int order) { return 1000 + order; }, 42);
  std::printf("payment: receipt %d\n", receipt);

  const auto m = recommendations.metrics();
  std::printf("recommendations bulkhead: %u in flight, %llu rejected\n", m.in_flight,
              static_cast<unsigned long long>(m.rejected));
  std::printf("payments bulkhead: %u in flight, %llu rejected\n", payments.metrics().in_flight,
              static_cast<unsigned long long>(payments.metrics().rejected));
  return shown == "popular items (fallback)" && receipt == 1042 ? 0 : 1;
}
