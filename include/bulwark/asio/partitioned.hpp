#pragma once
// The awaitable execute of the guards addressed per call: partitioned_bulkhead
// (execute(bulkhead, index, f)) and keyed_limiter (execute(limiter, key, f)). Both decide at
// once, as their sync execute does (a slot of the partition, a unit of the key's limiter, or a
// refusal): nothing is awaited but the call (docs/async.md).

#include <asio/awaitable.hpp>
#include <cstddef>
#include <exception>
#include <optional>
#include <string>
#include <tuple>
#include <type_traits>
#include <utility>

#include "bulwark/asio/guard.hpp"
#include "bulwark/bulkhead/partitioned.hpp"
#include "bulwark/core/errors.hpp"
#include "bulwark/detail/raise.hpp"
#include "bulwark/rate_limit/keyed_limiter.hpp"

namespace bulwark::async {

namespace detail {

/// A guard with the partition or key one call goes to (held by value: the awaitable may be
/// awaited after the caller's argument is gone).
template <class G, class Address>
struct addressed {
  G* guard;
  Address address;
};

}  // namespace detail

/// A partition of a partitioned_bulkhead: its slot is held while the call runs and given back
/// however it ends; a refusal throws bulkhead_full, as partitioned_bulkhead::execute does.
template <>
struct guard_traits<detail::addressed<partitioned_bulkhead, std::size_t>> {
  using bound = detail::addressed<partitioned_bulkhead, std::size_t>;
  using ticket = partitioned_bulkhead::permit;
  static constexpr bool accepts_now = false;

  static bool enter(bound& g, const time_point*, std::optional<ticket>& t) {
    auto p = g.guard->try_acquire(g.address);
    if (!p) {  // the name through metrics(): no other public accessor, and only on refusal
      bulwark::detail::raise<bulkhead_full>(
          "partitioned_bulkhead", "partition " + std::string(g.guard->metrics()[g.address].name) +
                                      " is at its share of a full limit");
    }
    t.emplace(std::move(p));
    return true;
  }
  template <class Executor>
  static asio::awaitable<void, Executor> wait(bound&, std::optional<ticket>&) {
    co_return;  // never waits
  }
  template <class T>
  static void succeeded(ticket&, const T*) noexcept {}
  static void failed(ticket&, const std::exception_ptr&) noexcept {}
};

/// In a coroutine: runs `f()` in partition `index` of `b`, as b.execute(index, f) runs a sync
/// call.
template <detail::awaitable_function F>
auto execute(partitioned_bulkhead& b, std::size_t index, F f) {
  using bound = detail::addressed<partitioned_bulkhead, std::size_t>;
  return detail::run_guards<false>(std::tuple<bound>(bound{&b, index}), std::move(f),
                                   std::index_sequence<0>{});
}

/// One key of a keyed_limiter: try_acquire(key) takes a unit (a refusal throws rate_limited
/// with the key's time_until_available, as keyed_limiter::execute does); leaving does nothing,
/// the unit stays spent.
template <class Limiter, class Key, class Hash>
struct guard_traits<detail::addressed<keyed_limiter<Limiter, Key, Hash>, Key>> {
  using bound = detail::addressed<keyed_limiter<Limiter, Key, Hash>, Key>;
  struct ticket {};
  static constexpr bool accepts_now = false;

  static bool enter(bound& g, const time_point*, std::optional<ticket>& t) {
    if (!g.guard->try_acquire(g.address)) {
      bulwark::detail::raise<rate_limited>("keyed_limiter", "rate limit exceeded for this key",
                                           g.guard->time_until_available(g.address));
    }
    t.emplace();
    return true;
  }
  template <class Executor>
  static asio::awaitable<void, Executor> wait(bound&, std::optional<ticket>&) {
    co_return;  // never waits
  }
  template <class T>
  static void succeeded(ticket&, const T*) noexcept {}
  static void failed(ticket&, const std::exception_ptr&) noexcept {}
};

/// In a coroutine: runs `f()` if `key` may take one unit of `l`, as l.execute(key, f) runs a
/// sync call. The key is copied into the awaitable.
template <class Limiter, class Key, class Hash, detail::awaitable_function F>
auto execute(keyed_limiter<Limiter, Key, Hash>& l, const std::type_identity_t<Key>& key, F f) {
  using bound = detail::addressed<keyed_limiter<Limiter, Key, Hash>, Key>;
  return detail::run_guards<false>(std::tuple<bound>(bound{&l, key}), std::move(f),
                                   std::index_sequence<0>{});
}

}  // namespace bulwark::async
