// detail::invoke_then: call f, look at the result, return it exactly as f returned it. The
// guards' execute() (breaker, adaptive limiters, throttle, timeout, load balancer) rely on it
// to keep a void, a reference or a move-only value intact.

#include <memory>
#include <stdexcept>
#include <string>
#include <type_traits>
#include <utility>

#include "bulwark/detail/invoke_then.hpp"
#include "catch.hpp"

namespace detail = bulwark::detail;

TEST_CASE("invoke_then hands a void, reference or value result back unchanged", "[core]") {
  int seen = 0;
  const auto count = [&](const auto&...) { ++seen; };

  SECTION("void: then() with no argument") {
    bool ran = false;
    detail::invoke_then(
        [&](const auto&... r) {
          static_assert(sizeof...(r) == 0);
          seen = ran ? 1 : -1;
        },
        [&] { ran = true; });
    CHECK(seen == 1);
    static_assert(std::is_void_v<decltype(detail::invoke_then(count, [] {}))>);
  }
  SECTION("an lvalue reference stays the same object, not a copy") {
    int target = 5;
    decltype(auto) r = detail::invoke_then(count, [&]() -> int& { return target; });
    static_assert(std::is_same_v<decltype(r), int&>);
    r = 7;
    CHECK(target == 7);
    CHECK(seen == 1);
  }
  SECTION("an rvalue reference stays an rvalue reference") {
    std::string s = "kept";
    using result =
        decltype(detail::invoke_then(count, [&]() -> std::string&& { return std::move(s); }));
    static_assert(std::is_same_v<result, std::string&&>);
    std::string&& r = detail::invoke_then(count, [&]() -> std::string&& { return std::move(s); });
    CHECK(&r == &s);
  }
  SECTION("a move-only value is returned, and then sees it first") {
    int observed = 0;
    auto p = detail::invoke_then([&](const std::unique_ptr<int>& v) { observed = *v; },
                                 [](int x) { return std::make_unique<int>(x); }, 42);
    static_assert(std::is_same_v<decltype(p), std::unique_ptr<int>>);
    CHECK(observed == 42);
    REQUIRE(p);
    CHECK(*p == 42);
  }
  SECTION("then is not called when f throws") {
    CHECK_THROWS_AS(detail::invoke_then(count, []() -> int { throw std::runtime_error{"f"}; }),
                    std::runtime_error);
    CHECK(seen == 0);
  }
  SECTION("arguments are forwarded as given") {
    auto moved = std::make_unique<int>(3);
    const int got = detail::invoke_then(
        count, [](std::unique_ptr<int> p, int k) { return *p * k; }, std::move(moved), 5);
    CHECK(got == 15);
    CHECK(moved == nullptr);
  }
}
