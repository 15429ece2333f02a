#pragma once
// Removals a cache reports to its listener: collected by the shards under their locks (copies:
// readers may still be reading the cells), then reported once the lock is released, so that a
// listener may call back into the cache. Internal; see cache.hpp.

#include <exception>
#include <functional>
#include <vector>

#include "bulwark/cache/cache_options.hpp"
#include "bulwark/detail/raise.hpp"

namespace bulwark::detail {

template <class Key, class Value>
struct removal_record {
  Key key;
  Value value;
  removal_cause cause;
};
template <class Key, class Value>
using removal_list = std::vector<removal_record<Key, Value>>;

/// Listener calls, outside every lock. All are made; the first exception is rethrown after.
template <class Key, class Value>
void notify_removals(const std::function<void(const Key&, const Value&, removal_cause)>& listener,
                     const removal_list<Key, Value>& out) {
  std::exception_ptr first;
  for (const auto& r : out) {
    BULWARK_TRY {
      listener(r.key, r.value, r.cause);
    }
    BULWARK_CATCH_ALL {
      if (!first) first = std::current_exception();
    }
  }
  if (first) std::rethrow_exception(first);
}

}  // namespace bulwark::detail
