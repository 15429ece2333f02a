#pragma once
// Consistent hashing with bounded loads: Mirrokni, Thorup and Zadimoghaddam, "Consistent
// Hashing with Bounded Loads" (SODA 2018, arXiv:1608.01350), with HAProxy's slot arithmetic
// (hash-balance-factor, chash_server_is_eligible in src/lb_chash.c).

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <numeric>
#include <span>
#include <string_view>
#include <utility>
#include <vector>

#include "bulwark/core/hash.hpp"
#include "bulwark/hashing/node.hpp"

namespace bulwark {

/// Options of bounded_load; the factor is HAProxy's hash-balance-factor.
struct bounded_load_options {
  /// The cap on a node's load, in percent of its weighted share of the load: 125 lets a node
  /// carry 1.25 x its share (rounded up) before keys overflow to the next candidate. HAProxy
  /// accepts 100 and above (it documents 125 as a good start); 100 is perfect balance, at the
  /// price of moving many keys off their first choice.
  std::uint32_t balance_factor = 125;
};

namespace detail {
inline void validate(const bounded_load_options& options) {
  option_check{"bounded_load"}.at_least("balance_factor", options.balance_factor,
                                        std::uint32_t{100});
}
}  // namespace detail

/// A decorator over any placement algorithm that keeps every node's load within
/// balance_factor% of its weighted share (the paper's c = balance_factor / 100): a key goes to
/// the first node, in the algorithm's preference order for its hash, whose load is under its
/// slot count; if every node is full it goes to the first (HAProxy does the same).
///
/// Slots are HAProxy's: with L the total outstanding load, the slots to share are
/// T = ceil((L + 1) * factor / 100) (the + 1 is the request being placed); node i, of weight
/// w_i among total weight W, gets w_i * floor(T / W) slots plus its proportional part of the
/// remainder, ((c_i + w_i) * (T mod W)) / W - (c_i * (T mod W)) / W in integer arithmetic with
/// c_i the weights of the nodes before it, and never fewer than 1. Node i is eligible while
/// load_i < slots_i.
///
/// The loads are counters this object keeps and the caller drives: acquire() places a key and
/// counts it (returning a lease that uncounts it when destroyed), or, for callers with their
/// own counters, index_for_hash(h, loads) is the pure decision. Loads follow the algorithm's
/// node indices, so build a new bounded_load when the node set changes.
///
/// Thread-safety: index_for_hash(h, loads) is a pure const function. acquire() and the lease
/// are safe from any thread; the check and the increment are separate atomic steps, so under
/// concurrency a node may exceed its slots by the number of acquires racing on it (the cap is
/// exact when placements are sequential). Complexity: the first candidate costs one lookup;
/// each skipped node one step of the algorithm's candidate walk.
template <placement_algorithm Algorithm>
class bounded_load {
 public:
  /// Throws std::invalid_argument unless balance_factor >= 100.
  explicit bounded_load(Algorithm algorithm, bounded_load_options options = {})
      : algorithm_{std::move(algorithm)},
        options_{(detail::validate(options), options)},
        loads_{std::make_unique<std::atomic<std::uint64_t>[]>(algorithm_.nodes().size())} {
    std::uint64_t cumulative = 0;
    cumulative_.reserve(algorithm_.nodes().size());
    for (const node& n : algorithm_.nodes()) {
      cumulative_.push_back(cumulative);
      cumulative += n.weight;
    }
    total_weight_ = cumulative;
  }

  /// The slots node `i` has when the total outstanding load is `total_load` (HAProxy's
  /// chash_server_is_eligible arithmetic). O(1).
  [[nodiscard]] std::uint64_t slots(std::size_t i, std::uint64_t total_load) const noexcept {
    const std::uint64_t all = ((total_load + 1) * options_.balance_factor + 99) / 100;
    const std::uint64_t per_weight = all / total_weight_;
    const std::uint64_t remainder = all % total_weight_;
    const std::uint64_t w = algorithm_.nodes()[i].weight;
    const std::uint64_t c = cumulative_[i];
    std::uint64_t s = w * per_weight;
    s += ((c + w) * remainder) / total_weight_ - (c * remainder) / total_weight_;
    return s == 0 ? 1 : s;
  }

  /// The pure decision: the node for key hash `h` given the callers' loads (loads[i] is node
  /// i's outstanding load; loads.size() must equal the node count).
  [[nodiscard]] std::size_t index_for_hash(std::uint64_t h,
                                           std::span<const std::uint64_t> loads) const {
    const std::uint64_t total = std::accumulate(loads.begin(), loads.end(), std::uint64_t{0});
    return choose(h, total, [&](std::size_t i) { return loads[i]; });
  }

  /// Counts one unit of load on a node until destroyed. Movable, not copyable.
  class lease {
   public:
    lease() = default;
    lease(lease&& other) noexcept
        : owner_{std::exchange(other.owner_, nullptr)}, index_{other.index_} {}
    lease& operator=(lease&& other) noexcept {
      if (this != &other) {
        release();
        owner_ = std::exchange(other.owner_, nullptr);
        index_ = other.index_;
      }
      return *this;
    }
    lease(const lease&) = delete;
    lease& operator=(const lease&) = delete;
    ~lease() { release(); }

    /// The node index the key was placed on.
    [[nodiscard]] std::size_t index() const noexcept { return index_; }
    /// The node the key was placed on. Precondition: the lease holds a placement.
    [[nodiscard]] const node& placed() const noexcept { return owner_->algorithm_.nodes()[index_]; }
    /// Uncounts the load now (idempotent).
    void release() noexcept {
      if (owner_ != nullptr) {
        owner_->loads_[index_].fetch_sub(1, std::memory_order_relaxed);
        owner_->total_.fetch_sub(1, std::memory_order_relaxed);
        owner_ = nullptr;
      }
    }

   private:
    friend class bounded_load;
    lease(const bounded_load* owner, std::size_t index) noexcept : owner_{owner}, index_{index} {}
    const bounded_load* owner_ = nullptr;
    std::size_t index_ = 0;
  };

  /// Places key hash `h` with the counters this object keeps and counts it on the chosen node
  /// until the lease is released. The lease must not outlive this object.
  [[nodiscard]] lease acquire(std::uint64_t h) const {
    // Relaxed: loads are advisory inputs to a placement decision, and each counter's
    // read-modify-writes alone keep it exact; no other memory is published through them.
    const std::uint64_t total = total_.load(std::memory_order_relaxed);
    const std::size_t i =
        choose(h, total, [&](std::size_t n) { return loads_[n].load(std::memory_order_relaxed); });
    loads_[i].fetch_add(1, std::memory_order_relaxed);
    total_.fetch_add(1, std::memory_order_relaxed);
    return lease{this, i};
  }
  /// acquire() of the key's hash64 (seed 0; ketama's key hash for ketama).
  [[nodiscard]] lease acquire(std::string_view key) const { return acquire(key_hash(key)); }

  /// Node i's current load as this object counts it.
  [[nodiscard]] std::uint64_t load(std::size_t i) const noexcept {
    return loads_[i].load(std::memory_order_relaxed);
  }
  [[nodiscard]] std::uint64_t total_load() const noexcept {
    return total_.load(std::memory_order_relaxed);
  }
  [[nodiscard]] const Algorithm& algorithm() const noexcept { return algorithm_; }
  [[nodiscard]] const bounded_load_options& options() const noexcept { return options_; }

 private:
  static std::uint64_t key_hash(std::string_view key) noexcept {
    if constexpr (requires { Algorithm::hash(key); }) {
      return Algorithm::hash(key);
    } else {
      return hash64(key);
    }
  }

  template <class LoadOf>
  std::size_t choose(std::uint64_t h, std::uint64_t total, LoadOf&& load_of) const {
    const std::size_t first = algorithm_.index_for_hash(h);
    if (load_of(first) < slots(first, total)) return first;  // the common case: no walk
    std::size_t chosen = first;
    algorithm_.for_each_candidate(h, [&](std::size_t i) {
      if (load_of(i) < slots(i, total)) {
        chosen = i;
        return false;
      }
      return true;
    });
    return chosen;  // every node full: the first choice, as HAProxy falls back to it
  }

  Algorithm algorithm_;
  bounded_load_options options_;
  std::vector<std::uint64_t> cumulative_;  // weights of the nodes before node i
  std::uint64_t total_weight_ = 0;
  std::unique_ptr<std::atomic<std::uint64_t>[]> loads_;
  mutable std::atomic<std::uint64_t> total_{0};
};

}  // namespace bulwark
