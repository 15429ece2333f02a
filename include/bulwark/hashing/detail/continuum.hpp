#pragma once
// The sorted circle of points that hash_ring and ketama both search: each point owned by a node
// index, a key hash belonging to the owner of the first point at or after it, wrapping.

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

namespace bulwark::detail {

/// Points (`Point`: hash_ring's 64-bit hashes, ketama's 32-bit MD5 words) in ascending order
/// and the node index owning each, in two arrays so that the search reads the points alone (a
/// cache line holds eight 64-bit points). Immutable once built.
template <class Point>
class continuum {
 public:
  struct entry {
    Point point;
    std::uint32_t owner;
  };

  continuum() = default;
  /// Sorts `entries` by point; points that collide stay in the order given (the node list's
  /// order where the caller adds nodes in turn), where the anchors' sorts leave them
  /// unspecified.
  explicit continuum(std::vector<entry> entries) {
    std::stable_sort(entries.begin(), entries.end(),
                     [](const entry& a, const entry& b) { return a.point < b.point; });
    points_.resize(entries.size());
    owners_.resize(entries.size());
    for (std::size_t p = 0; p < entries.size(); ++p) {
      points_[p] = entries[p].point;
      owners_[p] = entries[p].owner;
    }
  }

  /// Index of the first point >= h, or 0 when h is past the last point (the wrap). Envoy ports
  /// libketama's binary search; on sorted points it returns exactly this. O(log points).
  [[nodiscard]] std::size_t first_at_or_after(std::uint64_t h) const noexcept {
    const auto it = std::lower_bound(points_.begin(), points_.end(), h,
                                     [](Point p, std::uint64_t v) { return p < v; });
    return it == points_.end() ? 0 : static_cast<std::size_t>(it - points_.begin());
  }
  /// The node index owning key hash `h`.
  [[nodiscard]] std::size_t owner_of(std::uint64_t h) const noexcept {
    return owners_[first_at_or_after(h)];
  }

  [[nodiscard]] std::span<const Point> points() const noexcept { return points_; }
  [[nodiscard]] std::span<const std::uint32_t> owners() const noexcept { return owners_; }
  /// Bytes held by the two arrays.
  [[nodiscard]] std::size_t bytes() const noexcept {
    return points_.capacity() * sizeof(Point) + owners_.capacity() * sizeof(std::uint32_t);
  }

 private:
  std::vector<Point> points_;
  std::vector<std::uint32_t> owners_;
};

}  // namespace bulwark::detail
