#pragma once
// Helpers shared by the hashing tests: node lists and key hashes.

#include <bulwark/core/hash.hpp>
#include <bulwark/hashing/node.hpp>
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace hashing_test {

/// n nodes named "<prefix><i>", weight 1, zone "z<i % zones>".
inline std::vector<bulwark::node> make_nodes(std::size_t n, const std::string& prefix = "node-",
                                             std::size_t zones = 1) {
  std::vector<bulwark::node> out;
  out.reserve(n);
  for (std::size_t i = 0; i < n; ++i) {
    out.push_back(
        {.name = prefix + std::to_string(i), .weight = 1, .zone = "z" + std::to_string(i % zones)});
  }
  return out;
}

/// The hash of key i: hash64 of its 8 bytes, a well-spread stand-in for hashed string keys.
inline std::uint64_t key_hash(std::uint64_t i) {
  return bulwark::hash64(i, 0x6b6579);
}

}  // namespace hashing_test
