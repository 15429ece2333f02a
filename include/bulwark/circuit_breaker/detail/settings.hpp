#pragma once
// One version of a circuit breaker's options and what it derives from them (the trip rule,
// the window it records into), published through one atomic pointer so that reconfigure()
// can replace them while calls read them.

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string_view>
#include <utility>

#include "bulwark/circuit_breaker/detail/closed_window.hpp"
#include "bulwark/circuit_breaker/detail/trip_rule.hpp"
#include "bulwark/circuit_breaker/options.hpp"
#include "bulwark/core/options.hpp"

namespace bulwark::detail {

/// Immutable once published. `window` is this version's closed window: the previous version's,
/// or `own_window` when this version resized it. Calls record into the breaker's own pointer to
/// the window (published after the version that made it) and decide under a version only when
/// it is that version's window (circuit_breaker::finish). Versions are freed only with the
/// breaker (see breaker_settings_chain), so a call may keep using the one it loaded.
struct breaker_settings {
  circuit_breaker_options options;
  bool coarse_slow = false;  // slow-call detection reads coarse_now() (see circuit_breaker)
  trip_rule rule;
  closed_window* window = nullptr;
  std::unique_ptr<closed_window> own_window;
  const breaker_settings* older = nullptr;
};

/// The options reconfigure() cannot change: the window's kind, the trip condition, the probe
/// slots' count (their array is sized once), and whether slow-call detection is on (a permit
/// taken without it holds no start time).
inline void validate_change(const circuit_breaker_options& was,
                            const circuit_breaker_options& next) {
  const option_check check{"circuit_breaker"};
  const auto window_name = [](sliding_window w) {
    return std::string_view{w == sliding_window::count_based ? "count_based" : "time_based"};
  };
  const auto trip_name = [](trip_condition t) {
    return std::string_view{t == trip_condition::rate ? "rate" : "consecutive_failures"};
  };
  check.unchanged("window_type", window_name(was.window_type), window_name(next.window_type));
  check.unchanged("trip_on", trip_name(was.trip_on), trip_name(next.trip_on));
  check.unchanged("permitted_calls_in_half_open", was.permitted_calls_in_half_open,
                  next.permitted_calls_in_half_open);
  if ((was.slow_call_duration == slow_calls_off) != (next.slow_call_duration == slow_calls_off))
    throw_fixed_option(check.component(), "slow_call_duration",
                       std::string_view{was.slow_call_duration == slow_calls_off ? "slow_calls_off"
                                                                                 : "a duration"},
                       std::string_view{next.slow_call_duration == slow_calls_off ? "slow_calls_off"
                                                                                  : "a duration"});
}

/// A version for `options` (validated) recording into `older`'s window, or into a new one when
/// there is no older version or the size changed (filled with what it can keep of older's).
/// `coarse_capable`: whether the breaker's clock offers coarse_now().
inline breaker_settings make_breaker_settings(circuit_breaker_options options,
                                              const breaker_settings* older, bool coarse_capable) {
  breaker_settings s;
  s.coarse_slow = options.slow_call_duration != slow_calls_off && coarse_capable &&
                  options.slow_call_duration >= coarse_slow_call_minimum;
  s.rule = make_trip_rule(options);
  if (older != nullptr && older->options.window_size == options.window_size) {
    s.window = older->window;
  } else {
    s.own_window = std::make_unique<closed_window>(options);
    if (older != nullptr) s.own_window->copy_recent(*older->window);
    s.window = s.own_window.get();
  }
  s.options = std::move(options);
  s.older = older;
  return s;
}

/// The published version and the older ones, which the destructor frees. Readers load with
/// acquire (free on x86), pairing with publish()'s release: a version's contents, written
/// before it was published, are visible to whoever loads it.
class breaker_settings_chain {
 public:
  explicit breaker_settings_chain(breaker_settings first) : first_{std::move(first)} {}
  breaker_settings_chain(const breaker_settings_chain&) = delete;
  breaker_settings_chain& operator=(const breaker_settings_chain&) = delete;
  ~breaker_settings_chain() {
    const breaker_settings* s = current_.load(std::memory_order_relaxed);
    while (s != &first_)
      delete std::exchange(s, s->older);
  }

  [[nodiscard]] const breaker_settings& load() const noexcept {
    return *current_.load(std::memory_order_acquire);
  }
  /// circuit_breaker::check_reconfigure: what replace(next) would throw.
  void check(const circuit_breaker_options& next) const {
    validate(next);
    validate_change(load().options, next);
  }

  /// circuit_breaker::reconfigure: validates `next` against the current version, then
  /// publishes a version for it, and then, if it resized the window, the new window in
  /// `recording` (the pointer calls record through). Writers are serialised by a mutex;
  /// readers never wait. `state`: the breaker's state word, to detect a transition racing a
  /// resize.
  void replace(const circuit_breaker_options& next, bool coarse_capable,
               const std::atomic<std::uint64_t>& state, std::atomic<closed_window*>& recording) {
    validate(next);
    const std::lock_guard lock{writer_};
    const breaker_settings& current = load();
    validate_change(current.options, next);
    const bool resized = next.window_size != current.options.window_size;
    const auto before = state.load(std::memory_order_seq_cst);
    auto node =
        std::make_unique<breaker_settings>(make_breaker_settings(next, &current, coarse_capable));
    closed_window* window = node->window;
    current_.store(node.release(), std::memory_order_release);
    if (!resized) return;
    // The version first, then the window: a call that records into the new window then loads a
    // version that has it (see breaker_settings).
    recording.store(window, std::memory_order_seq_cst);
    // A transition to closed racing the copy may have emptied the old window after it was
    // read: empty the new one too (circuit_breaker::transition checks the other order; seq_cst
    // on both sides, so at least one of the two sees the other's store).
    if (state.load(std::memory_order_seq_cst) != before) window->reset();
  }

 private:
  breaker_settings first_;
  std::atomic<const breaker_settings*> current_{&first_};
  std::mutex writer_;
};

}  // namespace bulwark::detail
