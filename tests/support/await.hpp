#pragma once
// Test helper: wait for another thread's progress without sleeping.

#include <thread>

namespace test_support {

/// Yields until `holds()` is true. Bounded by the other thread's progress, which the caller's
/// test arranges (no timing is involved, so no sleep stands in for synchronisation).
template <class Predicate>
void await(Predicate holds) {
  while (!holds())
    std::this_thread::yield();
}

}  // namespace test_support
