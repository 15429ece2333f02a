#pragma once
// bulwark::detail::owned_counter: an exact event counter whose increment is a plain load and
// store, not a locked instruction, for the threads that own one of its cells. A rate limiter's
// admitted path is one CAS; a fetch_add beside it would be a second locked instruction and
// cost as much again (measured in benchmarks/rate_limit: 4.4 ns against 2.9 ns per call).

#include <atomic>
#include <cstddef>
#include <cstdint>

namespace bulwark::detail {

/// How many threads at a time own a cell: the first `owned_cells` threads to count anything
/// (and, after one exits, the next to start counting). Other threads share one atomic.
inline constexpr std::uint32_t owned_cells = 4;

/// Cell ownership, process-wide: bit i of the mask is set while a live thread owns cell i of
/// every owned_counter, so each cell has one writer at a time.
inline std::atomic<std::uint32_t> owned_cell_mask{0};

/// This thread's cell + 1; 0 before it first counts; owned_cells + 1 when it owns none.
/// Trivially initialised, so reading it is one thread-pointer-relative load.
inline thread_local std::uint32_t owned_cell_plus_one = 0;

/// Gives the cell back when its thread exits. Claiming uses acquire and giving back uses
/// release, so the next owner's plain increments continue from the last owner's value.
struct owned_cell_release {
  ~owned_cell_release() {
    const std::uint32_t cell = owned_cell_plus_one - 1;
    owned_cell_plus_one = owned_cells + 1;  // a counter touched later (thread_local
                                            // destructors) goes to the shared atomic
    if (cell < owned_cells) owned_cell_mask.fetch_and(~(1u << cell), std::memory_order_release);
  }
};

/// Claims a free cell for this thread, or marks it as owning none.
[[gnu::noinline]] inline void claim_owned_cell() {
  static thread_local owned_cell_release release;  // registered here, on the slow path
  (void)release;
  std::uint32_t mask = owned_cell_mask.load(std::memory_order_relaxed);
  for (;;) {
    std::uint32_t cell = 0;
    while (cell < owned_cells && (mask & (1u << cell)) != 0)
      ++cell;
    if (cell == owned_cells) {
      owned_cell_plus_one = owned_cells + 1;
      return;
    }
    if (owned_cell_mask.compare_exchange_weak(mask, mask | (1u << cell), std::memory_order_acquire,
                                              std::memory_order_relaxed)) {
      owned_cell_plus_one = cell + 1;
      return;
    }
  }
}

/// Counts events exactly: the owner of a cell adds with a relaxed load and store (it is the
/// cell's only writer), other threads with a relaxed fetch_add on a shared word. load() sums
/// relaxed reads, so under concurrency it may lag by the increments in flight, as any relaxed
/// counter; after the counting threads are joined it is exact.
class owned_counter {
 public:
  void add(std::uint64_t n = 1) noexcept {
    const std::uint32_t cell = owned_cell_plus_one - 1;  // 0 wraps: not owned yet
    if (cell < owned_cells) [[likely]] {
      cells_[cell].store(cells_[cell].load(std::memory_order_relaxed) + n,
                         std::memory_order_relaxed);
    } else {
      add_slow(n);
    }
  }

  [[nodiscard]] std::uint64_t load() const noexcept {
    std::uint64_t sum = shared_.load(std::memory_order_relaxed);
    for (const auto& c : cells_)
      sum += c.load(std::memory_order_relaxed);
    return sum;
  }

 private:
  [[gnu::noinline]] void add_slow(std::uint64_t n) noexcept {
    if (owned_cell_plus_one == 0) {
      claim_owned_cell();
      add(n);
      return;
    }
    shared_.fetch_add(n, std::memory_order_relaxed);
  }

  std::atomic<std::uint64_t> cells_[owned_cells] = {};
  std::atomic<std::uint64_t> shared_{0};
};

}  // namespace bulwark::detail
