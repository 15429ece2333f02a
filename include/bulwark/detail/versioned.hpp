#pragma once
// detail::versioned<T>: the current version of an immutable T that reconfigure() replaces,
// read with one acquire load and no reference count; every version lives until the owner does.

#include <atomic>
#include <memory>
#include <mutex>
#include <utility>

namespace bulwark::detail {

/// Holds the current version of an immutable `T` (which need not be movable: versions are
/// built in place) and every older one.
///
/// Why older versions are kept rather than freed: a reader loads the pointer and then uses the
/// version for as long as its operation lasts (a retry executor's whole logical call), and
/// without a reclamation scheme (hazard pointers, epochs, a reference count on the read path)
/// nothing tells the writer when the last such reader is done. Keeping them costs one
/// sizeof(T) per replace() until the owner is destroyed; replace() is an operator's act
/// (a configuration reload), not a per-call one. published<T> (published.hpp) frees old values
/// but costs readers a reference count.
///
/// Readers never wait; writers are serialised by a mutex so that concurrent replace() calls
/// each see the previous one's result.
template <class T>
class versioned {
 public:
  template <class... Args>
  explicit versioned(std::in_place_t, Args&&... args)
      : first_{nullptr, std::forward<Args>(args)...} {}
  versioned(const versioned&) = delete;
  versioned& operator=(const versioned&) = delete;
  ~versioned() {
    const node* n = current_.load(std::memory_order_relaxed);
    while (n != &first_)
      delete std::exchange(n, n->older);
  }

  /// The current version; the reference stays valid for the owner's lifetime. Acquire pairs
  /// with replace()'s release: the version's contents are visible to whoever loads it.
  [[nodiscard]] const T& load() const noexcept {
    return current_.load(std::memory_order_acquire)->value;
  }

  /// Under the writer lock: calls check(current) (which may throw: nothing changes), builds
  /// T(args...) (which may throw: nothing changes), and publishes it.
  template <class Check, class... Args>
  void replace(Check&& check, Args&&... args) {
    const std::lock_guard lock{writer_};
    const node* current = current_.load(std::memory_order_relaxed);
    std::forward<Check>(check)(current->value);
    auto next = std::make_unique<node>(current, std::forward<Args>(args)...);
    current_.store(next.release(), std::memory_order_release);
  }

 private:
  struct node {
    template <class... Args>
    explicit node(const node* previous, Args&&... args)
        : value(std::forward<Args>(args)...), older{previous} {}
    T value;
    const node* older;
  };

  node first_;
  std::atomic<const node*> current_{&first_};
  std::mutex writer_;
};

}  // namespace bulwark::detail
