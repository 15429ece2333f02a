// detail::intrusive_list: the one doubly linked list behind the bulkhead's wait queue,
// lru_cache's recency order and the idempotency store's completion order.

#include <vector>

#include "bulwark/detail/intrusive_list.hpp"
#include "catch.hpp"

namespace {

struct item {
  int value = 0;
  item* prev = nullptr;
  item* next = nullptr;
};

// Links under other names, as the idempotency record's older/newer.
struct record {
  int value = 0;
  record* older = nullptr;
  record* newer = nullptr;
};

template <class List, class T>
std::vector<int> values(const List& list) {
  std::vector<int> out;
  for (const T* e = list.front(); e != nullptr; e = List::next(*e))
    out.push_back(e->value);
  return out;
}

}  // namespace

TEST_CASE("intrusive_list keeps insertion order and unlinks from anywhere", "[core]") {
  bulwark::detail::intrusive_list<item> list;
  item a{1}, b{2}, c{3}, d{4};
  CHECK(list.empty());
  CHECK(list.front() == nullptr);
  CHECK(list.back() == nullptr);
  list.push_back(a);
  list.push_back(b);
  list.push_back(c);
  list.push_front(d);
  CHECK(values<decltype(list), item>(list) == std::vector<int>{4, 1, 2, 3});
  CHECK(list.front() == &d);
  CHECK(list.back() == &c);

  list.erase(b);  // middle
  CHECK(values<decltype(list), item>(list) == std::vector<int>{4, 1, 3});
  CHECK(b.prev == nullptr);
  CHECK(b.next == nullptr);
  list.erase(d);  // front
  list.erase(c);  // back
  CHECK(values<decltype(list), item>(list) == std::vector<int>{1});
  CHECK(list.front() == &a);
  CHECK(list.back() == &a);
  list.erase(a);  // the only one
  CHECK(list.empty());
  CHECK(list.back() == nullptr);
}

TEST_CASE("intrusive_list moves an element to the front (the LRU touch)", "[core]") {
  bulwark::detail::intrusive_list<item> list;
  item a{1}, b{2}, c{3};
  list.push_front(a);
  list.push_front(b);
  list.push_front(c);  // 3 2 1
  list.move_to_front(a);
  CHECK(values<decltype(list), item>(list) == std::vector<int>{1, 3, 2});
  CHECK(list.back() == &b);
  list.move_to_front(a);  // already first: nothing changes
  CHECK(values<decltype(list), item>(list) == std::vector<int>{1, 3, 2});
  list.move_to_front(c);
  CHECK(values<decltype(list), item>(list) == std::vector<int>{3, 1, 2});
  // Walk backwards too: the prev links agree with the next links.
  std::vector<int> backwards;
  for (const item* e = list.back(); e != nullptr; e = e->prev)
    backwards.push_back(e->value);
  CHECK(backwards == std::vector<int>{2, 1, 3});
  list.clear();
  CHECK(list.empty());
}

TEST_CASE("intrusive_list threads through links named by the element", "[core]") {
  bulwark::detail::intrusive_list<record, &record::older, &record::newer> list;
  record a{1}, b{2}, c{3};
  list.push_back(a);
  list.push_back(b);
  list.push_back(c);
  CHECK(values<decltype(list), record>(list) == std::vector<int>{1, 2, 3});
  CHECK(b.older == &a);
  CHECK(b.newer == &c);
  list.erase(a);
  CHECK(list.front() == &b);
  CHECK(b.older == nullptr);
  CHECK(a.newer == nullptr);
}
