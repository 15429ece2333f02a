#pragma once
// A std::mutex that spins a little before it sleeps. Internal.
//
// glibc's mutex parks a thread in the kernel at the first failed acquire, and its unlock then
// makes a second system call to wake it: two futex calls, microseconds, for a lock that the
// shards of the cache, the keyed limiter and the idempotency memory store hold for well under
// one (a cache write, the replay of 16 buffered reads, one limiter decision). So a
// contended acquire first retries a bounded number of times, with the CPU's pause hint between
// tries, and only then blocks in std::mutex::lock(). Uncontended, it costs what std::mutex
// costs: one try_lock.

#include <mutex>

// GCC and Clang have the pause hint as a builtin; <immintrin.h> would cost every translation
// unit that includes a cache or a keyed limiter about 0.8 s of parsing for one instruction.
#if defined(_MSC_VER) && !defined(__clang__) && (defined(_M_X64) || defined(_M_IX86))
#include <intrin.h>
#endif

namespace bulwark::detail {

/// The CPU's spin-wait hint (x86 `pause`, ARM `yield`); nothing elsewhere.
inline void cpu_relax() noexcept {
#if (defined(__x86_64__) || defined(__i386__)) && (defined(__GNUC__) || defined(__clang__))
  __builtin_ia32_pause();
#elif defined(_M_X64) || defined(_M_IX86)
  _mm_pause();
#elif defined(__aarch64__) || defined(__arm__)
  asm volatile("yield");
#endif
}

/// Lockable (lock, try_lock, unlock), usable with std::lock_guard and std::unique_lock.
class spinning_mutex {
 public:
  /// Tries before blocking. About as long as a short critical section on one core: long
  /// enough that a holder on another core usually finishes, short enough that a holder
  /// descheduled in its section costs the spinner little before it sleeps.
  static constexpr int spins = 128;

  void lock() {
    if (mutex_.try_lock()) return;
    for (int i = 0; i < spins; ++i) {
      cpu_relax();
      if (mutex_.try_lock()) return;
    }
    mutex_.lock();
  }
  bool try_lock() noexcept { return mutex_.try_lock(); }
  void unlock() noexcept { mutex_.unlock(); }

 private:
  std::mutex mutex_;
};

}  // namespace bulwark::detail
