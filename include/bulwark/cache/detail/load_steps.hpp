#pragma once
// get_or_load taken apart into its steps, for a caller that waits on its own instead of
// blocking on the flight's future: the asio add-on's awaitable get_or_load (asio/cache.hpp).
// Internal; a friend of bulwark::cache, so the steps are the sync path's own (the same flight
// table, the same store and the same counters), and sync and async callers of one key share
// one load.

#include <cstdint>
#include <exception>
#include <mutex>
#include <optional>
#include <utility>

#include "bulwark/cache/detail/load_through.hpp"

namespace bulwark::detail {

template <class Cache>
struct load_steps {
  using key_type = typename Cache::key_type;
  using value_type = typename Cache::value_type;
  using flight = typename Cache::flights_type::handle;

  /// What a get_or_load for a key finds: the cached value, or a load in flight to join (wait
  /// for flight->settle(), then read flight->result), or nothing, and then the caller leads a
  /// new load and must end it with succeeded() or failed().
  struct step {
    std::optional<value_type> hit{};
    flight join{};
    flight lead{};
  };

  static step begin(Cache& cache, const key_type& key) {
    if (auto hit = cache.get(key)) return {.hit = std::move(hit)};
    const std::uint64_t hash = cache.hasher_(key);
    auto& st = cache.stripe_of(hash);
    const std::lock_guard lock{st.shard->mutex()};
    st.shard->drain_own_reads();
    if (auto hit = find_live_locked<value_type>(*st.shard, key, hash,
                                                [&cache] { return cache.clock_.now(); })) {
      return {.hit = std::move(hit)};
    }
    if (flight running = st.flights.find(key)) {
      cache.load_waits_.add();
      return {.join = std::move(running)};
    }
    return {.lead = st.flights.start(key)};
  }

  /// The lead's load returned `value`: cached (unless a write or an invalidation cancelled
  /// the flight), then handed to the waiters.
  static void succeeded(Cache& cache, const key_type& key, const flight& mine,
                        const value_type& value) {
    const std::uint64_t hash = cache.hasher_(key);
    cache.complete_flight(cache.stripe_of(hash), key, hash, mine, value);
    mine->promise.set_value(value);
    mine->settle();
  }

  /// The lead's load failed with `error`: nothing cached, every waiter gets the error.
  static void failed(Cache& cache, const key_type& key, const flight& mine,
                     std::exception_ptr error) {
    const std::uint64_t hash = cache.hasher_(key);
    auto& st = cache.stripe_of(hash);
    {
      const std::lock_guard lock{st.shard->mutex()};
      st.flights.finish(key, mine);
    }
    cache.load_failures_.add();
    mine->promise.set_exception(std::move(error));
    mine->settle();
  }
};

}  // namespace bulwark::detail
