#pragma once

#include <algorithm>
#include <array>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <mutex>
#include <string>
#include <variant>

#include "bulwark/core/clock.hpp"
#include "bulwark/core/metrics.hpp"
#include "bulwark/core/options.hpp"

namespace bulwark {

/// gRPC's retry throttling (gRFC A6): a token count that starts full, loses 1 per retryable
/// failure and gains token_ratio per success; retries are allowed only while the count is
/// above max_tokens / 2. The defaults are the example of A6's service config.
/// Both numbers are kept to 3 decimals by truncation, as gRPC keeps token_ratio (1.2345 counts
/// as 1.234), so a ratio below 0.001 is refused as gRPC refuses it.
struct token_budget_options {
  double max_tokens = 10;    ///< in (0, 1000], at least 0.001
  double token_ratio = 0.1;  ///< in (0, 1], at least 0.001
};

/// A ratio budget (Finagle's RetryBudget, tower's TpsBudget; Envoy's retry budget expresses
/// the same idea as a share of active requests): retries may be at most retry_ratio of the
/// requests of the last `window`, plus min_retries_per_second so that a quiet client can still
/// retry. The defaults are Finagle's and tower's: 20%, 10 per second, over 10 s.
struct ratio_budget_options {
  double retry_ratio = 0.2;                    ///< in [0, 10], kept to 3 decimals
  double min_retries_per_second = 10;          ///< in [0, 1e5]
  duration window = std::chrono::seconds{10};  ///< in [1ms, 1h]; counted in 10 slices
};

namespace detail {

/// Budgets count in thousandths of a retry (of a token), as gRPC does.
inline constexpr std::int64_t budget_unit = 1000;

/// `value` in thousandths, its further decimals dropped. gRPC reads tokenRatio's JSON text
/// as whole * 1000 + its first three decimal digits (retry_service_config.cc), truncating.
/// A double has no decimal text, so this takes the largest m whose m / 1000 (the double that
/// the text of m thousandths parses to) is <= value: 0.1239 gives 123, and 1.001 gives 1001
/// where a bare static_cast of 1.001 * 1000 gives 1000. `value` is in (0, 1000].
inline std::int64_t budget_units(double value) noexcept {
  auto m = static_cast<std::int64_t>(value * budget_unit);
  while (m > 0 && static_cast<double>(m) / budget_unit > value)
    --m;
  while (static_cast<double>(m + 1) / budget_unit <= value)
    ++m;
  return m;
}

inline void validate(const token_budget_options& options) {
  const option_check check{"retry_budget"};
  check.that(options.max_tokens > 0 && options.max_tokens <= 1000, "max_tokens", "in (0, 1000]",
             options.max_tokens);
  check.fraction("token_ratio", options.token_ratio);
  check.that(budget_units(options.max_tokens) > 0, "max_tokens",
             "at least 0.001 (kept to 3 decimals, truncated)", options.max_tokens);
  check.that(budget_units(options.token_ratio) > 0, "token_ratio",
             "at least 0.001 (kept to 3 decimals, truncated)", options.token_ratio);
}

inline void validate(const ratio_budget_options& options) {
  const option_check check{"retry_budget"};
  // The bounds keep a slice's balance within its 40 bits (see retry_budget's add_to_slice) at
  // any realistic request rate: the reserve is at most 3.6e8 retries.
  check.in_range("retry_ratio", options.retry_ratio, 0.0, 10.0);
  check.in_range("min_retries_per_second", options.min_retries_per_second, 0.0, 1e5);
  check.in_range("window", options.window, duration{std::chrono::milliseconds{1}},
                 duration{std::chrono::hours{1}});
}

}  // namespace detail

/// What a budget has done. for_each_metric lists the fields for exporters.
struct retry_budget_metrics {
  std::uint64_t granted = 0;  ///< retries try_spend allowed
  std::uint64_t refused = 0;  ///< retries try_spend refused
  double available = 0;       ///< retries the budget would allow now (tokens above the threshold)

  template <class Visit>
  void for_each_metric(Visit&& visit) const {
    visit(metric{"granted_total", "Retries the budget allowed.", metric_type::counter, granted});
    visit(metric{"refused_total", "Retries the budget refused.", metric_type::counter, refused});
    visit(
        metric{"available", "Retries the budget would allow now.", metric_type::gauge, available});
  }
  friend bool operator==(const retry_budget_metrics&, const retry_budget_metrics&) = default;
};

/// A retry budget shared by many retry executors (hold it in a std::shared_ptr and put it in
/// each executor's retry_options::budget), so that during an outage the retries of a whole
/// process stay a bounded share of its traffic instead of multiplying it.
///
/// Two styles, chosen by the constructor: token (gRPC throttling) and ratio (Finagle, tower).
/// The protocol a caller follows, which the retry executor does for you:
///   record_request(now)  once per original call (the ratio style counts them)
///   record_success()     once per successful attempt (the token style earns token_ratio)
///   try_spend(now)       after a retryable failure that would be retried: true to retry
///   record_failure()     after a retryable failure that will not be retried anyway
///
/// Lock-free and thread-safe: each operation is a load or one CAS loop on one 64-bit atomic
/// (try_spend of the ratio style also reads the window's 10 slices). Amounts are integers in
/// thousandths of a retry, like gRPC's, so no floating-point drift accumulates.
///
/// Exactness. The token style is exact under any concurrency: try_spend decrements and decides
/// on the value its own CAS produced, so with no successes at most ceil(max_tokens / 2) - 1
/// retries are ever granted. The ratio style is exact while time stays within one slice; a
/// try_spend racing a slice boundary may be checked against the old slice (Finagle and tower
/// are approximate in the same way), which can admit at most one extra retry per racing thread.
class retry_budget {
 public:
  enum class style { token, ratio };

  /// Throws std::invalid_argument ("bulwark::retry_budget: token_ratio must be in (0, 1] ...").
  explicit retry_budget(token_budget_options options)
      : style_{style::token}, options_{(detail::validate(options), options)} {
    const std::int64_t max = detail::budget_units(options.max_tokens);
    token_settings_.store(pack_token(max, detail::budget_units(options.token_ratio)),
                          std::memory_order_relaxed);
    tokens_.store(max, std::memory_order_relaxed);
  }

  explicit retry_budget(ratio_budget_options options)
      : style_{style::ratio},
        options_{(detail::validate(options), options)},
        slice_{options.window / slices} {
    store_ratio(options);
  }

  retry_budget(const retry_budget&) = delete;  // shared by reference: a copy would split it
  retry_budget& operator=(const retry_budget&) = delete;

  [[nodiscard]] style budget_style() const noexcept { return style_; }

  /// The current options (those it was built with, or the last reconfigure()'s), by value:
  /// token_budget_options for the token style, ratio_budget_options for the ratio style.
  [[nodiscard]] std::variant<token_budget_options, ratio_budget_options> options() const {
    const std::lock_guard lock{options_mutex_};
    return options_;
  }

  /// Throws what reconfigure(next) would (the constructor's std::invalid_argument), changing
  /// nothing: also when `next` is of the other style, which cannot change live.
  void check_reconfigure(const token_budget_options& next) const {
    detail::validate(next);
    if (style_ != style::token)
      throw_fixed_option("retry_budget", "style", style_name(), std::string{"token"});
  }
  void check_reconfigure(const ratio_budget_options& next) const {
    detail::validate(next);
    if (style_ != style::ratio)
      throw_fixed_option("retry_budget", "style", style_name(), std::string{"ratio"});
    const std::lock_guard lock{options_mutex_};
    const duration was = std::get<ratio_budget_options>(options_).window;
    if (next.window != was) throw_fixed_option("retry_budget", "window", was, next.window);
  }

  /// Token style: new max_tokens and token_ratio, keeping the token count (clamped to a lower
  /// max_tokens; a higher one is not filled: the count earns its way up by successes, so a
  /// change never grants a burst of retries). The threshold becomes the new max_tokens / 2.
  /// Validated as by the constructor; nothing changes if it throws. Thread-safe and lock-free
  /// for callers: both numbers are one atomic word, so no caller sees one without the other.
  void reconfigure(const token_budget_options& next) {
    check_reconfigure(next);
    const std::lock_guard lock{options_mutex_};
    const std::int64_t max = detail::budget_units(next.max_tokens);
    token_settings_.store(pack_token(max, detail::budget_units(next.token_ratio)),
                          std::memory_order_relaxed);
    // A success racing this may still add up to its old maximum; record_success brings a
    // count above the maximum back down at the next success.
    std::int64_t current = tokens_.load(std::memory_order_relaxed);
    while (current > max &&
           !tokens_.compare_exchange_weak(current, max, std::memory_order_relaxed)) {
    }
    options_ = next;
  }

  /// Ratio style: new retry_ratio and min_retries_per_second, keeping the window's deposits
  /// and withdrawals; new requests deposit the new ratio and the reserve changes at once. The
  /// window cannot change live (its slices are numbered by it): a different one is refused.
  void reconfigure(const ratio_budget_options& next) {
    check_reconfigure(next);
    const std::lock_guard lock{options_mutex_};
    store_ratio(next);
    options_ = next;
  }

  /// An original call is being sent. Ratio style: deposits retry_ratio into the current slice.
  /// Token style: nothing. O(1).
  void record_request(time_point now) noexcept {
    if (style_ == style::ratio) {
      add_to_slice(epoch(now), ratio_deposit_.load(std::memory_order_relaxed), false);
    }
  }

  /// An attempt succeeded. Token style: adds token_ratio, up to max_tokens (a full budget is
  /// not written to, so a healthy service does not contend on it). Ratio style: nothing.
  void record_success() noexcept {
    if (style_ != style::token) return;
    // Relaxed: the count is the only shared state, and every update is an RMW on it (the
    // settings word is read once; a reconfigure racing this is the case handled below).
    const std::uint64_t settings = token_settings_.load(std::memory_order_relaxed);
    const std::int64_t max = max_of(settings);
    std::int64_t current = tokens_.load(std::memory_order_relaxed);
    while (current != max) {
      // Above max only after a lowered max_tokens raced a success: back to the maximum.
      const std::int64_t next = current < max ? std::min(max, current + deposit_of(settings)) : max;
      if (tokens_.compare_exchange_weak(current, next, std::memory_order_relaxed)) return;
    }
  }

  /// A retryable failure that will not be retried (attempts or deadline ran out). Token style:
  /// subtracts 1, down to 0, as gRPC counts every retryable failure. Ratio style: nothing.
  void record_failure() noexcept {
    if (style_ == style::token) take_token();
  }

  /// A retryable failure that the caller wants to retry: true if the budget allows the retry.
  /// Token style: subtracts 1 (down to 0), then allows the retry iff the count left is above
  /// max_tokens / 2 (A6's order: the failure is counted before the decision). Ratio style:
  /// withdraws one retry if the window's balance (reserve + deposits - withdrawals) has one.
  bool try_spend(time_point now) noexcept {
    const bool granted = style_ == style::token ? take_token() > threshold() : withdraw(epoch(now));
    (granted ? granted_ : refused_).add();
    return granted;
  }

  /// Retries the budget would allow now, ignoring concurrent updates: tokens above the
  /// threshold (token style) or the window's balance (ratio style), in retries.
  [[nodiscard]] double available(time_point now) const noexcept {
    const std::int64_t units = style_ == style::token
                                   ? tokens_.load(std::memory_order_relaxed) - threshold()
                                   : balance(epoch(now));
    return static_cast<double>(units) / unit;
  }

  /// Token style: the current token count (0 to max_tokens). Ratio style: 0.
  [[nodiscard]] double tokens() const noexcept {
    return static_cast<double>(tokens_.load(std::memory_order_relaxed)) / unit;
  }

  [[nodiscard]] retry_budget_metrics metrics(time_point now) const noexcept {
    return {granted_.load(), refused_.load(), available(now)};
  }

 private:
  static constexpr std::int64_t unit = detail::budget_unit;
  static constexpr std::uint64_t slices = 10;
  // A slice word packs the slice's epoch (its index since the clock's epoch, modulo 2^24) in
  // the high 24 bits and its signed balance in the low 40, so one CAS both resets a stale
  // slice and applies an amount: nothing can land in a slice between its reset and its use.
  static constexpr int value_bits = 40;
  static constexpr std::uint64_t value_mask = (std::uint64_t{1} << value_bits) - 1;
  static constexpr std::uint64_t tag_mask = (std::uint64_t{1} << 24) - 1;
  static constexpr std::int64_t value_max = (std::int64_t{1} << (value_bits - 1)) - 1;

  // The token style's settings word: max_tokens in the high 32 bits, token_ratio in the low
  // 32, in units (at most 1e6 and 1000), so that one load reads a consistent pair.
  static std::uint64_t pack_token(std::int64_t max, std::int64_t deposit) noexcept {
    return (static_cast<std::uint64_t>(max) << 32) | static_cast<std::uint64_t>(deposit);
  }
  static std::int64_t max_of(std::uint64_t settings) noexcept {
    return static_cast<std::int64_t>(settings >> 32);
  }
  static std::int64_t deposit_of(std::uint64_t settings) noexcept {
    return static_cast<std::int64_t>(settings & 0xffffffffu);
  }
  /// Integer tokens: count > max/2 <=> count > floor(max/2).
  [[nodiscard]] std::int64_t threshold() const noexcept {
    return max_of(token_settings_.load(std::memory_order_relaxed)) / 2;
  }
  [[nodiscard]] std::string style_name() const {
    return style_ == style::token ? "token" : "ratio";
  }
  void store_ratio(const ratio_budget_options& options) noexcept {
    ratio_deposit_.store(std::llround(options.retry_ratio * unit), std::memory_order_relaxed);
    reserve_.store(std::llround(options.min_retries_per_second *
                                std::chrono::duration<double>(options.window).count() * unit),
                   std::memory_order_relaxed);
  }

  /// Subtracts one token (down to 0) and returns the count its CAS left.
  std::int64_t take_token() noexcept {
    std::int64_t current = tokens_.load(std::memory_order_relaxed);
    for (;;) {
      const std::int64_t next = current > unit ? current - unit : 0;
      if (tokens_.compare_exchange_weak(current, next, std::memory_order_relaxed)) return next;
    }
  }

  [[nodiscard]] std::uint64_t epoch(time_point now) const noexcept {
    const auto ticks = now.time_since_epoch().count() / slice_.count();
    return ticks > 0 ? static_cast<std::uint64_t>(ticks) : 0;
  }
  static std::uint64_t tag_of(std::uint64_t word) noexcept { return word >> value_bits; }
  static std::int64_t value_of(std::uint64_t word) noexcept {
    // Sign-extends the low 40 bits (arithmetic right shift is defined since C++20).
    return static_cast<std::int64_t>(word << (64 - value_bits)) >> (64 - value_bits);
  }
  static std::uint64_t pack(std::uint64_t tag, std::int64_t value) noexcept {
    return (tag << value_bits) | (static_cast<std::uint64_t>(value) & value_mask);
  }
  /// How many slices `tag` lies behind the current epoch's tag, modulo 2^24.
  static std::uint64_t age(std::uint64_t current_epoch, std::uint64_t tag) noexcept {
    return ((current_epoch & tag_mask) - tag) & tag_mask;
  }

  /// The balance of the slices other than the current one that are still in the window.
  [[nodiscard]] std::int64_t older_slices(std::uint64_t e) const noexcept {
    std::int64_t sum = 0;
    for (std::uint64_t i = 0; i < slices; ++i) {
      if (i == e % slices) continue;
      // Relaxed: each slice is read on its own; the budget does not claim a consistent cut
      // across slices (see the class comment), and the current slice's CAS is what decides.
      const std::uint64_t word = slots_[i].load(std::memory_order_relaxed);
      const std::uint64_t a = age(e, tag_of(word));
      if (a >= 1 && a < slices) sum += value_of(word);
    }
    return sum;
  }

  [[nodiscard]] std::int64_t balance(std::uint64_t e) const noexcept {
    const std::uint64_t word = slots_[e % slices].load(std::memory_order_relaxed);
    const std::int64_t current = age(e, tag_of(word)) == 0 ? value_of(word) : 0;
    return reserve_.load(std::memory_order_relaxed) + older_slices(e) + current;
  }

  /// Adds `amount` to the slice of epoch `e`, resetting it first if it still holds an expired
  /// epoch. With `need` set, only if reserve + older + the slice's value >= unit (a
  /// withdrawal); returns whether it applied.
  bool add_to_slice(std::uint64_t e, std::int64_t amount, bool need,
                    std::int64_t older = 0) noexcept {
    auto& slot = slots_[e % slices];
    const std::uint64_t tag = e & tag_mask;
    const std::int64_t reserve = reserve_.load(std::memory_order_relaxed);
    std::uint64_t word = slot.load(std::memory_order_relaxed);
    for (;;) {
      std::uint64_t use_tag = tag;
      std::int64_t value = 0;
      const std::uint64_t a = age(e, tag_of(word));
      if (a == 0) {
        value = value_of(word);
      } else if (a > (tag_mask >> 1)) {
        // The slice already holds a later epoch: this thread read the clock just before a
        // slice boundary that another has crossed. Apply to the later slice.
        use_tag = tag_of(word);
        value = value_of(word);
      }
      if (need && reserve + older + value < unit) return false;
      // Saturates rather than wraps: a slice would need 5.5e8 retries' worth of deposits (at
      // least 5.5e7 requests in one slice) to reach the bound.
      const std::int64_t next = std::clamp(value + amount, -value_max, value_max);
      // Relaxed: the slice word is the whole state this operation reads and writes.
      if (slot.compare_exchange_weak(word, pack(use_tag, next), std::memory_order_relaxed)) {
        return true;
      }
    }
  }

  bool withdraw(std::uint64_t e) noexcept { return add_to_slice(e, -unit, true, older_slices(e)); }

  style style_;
  // Live settings, read relaxed: each is one independent word (the token style's pair is
  // packed into one), and no other memory is published with them.
  std::atomic<std::uint64_t> token_settings_{0};  // token: pack_token(max_tokens, token_ratio)
  std::atomic<std::int64_t> ratio_deposit_{0};    // ratio: retry_ratio in units
  std::atomic<std::int64_t> reserve_{0};          // ratio: min_retries_per_second * window in units
  mutable std::mutex options_mutex_;              // options_, and one reconfigure at a time
  std::variant<token_budget_options, ratio_budget_options> options_;
  duration slice_{1};  // ratio: window / slices (fixed: it numbers the slices)
  std::atomic<std::int64_t> tokens_{0};
  std::array<std::atomic<std::uint64_t>, slices> slots_{};
  metric_counter granted_;
  metric_counter refused_;
};

}  // namespace bulwark
