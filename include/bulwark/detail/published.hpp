#pragma once
// detail::published<T>: one immutable value that writers replace while readers keep using the
// one they loaded. Shared by hashing's placement and sharding's live_router.

#include <atomic>
#include <memory>
#include <mutex>
#include <utility>

namespace bulwark::detail {

/// Holds a std::shared_ptr<const T> that readers load and writers replace.
///
/// Readers never wait for a writer: a writer builds the next value beside the current one and
/// publishes it with one atomic store; a reader sees the old value or the new one, never a
/// half-built one, and keeps the value it loaded alive for as long as it holds the pointer.
/// Writers are serialised by a mutex so that concurrent updates compose (each sees the
/// previous one's result) rather than overwrite each other.
///
/// std::atomic<std::shared_ptr>'s libstdc++ and libc++ implementations guard the reference
/// count with a tiny internal lock held for a few instructions: a reader may wait for another
/// reader's increment, never for a writer's rebuild.
template <class T>
class published {
 public:
  explicit published(std::shared_ptr<const T> first) : current_{std::move(first)} {}

  /// The current value. Acquire pairs with the release store of store()/update(), so the
  /// value's contents, written before it was published, are visible to the reader.
  [[nodiscard]] std::shared_ptr<const T> load() const {
    return current_.load(std::memory_order_acquire);
  }

  /// Publishes `next` (built by the caller, outside any lock).
  void store(std::shared_ptr<const T> next) {
    const std::lock_guard<std::mutex> lock{writer_};
    current_.store(std::move(next), std::memory_order_release);
  }

  /// Publishes change(current) under the writer lock; publishes nothing if change throws.
  template <class Change>
  void update(Change&& change) {
    const std::lock_guard<std::mutex> lock{writer_};
    // Under the lock only our own stores can be seen; acquire keeps the rule simple: every
    // load of current_ is an acquire.
    const auto now = current_.load(std::memory_order_acquire);
    auto next = std::make_shared<const T>(std::forward<Change>(change)(*now));
    current_.store(std::move(next), std::memory_order_release);
  }

 private:
  std::atomic<std::shared_ptr<const T>> current_;
  std::mutex writer_;
};

}  // namespace bulwark::detail
