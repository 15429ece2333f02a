#pragma once
// The single-flight table of a bulwark::cache shard: the loads of get_or_load in progress, one
// per key, which later callers for the key wait on instead of loading again. Internal; users
// include bulwark/cache/cache.hpp.
//
// Not thread-safe: the cache calls every member under the shard's lock, and waits on a
// flight's future after releasing it.

#include <cstddef>
#include <cstdint>
#include <exception>
#include <functional>
#include <future>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <thread>
#include <unordered_map>
#include <utility>
#include <vector>

#include "bulwark/detail/raise.hpp"

namespace bulwark::detail {

template <class Key, class Value, class Hasher, class KeyEqual>
class flight_table {
 public:
  /// One load: its result for the waiters, the thread running it (to refuse a recursive call
  /// for the same key, which would wait on itself), and whether a write or an invalidation of
  /// the key since it started makes its value stale (then it is returned but not cached).
  struct flight {
    std::promise<Value> promise;
    std::shared_future<Value> result = promise.get_future().share();
    std::thread::id owner = std::this_thread::get_id();
    bool cancelled = false;  // under the shard's lock

    /// For a waiter that does not block (the asio add-on's): runs `wake` once the result is
    /// set, on the thread that sets it, and returns true; returns false without keeping it if
    /// the result is already set (read it now).
    bool on_settled(std::function<void()> wake) {
      const std::lock_guard lock{waiters_mutex};
      if (settled) return false;
      waiters.push_back(std::move(wake));
      return true;
    }
    /// Called once, right after the promise is set: wakes the waiters registered so far.
    void settle() {
      std::vector<std::function<void()>> woken;
      {
        const std::lock_guard lock{waiters_mutex};
        settled = true;
        woken.swap(waiters);
      }
      for (auto& wake : woken)
        wake();
    }

   private:
    std::mutex waiters_mutex;
    bool settled = false;  // under waiters_mutex
    std::vector<std::function<void()>> waiters;
  };
  using handle = std::shared_ptr<flight>;

  flight_table() = default;
  flight_table(const Hasher& hash, const KeyEqual& equal) : map_(8, key_hash{hash}, equal) {}

  /// The single-flight protocol, entered holding `lock` (the shard's; released on return). If a
  /// flight for `key` runs, waits for it (unlocked) and returns its value or rethrows its
  /// exception; `waiting()` is called once the waiter holds the flight's future. Otherwise
  /// leads one: `load()` runs unlocked; on success `store(value, flight)` caches the value (it
  /// takes the lock itself and calls finish()) before the waiters get it; on failure the flight
  /// is removed, `failed()` is called, the waiters get the exception and it is rethrown.
  template <class Lock, class Load, class Store, class Waiting, class Failed>
  Value join_or_lead(const Key& key, Lock& lock, Load&& load, Store&& store, Waiting&& waiting,
                     Failed&& failed) {
    if (const handle running = find(key)) {
      if (running->owner == std::this_thread::get_id()) {
        raise<std::logic_error>("bulwark::cache: get_or_load called recursively for one key");
      }
      std::shared_future<Value> pending = running->result;
      lock.unlock();
      // Counted once this caller holds the flight's future: from then on it is sure to receive
      // the loader's value or exception, so a count of N means N callers are parked on it.
      waiting();
      return pending.get();  // the loader's value, or its exception rethrown
    }
    const handle mine = start(key);
    lock.unlock();
    BULWARK_TRY {
      Value value = std::invoke(load);
      store(value, mine);
      mine->promise.set_value(value);
      mine->settle();
      return value;
    }
    BULWARK_CATCH_ALL {
      lock.lock();
      finish(key, mine);
      lock.unlock();
      failed();
      mine->promise.set_exception(std::current_exception());
      mine->settle();
      BULWARK_RETHROW;
    }
  }

  /// The flight loading `key`, or null.
  [[nodiscard]] handle find(const Key& key) const {
    if (map_.empty()) return nullptr;
    const auto it = map_.find(key);
    return it == map_.end() ? nullptr : it->second;
  }

  /// Registers a new flight for `key` (none is running), run by the calling thread.
  handle start(const Key& key) {
    auto mine = std::make_shared<flight>();
    map_.emplace(key, mine);
    return mine;
  }

  /// Removes `key`'s flight if it is still `mine` (a write may have cancelled it and a newer
  /// load replaced it).
  void finish(const Key& key, const handle& mine) {
    if (auto it = map_.find(key); it != map_.end() && it->second == mine) map_.erase(it);
  }

  /// `key` was written or invalidated: its load in flight, if any, will not cache its value.
  void cancel(const Key& key) {
    if (map_.empty()) return;
    if (auto it = map_.find(key); it != map_.end()) it->second->cancelled = true;
  }
  void cancel_all() {
    for (auto& entry : map_)
      entry.second->cancelled = true;
  }

 private:
  struct key_hash {
    Hasher hash;
    std::size_t operator()(const Key& k) const { return static_cast<std::size_t>(hash(k)); }
  };

  std::unordered_map<Key, handle, key_hash, KeyEqual> map_;
};

}  // namespace bulwark::detail
