#pragma once
// Epoch-based reclamation for bulwark::cache's lock-free reads. Internal; users include
// bulwark/cache/cache.hpp.
//
// Source: Fraser, "Practical lock-freedom" (PhD thesis, Cambridge 2004), section 5.2.3; the
// scheme crossbeam-epoch implements. A reader *pins* itself by publishing the global epoch it
// saw in its own record (a cache line no other thread writes); a writer that unlinks an object
// tags it with the global epoch after the unlink and frees it once the global epoch is two
// ahead of the tag. The global epoch advances from e to e + 1 only when every pinned reader
// has published e, so two advances after an unlink no reader that could have seen the object
// is still pinned.
//
// Memory orders. Every operation of the protocol is seq_cst: the pin's publication, the loads
// of the global epoch, the advance, and (in the shard) the stores that unlink an object and
// the reader's loads of the words that lead to one. Then in the single total order S an unlink
// U that precedes the tagging load T (sequenced after it) precedes every advance past T's value;
// a reader whose pin is after the second advance's scan of its record (the scan read "not
// pinned") makes all its loads after U in S, so they see U or later and cannot reach the
// object; a reader pinned before that scan holds the advance back until it unpins. Unpinning
// is a release store read by the scan (an acquire), and the freeing thread acquires the
// advanced epoch, so a reader's plain reads of an object happen before its destruction, which
// is what ThreadSanitizer checks. On x86 seq_cst loads are plain loads; the cost of a pin is one
// locked store to a thread-private line.

#include <atomic>
#include <cstdint>

namespace bulwark::detail {

/// A thread's record, on a cache line of its own. `epoch` is 0 while the thread is not pinned,
/// else the global epoch it saw when it pinned. Records are never freed: a thread that exits
/// gives its record back for the next thread to claim (records are as many as the most threads
/// alive at once).
struct alignas(64) epoch_record {
  std::atomic<std::uint64_t> epoch{0};
  std::atomic<bool> owned{true};
  epoch_record* next = nullptr;  // immutable once published
  std::uint32_t index = 0;       // immutable: this record's position, a small per-thread number
  std::uint32_t depth = 0;       // pins held by the owner; touched only by the owner
};

// The calling thread's record: a trivial thread_local, so reading it costs no TLS init call.
inline thread_local epoch_record* tls_epoch_record = nullptr;

// Gives a thread's record back when the thread exits. After that, a pin from a later
// thread_local destructor claims a record that is then kept for good (a bounded leak).
struct epoch_record_owner {
  epoch_record* r = nullptr;
  ~epoch_record_owner() {
    if (r != nullptr) {
      tls_epoch_record = nullptr;
      r->owned.store(false, std::memory_order_release);
    }
  }
};
inline thread_local epoch_record_owner tls_epoch_record_owner{};

class epoch_domain {
 public:
  using record = epoch_record;

  constexpr epoch_domain() noexcept = default;
  epoch_domain(const epoch_domain&) = delete;
  epoch_domain& operator=(const epoch_domain&) = delete;

  /// The current global epoch (starts at 2, so `tag + 2 <= epoch` needs no underflow care).
  [[nodiscard]] std::uint64_t epoch() const noexcept {
    return epoch_.load(std::memory_order_seq_cst);
  }

  /// Pins the calling thread (nestable) and returns its record. Lock-free; the first call on a
  /// thread claims a record (a CAS over the record list, or one allocation).
  record& pin() {
    record* r = tls_epoch_record;
    if (r == nullptr) r = attach();
    if (r->depth++ == 0)
      r->epoch.store(epoch_.load(std::memory_order_seq_cst), std::memory_order_seq_cst);
    return *r;
  }
  static void unpin(record& r) noexcept {
    // Release: the reads made while pinned happen before a scan that sees 0 (see the top).
    if (--r.depth == 0) r.epoch.store(0, std::memory_order_release);
  }

  /// Advances the global epoch if every pinned thread has seen the current one; returns the
  /// epoch after the attempt. O(records). Never blocks.
  std::uint64_t try_advance() noexcept {
    std::uint64_t e = epoch_.load(std::memory_order_seq_cst);
    for (record* r = head_.load(std::memory_order_acquire); r != nullptr; r = r->next) {
      const std::uint64_t seen = r->epoch.load(std::memory_order_seq_cst);
      if (seen != 0 && seen != e) return e;  // pinned in an older epoch: not yet
    }
    if (epoch_.compare_exchange_strong(e, e + 1, std::memory_order_seq_cst)) return e + 1;
    return e;  // another thread advanced it (e now holds the newer value)
  }

 private:
  record* attach() {
    record* r = nullptr;
    for (record* it = head_.load(std::memory_order_acquire); it != nullptr; it = it->next) {
      bool free = false;
      if (!it->owned.load(std::memory_order_relaxed) &&
          it->owned.compare_exchange_strong(free, true, std::memory_order_acquire)) {
        r = it;
        break;
      }
    }
    if (r == nullptr) {
      r = new record;  // owned; freed never (reachable from head_ for the process's life)
      record* first = head_.load(std::memory_order_relaxed);
      do {
        r->next = first;
        r->index = first == nullptr ? 0 : first->index + 1;
      } while (!head_.compare_exchange_weak(first, r, std::memory_order_release,
                                            std::memory_order_relaxed));
    }
    tls_epoch_record = r;
    tls_epoch_record_owner.r = r;
    return r;
  }

  alignas(64) std::atomic<std::uint64_t> epoch_{2};
  alignas(64) std::atomic<record*> head_{nullptr};
};

/// The process-wide domain every bulwark::cache shares (constant-initialised: no guard).
inline epoch_domain global_epochs;

/// RAII pin of the calling thread in `global_epochs`.
class epoch_guard {
 public:
  epoch_guard() : record_{global_epochs.pin()} {}
  ~epoch_guard() { epoch_domain::unpin(record_); }
  epoch_guard(const epoch_guard&) = delete;
  epoch_guard& operator=(const epoch_guard&) = delete;
  /// A small number distinct among the threads alive now (for striping per thread).
  [[nodiscard]] std::uint32_t thread_index() const noexcept { return record_.index; }

 private:
  epoch_domain::record& record_;
};

}  // namespace bulwark::detail
