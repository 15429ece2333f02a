// replica_selector against MongoDB's published server selection tests (github.com/mongodb/
// specifications): source/server-selection/tests/server_selection/ReplicaSet{WithPrimary,
// NoPrimary}/read/*.json, source/max-staleness/tests/ReplicaSet{WithPrimary,NoPrimary}/*.json
// and source/server-selection/tests/rtt/*.json, tabled in mongodb_spec/cases.inc (its header
// lists the files skipped and why). Expected sets are the files' own; nothing here comes from
// running bulwark.

#include <algorithm>
#include <bulwark/balancing/replica_selector.hpp>
#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "catch.hpp"

namespace {

struct spec_server {
  std::string address;
  std::string
      type;  // RSPrimary, RSSecondary, RSArbiter, RSOther, RSGhost, PossiblePrimary, Unknown
  std::optional<double> avg_rtt_ms;
  bulwark::tag_set tags;
  std::optional<std::int64_t> last_update_ms;  // lastUpdateTime
  std::optional<std::int64_t> last_write_ms;   // lastWrite.lastWriteDate
};

struct spec_case {
  std::string file;
  std::optional<std::int64_t> heartbeat_ms;  // heartbeatFrequencyMS
  bool with_primary;                         // topology type ReplicaSetWithPrimary
  std::vector<spec_server> servers;
  std::string mode;
  std::vector<bulwark::tag_set> tag_sets;
  std::optional<std::int64_t> max_staleness_s;  // maxStalenessSeconds, -1 already mapped to none
  bool error;
  std::vector<std::string> suitable;
  std::vector<std::string> in_latency_window;
};

struct spec_rtt_case {
  std::string file;
  std::optional<double> avg_rtt_ms;  // "NULL": no average yet
  double new_rtt_ms;
  double new_avg_rtt;
};

#include "mongodb_spec/cases.inc"

using selector = bulwark::replica_selector<std::uint64_t, bulwark::manual_clock>;
using namespace std::chrono_literals;

bulwark::duration ms(double v) {
  return std::chrono::round<bulwark::duration>(std::chrono::duration<double, std::milli>{v});
}

bulwark::read_mode mode_of(const std::string& mode) {
  if (mode == "Primary") return bulwark::read_mode::primary;
  if (mode == "PrimaryPreferred") return bulwark::read_mode::primary_preferred;
  if (mode == "Secondary") return bulwark::read_mode::secondary;
  if (mode == "SecondaryPreferred") return bulwark::read_mode::secondary_preferred;
  REQUIRE(mode == "Nearest");
  return bulwark::read_mode::nearest;
}

std::vector<std::string> sorted(std::vector<std::string> v) {
  std::sort(v.begin(), v.end());
  return v;
}

// The spec's topology as a selector. bulwark always has a primary slot: a ReplicaSetNoPrimary
// topology gets a placeholder primary marked down. bulwark has no server types, so members
// that cannot serve reads (arbiters, RSOther, ghosts, PossiblePrimary, Unknown) are marked
// down, which is how a caller reports a member it may not read from.
std::unique_ptr<selector> build(const spec_case& c, bulwark::manual_clock& clock) {
  const spec_server* primary = nullptr;
  std::vector<bulwark::replica> replicas;
  for (const auto& s : c.servers) {
    if (s.type == "RSPrimary") {
      REQUIRE(c.with_primary);
      primary = &s;
    } else {
      replicas.push_back({.id = s.address, .tags = s.tags});
    }
  }
  REQUIRE(c.with_primary == (primary != nullptr));
  bulwark::replica first = primary ? bulwark::replica{.id = primary->address, .tags = primary->tags}
                                   : bulwark::replica{.id = "(no primary)"};
  auto built = std::make_unique<selector>(
      std::move(first), std::move(replicas),
      bulwark::replica_selector_options{
          .heartbeat_frequency = std::chrono::milliseconds{c.heartbeat_ms.value_or(10'000)}},
      clock);
  selector& s = *built;
  if (!primary) s.mark_down("(no primary)");
  // Reports in lastUpdateTime order: each is stamped with the clock's now. A server with a
  // lastWriteDate but no lastUpdateTime (OneKnownTwoUnavailable.json) is taken as updated at
  // time 0; only the no-primary formula, which does not read lastUpdateTime, meets one.
  std::vector<const spec_server*> by_update;
  const auto start = clock.now();
  for (const auto& m : c.servers) {
    if (m.type != "RSPrimary" && m.type != "RSSecondary") s.mark_down(m.address);
    if (m.avg_rtt_ms) s.report_rtt(m.address, ms(*m.avg_rtt_ms));
    if (m.last_write_ms) by_update.push_back(&m);
  }
  std::sort(by_update.begin(), by_update.end(), [](const auto* a, const auto* b) {
    return a->last_update_ms.value_or(0) < b->last_update_ms.value_or(0);
  });
  for (const auto* m : by_update) {
    clock.set(start + std::chrono::milliseconds{m->last_update_ms.value_or(0)});
    s.report_position(m->address, 0, start + std::chrono::milliseconds{*m->last_write_ms});
  }
  return built;
}

}  // namespace

// Every file's "suitable_servers" and "in_latency_window" (server-selection/tests/README.md,
// "Server Selection Logic Tests"; max-staleness/tests/README.md), or its "error: true".
TEST_CASE("MongoDB server selection and max staleness spec tests for replica sets", "[balancing]") {
  REQUIRE(spec_cases.size() == 55);  // the files the table holds: a regenerated table changes it
  bulwark::fast_rng rng{7};
  for (const auto& c : spec_cases) {
    INFO(c.file);
    bulwark::manual_clock clock;
    const auto built = build(c, clock);
    selector& s = *built;
    bulwark::read_preference pref{.mode = mode_of(c.mode), .tag_sets = c.tag_sets};
    if (c.max_staleness_s) pref.max_staleness = std::chrono::seconds{*c.max_staleness_s};
    if (c.error) {
      CHECK_THROWS_AS(s.suitable(pref), std::invalid_argument);
      CHECK_THROWS_AS(s.select_read(pref, rng), std::invalid_argument);
      continue;
    }
    CHECK(sorted(s.suitable(pref)) == sorted(c.suitable));
    const auto window = sorted(s.latency_window(pref));
    CHECK(window == sorted(c.in_latency_window));
    // select_read picks inside that window, or finds nothing when it is empty.
    const auto h = s.select_read(pref, rng);
    CHECK(static_cast<bool>(h) == !window.empty());
    if (h) CHECK(std::binary_search(window.begin(), window.end(), h.id()));
  }
}

// server-selection/tests/rtt/*.json: the EWMA with alpha 0.2 of server-selection.md,
// "Calculation of Average Round Trip Times"; "NULL" means no average yet.
TEST_CASE("MongoDB rtt spec tests, the average RTT with alpha 0.2", "[balancing]") {
  REQUIRE(spec_rtt_cases.size() == 7);
  for (const auto& c : spec_rtt_cases) {
    INFO(c.file);
    selector s{{.id = "a"}, {}};
    CHECK_FALSE(s.average_rtt("a"));
    if (c.avg_rtt_ms) s.report_rtt("a", ms(*c.avg_rtt_ms));
    s.report_rtt("a", ms(c.new_rtt_ms));
    CHECK(s.average_rtt("a") == ms(c.new_avg_rtt));
  }
}
