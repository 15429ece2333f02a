#pragma once
// The watchdog thread of bulwark::timeout: requests stop on a call's stop_source when its
// deadline passes, for callables that take a std::stop_token.

#include <condition_variable>
#include <map>
#include <mutex>
#include <stop_token>
#include <thread>
#include <utility>

#include "bulwark/core/clock.hpp"
#include "bulwark/detail/clock_wait.hpp"

namespace bulwark::detail {

/// Deadlines by time, each with the stop_source to trigger. One thread, started by the first
/// arm() and joined by the destructor. Thread-safe; arm/disarm are O(log n) and allocate one
/// map node.
template <clock Clock>
class watchdog {
 public:
  using handle = std::multimap<time_point, std::stop_source>::iterator;

  explicit watchdog(Clock clock) : clock_{std::move(clock)} {}
  watchdog(const watchdog&) = delete;
  watchdog& operator=(const watchdog&) = delete;
  ~watchdog() {
    {
      const std::lock_guard lock{mutex_};
      closing_ = true;
    }
    wake_.notify_all();
    if (thread_.joinable()) thread_.join();
  }

  /// Requests stop on `source` at `deadline` unless disarmed first.
  handle arm(time_point deadline, std::stop_source source) {
    const std::lock_guard lock{mutex_};
    if (!thread_.joinable()) thread_ = std::thread{[this] { run(); }};
    const bool earliest = pending_.empty() || deadline < pending_.begin()->first;
    const handle h = pending_.emplace(deadline, std::move(source));
    if (earliest) wake_.notify_all();
    return h;
  }

  /// Forgets the deadline `h` armed for `source` unless it fired. Only the watchdog requests
  /// stop on the source, and it does so and erases the entry under the mutex held here, so
  /// "stop requested" tells exactly whether `h` is already gone.
  void disarm(handle h, const std::stop_source& source) {
    const std::lock_guard lock{mutex_};
    if (!source.stop_requested()) pending_.erase(h);
  }

 private:
  void run() {
    std::unique_lock lock{mutex_};
    while (!closing_) {
      if (pending_.empty()) {
        wake_.wait(lock, [this] { return closing_ || !pending_.empty(); });
        continue;
      }
      const time_point due = pending_.begin()->first;
      const auto changed = [this, due] {
        return closing_ || pending_.empty() || pending_.begin()->first != due;
      };
      if (detail::wait_until(wake_, lock, clock_, due, changed)) continue;
      // Fire everything due. The stop request runs the call's stop callbacks on this thread,
      // under our mutex: a callback must not arm or disarm this watchdog (none of ours do).
      const time_point now = clock_.now();
      while (!pending_.empty() && pending_.begin()->first <= now) {
        pending_.begin()->second.request_stop();
        pending_.erase(pending_.begin());
      }
    }
  }

  Clock clock_;
  std::mutex mutex_;
  std::condition_variable wake_;
  std::multimap<time_point, std::stop_source> pending_;
  bool closing_ = false;
  std::thread thread_;
};

}  // namespace bulwark::detail
