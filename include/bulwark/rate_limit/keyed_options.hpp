#pragma once
// The options of bulwark::keyed_limiter (keyed_limiter.hpp), their validation, and its metrics.

#include <chrono>
#include <cstddef>
#include <cstdint>

#include "bulwark/core/clock.hpp"
#include "bulwark/core/metrics.hpp"
#include "bulwark/core/options.hpp"

namespace bulwark {

/// What a keyed_limiter does with a new key when its table is full and every key it samples
/// is in debt (has not recovered to a fresh limiter's state).
enum class keyed_table_full : std::uint8_t {
  /// Refuse the new key's request: no key ever exceeds its limiter's bound, also under a
  /// flood of new keys; new clients wait until some key recovers.
  reject_new_keys,
  /// Evict the least recently used sampled key anyway. Its next request starts a fresh
  /// limiter, so a client that floods new keys can reset a busy key and exceed its bound.
  evict_least_recent,
};

/// Options of bulwark::keyed_limiter (defaults in parentheses).
struct keyed_limiter_options {
  /// The most keys held at once (100000). A new key beyond it evicts a recovered one.
  std::size_t max_keys = 100'000;
  /// A key unused for this long is idle (10min): dropped by evict_idle() and by the sampling
  /// on insertion, once it has recovered.
  duration idle_timeout = std::chrono::minutes{10};
  /// When the table is full of keys in debt (reject_new_keys, which keeps every key's bound).
  keyed_table_full on_table_full = keyed_table_full::reject_new_keys;
  /// The hash and sampling seed (0): 0 draws one from std::random_device, which is what a
  /// service wants; a fixed seed is for tests and simulations only (it lets a client who
  /// knows it aim collisions at one shard).
  std::uint64_t seed = 0;
};

/// A snapshot of a keyed_limiter's counters (calls, not cost units) and its size.
struct keyed_limiter_metrics {
  std::uint64_t admitted = 0;
  std::uint64_t rejected = 0;
  std::uint64_t evicted = 0;  ///< keys dropped, for room or for idleness
  std::uint64_t keys = 0;     ///< keys held now
  /// New keys refused because the table was full of keys in debt (among `rejected`).
  std::uint64_t refused_keys = 0;
  /// Keys evicted while in debt (evict_least_recent only): each one a possible bypass.
  std::uint64_t evicted_in_debt = 0;

  template <class Visit>
  void for_each_metric(Visit&& visit) const {
    visit(metric{"admitted_total", "Requests admitted.", metric_type::counter, admitted});
    visit(metric{"rejected_total", "Requests refused.", metric_type::counter, rejected});
    visit(metric{"evicted_total", "Keys evicted.", metric_type::counter, evicted});
    visit(metric{"keys", "Keys held.", metric_type::gauge, keys});
    visit(metric{"refused_keys_total", "New keys refused: table full of keys in debt.",
                 metric_type::counter, refused_keys});
    visit(metric{"evicted_in_debt_total", "Keys evicted before they recovered.",
                 metric_type::counter, evicted_in_debt});
  }

  friend bool operator==(const keyed_limiter_metrics&, const keyed_limiter_metrics&) = default;
};

namespace detail {
inline void validate(const keyed_limiter_options& options) {
  const option_check check{"keyed_limiter"};
  check.at_least("max_keys", options.max_keys, std::size_t{1});
  check.positive("idle_timeout", options.idle_timeout);
  check.that(options.on_table_full == keyed_table_full::reject_new_keys ||
                 options.on_table_full == keyed_table_full::evict_least_recent,
             "on_table_full", "reject_new_keys or evict_least_recent",
             static_cast<int>(options.on_table_full));
}
}  // namespace detail

}  // namespace bulwark
