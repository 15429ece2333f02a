#include <bulwark/bulkhead/limit_algorithms.hpp>
#include <bulwark/circuit_breaker/circuit_breaker.hpp>
#include <bulwark/compose/pipeline.hpp>
#include <bulwark/core/policy.hpp>
#include <bulwark/retry/executor.hpp>
#include <memory>
#include <stdexcept>
#include <string>

#include "catch.hpp"

namespace {

struct not_a_policy {
  int run(int (*f)()) { return f(); }
};

struct counting_policy {
  int calls = 0;
  template <class F, class... Args>
  decltype(auto) execute(F&& f, Args&&... args) {
    ++calls;
    return std::forward<F>(f)(std::forward<Args>(args)...);
  }
};

int answer() {
  return 42;
}

}  // namespace

TEST_CASE("the policy concept recognises guards by their execute", "[core]") {
  STATIC_REQUIRE(bulwark::policy<bulwark::passthrough>);
  STATIC_REQUIRE(bulwark::policy<counting_policy>);
  STATIC_REQUIRE_FALSE(bulwark::policy<not_a_policy>);
  STATIC_REQUIRE_FALSE(bulwark::policy<int>);
  STATIC_REQUIRE(bulwark::policy_for<bulwark::passthrough, int (*)(int, int), int, int>);
}

TEST_CASE("passthrough returns the result, forwards arguments and propagates exceptions",
          "[core]") {
  const bulwark::passthrough p;
  CHECK(p.execute(answer) == 42);
  CHECK(p.execute([](int a, int b) { return a * b; }, 6, 7) == 42);

  // Move-only arguments and results pass through untouched.
  auto owned = p.execute([](std::unique_ptr<int> v) { return v; }, std::make_unique<int>(7));
  REQUIRE(owned);
  CHECK(*owned == 7);

  // References come back as references, not copies.
  int target = 1;
  int& same = p.execute([&]() -> int& { return target; });
  CHECK(&same == &target);

  CHECK_THROWS_WITH(p.execute([]() -> int { throw std::runtime_error("backend down"); }),
                    "backend down");
}

// Every guard models policy (and its parts their concepts). The headers used to assert this
// themselves, which instantiated each guard's execute in every translation unit that included
// them; here it is checked once.
static_assert(bulwark::policy<bulwark::retry<>>);
static_assert(bulwark::policy<bulwark::circuit_breaker<>>);
static_assert(bulwark::policy<bulwark::pipeline<>>);
static_assert(bulwark::policy<bulwark::pipeline<bulwark::passthrough>>);
static_assert(bulwark::metrics_snapshot<bulwark::circuit_breaker_metrics>);
static_assert(bulwark::limit_algorithm<bulwark::aimd_limit>);
static_assert(bulwark::limit_algorithm<bulwark::gradient2_limit>);
