// Fuzzes slot_router (Redis Cluster slots): construction from decoded slot ranges or evenly(),
// then assign / begin_migration / finish_migration / cancel_migration edits, and key routing.
// Invariants: slots() lists ranges that cover 0..16383 exactly once in order, minimal (no two
// neighbours equal); shard_for_slot and route agree with that listing for every slot; a key
// goes to the owner of redis_key_slot(key), a slot in [0, 16383].

#include <bulwark/sharding/slot_router.hpp>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include "fuzz_support.hpp"

namespace {

const std::string names[] = {"a", "b", "c", "d", "e", ""};

void check_router(const bulwark::slot_router& r, const std::vector<std::string>& keys) {
  const auto listing = r.slots();
  BULWARK_FUZZ_CHECK(!listing.empty());
  std::uint32_t next = 0;
  for (std::size_t i = 0; i < listing.size(); ++i) {
    const auto& range = listing[i];
    BULWARK_FUZZ_CHECK(range.first == next && range.first <= range.last);
    BULWARK_FUZZ_CHECK(!range.owner.empty() && range.owner != range.migrating_to);
    if (i > 0) {
      BULWARK_FUZZ_CHECK(listing[i - 1].owner != range.owner ||
                         listing[i - 1].migrating_to != range.migrating_to);
    }
    next = std::uint32_t{range.last} + 1;
  }
  BULWARK_FUZZ_CHECK(next == bulwark::redis_cluster_slots);
  const auto shards = r.shards();
  std::size_t at = 0;
  for (std::uint32_t slot = 0; slot < bulwark::redis_cluster_slots; ++slot) {
    if (slot > listing[at].last) ++at;
    const std::size_t owner = r.shard_for_slot(static_cast<std::uint16_t>(slot));
    BULWARK_FUZZ_CHECK(owner < shards.size() && shards[owner] == listing[at].owner);
  }
  for (const std::string& key : keys) {
    const std::uint16_t slot = bulwark::redis_key_slot(key);
    BULWARK_FUZZ_CHECK(slot < bulwark::redis_cluster_slots);
    BULWARK_FUZZ_CHECK(r.shard_for(key) == r.shard_for_slot(slot));
    const bulwark::shard_route route = r.route(key);
    BULWARK_FUZZ_CHECK(route.owner == r.shard_for(key));
    for (const auto& range : listing) {
      if (slot < range.first || slot > range.last) continue;
      BULWARK_FUZZ_CHECK(route.migrating() == !range.migrating_to.empty());
      if (route.migrating()) BULWARK_FUZZ_CHECK(shards[route.migrating_to] == range.migrating_to);
    }
    // A hash tag, when there is one, is a part of the key and hashes alone.
    const std::string_view tag = bulwark::redis_hash_tag(key);
    BULWARK_FUZZ_CHECK(tag.data() >= key.data() &&
                       tag.data() + tag.size() <= key.data() + key.size());
    BULWARK_FUZZ_CHECK(bulwark::redis_key_slot(key) == (bulwark::crc16_xmodem(tag) & 16383U));
  }
}

std::uint16_t slot_of(bulwark_fuzz::input& in) {
  // Mostly valid slots, sometimes past the last one (which must be refused).
  return static_cast<std::uint16_t>(in.integer<std::uint16_t>() % 16400U);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  bulwark_fuzz::input in{data, size};
  std::optional<bulwark::slot_router> r;
  try {
    if (in.byte() % 2 == 0) {
      std::vector<std::string> shards;
      const std::size_t n = in.byte() % 8;
      for (std::size_t i = 0; i < n; ++i)
        shards.push_back(names[in.byte() % 6]);
      r.emplace(bulwark::slot_router::evenly(std::span<const std::string>{shards}));
    } else {
      std::vector<bulwark::slot_range> ranges;
      const std::size_t n = in.byte() % 8;
      for (std::size_t i = 0; i < n; ++i) {
        bulwark::slot_range range;
        range.first = slot_of(in);
        range.last = slot_of(in);
        range.owner = names[in.byte() % 6];
        if (in.byte() % 8 == 0) range.migrating_to = names[in.byte() % 6];
        ranges.push_back(range);
      }
      r.emplace(std::move(ranges));
    }
  } catch (const std::invalid_argument&) {
    return 0;
  }
  std::vector<std::string> keys;
  for (int i = 0; i < 4; ++i)
    keys.push_back(in.text(24));
  check_router(*r, keys);

  for (int step = 0; step < 32 && !in.empty(); ++step) {
    const std::uint8_t op = in.byte() % 4;
    const std::uint16_t first = slot_of(in);
    const std::uint16_t last = slot_of(in);
    try {
      switch (op) {
        case 0:
          *r = r->assign(first, last, names[in.byte() % 6]);
          break;
        case 1:
          *r = r->begin_migration(first, last, names[in.byte() % 6]);
          break;
        case 2:
          *r = r->finish_migration(first, last);
          break;
        default:
          *r = r->cancel_migration(first, last);
          break;
      }
    } catch (const std::invalid_argument&) {
      // Refused: the router is unchanged, and checked again below.
    }
    check_router(*r, keys);
  }
  return 0;
}
