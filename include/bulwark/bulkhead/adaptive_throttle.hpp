#pragma once

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <concepts>
#include <cstdint>
#include <exception>
#include <functional>
#include <memory>
#include <optional>
#include <type_traits>
#include <utility>

#include "bulwark/core/clock.hpp"
#include "bulwark/core/errors.hpp"
#include "bulwark/core/metrics.hpp"
#include "bulwark/core/options.hpp"
#include "bulwark/core/random.hpp"
#include "bulwark/detail/false_sharing.hpp"
#include "bulwark/detail/invoke_then.hpp"
#include "bulwark/detail/raise.hpp"

namespace bulwark {

/// Client-side adaptive throttling (Google SRE book, "Handling Overload"; Envoy's admission
/// control filter). The defaults are the book's: K = 2 over the last 2 minutes.
struct adaptive_throttle_options {
  /// The trailing window of requests and accepts. In [1s, 1h].
  duration window = std::chrono::minutes{2};
  /// The window is counted in buckets of this length; window / bucket in [1, 3600].
  duration bucket = std::chrono::seconds{1};
  /// The book's K: requests may exceed K x accepts before any is refused. In [1, 1000].
  double k = 2.0;
  /// Envoy's sr_threshold, the success rate below which rejection starts: when set it replaces
  /// k by 1 / sr_threshold (leave k at 2 then). In [0.01, 1].
  std::optional<double> sr_threshold{};
  /// Envoy's aggression: the probability is raised to 1 / aggression. In [1, 100].
  double aggression = 1.0;
  /// Envoy's max_rejection_probability: the probability never exceeds it. In [0, 1].
  double max_rejection_probability = 1.0;
  /// Envoy's rps_threshold: no rejection while the window's average requests per second is
  /// below it. In [0, 1e9].
  double rps_threshold = 0.0;
  /// Which exceptions from execute()'s callable still count as accepts (the backend answered,
  /// with an application error). Empty: none, every exception counts as a rejection.
  std::function<bool(const std::exception_ptr&)> accept_on{};
  /// Seeds the rejection draws: draw i is the i-th output of SplitMix64 from the seed, so a
  /// run repeats exactly. Empty: bulwark::thread_rng().
  std::optional<std::uint64_t> seed{};
};

namespace detail {

inline void validate(const adaptive_throttle_options& o) {
  const option_check check{"adaptive_throttle"};
  check.in_range("window", o.window, duration{std::chrono::seconds{1}},
                 duration{std::chrono::hours{1}});
  check.in_range("bucket", o.bucket, duration{std::chrono::milliseconds{1}}, o.window);
  check.that(o.window % o.bucket == duration::zero() && o.window / o.bucket <= 3600, "bucket",
             "a divisor of window, at most 3600 buckets", o.bucket);
  check.in_range("k", o.k, 1.0, 1000.0);
  if (o.sr_threshold) {
    check.in_range("sr_threshold", *o.sr_threshold, 0.01, 1.0);
    check.that(o.k == 2.0, "k", "left at 2 when sr_threshold is set", o.k);
  }
  check.in_range("aggression", o.aggression, 1.0, 100.0);
  check.in_range("max_rejection_probability", o.max_rejection_probability, 0.0, 1.0);
  check.in_range("rps_threshold", o.rps_threshold, 0.0, 1e9);
}

/// Validated options as the throttle keeps them: Envoy's sr_threshold, when set, replaces k
/// by 1 / sr_threshold.
inline adaptive_throttle_options with_sr_threshold(adaptive_throttle_options o) {
  if (o.sr_threshold) o.k = 1.0 / *o.sr_threshold;
  return o;
}

}  // namespace detail

/// An adaptive throttle's counters (monotonic) and gauges.
struct adaptive_throttle_metrics {
  std::uint64_t requests = 0;        ///< try_acquire calls (throttled ones included)
  std::uint64_t accepts = 0;         ///< permits reported accepted
  std::uint64_t rejects = 0;         ///< permits reported rejected (or dropped unreported)
  std::uint64_t throttled = 0;       ///< requests refused locally, never sent
  double rejection_probability = 0;  ///< the probability of a local refusal now

  template <class Visit>
  void for_each_metric(Visit&& visit) const {
    visit(metric{"requests_total", "Requests attempted, throttled ones included.",
                 metric_type::counter, requests});
    visit(metric{"accepts_total", "Requests the backend accepted.", metric_type::counter, accepts});
    visit(metric{"rejects_total", "Requests the backend rejected.", metric_type::counter, rejects});
    visit(metric{"throttled_total", "Requests refused locally.", metric_type::counter, throttled});
    visit(metric{"rejection_probability_ratio",
                 "The probability of a local refusal now, in [0, 1].", metric_type::gauge,
                 rejection_probability});
  }
  friend bool operator==(const adaptive_throttle_metrics&,
                         const adaptive_throttle_metrics&) = default;
};

/// Rejects requests locally, with a probability that rises as the backend accepts fewer of
/// them, so that an overloaded backend spends nothing on requests it would refuse anyway:
///
///   p = clamp((requests - K x accepts) / (requests + 1), 0, 1) ^ (1 / aggression)
///   p = min(p, max_rejection_probability)
///
/// over the trailing window (SRE book's formula; Envoy's aggression and cap). While the backend
/// accepts at least 1/K of requests, p is 0.
///
///   bulwark::adaptive_throttle throttle({});
///   if (auto permit = throttle.try_acquire()) {
///     auto reply = call_backend();
///     reply.overloaded() ? permit.rejected() : permit.accepted();
///   }  // else: refused locally, fail fast
///
/// A permit destroyed without a report counts as rejected (as Envoy records a failure unless
/// a response proves otherwise). Thread-safe and lock-free: a bucket is two 64-bit words
/// (epoch tag and count, for requests and for accepts) updated by CAS, and a stale bucket is
/// reset by the same CAS that counts into it. The sum over the window's older buckets is cached
/// once per bucket interval, so try_acquire reads two words and the cache, and draws only when p >
/// 0.
///
/// Approximation: an increment racing a bucket boundary may land in the bucket just closed
/// after its sum was cached; it is then missed until the next boundary (a few counts at most).
/// A bucket counts up to 2^32 - 1 requests (saturating).
template <clock Clock = steady_clock>
class adaptive_throttle {
 public:
  /// The right to send one request; reports how the backend answered. Move-only.
  class [[nodiscard]] permit {
   public:
    permit() noexcept = default;
    permit(permit&& other) noexcept : owner_{std::exchange(other.owner_, nullptr)} {}
    permit& operator=(permit&& other) noexcept {
      if (this != &other) {
        rejected();
        owner_ = std::exchange(other.owner_, nullptr);
      }
      return *this;
    }
    ~permit() { rejected(); }

    [[nodiscard]] explicit operator bool() const noexcept { return owner_ != nullptr; }
    /// The backend accepted the request (it answered, whatever the answer). One clock read.
    void accepted() noexcept {
      if (owner_ != nullptr) std::exchange(owner_, nullptr)->record_accept();
    }
    /// The backend rejected the request (overloaded, refused, timed out). Idempotent; what
    /// the destructor does.
    void rejected() noexcept {
      if (owner_ != nullptr) std::exchange(owner_, nullptr)->rejects_.add();
    }

   private:
    friend class adaptive_throttle;
    explicit permit(adaptive_throttle* owner) noexcept : owner_{owner} {}
    adaptive_throttle* owner_ = nullptr;
  };

  /// Throws std::invalid_argument ("bulwark::adaptive_throttle: k must be in [1, 1000] ...").
  explicit adaptive_throttle(adaptive_throttle_options options, Clock clock = {})
      : options_{(detail::validate(options), detail::with_sr_threshold(std::move(options)))},
        clock_{std::move(clock)},
        buckets_{static_cast<std::uint64_t>(options_.window / options_.bucket)},
        window_seconds_{std::chrono::duration<double>(options_.window).count()},
        slots_{std::make_unique<bucket_words[]>(buckets_)} {}

  adaptive_throttle(const adaptive_throttle&) = delete;
  adaptive_throttle& operator=(const adaptive_throttle&) = delete;

  /// A permit, or an empty one when the throttle refuses locally (with probability
  /// rejection_probability()). Counts the request either way. One clock read.
  [[nodiscard]] permit try_acquire() noexcept { return try_acquire(clock_.now()); }
  /// The same at the caller's clock read.
  [[nodiscard]] permit try_acquire(time_point now) noexcept {
    const std::uint64_t e = epoch(now);
    const double p = probability(e);
    // The book counts every request the application attempts, throttled or not: the count
    // keeps rising while the backend refuses, so p keeps rising with it.
    add(e, 1, 0);
    requests_.add();
    if (p > 0.0 && draw() < p) {
      throttled_.add();
      return permit{};
    }
    return permit{this};
  }

  /// Runs f(args...) under the throttle. A return is an accept; an exception is a rejection
  /// unless options.accept_on says otherwise, and propagates. Throws bulwark::rejected
  /// ("bulwark::adaptive_throttle: throttled") when refused locally. Not offered without exceptions
  /// (detail::with_exceptions): try_acquire is.
  template <detail::with_exceptions F, class... Args>
  requires std::invocable<F, Args...>
  decltype(auto) execute(F&& f, Args&&... args) {
    return execute_with([](const auto&...) { return true; }, std::forward<F>(f),
                        std::forward<Args>(args)...);
  }

  /// The same, with a success criterion on the result: accepted(result) decides (for a void
  /// callable, accepted() with no argument).
  template <class Accepted, detail::with_exceptions F, class... Args>
  requires std::invocable<F, Args...>
  decltype(auto) execute_with(Accepted&& accepted, F&& f, Args&&... args) {
    permit p = try_acquire();
    if (!p) detail::raise<rejected>("adaptive_throttle", "throttled");
    BULWARK_TRY {
      return detail::invoke_then(
          [&](const auto&... r) {
            if (std::invoke(accepted, r...)) p.accepted();
          },
          std::forward<F>(f), std::forward<Args>(args)...);
    }
    BULWARK_CATCH_ALL {
      if (options_.accept_on && options_.accept_on(std::current_exception())) p.accepted();
      BULWARK_RETHROW;
    }
  }

  /// The probability that a request now is refused locally. One clock read.
  [[nodiscard]] double rejection_probability() const noexcept {
    return rejection_probability(clock_.now());
  }
  [[nodiscard]] double rejection_probability(time_point now) const noexcept {
    return probability(epoch(now));
  }

  /// Requests and accepts in the window now (the formula's inputs).
  struct window_counts {
    std::uint64_t requests = 0;
    std::uint64_t accepts = 0;
  };
  [[nodiscard]] window_counts counts(time_point now) const noexcept { return totals(epoch(now)); }
  [[nodiscard]] window_counts counts() const noexcept { return counts(clock_.now()); }

  [[nodiscard]] adaptive_throttle_metrics metrics() const noexcept {
    return {requests_.load(), accepts_.load(), rejects_.load(), throttled_.load(),
            rejection_probability()};
  }
  [[nodiscard]] const adaptive_throttle_options& options() const noexcept { return options_; }
  [[nodiscard]] const Clock& clock() const noexcept { return clock_; }

 private:
  // A counter word: the bucket's epoch modulo 2^32 in the high half, the count in the low half.
  // One CAS resets a stale bucket and counts into it, so no count can land between a reset and
  // its use. A bucket is two words (requests, accepts), each reset on its own.
  static constexpr std::uint64_t low_mask = 0xffffffff;

  struct bucket_words {
    std::atomic<std::uint64_t> requests{0};
    std::atomic<std::uint64_t> accepts{0};
  };

  static std::uint64_t tag_of(std::uint64_t w) noexcept { return w >> 32; }
  static std::uint64_t count_of(std::uint64_t w) noexcept { return w & low_mask; }
  /// How many buckets `tag` lies behind epoch e, modulo 2^32: a tag "behind" by more than 2^31
  /// is ahead (a thread that read the clock just before a boundary another has crossed).
  /// A bucket left untouched for exactly a multiple of 2^32 buckets (136 years of 1 s buckets,
  /// 49 days of 1 ms ones) would read as current: the one approximation of the tag.
  static std::uint64_t age(std::uint64_t e, std::uint64_t tag) noexcept {
    return ((e & low_mask) - tag) & low_mask;
  }
  /// The word's count if it belongs to the window of epoch e (age in [0, buckets)), else 0.
  [[nodiscard]] std::uint64_t live(std::uint64_t e, std::uint64_t w) const noexcept {
    return age(e, tag_of(w)) < buckets_ ? count_of(w) : 0;
  }

  [[nodiscard]] std::uint64_t epoch(time_point now) const noexcept {
    const auto ticks = now.time_since_epoch() / options_.bucket;
    return ticks > 0 ? static_cast<std::uint64_t>(ticks) : 0;
  }

  void record_accept() noexcept {
    add(epoch(clock_.now()), 0, 1);
    accepts_.add();
  }

  void add(std::uint64_t e, std::uint64_t r, std::uint64_t a) noexcept {
    bucket_words& b = slots_[e % buckets_];
    if (r != 0) count(b.requests, e);
    if (a != 0) count(b.accepts, e);
  }

  static void count(std::atomic<std::uint64_t>& word, std::uint64_t e) noexcept {
    // Relaxed: the word is the whole state this operation reads and writes.
    std::uint64_t w = word.load(std::memory_order_relaxed);
    for (;;) {
      std::uint64_t next = ((e & low_mask) << 32) | 1;  // a stale bucket: start afresh
      const std::uint64_t behind = age(e, tag_of(w));
      if (behind == 0 || behind > (low_mask >> 1)) {  // this epoch's bucket, or a later one
        next = count_of(w) == low_mask ? w : w + 1;   // saturates at 2^32 - 1
      }
      if (word.compare_exchange_weak(w, next, std::memory_order_relaxed)) return;
    }
  }

  /// The window's totals: the cached sum of the older buckets plus the current one.
  [[nodiscard]] window_counts totals(std::uint64_t e) const noexcept {
    window_counts sum = older(e);
    const bucket_words& b = slots_[e % buckets_];
    const std::uint64_t r = b.requests.load(std::memory_order_relaxed);
    const std::uint64_t a = b.accepts.load(std::memory_order_relaxed);
    if (age(e, tag_of(r)) == 0) sum.requests += count_of(r);
    if (age(e, tag_of(a)) == 0) sum.accepts += count_of(a);
    return sum;
  }

  [[nodiscard]] window_counts older(std::uint64_t e) const noexcept {
    // Acquire pairs with the release below: the sums read are at least the ones stored for e.
    if (cache_epoch_.load(std::memory_order_acquire) == e + 1) {
      return {cache_requests_.load(std::memory_order_relaxed),
              cache_accepts_.load(std::memory_order_relaxed)};
    }
    window_counts sum;
    for (std::uint64_t i = 0; i < buckets_; ++i) {
      if (i == e % buckets_) continue;
      // Relaxed: each word is read on its own; the sum claims no consistent cut (see above).
      sum.requests += live(e, slots_[i].requests.load(std::memory_order_relaxed));
      sum.accepts += live(e, slots_[i].accepts.load(std::memory_order_relaxed));
    }
    // Several threads may compute the same epoch's sums at once; any of their stores is right.
    cache_requests_.store(sum.requests, std::memory_order_relaxed);
    cache_accepts_.store(sum.accepts, std::memory_order_relaxed);
    cache_epoch_.store(e + 1, std::memory_order_release);  // + 1: 0 means "nothing cached"
    return sum;
  }

  [[nodiscard]] double probability(std::uint64_t e) const noexcept {
    const window_counts c = totals(e);
    const auto n = static_cast<double>(c.requests);
    if (options_.rps_threshold > 0.0 && n / window_seconds_ < options_.rps_threshold) return 0.0;
    double p = (n - options_.k * static_cast<double>(c.accepts)) / (n + 1.0);
    if (!(p > 0.0)) return 0.0;
    if (options_.aggression != 1.0) p = std::pow(p, 1.0 / options_.aggression);
    return std::min(p, options_.max_rejection_probability);
  }

  double draw() noexcept {
    if (!options_.seed) return uniform01(thread_rng());
    // Draw i is splitmix64's i-th output from the seed: counter-based, so threads share the
    // stream without a lock, and a single-threaded run repeats exactly.
    std::uint64_t state =
        *options_.seed + draws_.fetch_add(1, std::memory_order_relaxed) * 0x9e3779b97f4a7c15;
    return static_cast<double>(splitmix64(state) >> 11) * 0x1.0p-53;
  }

  adaptive_throttle_options options_;
  [[no_unique_address]] Clock clock_;
  std::uint64_t buckets_ = 0;
  double window_seconds_ = 0;
  std::unique_ptr<bucket_words[]> slots_;
  alignas(detail::false_sharing_range) mutable std::atomic<std::uint64_t> cache_epoch_{0};
  mutable std::atomic<std::uint64_t> cache_requests_{0};
  mutable std::atomic<std::uint64_t> cache_accepts_{0};
  std::atomic<std::uint64_t> draws_{0};
  metric_counter requests_;
  metric_counter accepts_;
  metric_counter rejects_;
  metric_counter throttled_;
};

adaptive_throttle(adaptive_throttle_options)->adaptive_throttle<steady_clock>;
template <clock C>
adaptive_throttle(adaptive_throttle_options, C) -> adaptive_throttle<C>;

}  // namespace bulwark
