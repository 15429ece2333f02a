#pragma once
// Internals of bulwark::memory_store: the in-process hash of a scoped key, and the table of
// records each shard keeps (open addressing with linear probing over records at stable
// addresses, reused through a free list).

#include <bit>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "bulwark/core/clock.hpp"
#include "bulwark/core/hash.hpp"
#include "bulwark/core/siphash.hpp"
#include "bulwark/idempotency/store.hpp"

namespace bulwark::detail {

// One word from 1 to 8 bytes of p: two overlapping 4-byte loads for 4 to 8 bytes, the first,
// middle and last bytes for 1 to 3. No byte loop, no read outside [p, p + n).
inline std::uint64_t short_word(const char* p, std::size_t n) noexcept {
  if (n >= 4) {
    return std::uint64_t{load_le<std::uint32_t>(p)} |
           (std::uint64_t{load_le<std::uint32_t>(p + n - 4)} << 32);
  }
  const auto byte = [p](std::size_t i) { return std::uint64_t{static_cast<unsigned char>(p[i])}; };
  return byte(0) | (byte(n / 2) << 8) | (byte(n - 1) << 16);
}

// The hash of a scoped key inside this process: it picks the shard (top bits) and the table
// slot (low bits), and is never stored or sent anywhere. Keys come from clients, so it is
// SipHash-1-3 keyed from the store's seed (random unless set), as flood_resistant_hash hashes
// strings: an XXH64-style fold, even seeded, lets anyone build keys that collide in every store
// (core/siphash.hpp). The message is the scope's length as a little-endian word, the scope,
// then the key, written piece by piece (no string is built); the length first makes
// ("ab", "c") and ("a", "bc") different messages. Equality compares the bytes anyway, so a
// collision costs time, never a wrong answer.
inline std::uint64_t scoped_key_hash(std::string_view scope, std::string_view key,
                                     siphash_key hash_key) noexcept {
  sip_writer<1, 3> hash{hash_key};
  hash.write_u64(std::uint64_t{scope.size()});
  hash.write(scope);
  hash.write(key);
  return hash.finish();
}

// The same under the key of `seed` (the store derives its key once, at construction).
inline std::uint64_t scoped_key_hash(std::string_view scope, std::string_view key,
                                     std::uint64_t seed = 0) noexcept {
  return scoped_key_hash(scope, key, siphash_key_from_seed(seed));
}

// a[0, b.size()) == b, inline for short strings (keys and scopes mostly are), where a call to
// memcmp costs more than the comparison.
inline bool same_bytes(const char* a, std::string_view b) noexcept {
  const std::size_t n = b.size();
  if (n > 16) return std::memcmp(a, b.data(), n) == 0;
  if (n >= 8) {
    return load_le<std::uint64_t>(a) == load_le<std::uint64_t>(b.data()) &&
           load_le<std::uint64_t>(a + n - 8) == load_le<std::uint64_t>(b.data() + n - 8);
  }
  return n == 0 || short_word(a, n) == short_word(b.data(), n);
}

// One record of memory_store: a scoped key in progress (completed false) or completed.
template <class V>
struct idempotency_record {
  std::uint64_t hash = 0;  // scoped_key_hash(scope, key)
  std::string id;          // the scope, then the key: one buffer, reused when the record is
  std::size_t scope_size = 0;
  bool completed = false;
  std::uint64_t fingerprint = 0;
  std::uint64_t token = 0;
  time_point deadline{};  // the lease deadline in progress, the expiry once completed
  std::optional<stored_result<V>> result{};
  // Neighbours in the shard's completion order while completed (an intrusive list, so that
  // completing allocates nothing); `newer` links the table's free list once erased.
  idempotency_record* older = nullptr;
  idempotency_record* newer = nullptr;

  [[nodiscard]] std::string_view scope() const noexcept { return {id.data(), scope_size}; }
  [[nodiscard]] std::string_view key() const noexcept {
    return {id.data() + scope_size, id.size() - scope_size};
  }
  [[nodiscard]] bool is(std::uint64_t h, idempotency_key k) const noexcept {
    return hash == h && scope_size == k.scope.size() &&
           id.size() == k.scope.size() + k.key.size() && same_bytes(id.data(), k.scope) &&
           same_bytes(id.data() + scope_size, k.key);
  }
};

// The records of one shard: a power-of-two array of (hash, record*) slots with linear probing,
// at most 3/4 full, and deletion by backward shift (Knuth, TAOCP vol. 3, 6.4, Algorithm R), so
// no tombstones pile up under churn. Records sit at stable addresses (the completion list
// points at them); an erased one keeps its id buffer on a free list for the next insert, so a
// bounded store that evicts to insert stops allocating once warm. The free list never holds
// more than the table's peak size. Not thread-safe: the shard's mutex guards it.
template <class V>
class idempotency_table {
 public:
  using record = idempotency_record<V>;

  idempotency_table() = default;
  idempotency_table(const idempotency_table&) = delete;
  idempotency_table& operator=(const idempotency_table&) = delete;
  ~idempotency_table() {
    for (const slot& s : slots_)
      delete s.rec;
    while (free_ != nullptr)
      delete std::exchange(free_, free_->newer);
  }

  [[nodiscard]] std::size_t size() const noexcept { return size_; }

  // The record of k, or null. O(1) expected: the slots are compared by hash before any byte.
  [[nodiscard]] record* find(std::uint64_t hash, idempotency_key k) const noexcept {
    if (slots_.empty()) return nullptr;
    for (std::size_t i = hash & mask_;; i = (i + 1) & mask_) {
      const slot& s = slots_[i];
      if (s.rec == nullptr) return nullptr;
      if (s.hash == hash && s.rec->is(hash, k)) return s.rec;
    }
  }

  // Adds k (absent) as a fresh in-progress record and returns it. Strong guarantee: if an
  // allocation throws, the table is unchanged.
  record& insert(std::uint64_t hash, idempotency_key k) {
    if ((size_ + 1) * 4 > slots_.size() * 3) grow();
    std::unique_ptr<record> fresh;
    record* r = free_;
    if (r == nullptr) {
      fresh = std::make_unique<record>();
      r = fresh.get();
    }
    // The last step that may throw: a fresh record is then freed, a reused one stays free.
    r->id.reserve(k.scope.size() + k.key.size());
    if (fresh) {
      fresh.release();  // owned by its slot from here on
    } else {
      free_ = r->newer;
    }
    r->id.assign(k.scope).append(k.key);  // within the reserved capacity: no throw
    r->scope_size = k.scope.size();
    r->hash = hash;
    r->fingerprint = r->token = 0;
    r->deadline = {};  // expired until the store gives it a lease
    r->newer = nullptr;
    std::size_t i = hash & mask_;
    while (slots_[i].rec != nullptr)
      i = (i + 1) & mask_;
    slots_[i] = {hash, r};
    ++size_;
    return *r;
  }

  // Removes r (present): its result is destroyed now, its buffer kept for reuse.
  void erase(record& r) noexcept {
    std::size_t i = r.hash & mask_;
    while (slots_[i].rec != &r)
      i = (i + 1) & mask_;
    erase_at(i);
  }

  // Erases every record for which pred(record&) is true (pred may unlink it first); returns
  // how many. O(slots).
  template <class Pred>
  std::size_t erase_if(Pred pred) {
    std::size_t erased = 0;
    // A backward shift only moves a record into the hole at i or at a later slot (or, in a
    // cluster that wraps around the end, from the front, already visited, to the back), so
    // staying at i after an erase visits every record at least once and skips none.
    for (std::size_t i = 0; i < slots_.size();) {
      if (slots_[i].rec != nullptr && pred(*slots_[i].rec)) {
        erase_at(i);
        ++erased;
      } else {
        ++i;
      }
    }
    return erased;
  }

  // Calls f(record&) for every record. O(slots).
  template <class F>
  void for_each(F f) const {
    for (const slot& s : slots_)
      if (s.rec != nullptr) f(*s.rec);
  }

 private:
  struct slot {
    std::uint64_t hash = 0;
    record* rec = nullptr;
  };

  void erase_at(std::size_t hole) noexcept {
    record* r = slots_[hole].rec;
    // Algorithm R: walk the cluster after the hole; a record whose home slot is not
    // cyclically in (hole, j] would be cut off from its home by the hole, so it moves into it.
    for (std::size_t j = (hole + 1) & mask_; slots_[j].rec != nullptr; j = (j + 1) & mask_) {
      const std::size_t home = slots_[j].hash & mask_;
      const bool stays = hole <= j ? (hole < home && home <= j) : (hole < home || home <= j);
      if (stays) continue;
      slots_[hole] = slots_[j];
      hole = j;
    }
    slots_[hole] = {};
    --size_;
    r->result.reset();
    r->completed = false;
    r->older = nullptr;
    r->newer = std::exchange(free_, r);
  }

  void grow() {
    std::vector<slot> bigger(slots_.empty() ? 16 : slots_.size() * 2);
    const std::size_t mask = bigger.size() - 1;
    for (const slot& s : slots_) {
      if (s.rec == nullptr) continue;
      std::size_t i = s.hash & mask;
      while (bigger[i].rec != nullptr)
        i = (i + 1) & mask;
      bigger[i] = s;
    }
    slots_.swap(bigger);
    mask_ = mask;
  }

  std::vector<slot> slots_;
  std::size_t mask_ = 0;
  std::size_t size_ = 0;
  record* free_ = nullptr;
};

}  // namespace bulwark::detail
