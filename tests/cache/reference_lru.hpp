#pragma once
// The plain reference the cache tests compare against: std::list in recency order plus
// std::unordered_map into it, the LRU everyone writes by hand.

#include <cstddef>
#include <list>
#include <optional>
#include <unordered_map>
#include <utility>

namespace cache_test {

class reference_lru {
 public:
  explicit reference_lru(std::size_t capacity) : capacity_{capacity} {}
  const int* get(int key) {
    const auto it = index_.find(key);
    if (it == index_.end()) return nullptr;
    order_.splice(order_.begin(), order_, it->second);
    return &it->second->second;
  }
  std::optional<int> put(int key, int value) {
    if (const auto it = index_.find(key); it != index_.end()) {
      it->second->second = value;
      order_.splice(order_.begin(), order_, it->second);
      return std::nullopt;
    }
    order_.emplace_front(key, value);
    index_[key] = order_.begin();
    if (order_.size() <= capacity_) return std::nullopt;
    const int victim = order_.back().first;
    index_.erase(victim);
    order_.pop_back();
    return victim;
  }
  bool erase(int key) {
    const auto it = index_.find(key);
    if (it == index_.end()) return false;
    order_.erase(it->second);
    index_.erase(it);
    return true;
  }
  std::size_t size() const { return order_.size(); }

 private:
  std::size_t capacity_;
  std::list<std::pair<int, int>> order_;
  std::unordered_map<int, std::list<std::pair<int, int>>::iterator> index_;
};

}  // namespace cache_test
