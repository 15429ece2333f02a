#pragma once
// How an executor turns a handler's result into what its store keeps, and back.

#include <concepts>
#include <functional>
#include <type_traits>
#include <utility>

namespace bulwark {

/// A codec between a handler's result type (`C::result_type`) and a store's value type V:
/// `encode(result) -> V` when a result is stored, `decode(V&&) -> result` when it is replayed.
/// A remote store keeps bytes, so its codec serializes; memory_store can keep the value itself
/// (identity_codec). decode must give back a result equal to the one encoded.
template <class C, class V>
concept result_codec = requires(const C& codec, const typename C::result_type& result, V stored) {
  { codec.encode(result) } -> std::convertible_to<V>;
  { codec.decode(std::move(stored)) } -> std::convertible_to<typename C::result_type>;
};

/// Stores the result itself: the store's value type is the handler's result type.
/// Stateless and thread-safe; encode copies, decode moves.
template <class T>
struct identity_codec {
  using result_type = T;
  [[nodiscard]] const T& encode(const T& result) const noexcept { return result; }
  [[nodiscard]] T decode(T&& stored) const noexcept(std::is_nothrow_move_constructible_v<T>) {
    return std::move(stored);
  }
};

/// A codec made of two functions, typically a serializer to bytes and its parser:
/// `encode_fn(const T&) -> V` and `decode_fn(V) -> T`. Thread-safe if the functions are.
template <class T, class Encode, class Decode>
struct function_codec {
  using result_type = T;
  Encode encode_fn;
  Decode decode_fn;

  [[nodiscard]] decltype(auto) encode(const T& result) const {
    return std::invoke(encode_fn, result);
  }
  template <class V>
  [[nodiscard]] T decode(V&& stored) const {
    return std::invoke(decode_fn, std::forward<V>(stored));
  }
};

/// make_codec<receipt>(serialize, parse): a function_codec for result type T.
template <class T, class Encode, class Decode>
[[nodiscard]] function_codec<T, std::decay_t<Encode>, std::decay_t<Decode>> make_codec(
    Encode&& encode, Decode&& decode) {
  return {std::forward<Encode>(encode), std::forward<Decode>(decode)};
}

}  // namespace bulwark
