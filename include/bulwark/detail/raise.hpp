#pragma once

#include <string>
#include <utility>

namespace bulwark::detail {

/// The one place bulwark reports misuse and invalid options. With exceptions on it throws
/// `E(message)`; the no-exceptions build (see docs/design.md) replaces the throw with a
/// [[noreturn]] handler that prints the same message and aborts.
template <class E>
[[noreturn]] void raise(std::string message) {
  throw E(std::move(message));
}

}  // namespace bulwark::detail
