// named_policy: each name picks exactly as the policy type it names (same draws, same loads,
// same latencies), an unknown name is refused with the list of names, and completions feed the
// latency estimates only for p2c_peak_ewma; inside locality_aware (made by its make_policy),
// likewise in every locality.

#include <bulwark/balancing/load_balancer.hpp>
#include <bulwark/balancing/locality_aware.hpp>
#include <bulwark/balancing/named_policy.hpp>
#include <chrono>
#include <cstddef>
#include <deque>
#include <string>
#include <type_traits>
#include <utility>
#include <variant>
#include <vector>

#include "catch.hpp"

using namespace std::chrono_literals;

namespace {

// 400 picks over four weighted endpoints, on a manual clock that moves 1ms a pick. Each pick
// is held for 5 picks and then completed, a success taking a latency that depends on the
// endpoint ("c" is slow): so load-aware and latency-aware policies see loads that move. With
// `keyed`, every fourth pick carries a sticky key (pick_for draws from thread_rng(), so only a
// run whose keyed picks draw nothing, sticky's, repeats). Returns the ids picked, one letter
// each.
// `zoned`: "a" and "b" in zone x, "c" and "d" in zone y.
template <class Policy>
std::string picks(Policy policy, bool keyed = false, bool zoned = false) {
  bulwark::manual_clock clock;
  bulwark::fast_rng rng{7};
  const char* x = zoned ? "x" : "";
  const char* y = zoned ? "y" : "";
  bulwark::load_balancer<Policy, bulwark::manual_clock> lb({{.id = "a", .zone = x},
                                                            {.id = "b", .weight = 3, .zone = x},
                                                            {.id = "c", .weight = 2, .zone = y},
                                                            {.id = "d", .zone = y}},
                                                           {.ewma_window = 1s}, std::move(policy),
                                                           clock);
  std::deque<bulwark::endpoint_handle> held;
  std::string out;
  for (int i = 0; i < 400; ++i) {
    clock.advance(1ms);
    auto h = keyed && i % 4 == 3 ? lb.pick_for(static_cast<std::uint64_t>(i)) : lb.pick(rng);
    out += h.id();
    held.push_back(std::move(h));
    if (held.size() > 5) {
      const bool slow = held.front().id() == "c";
      held.front().success(slow ? 40ms : 5ms);
      held.pop_front();
    }
  }
  return out;
}

template <std::size_t... I>
void check_each_name(std::index_sequence<I...>) {
  (
      [] {
        using type = std::variant_alternative_t<I, bulwark::detail::named_policies>;
        const std::string_view name = bulwark::named_policy::names()[I];
        INFO(name);
        const bulwark::named_policy chosen{name};
        CHECK(chosen.name() == name);
        CHECK(bulwark::detail::policy_name<type>() == name);
        CHECK(chosen.observes_latency() == bulwark::detail::uses_latency_v<type>);
        const bool keyed = std::is_same_v<type, bulwark::sticky>;
        CHECK(picks(bulwark::named_policy{name}, keyed) == picks(type{}, keyed));
      }(),
      ...);
}

}  // namespace

TEST_CASE("named_policy picks exactly as the policy it names", "[balancing]") {
  check_each_name(std::make_index_sequence<std::variant_size_v<bulwark::detail::named_policies>>{});
  // The runs differ between policies, so equal runs above are not all one run.
  CHECK(picks(bulwark::round_robin{}) != picks(bulwark::p2c_peak_ewma{}));
  CHECK(picks(bulwark::p2c_peak_ewma{}) != picks(bulwark::power_of_two{}));
  CHECK(bulwark::named_policy{}.name() == "round_robin");
  CHECK(bulwark::detail::policy_name<bulwark::named_policy>().empty());
}

TEST_CASE("named_policy refuses an unknown name, listing the names", "[balancing]") {
  CHECK_THROWS_AS(bulwark::named_policy{"RoundRobin"}, std::invalid_argument);
  CHECK_THROWS_WITH(bulwark::named_policy{""},
                    "bulwark::load_balancer: policy must be one of round_robin, random_choice, "
                    "weighted_round_robin, stride_round_robin, weighted_random, "
                    "least_outstanding, power_of_two, p2c_peak_ewma, sticky (got \"\")");
}

TEST_CASE("completions feed latency estimates only for a latency-aware named policy",
          "[balancing]") {
  const auto estimate_after_one_call = [](std::string_view name) {
    bulwark::manual_clock clock;
    bulwark::load_balancer<bulwark::named_policy, bulwark::manual_clock> lb(
        {{.id = "a"}}, {}, bulwark::named_policy{name}, clock);
    lb.pick().success(20ms);
    return lb.snapshot()->members()[0]->latency_estimate(clock.now(), 10s);
  };
  CHECK(estimate_after_one_call("p2c_peak_ewma") == Approx(2e7));  // 20ms in ns
  CHECK(estimate_after_one_call("power_of_two") == 0.0);
}

TEST_CASE("locality_aware runs the policy a name chose in every locality", "[balancing]") {
  // Zone y weighs twice zone x: each pick draws a zone, then the named policy picks inside it,
  // exactly as the same policy type does when locality_aware default-constructs it.
  bulwark::locality_options o;
  o.locality_weights = {{{.zone = "x"}, 1}, {{.zone = "y"}, 2}};
  for (const std::string name : {"round_robin", "least_outstanding", "p2c_peak_ewma"}) {
    INFO(name);
    const bulwark::locality_aware<bulwark::named_policy> named{
        o, [name] { return bulwark::named_policy{name}; }};
    CHECK(named.observes_latency() == (name == "p2c_peak_ewma"));
  }
  using named_zones = bulwark::locality_aware<bulwark::named_policy>;
  const auto named = [&](std::string_view name) {
    return named_zones{o, [name] { return bulwark::named_policy{name}; }};
  };
  const std::string rr = picks(bulwark::locality_aware<bulwark::round_robin>{o}, false, true);
  CHECK(picks(named("round_robin"), false, true) == rr);
  CHECK(picks(named("least_outstanding"), false, true) ==
        picks(bulwark::locality_aware<bulwark::least_outstanding>{o}, false, true));
  const std::string ewma = picks(bulwark::locality_aware<bulwark::p2c_peak_ewma>{o}, false, true);
  CHECK(picks(named("p2c_peak_ewma"), false, true) == ewma);
  CHECK(ewma != rr);
  // Default-constructed, the inner policies would all be round_robin.
  CHECK(picks(named_zones{o}, false, true) == rr);
}

TEST_CASE("locality_aware refuses an empty make_policy", "[balancing]") {
  CHECK_THROWS_WITH(bulwark::locality_aware<bulwark::named_policy>({}, {}),
                    "bulwark::locality_aware: make_policy must be a function (got an empty one)");
}
