// Fuzzes Vitess key range parsing (parse_keyspace_range, to_string), keyspace_router and the
// range_router edits over it. Input: text lines, each a key range, then (after a line
// "#") bytes decoding router edits and keyspace ids to route.
// Invariants: a parsed range prints back to a string that parses to the same range; a router
// that was built has ranges that cover the keyspace without gap or overlap, and every id is
// routed to the one range that contains it, before and after any accepted edit.

#include <bulwark/sharding/keyspace_range.hpp>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "fuzz_support.hpp"

namespace {

using router = bulwark::range_router<std::uint64_t>;

void check_router(const router& r, const std::vector<std::uint64_t>& ids) {
  const auto ranges = r.ranges();
  BULWARK_FUZZ_CHECK(!ranges.empty());
  BULWARK_FUZZ_CHECK(!ranges.front().start.has_value());
  BULWARK_FUZZ_CHECK(!ranges.back().end.has_value());
  for (std::size_t i = 0; i + 1 < ranges.size(); ++i) {
    BULWARK_FUZZ_CHECK(ranges[i].end.has_value() && ranges[i + 1].start.has_value());
    BULWARK_FUZZ_CHECK(*ranges[i].end == *ranges[i + 1].start);
    BULWARK_FUZZ_CHECK(!ranges[i].start || *ranges[i].start < *ranges[i].end);
  }
  for (const auto& e : ranges)
    BULWARK_FUZZ_CHECK(e.owner < r.shards().size());
  for (const std::uint64_t id : ids) {
    std::size_t holders = 0;
    std::size_t holder = 0;
    for (std::size_t i = 0; i < ranges.size(); ++i) {
      const bool in =
          (!ranges[i].start || id >= *ranges[i].start) && (!ranges[i].end || id < *ranges[i].end);
      if (in) {
        ++holders;
        holder = i;
      }
    }
    BULWARK_FUZZ_CHECK(holders == 1);
    BULWARK_FUZZ_CHECK(r.range_of(id) == holder);
    BULWARK_FUZZ_CHECK(r.shard_for(id) == ranges[holder].owner);
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view all{reinterpret_cast<const char*>(data), size};
  const std::size_t marker = all.find("\n#");
  const std::string_view text = all.substr(0, marker);
  const std::size_t ops = marker == std::string_view::npos ? size : marker + 2;
  bulwark_fuzz::input in{data + ops, size - ops};

  std::vector<std::string> lines;
  for (std::size_t start = 0; start <= text.size() && lines.size() < 64;) {
    const std::size_t end = std::min(text.find('\n', start), text.size());
    lines.emplace_back(text.substr(start, end - start));
    start = end + 1;
  }

  std::vector<std::uint64_t> ids{0, 1, std::numeric_limits<std::uint64_t>::max(),
                                 std::uint64_t{1} << 63};
  for (const std::string& line : lines) {
    try {
      const bulwark::keyspace_range range = bulwark::parse_keyspace_range(line);
      BULWARK_FUZZ_CHECK(!range.end || range.start < *range.end);
      const std::string canonical = bulwark::to_string(range);
      BULWARK_FUZZ_CHECK(bulwark::parse_keyspace_range(canonical) == range);
      BULWARK_FUZZ_CHECK(bulwark::to_string(bulwark::parse_keyspace_range(canonical)) == canonical);
      BULWARK_FUZZ_CHECK(range.contains(range.start));
      if (range.start > 0) BULWARK_FUZZ_CHECK(!range.contains(range.start - 1));
      if (range.end) {
        BULWARK_FUZZ_CHECK(range.contains(*range.end - 1) && !range.contains(*range.end));
        ids.push_back(*range.end - 1);
        ids.push_back(*range.end);
      }
      ids.push_back(range.start);
    } catch (const std::invalid_argument&) {
      // Rejected with the library's message: a valid outcome for malformed text.
    }
  }

  std::optional<router> r;
  try {
    r.emplace(bulwark::keyspace_router(std::span<const std::string>{lines}));
  } catch (const std::invalid_argument&) {
    return 0;
  }
  // The router must agree with the ranges as written: each shard's name parses to the range
  // the router gives it.
  for (const auto& e : r->ranges()) {
    const auto range = bulwark::parse_keyspace_range(r->shards()[e.owner]);
    BULWARK_FUZZ_CHECK(range.start == e.start.value_or(0));
    BULWARK_FUZZ_CHECK(range.end == e.end);
  }
  for (int i = 0; i < 8 && !in.empty(); ++i)
    ids.push_back(in.integer<std::uint64_t>());
  check_router(*r, ids);

  static const std::string names[] = {"a", "b", "c", "-80"};
  while (!in.empty()) {
    const std::uint8_t op = in.byte() % 6;
    const std::size_t range = in.byte() % (r->range_count() + 1);
    try {
      switch (op) {
        case 0:
          *r = r->split(in.integer<std::uint64_t>(),
                        in.byte() % 2 == 0 ? std::nullopt
                                           : std::optional<std::string_view>{names[in.byte() % 4]});
          break;
        case 1:
          *r = r->merge(range, range + 1,
                        in.byte() % 2 == 0 ? std::nullopt
                                           : std::optional<std::string_view>{names[in.byte() % 4]});
          break;
        case 2:
          *r = r->reassign(range, names[in.byte() % 4]);
          break;
        case 3:
          *r = r->begin_migration(range, names[in.byte() % 4]);
          break;
        case 4:
          *r = r->finish_migration(range);
          break;
        default:
          *r = r->cancel_migration(range);
          break;
      }
    } catch (const std::invalid_argument&) {
      // A refused edit leaves the router as it was.
    } catch (const std::out_of_range&) {
    }
    check_router(*r, ids);
    for (std::size_t i = 0; i < r->range_count(); ++i) {
      const auto route = r->route(r->range(i).start.value_or(0));
      BULWARK_FUZZ_CHECK(route.owner == r->range(i).owner);
      BULWARK_FUZZ_CHECK(route.migrating_to == r->range(i).migrating_to);
    }
  }
  return 0;
}
