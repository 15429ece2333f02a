#pragma once
// The weighted balancers: nginx's smooth weighted round robin, gRPC's lock-free static stride
// scheduler, and weighted random.

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <unordered_map>
#include <vector>

#include "bulwark/balancing/endpoint_set.hpp"
#include "bulwark/core/random.hpp"

namespace bulwark {

namespace detail {
// Effective weights in 1/1024ths, so that slow start's fractional ramp keeps integer
// arithmetic; scaling every weight alike leaves the smooth WRR sequence unchanged.
template <class Context>
std::int64_t effective_weight(const endpoint_set& set, std::size_t i, Context& context) {
  const auto w = static_cast<std::int64_t>(set.weights()[i]) * 1024;
  if (!set.slow_start_enabled() || !set.warming(context.now())) return w;
  const double ramp = set.ramp(*set.routable()[i], context.now());
  return std::max<std::int64_t>(1, static_cast<std::int64_t>(static_cast<double>(w) * ramp));
}
}  // namespace detail

/// Smooth weighted round robin, nginx's algorithm (ngx_http_upstream_get_peer in
/// src/http/ngx_http_upstream_round_robin.c): each pick adds every routable endpoint's weight
/// to its current value, takes the endpoint with the largest current value (first on ties),
/// and subtracts the total weight from it. Weights {5, 1, 1} give a a b a c a a: the heavy
/// endpoint's turns are spread out instead of bunched.
///
/// As in nginx, an endpoint out of rotation (unhealthy, ejected) is skipped: its current value
/// is neither increased nor counted in the total, and the others keep theirs, so a health
/// change does not restart the rotation; an endpoint that comes back resumes from the value it
/// had when it left. Current values start at 0 (nginx's init); an endpoint that stays across
/// update() keeps its value, one that joins (or changes) starts at 0. In panic mode every
/// member is routable, so every member takes part.
///
/// The current values are shared mutable state, so a pick holds a mutex (nginx runs it per
/// worker under the upstream zone's lock); for many endpoints or many threads use
/// stride_round_robin. Slow start scales the weights. Unlike nginx, failures do not lower an
/// endpoint's effective weight (use outlier ejection).
/// Thread-safety: safe from any thread. Complexity: O(n) under a mutex; O(n) extra, with an
/// allocation, on the first pick after a snapshot change.
class weighted_round_robin {
 public:
  weighted_round_robin() = default;
  weighted_round_robin(weighted_round_robin&&) noexcept {}

  template <class Context>
  endpoint_state* pick(const endpoint_set& set, Context& context) {
    const std::lock_guard<std::mutex> lock{mutex_};
    if (version_ != set.version() || owner_ != set.owner() || slot_.size() != set.routable().size())
      remap(set);
    const auto n = set.routable().size();
    std::int64_t total = 0;
    std::size_t best = 0;
    for (std::size_t i = 0; i < n; ++i) {
      const auto w = detail::effective_weight(set, i, context);
      auto& current = members_[slot_[i]].current;
      current += w;
      total += w;
      if (current > members_[slot_[best]].current) best = i;
    }
    members_[slot_[best]].current -= total;
    return set.routable()[best];
  }

 private:
  struct member {
    const endpoint_state* state;
    std::string id;  // with the address, guards against a freed state's address being reused
    std::int64_t current;
  };

  // Carries each member's current value over to the new snapshot's member list and maps
  // routable positions to it. Members that left the set are forgotten.
  void remap(const endpoint_set& set) {
    std::unordered_map<const endpoint_state*, const member*> previous;
    previous.reserve(members_.size());
    for (const auto& m : members_)
      previous.emplace(m.state, &m);
    std::vector<member> next;
    next.reserve(set.members().size());
    for (const auto* s : set.members()) {
      const auto found = previous.find(s);
      const bool kept = found != previous.end() && found->second->id == s->description().id;
      next.push_back({s, s->description().id, kept ? found->second->current : 0});
    }
    members_ = std::move(next);
    slot_.clear();
    std::size_t j = 0;
    for (const auto* s : set.routable()) {  // routable() is members() in order, filtered
      while (members_[j].state != s)
        ++j;
      slot_.push_back(j);
    }
    version_ = set.version();
    owner_ = set.owner();
  }

  std::mutex mutex_;
  std::vector<member> members_;    // guarded by mutex_
  std::vector<std::size_t> slot_;  // routable index -> members_ index; guarded by mutex_
  std::uint64_t version_ = 0;      // guarded by mutex_
  const void* owner_ = nullptr;    // guarded by mutex_
};

namespace detail {
/// One draw of gRPC's StaticStrideScheduler::Pick (static_stride_scheduler.cc): sequence s
/// offers endpoint i = s mod n in generation g = s / n, which takes it when
/// (w_i x g + i x 32767) mod 65535 >= 65535 - w_i. The sequence is a uint32_t, as gRPC's,
/// so the order wraps after 2^32 draws exactly where gRPC's does.
inline std::optional<std::size_t> stride_accepts(std::span<const std::uint16_t> weights,
                                                 std::uint32_t sequence) noexcept {
  constexpr std::uint64_t max_weight = 65535;
  constexpr std::uint64_t offset = max_weight / 2;
  const std::uint64_t index = sequence % weights.size();
  const std::uint64_t generation = sequence / weights.size();
  const std::uint64_t w = weights[index];
  // At most 65535 x (2^32 - 1) + n x 32767: no overflow in 64 bits.
  const std::uint64_t mod = (w * generation + index * offset) % max_weight;
  if (mod < max_weight - w) return std::nullopt;
  return static_cast<std::size_t>(index);
}
}  // namespace detail

/// Lock-free weighted round robin: gRPC's static stride scheduler (weighted_round_robin
/// policy, A58), bit-exact. The weight table is StaticStrideScheduler::Make's (see
/// endpoint_set::scaled_weights: unknown weights get the mean, the largest is capped at ten
/// times the mean, all are scaled to at most 65535 in gRPC's float arithmetic, and each is
/// raised to at least 1% of the mean); a pick draws sequence numbers until one is accepted
/// (detail::stride_accepts). Over 65535 generations endpoint i accepts exactly w_i turns, and
/// the offset i x 32767 staggers endpoints so equal weights interleave. Given the same
/// sequence numbers, the picks are gRPC's; the sequence starts at 0 here (gRPC's unit tests
/// start it there too).
///
/// Shares beyond the 10x ratio are not honoured, as in gRPC. Slow start does not apply (the
/// table is per snapshot). Weights above 2^24 lose precision in the float conversion, as
/// they would as gRPC's float weights.
/// Thread-safety: safe from any thread; one relaxed fetch_add per draw.
/// Complexity: about max weight / mean weight draws on average, at most about 10.
class stride_round_robin {
 public:
  stride_round_robin() = default;
  stride_round_robin(stride_round_robin&& other) noexcept
      : sequence_{other.sequence_.load(std::memory_order_relaxed)} {}

  template <class Context>
  endpoint_state* pick(const endpoint_set& set, Context&) noexcept {
    const auto weights = set.scaled_weights();
    for (;;) {
      if (const auto i =
              detail::stride_accepts(weights, sequence_.fetch_add(1, std::memory_order_relaxed)))
        return set.routable()[*i];
    }
  }

 private:
  std::atomic<std::uint32_t> sequence_{0};
};

/// Weighted random: endpoint i with probability w_i / sum(w), by binary search over the
/// snapshot's cumulative weights (a linear pass while slow start ramps some weights).
/// Thread-safety: safe from any thread. Complexity: O(log n); O(n) while warming.
struct weighted_random {
  template <class Context>
  endpoint_state* pick(const endpoint_set& set, Context& context) const {
    if (set.slow_start_enabled() && set.warming(context.now())) {
      std::int64_t total = 0;
      const auto n = set.routable().size();
      for (std::size_t i = 0; i < n; ++i)
        total += detail::effective_weight(set, i, context);
      auto target = static_cast<std::int64_t>(
          uniform_below(context.rng(), static_cast<std::uint64_t>(total)));
      for (std::size_t i = 0; i < n; ++i) {
        target -= detail::effective_weight(set, i, context);
        if (target < 0) return set.routable()[i];
      }
      return set.routable()[n - 1];
    }
    const auto cumulative = set.cumulative();
    const auto target = uniform_below(context.rng(), set.total_weight());
    // The first running sum above target: endpoint i owns [cumulative[i-1], cumulative[i]).
    const auto it = std::upper_bound(cumulative.begin(), cumulative.end(), target);
    return set.routable()[static_cast<std::size_t>(it - cumulative.begin())];
  }
};

}  // namespace bulwark
