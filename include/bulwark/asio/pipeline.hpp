#pragma once
// The awaitable execute of bulwark::pipeline: its policies applied in the same order as the
// sync pipeline, one clock reading shared by adjacent guards as the sync one shares it
// (docs/async.md).

#include <asio/awaitable.hpp>
#include <cstddef>
#include <functional>
#include <tuple>
#include <type_traits>
#include <utility>

#include "bulwark/asio/guard.hpp"
#include "bulwark/compose/pipeline.hpp"

namespace bulwark::async {

namespace detail {

template <class Pipeline, std::size_t I>
using policy_t = std::remove_cvref_t<decltype(std::declval<Pipeline&>().template get<I>())>;

// The end of the run of guards that starts at I: the first wrapping policy, or the end.
template <class Pipeline, std::size_t I>
constexpr std::size_t guard_run_end() {
  if constexpr (I == Pipeline::size()) {
    return I;
  } else if constexpr (guard<policy_t<Pipeline, I>>) {
    return guard_run_end<Pipeline, I + 1>();
  } else {
    return I;
  }
}

template <std::size_t First, class Pipeline, std::size_t... Is>
auto tie_policies(Pipeline& p, std::index_sequence<Is...>) {
  return std::tuple<policy_t<Pipeline, First + Is>&...>(p.template get<First + Is>()...);
}

template <std::size_t I, class Pipeline, class F>
auto run_from(Pipeline& p, F f);

// The pipeline from policy I inwards, as a nullary callable. F is the caller's function, owned
// here at the outermost level and referred to (std::reference_wrapper) further in: the frame
// of the coroutine that holds this object outlives every inner call.
template <std::size_t I, class Pipeline, class F>
struct rest {
  Pipeline* pipeline;
  F f;
  auto operator()() { return run_from<I>(*pipeline, std::ref(f)); }
};

template <std::size_t I, class Pipeline, class F>
auto run_from(Pipeline& p, F f) {
  if constexpr (I == Pipeline::size()) {
    return f();
  } else if constexpr (guard<policy_t<Pipeline, I>>) {
    constexpr std::size_t end = guard_run_end<Pipeline, I>();
    return run_guards(tie_policies<I>(p, std::make_index_sequence<end - I>{}),
                      rest<end, Pipeline, F>{&p, std::move(f)},
                      std::make_index_sequence<end - I>{});
  } else {
    return awaitable_policy<policy_t<Pipeline, I>>::execute(
        p.template get<I>(), rest<I + 1, Pipeline, F>{&p, std::move(f)});
  }
}

template <awaitable_function F>
awaited_t<F> own_and_call(F f) {
  co_return co_await f();
}

}  // namespace detail

/// In a coroutine: runs `f()` (a nullary callable returning asio::awaitable<T>) through the
/// pipeline's policies, outermost first, as p.execute(f) runs a synchronous call. A run of
/// adjacent guards (breaker, limiters, bulkhead) is entered in one coroutine frame and shares
/// one clock reading where the sync pipeline shares it; a wrapping policy (retry, timeout,
/// hedge: their awaitable_policy) runs the rest of the chain as its call.
template <class... Policies, detail::awaitable_function F>
auto execute(pipeline<Policies...>& p, F f) -> detail::awaited_t<F> {
  using P = pipeline<Policies...>;
  if constexpr (P::size() == 0) {
    return detail::own_and_call(std::move(f));
  } else {
    return detail::run_from<0>(p, std::move(f));
  }
}

/// A pipeline nests in a pipeline.
template <class... Policies>
struct awaitable_policy<pipeline<Policies...>> {
  template <detail::awaitable_function F>
  static auto execute(pipeline<Policies...>& p, F f) {
    return async::execute(p, std::move(f));
  }
};

}  // namespace bulwark::async
