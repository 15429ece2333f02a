#pragma once
// detail::intrusive_list: a doubly linked list threaded through its elements' own link
// members. Shared by the bulkhead's wait queue, lru_cache's recency order and the idempotency
// store's completion order.

namespace bulwark::detail {

/// A list of T that owns nothing: each element carries its links (the members `Prev` and
/// `Next`, `prev` and `next` unless named), so linking and unlinking allocate nothing and an
/// element leaves the list in O(1) from a reference to it. The caller keeps each element alive
/// while it is linked and links it into at most one list through the same members.
///
/// Thread-safety: none; the owner guards the list with its own lock. Complexity: O(1) each.
template <class T, T* T::*Prev = &T::prev, T* T::*Next = &T::next>
class intrusive_list {
 public:
  intrusive_list() noexcept = default;
  intrusive_list(const intrusive_list&) = delete;
  intrusive_list& operator=(const intrusive_list&) = delete;

  [[nodiscard]] bool empty() const noexcept { return head_ == nullptr; }
  /// The first and last element; null when the list is empty.
  [[nodiscard]] T* front() const noexcept { return head_; }
  [[nodiscard]] T* back() const noexcept { return tail_; }
  /// The element after `e`, towards back(); null after the last one.
  [[nodiscard]] static T* next(const T& e) noexcept { return e.*Next; }

  void push_back(T& e) noexcept {
    e.*Prev = tail_;
    e.*Next = nullptr;
    (tail_ != nullptr ? tail_->*Next : head_) = &e;
    tail_ = &e;
  }
  void push_front(T& e) noexcept {
    e.*Prev = nullptr;
    e.*Next = head_;
    (head_ != nullptr ? head_->*Prev : tail_) = &e;
    head_ = &e;
  }
  /// Unlinks `e`, which must be in this list, and clears its links.
  void erase(T& e) noexcept {
    (e.*Prev != nullptr ? e.*Prev->*Next : head_) = e.*Next;
    (e.*Next != nullptr ? e.*Next->*Prev : tail_) = e.*Prev;
    e.*Prev = e.*Next = nullptr;
  }
  /// Moves `e`, which must be in this list, to the front.
  void move_to_front(T& e) noexcept {
    if (head_ == &e) return;
    erase(e);
    push_front(e);
  }
  /// Forgets every element (their links are left as they are).
  void clear() noexcept { head_ = tail_ = nullptr; }

 private:
  T* head_ = nullptr;
  T* tail_ = nullptr;
};

}  // namespace bulwark::detail
