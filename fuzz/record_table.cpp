// Fuzzes detail::idempotency_table (the open-addressed table of memory_store) against a
// std::unordered_map model, with operations decoded from the input: insert, find, erase,
// erase_if, for_each, over few short keys and a hash that may be weakened (few distinct values,
// or equal low bits) so that probe clusters form, wrap around the array's end, and are cut by
// backward-shift deletion.
// Invariants: find answers exactly the model's record (the same address: records never move);
// size() is the model's size; a record keeps the token it was given; erase_if erases exactly
// the records the predicate chose, and for_each visits exactly the records held.

#include <bulwark/idempotency/detail/record_table.hpp>
#include <cstddef>
#include <cstdint>
#include <string>
#include <unordered_map>

#include "fuzz_support.hpp"

namespace {

using table_type = bulwark::detail::idempotency_table<std::string>;
using record = table_type::record;

struct entry {
  record* rec;
  std::uint64_t token;
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  bulwark_fuzz::input in{data, size};
  const std::uint8_t weakening = in.byte() % 4;
  const auto hash_of = [weakening](std::string_view scope, std::string_view key) {
    const std::uint64_t h = bulwark::detail::scoped_key_hash(scope, key);
    switch (weakening) {
      case 0:
        return h;
      case 1:
        return h & 3U;  // four homes: long clusters
      case 2:
        return h | 0xFFFFU;  // every home is the last slot: clusters wrap around
      default:
        return h & ~std::uint64_t{0xFFFF};  // every home is slot 0
    }
  };
  table_type table;
  std::unordered_map<std::string, entry> model;
  std::uint64_t next_token = 1;

  while (!in.empty()) {
    const std::uint8_t op = in.byte() % 5;
    // Scopes and keys from a small alphabet, so that operations meet the same keys again.
    const std::string scope(in.byte() % 3, 's');
    const std::string key = std::to_string(in.byte() % 48);
    const std::string id = std::to_string(scope.size()) + ":" + scope + key;
    const std::uint64_t h = hash_of(scope, key);
    const bulwark::idempotency_key k{scope, key};
    record* found = table.find(h, k);
    const auto known = model.find(id);
    BULWARK_FUZZ_CHECK(found == (known == model.end() ? nullptr : known->second.rec));
    if (found != nullptr) {
      BULWARK_FUZZ_CHECK(found->scope() == scope && found->key() == key);
      BULWARK_FUZZ_CHECK(found->token == known->second.token);
    }
    switch (op) {
      case 0:
      case 1:
        if (found == nullptr) {
          record& r = table.insert(h, k);
          r.token = next_token;
          model[id] = {&r, next_token++};
        }
        break;
      case 2:
        if (found != nullptr) {
          table.erase(*found);
          model.erase(known);
        }
        break;
      case 3: {
        const std::uint64_t bit = std::uint64_t{1} << (in.byte() % 4);
        const std::size_t erased =
            table.erase_if([bit](const record& r) { return (r.token & bit) != 0; });
        std::size_t expected = 0;
        for (auto it = model.begin(); it != model.end();) {
          if ((it->second.token & bit) != 0) {
            it = model.erase(it);
            ++expected;
          } else {
            ++it;
          }
        }
        BULWARK_FUZZ_CHECK(erased == expected);
        break;
      }
      default: {
        const std::uint64_t want = in.byte() % 16;
        const record* r = nullptr;  // the first record for_each visits that the predicate takes
        table.for_each([&](const record& x) {
          if (r == nullptr && x.token % 16 == want) r = &x;
        });
        bool any = false;
        for (const auto& [name, e] : model)
          any = any || e.token % 16 == want;
        BULWARK_FUZZ_CHECK((r != nullptr) == any);
        if (r != nullptr) BULWARK_FUZZ_CHECK(r->token % 16 == want);
        break;
      }
    }
    BULWARK_FUZZ_CHECK(table.size() == model.size());
  }
  // Every record the model holds is still found, at its address.
  for (const auto& [name, e] : model) {
    const std::string_view scope = e.rec->scope();
    const std::string_view key = e.rec->key();
    BULWARK_FUZZ_CHECK(table.find(hash_of(scope, key), {scope, key}) == e.rec);
  }
  return 0;
}
