#pragma once
// The awaitable execute of the adaptive guards: adaptive_limiter, partitioned_adaptive_limiter
// (execute(limiter, index, f)) and adaptive_throttle. Each decides at once (a CAS or a draw,
// never a wait), so entering is its own try_acquire and nothing is awaited but the call; the
// permit is the sync one, reported as the sync execute reports it (docs/async.md).

#include <asio/awaitable.hpp>
#include <cstddef>
#include <exception>
#include <optional>
#include <string>
#include <utility>

#include "bulwark/asio/guard.hpp"
#include "bulwark/bulkhead/adaptive_limiter.hpp"
#include "bulwark/bulkhead/adaptive_throttle.hpp"
#include "bulwark/bulkhead/partitioned_adaptive.hpp"
#include "bulwark/core/errors.hpp"
#include "bulwark/detail/raise.hpp"

namespace bulwark::async {

namespace detail {

// How both adaptive limiters report a call (bulwark::detail::run_counted's rule): a result is
// a success, its latency measured by the permit from its start to now, so over the awaited
// call; a bulwark::rejected a drop; another exception no sample (the permit, destroyed with
// the ticket, ignores itself).
template <class Permit>
struct counted_ticket {
  Permit permit;
  template <class T>
  static void succeeded(counted_ticket& t, const T*) {
    t.permit.success();
  }
  static void failed(counted_ticket& t, const std::exception_ptr& e) {
    try {
      std::rethrow_exception(e);
    } catch (const rejected&) {
      t.permit.dropped();
    } catch (...) {
      t.permit.ignore();
    }
  }
};

/// A partitioned_adaptive_limiter with the partition a call goes to: the guard
/// execute(limiter, index, f) enters.
template <class L>
struct partition_of {
  L* limiter;
  std::size_t index;
};

}  // namespace detail

/// An adaptive_limiter is entered with try_acquire (a refusal throws bulkhead_full, as its
/// execute does) and left as its execute ends a call (detail::counted_ticket).
template <limit_algorithm Limit, clock Clock>
struct guard_traits<adaptive_limiter<Limit, Clock>> {
  using limiter = adaptive_limiter<Limit, Clock>;
  using ticket = detail::counted_ticket<typename limiter::permit>;
  static constexpr bool accepts_now = true;

  static bool enter(limiter& l, const time_point* now, std::optional<ticket>& t) {
    auto p = now != nullptr ? l.try_acquire(*now) : l.try_acquire();
    if (!p)
      bulwark::detail::raise<bulkhead_full>("adaptive_limiter", "the concurrency limit is reached");
    t.emplace(ticket{std::move(p)});
    return true;
  }
  template <class Executor>
  static asio::awaitable<void, Executor> wait(limiter&, std::optional<ticket>&) {
    co_return;  // never waits
  }
  template <class T>
  static void succeeded(ticket& t, const T* r) {
    ticket::succeeded(t, r);
  }
  static void failed(ticket& t, const std::exception_ptr& e) { ticket::failed(t, e); }
};

/// One partition of a partitioned_adaptive_limiter, as its execute(index, f) enters and leaves.
template <limit_algorithm Limit, clock Clock>
struct guard_traits<detail::partition_of<partitioned_adaptive_limiter<Limit, Clock>>> {
  using limiter = partitioned_adaptive_limiter<Limit, Clock>;
  using ticket = detail::counted_ticket<typename limiter::permit>;
  static constexpr bool accepts_now = false;

  static bool enter(detail::partition_of<limiter>& g, const time_point*, std::optional<ticket>& t) {
    auto p = g.limiter->try_acquire(g.index);
    if (!p) {  // the name through metrics(): no other public accessor, and only on refusal
      bulwark::detail::raise<bulkhead_full>("partitioned_adaptive_limiter",
                                            "partition " +
                                                std::string(g.limiter->metrics()[g.index].name) +
                                                " is at its share of a full limit");
    }
    t.emplace(ticket{std::move(p)});
    return true;
  }
  template <class Executor>
  static asio::awaitable<void, Executor> wait(detail::partition_of<limiter>&,
                                              std::optional<ticket>&) {
    co_return;  // never waits
  }
  template <class T>
  static void succeeded(ticket& t, const T* r) {
    ticket::succeeded(t, r);
  }
  static void failed(ticket& t, const std::exception_ptr& e) { ticket::failed(t, e); }
};

/// In a coroutine: runs `f()` in partition `index` of `l`, as l.execute(index, f) runs a sync
/// call (bulkhead_full when refused; success, drop or no sample reported on the same permit).
template <limit_algorithm Limit, clock Clock, detail::awaitable_function F>
auto execute(partitioned_adaptive_limiter<Limit, Clock>& l, std::size_t index, F f) {
  using bound = detail::partition_of<partitioned_adaptive_limiter<Limit, Clock>>;
  return detail::run_guards<false>(std::tuple<bound>(bound{&l, index}), std::move(f),
                                   std::index_sequence<0>{});
}

/// An adaptive_throttle is entered with try_acquire (a local refusal throws rejected
/// "throttled", as its execute does); a result is an accept, an exception a rejection unless
/// options().accept_on says otherwise (adaptive_throttle::execute's rule).
template <clock Clock>
struct guard_traits<adaptive_throttle<Clock>> {
  using throttle = adaptive_throttle<Clock>;
  struct ticket {
    typename throttle::permit permit;
    const adaptive_throttle_options* options;
  };
  static constexpr bool accepts_now = true;

  static bool enter(throttle& th, const time_point* now, std::optional<ticket>& t) {
    auto p = now != nullptr ? th.try_acquire(*now) : th.try_acquire();
    if (!p) bulwark::detail::raise<rejected>("adaptive_throttle", "throttled");
    t.emplace(ticket{std::move(p), &th.options()});
    return true;
  }
  template <class Executor>
  static asio::awaitable<void, Executor> wait(throttle&, std::optional<ticket>&) {
    co_return;  // never waits
  }
  template <class T>
  static void succeeded(ticket& t, const T*) noexcept {
    t.permit.accepted();
  }
  static void failed(ticket& t, const std::exception_ptr& e) {
    if (t.options->accept_on && t.options->accept_on(e)) t.permit.accepted();
    t.permit.rejected();  // idempotent: nothing left after accepted()
  }
};

}  // namespace bulwark::async
