// detail::published: the one snapshot publication (hashing's placement, sharding's
// live_router, the load balancer's endpoint set, replica_selector's topology).

#include <memory>
#include <stdexcept>
#include <vector>

#include "bulwark/detail/published.hpp"
#include "catch.hpp"

namespace detail = bulwark::detail;

TEST_CASE("published: a reader keeps the value it loaded across a store", "[core]") {
  detail::published<std::vector<int>> current{std::make_shared<const std::vector<int>>(3, 7)};
  const auto before = current.load();
  current.store(std::make_shared<const std::vector<int>>(1, 9));
  CHECK(*before == std::vector<int>{7, 7, 7});  // still alive and unchanged
  CHECK(*current.load() == std::vector<int>{9});
}

TEST_CASE("published: update builds from the current value, a throwing one publishes nothing",
          "[core]") {
  detail::published<int> current{std::make_shared<const int>(1)};
  current.update([](const int& now) { return now + 1; });
  current.update([](const int& now) { return now * 10; });
  CHECK(*current.load() == 20);
  const auto before = current.load();
  CHECK_THROWS_AS(current.update([](const int&) -> int { throw std::runtime_error{"no"}; }),
                  std::runtime_error);
  CHECK(current.load() == before);  // the same object, not a copy
  detail::published<int> empty{nullptr};
  CHECK(empty.load() == nullptr);
}
