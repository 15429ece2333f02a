#pragma once
// Ketama: the MD5 continuum of libketama (last.fm, 2007), as libmemcached
// (MEMCACHED_BEHAVIOR_KETAMA_WEIGHTED) and twemproxy (distribution: ketama) build it, or as
// libketama itself does, so a C++ client shards memcached keys exactly like the other clients
// of a fleet.

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <numeric>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "bulwark/core/options.hpp"
#include "bulwark/hashing/detail/continuum.hpp"
#include "bulwark/hashing/detail/md5.hpp"
#include "bulwark/hashing/detail/placement_base.hpp"
#include "bulwark/hashing/node.hpp"

namespace bulwark {

/// How many MD5 digests a server gets: the anchors agree on the formula,
/// floor(w / W * 40 * n), but not on the floating-point arithmetic that evaluates it, and the
/// difference moves whole digests (4 points) at some weights and server counts.
enum class ketama_arithmetic : std::uint8_t {
  /// libmemcached (hosts.cc, update_continuum) and twemproxy (nc_ketama.c, ketama_update):
  /// floor((float)(pct * 160 / 4 * (float)n + 0.0000000001)), the products in float.
  libmemcached,
  /// libketama (ketama.c, ketama_create_continuum): floorf(pct * 40.0 * (float)n), the
  /// products in double (40.0 is a double literal), rounded to float by floorf's parameter.
  libketama,
};

/// Options of ketama; the hashes are fixed by compatibility, only the arithmetic varies.
struct ketama_options {
  /// Whose point counts to reproduce. libmemcached (also twemproxy) by default: those are the
  /// clients fleets run today; libketama's own library is the 2007 original.
  ketama_arithmetic arithmetic = ketama_arithmetic::libmemcached;
};

namespace detail {
inline void validate(const ketama_options& options, std::span<const node> nodes) {
  check_nodes("ketama", nodes);
  option_check{"ketama"}.that(options.arithmetic == ketama_arithmetic::libmemcached ||
                                  options.arithmetic == ketama_arithmetic::libketama,
                              "arithmetic", "libmemcached or libketama",
                              static_cast<int>(options.arithmetic));
}
}  // namespace detail

/// Where a key landed on the continuum: the owner and the point that claimed it.
struct ketama_location {
  std::size_t index;    ///< into nodes()
  std::uint32_t point;  ///< the first point >= the key's hash (wrapping), as the anchors find it
};

/// The weighted ketama continuum.
///
/// Each server gets floor(w / W * 40 * n) MD5 digests (w its weight, W the total, n the server
/// count), computed in the floating-point arithmetic of options.arithmetic (digests_for), so
/// about 40 per server when weights are equal. Digest j is MD5("<name>-<j>"), and each digest
/// gives 4 points: bytes 4k..4k+3 read little-endian, k = 0..3. A key's hash is the first four
/// bytes of MD5(key), little-endian; it belongs to the first point at or after it, wrapping.
///
/// The name is the server string the other clients hash: libmemcached uses "host" when the
/// port is the default 11211 and "host:port" otherwise; twemproxy uses the server's name (the
/// label after the weight in its configuration) or else "host:port"; libketama the address
/// column of its server file as written. Points that collide are ordered by node list order
/// here (qsort leaves them unspecified in every anchor; with 32-bit points a collision is rare
/// but possible in large fleets).
///
/// Thread-safety: immutable after construction; every const member is safe from any thread.
/// Memory: 8 bytes per point (160 per server). Lookup: MD5 of the key, then O(log points).
class ketama : public detail::placement_base<ketama, ketama_options> {
 public:
  static constexpr std::string_view component = "ketama";

  /// Throws std::invalid_argument for a bad node list, or an arithmetic that is not one of
  /// the enumerators.
  explicit ketama(std::vector<node> nodes, ketama_options options = {})
      : placement_base{(detail::validate(options, nodes), std::move(nodes)), options} {
    build();
  }

  /// The ketama hash of a key: MD5(key), first four bytes little-endian.
  [[nodiscard]] static std::uint32_t hash(std::string_view key) noexcept {
    return point(detail::md5::of(key), 0);
  }

  /// The node owning the ketama hash `h` (a value of hash(), so below 2^32). O(log points).
  [[nodiscard]] std::size_t index_for_hash(std::uint64_t h) const noexcept {
    return continuum_.owner_of(h);
  }
  /// The node owning `key`, as a ketama client places it (hash(key), not hash64).
  [[nodiscard]] const node& node_for(std::string_view key) const noexcept {
    return node_for_hash(hash(key));
  }

  /// The owner of ketama hash `h` and the continuum point that claimed it: the value the
  /// anchors' searches return with the server (libmemcached's continuum item, twemproxy's
  /// continuum entry, libketama's mcs), for comparing placements point by point.
  [[nodiscard]] ketama_location locate_hash(std::uint64_t h) const noexcept {
    const std::size_t p = continuum_.first_at_or_after(h);
    return {.index = continuum_.owners()[p], .point = continuum_.points()[p]};
  }
  /// locate_hash(hash(key)).
  [[nodiscard]] ketama_location locate(std::string_view key) const noexcept {
    return locate_hash(hash(key));
  }

  /// Preference order: the owners of the points met walking clockwise from `h`, each once.
  template <class Visit>
  void for_each_candidate(std::uint64_t h, Visit&& visit) const {
    visit_table_from(continuum_.owners(), continuum_.first_at_or_after(h), visit);
  }

  /// The number of MD5 digests (each 4 points) a server of `weight` gets among `servers`
  /// servers of total weight `total_weight`, with pct = (float)weight / (float)total:
  /// libmemcached: floor((float)(pct * 160 / 4 * (float)n + 0.0000000001)), products in float;
  /// libketama: floorf(pct * 40.0 * (float)n), products in double, then rounded to float.
  [[nodiscard]] static std::uint32_t digests_for(
      std::uint32_t weight, std::uint64_t total_weight, std::size_t servers,
      ketama_arithmetic arithmetic = ketama_arithmetic::libmemcached) noexcept {
    const float pct = static_cast<float>(weight) / static_cast<float>(total_weight);
    const auto n = static_cast<float>(servers);
    if (arithmetic == ketama_arithmetic::libketama) {
      // Exact in double for n < 2^24 (24 + 3 + 24 significant bits fit in 53); the one rounding
      // is to float, which can lift 39.9999991 to 40 where libmemcached's float steps stay at
      // 39.999996.
      const double share = static_cast<double>(pct) * 40.0 * static_cast<double>(n);
      return static_cast<std::uint32_t>(std::floor(static_cast<float>(share)));
    }
    const float share = pct * 160.0f / 4.0f * n;
    const auto rounded = static_cast<float>(static_cast<double>(share) + 0.0000000001);
    return static_cast<std::uint32_t>(std::floor(rounded));
  }

  /// The continuum's points in ascending order, and the node index owning each.
  [[nodiscard]] std::span<const std::uint32_t> points() const noexcept {
    return continuum_.points();
  }
  [[nodiscard]] std::span<const std::uint32_t> owners() const noexcept {
    return continuum_.owners();
  }
  [[nodiscard]] std::size_t memory_bytes() const noexcept {
    return continuum_.bytes() + node_bytes();
  }

 private:
  // ketama's point k (0..3) of a digest: bytes 4k..4k+3, little-endian.
  static std::uint32_t point(const detail::md5::digest& d, std::size_t k) noexcept {
    return std::uint32_t{d[4 * k]} | (std::uint32_t{d[4 * k + 1]} << 8) |
           (std::uint32_t{d[4 * k + 2]} << 16) | (std::uint32_t{d[4 * k + 3]} << 24);
  }

  void build() {
    const std::uint64_t total = total_weight();
    std::vector<detail::continuum<std::uint32_t>::entry> continuum;
    continuum.reserve(160 * nodes_.size());
    std::string key;
    for (std::size_t i = 0; i < nodes_.size(); ++i) {
      const std::uint32_t digests =
          digests_for(nodes_[i].weight, total, nodes_.size(), options_.arithmetic);
      for (std::uint32_t j = 0; j < digests; ++j) {
        key.assign(nodes_[i].name).append("-").append(std::to_string(j));
        const detail::md5::digest d = detail::md5::of(key);
        for (std::size_t k = 0; k < 4; ++k) {
          continuum.push_back({point(d, k), static_cast<std::uint32_t>(i)});
        }
      }
    }
    // The digest counts add up to about 40 n, so the continuum is never empty; but a server
    // whose weight is tiny beside the others' can get none and own no key, as in the anchors.
    continuum_ = detail::continuum<std::uint32_t>{std::move(continuum)};
  }

  detail::continuum<std::uint32_t> continuum_;
};

}  // namespace bulwark
