#pragma once
// Write-behind: writes update the cache at once and reach the store later, in batches.

#include <algorithm>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <mutex>
#include <stdexcept>
#include <unordered_map>
#include <utility>
#include <vector>

#include "bulwark/core/clock.hpp"
#include "bulwark/core/options.hpp"
#include "bulwark/detail/raise.hpp"

namespace bulwark {

/// Options of write_behind.
struct write_behind_options {
  std::size_t batch_size = 100;  ///< flush when this many writes are queued (>= 1)
  duration max_delay =
      std::chrono::seconds{1};         ///< or when the oldest queued write is this old (> 0)
  std::size_t queue_capacity = 10000;  ///< at most this many queued writes (>= batch_size)
  /// A put of a key that already has a queued write replaces that write's value in place
  /// (keeping its place and its age), so the store gets one write per key per batch.
  bool coalesce = false;
};

namespace detail {
inline void validate(const write_behind_options& options) {
  const option_check check{"write_behind"};
  check.positive("batch_size", options.batch_size);
  check.positive("max_delay", options.max_delay);
  check.at_least("queue_capacity", options.queue_capacity, options.batch_size);
}
}  // namespace detail

/// Write-behind: put() updates the cache and queues the write; the queue is handed to
/// `flush(std::vector<std::pair<Key, Value>>)` in write order, in batches, when `batch_size`
/// writes are queued or the oldest is `max_delay` old (checked on each put and by poll(): there
/// is no background thread, so call poll() from a timer if writes may stop), and by flush() and
/// close().
///
/// Loses nothing: a full queue makes put() flush before queueing (backpressure, never a drop);
/// a flush function that throws gets its batch back at the head of the queue, in order, and the
/// exception propagates; close() flushes everything and later puts throw std::logic_error. The
/// destructor calls close() and swallows a flush error, so call close() yourself to see it.
///
/// Coalescing (`coalesce = true`): a put of a key whose earlier write is still queued (not yet
/// handed to a flush) replaces that write's value where it stands, so the store receives the
/// key's latest value once, at the position of its first unflushed write, and max_delay still
/// bounds how long that first write waits. Per key the store sees writes in order and the last
/// one always; across keys it sees them in the order of each key's first unflushed write. A
/// write already handed to a flush (running, or failed and put back) is never changed: the
/// next put of its key queues a new item behind it. Keys are hashed with the cache's hasher.
///
/// Thread-safe. Flushes are serialised (one batch at a time, in order); a put that triggers a
/// flush waits for it.
template <class Cache, class Flush, clock Clock = steady_clock>
class write_behind {
 public:
  using key_type = typename Cache::key_type;
  using value_type = typename Cache::value_type;
  using item = std::pair<key_type, value_type>;

 private:
  // The cache's own hashing when it says what that is (bulwark::cache does), else std::hash.
  template <class C>
  static auto hasher_of(int) -> typename C::hasher;
  template <class C>
  static auto hasher_of(long) -> std::hash<typename C::key_type>;
  template <class C>
  static auto equal_of(int) -> typename C::key_equal;
  template <class C>
  static auto equal_of(long) -> std::equal_to<typename C::key_type>;
  struct key_hash {
    decltype(hasher_of<Cache>(0)) hash;
    std::size_t operator()(const key_type& k) const { return static_cast<std::size_t>(hash(k)); }
  };
  using key_equal = decltype(equal_of<Cache>(0));
  // The cache's seeded hasher when it offers one, so that the queue's map is as hard to flood
  // as the cache (bulwark::cache seeds it per instance).
  static key_hash hash_of(const Cache& cache) {
    if constexpr (requires { cache.hash_function(); }) {
      return key_hash{cache.hash_function()};
    } else {
      return key_hash{};
    }
  }

 public:
  write_behind(Cache& cache, Flush flush, write_behind_options options = {}, Clock clock = {})
      : cache_{cache},
        flush_{std::move(flush)},
        options_{(detail::validate(options), options)},
        clock_{std::move(clock)},
        queued_{0, hash_of(cache), key_equal{}} {}

  write_behind(const write_behind&) = delete;
  write_behind& operator=(const write_behind&) = delete;

  ~write_behind() {
    BULWARK_TRY {
      close();
    }
    BULWARK_CATCH_ALL {}  // NOLINT(bugprone-empty-catch): documented; close() reports it
  }

  /// Updates the cache and queues the write; flushes if a batch is due. Throws
  /// std::logic_error after close(), and what the flush function throws.
  void put(const key_type& key, const value_type& value) {
    for (;;) {
      {
        std::lock_guard lock{mutex_};
        if (closed_) detail::raise<std::logic_error>("bulwark::write_behind: put after close");
        if (options_.coalesce) {
          if (const auto it = queued_.find(key); it != queued_.end()) {
            cache_.put(key, value);
            queue_[static_cast<std::size_t>(it->second - head_)].entry.second = value;
            break;
          }
        }
        if (queue_.size() < options_.queue_capacity) {
          cache_.put(key, value);
          queue_.push_back({item{key, value}, clock_.now()});
          if (options_.coalesce) queued_.insert_or_assign(key, head_ + queue_.size() - 1);
          break;
        }
      }
      flush_some();  // full: make room first, never drop a write
    }
    poll();
  }

  /// Flushes if a batch is due (count or age). Returns whether it flushed.
  bool poll() {
    {
      std::lock_guard lock{mutex_};
      if (queue_.empty()) return false;
      if (queue_.size() < options_.batch_size &&
          clock_.now() - queue_.front().at < options_.max_delay) {
        return false;
      }
    }
    flush_some();
    return true;
  }

  /// Hands every queued write to the flush function, in batches of at most batch_size.
  void flush() {
    while (flush_some()) {
    }
  }

  /// flush(), then refuses further puts. Idempotent.
  void close() {
    {
      std::lock_guard lock{mutex_};
      closed_ = true;
    }
    flush();
  }

  [[nodiscard]] std::size_t pending() const {
    std::lock_guard lock{mutex_};
    return queue_.size();
  }

 private:
  // Takes one batch off the head and flushes it; on failure puts it back at the head. Holding
  // flush_mutex_ across the take and the call keeps batches in write order.
  bool flush_some() {
    std::lock_guard serial{flush_mutex_};
    std::vector<item> batch;
    std::vector<time_point> times;
    {
      std::lock_guard lock{mutex_};
      if (queue_.empty()) return false;
      const std::size_t n = std::min(queue_.size(), options_.batch_size);
      batch.reserve(n);
      for (std::size_t i = 0; i < n; ++i) {
        if (options_.coalesce) {
          // Taken for a flush: no longer open to coalescing (unless a newer write of the key
          // is queued, which the map names instead).
          const auto it = queued_.find(queue_.front().entry.first);
          if (it != queued_.end() && it->second == head_) queued_.erase(it);
        }
        batch.push_back(std::move(queue_.front().entry));
        times.push_back(queue_.front().at);
        queue_.pop_front();
        ++head_;
      }
    }
    BULWARK_TRY {
      flush_(batch);
    }
    BULWARK_CATCH_ALL {
      std::lock_guard lock{mutex_};
      // Back at the head, as they were; still closed to coalescing (see the class comment),
      // so the positions in queued_ only shift with head_.
      for (std::size_t i = batch.size(); i-- > 0;)
        queue_.push_front({std::move(batch[i]), times[i]});
      head_ -= batch.size();
      BULWARK_RETHROW;
    }
    return true;
  }

  Cache& cache_;
  Flush flush_;
  write_behind_options options_;
  [[no_unique_address]] Clock clock_;
  mutable std::mutex mutex_;
  std::mutex flush_mutex_;
  struct queued {
    item entry;
    time_point at;  // when it was queued, for max_delay
  };
  std::deque<queued> queue_;
  // With coalesce: each key's newest write still open to coalescing, by its sequence number
  // (the number of writes queued before it, ever); queue_[seq - head_] is that write.
  std::unordered_map<key_type, std::uint64_t, key_hash, key_equal> queued_;
  std::uint64_t head_ = 0;  // the sequence number of queue_.front()
  bool closed_ = false;
};

}  // namespace bulwark
