#pragma once
// Maglev hashing: Eisenbud et al., "Maglev: A Fast and Reliable Software Network Load
// Balancer" (NSDI 2016), section 3.4 and pseudocode listing 1, with Envoy's weighting, so a
// table built here equals the table of an Envoy maglev load balancer over the same hosts.

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <numeric>
#include <span>
#include <string_view>
#include <vector>

#include "bulwark/core/hash.hpp"
#include "bulwark/hashing/detail/placement_base.hpp"
#include "bulwark/hashing/node.hpp"

namespace bulwark {

/// The order in which maglev's nodes take turns claiming table entries. The turn order
/// decides which node wins a contested entry, so two processes agree on the table only if
/// they use the same order.
enum class maglev_fill_order : std::uint8_t {
  /// Sorted by name, bytewise, as Envoy's MaglevTable::constructMaglevTableInternal sorts its
  /// hosts by hash key: the table depends only on the set of nodes, not on how it is listed.
  by_name,
  /// The order of the node list, as bulwark filled before it matched Envoy's sort. Kept so a
  /// fleet can roll an upgrade without two tables, or when the caller's order is canonical.
  as_listed,
};

/// Options of maglev; the defaults are the paper's and Envoy's table.
struct maglev_options {
  /// The lookup table's size M. Must be prime (the permutations below only cover the table
  /// when the skip is coprime with M) and should be much larger than the node count: the
  /// paper keeps M > 100 N, so that nodes' shares differ by at most about 1%.
  std::uint64_t table_size = 65537;
  /// Who takes the first turn; by_name is Envoy's table for any listing of the same hosts.
  maglev_fill_order fill_order = maglev_fill_order::by_name;
};

namespace detail {

/// Deterministic primality by trial division by 6k +- 1: at most sqrt(n) / 3 divisions, a few
/// microseconds for table sizes in the millions. Used only to validate options.
constexpr bool is_prime(std::uint64_t n) noexcept {
  if (n < 2) return false;
  if (n % 2 == 0) return n == 2;
  if (n % 3 == 0) return n == 3;
  for (std::uint64_t d = 5; d <= n / d; d += 6) {
    if (n % d == 0 || n % (d + 2) == 0) return false;
  }
  return true;
}

inline void validate(const maglev_options& options, std::span<const node> nodes) {
  check_nodes("maglev", nodes);
  const option_check check{"maglev"};
  check.that(is_prime(options.table_size), "table_size", "a prime", options.table_size);
  check.that(options.table_size < (std::uint64_t{1} << 32), "table_size", "< 2^32",
             options.table_size);
  check.that(options.fill_order == maglev_fill_order::by_name ||
                 options.fill_order == maglev_fill_order::as_listed,
             "fill_order", "by_name or as_listed", static_cast<int>(options.fill_order));
}

}  // namespace detail

/// A Maglev lookup table: M entries, each holding a node index, filled by letting the nodes
/// take turns claiming the next free slot of their own permutation of the table. A lookup is
/// one modulo and one load: table[h mod M].
///
/// Node i's permutation is offset_i + j * skip_i (mod M), j = 0, 1, ..., with
/// offset = XXH64(name, seed 0) mod M and skip = XXH64(name, seed 1) mod (M - 1) + 1, as Envoy
/// computes them (source/extensions/load_balancing_policies/maglev/maglev_lb.cc). The nodes
/// take turns in name order (options.fill_order), as Envoy sorts its hosts by hash key before
/// the fill; the table still holds indices into nodes(), which keeps the caller's order.
/// Weights follow Envoy too: normalised weights w_i, and in round r a node takes a turn only
/// when r * w_i >= its target, which then grows by max(w); a node of the largest weight takes
/// every turn, one of half that weight every other turn. With equal weights this is the
/// paper's listing 1 exactly.
///
/// Disruption: when a node leaves, its entries are refilled and a few others shift (the paper
/// measures about 1-2% extra at M = 65537); balance: every node's share of the table is
/// within about N / M of its weighted share. Thread-safety: immutable after construction;
/// every const member is safe from any thread. Memory: 4 bytes per entry (256 KiB by default).
/// Lookup: O(1). Build: O(M log M) expected (the paper's bound for the fill).
class maglev : public detail::placement_base<maglev, maglev_options> {
 public:
  static constexpr std::string_view component = "maglev";

  /// Throws std::invalid_argument for a bad node list, a table size that is not prime or of
  /// 2^32 or more, or a fill_order that is not one of the enumerators.
  explicit maglev(std::vector<node> nodes, maglev_options options = {})
      : placement_base{(detail::validate(options, nodes), std::move(nodes)), options} {
    build();
  }

  /// The index of the node owning key hash `h`: table[h mod M], as Envoy's chooseHost.
  /// O(1): one 64-bit modulo and one load.
  [[nodiscard]] std::size_t index_for_hash(std::uint64_t h) const noexcept {
    return table_[h % table_.size()];
  }

  /// Preference order: the owners of table entries h mod M, h mod M + 1, ... (wrapping),
  /// each node once.
  template <class Visit>
  void for_each_candidate(std::uint64_t h, Visit&& visit) const {
    visit_table_from(table(), static_cast<std::size_t>(h % table_.size()), visit);
  }

  /// The lookup table: table()[e] is the node index of entry e.
  [[nodiscard]] std::span<const std::uint32_t> table() const noexcept { return table_; }
  [[nodiscard]] std::size_t memory_bytes() const noexcept {
    return table_.capacity() * sizeof(std::uint32_t) + node_bytes();
  }

 private:
  static constexpr std::uint32_t empty = ~std::uint32_t{0};

  void build() {
    const std::uint64_t m = options_.table_size;
    const double total = static_cast<double>(total_weight());
    struct entry {
      std::uint32_t index;  // into nodes_, which is what the table records
      std::uint64_t offset;
      std::uint64_t skip;
      std::uint64_t next = 0;
      double weight;
      double target = 0.0;
    };
    // Envoy sorts (key, host, weight) tuples; names are unique here, so the key alone decides,
    // and std::string's < compares bytes as unsigned, as Envoy's absl::string_view does.
    std::vector<std::uint32_t> turns(nodes_.size());
    std::iota(turns.begin(), turns.end(), std::uint32_t{0});
    if (options_.fill_order == maglev_fill_order::by_name) {
      std::sort(turns.begin(), turns.end(),
                [&](std::uint32_t a, std::uint32_t b) { return nodes_[a].name < nodes_[b].name; });
    }
    std::vector<entry> entries;
    entries.reserve(nodes_.size());
    double max_weight = 0.0;
    for (const std::uint32_t i : turns) {
      const node& n = nodes_[i];
      const double w = static_cast<double>(n.weight) / total;
      max_weight = std::max(max_weight, w);
      entries.push_back({.index = i,
                         .offset = hash64(n.name) % m,
                         .skip = hash64(n.name, 1) % (m - 1) + 1,
                         .weight = w});
    }
    table_.assign(static_cast<std::size_t>(m), empty);
    std::uint64_t filled = 0;
    for (std::uint64_t round = 1; filled < m; ++round) {
      for (std::size_t i = 0; i < entries.size() && filled < m; ++i) {
        entry& e = entries[i];
        // Envoy's weighting: compare the round's allowance with the node's target. Computed
        // as Envoy computes it (a double product against a running double sum), so the
        // turns, and therefore the table, are the same bit for bit.
        if (static_cast<double>(round) * e.weight < e.target) continue;
        e.target += max_weight;
        // Listing 1: the node's next preferred entry that is still free. skip < M and M is
        // prime, so the permutation visits every entry and a free one is always found.
        std::uint64_t c = (e.offset + e.skip * e.next) % m;
        while (table_[c] != empty) {
          ++e.next;
          c = (e.offset + e.skip * e.next) % m;
        }
        table_[c] = e.index;
        ++e.next;
        ++filled;
      }
    }
  }

  std::vector<std::uint32_t> table_;
};

}  // namespace bulwark
