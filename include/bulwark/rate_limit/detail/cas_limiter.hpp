#pragma once
// bulwark::detail::cas_limiter: a rate-limit rule (rules/*.hpp) over one atomic word, the
// whole of a lock-free limiter's own code: one CAS loop around the rule's decision, the
// shared API coming from limiter_base. gcra, token_bucket, leaky_bucket, fixed_window and
// sliding_window_counter are this class with their rule.

#include <atomic>
#include <cstdint>
#include <memory>
#include <utility>

#include "bulwark/core/clock.hpp"
#include "bulwark/rate_limit/limiter_base.hpp"
#include "bulwark/rate_limit/rules/rate_decision.hpp"

namespace bulwark::detail {

template <rate_rule Rule, clock Clock>
class cas_limiter : public limiter_base<cas_limiter<Rule, Clock>, Clock> {
  using base = limiter_base<cas_limiter<Rule, Clock>, Clock>;
  friend base;

 public:
  using options_type = typename Rule::options_type;

  /// The rule this limiter decides with now. The reference stays valid for the limiter's
  /// lifetime (replaced rules are kept until then), but a reconfigure() may replace it.
  [[nodiscard]] const Rule& rule() const noexcept {
    return current_.load(std::memory_order_acquire)->rule;
  }

  /// The current options: those it was built with, or the last reconfigure()'s.
  [[nodiscard]] options_type options() const { return rule().options(); }

  /// Throws what reconfigure(next) would throw (std::invalid_argument: the constructor's
  /// message for an invalid option, throw_fixed_option's for a structural one), changing
  /// nothing.
  void check_reconfigure(const options_type& next) const {
    const Rule checked{next};  // validates, as the constructor does
    if constexpr (requires { Rule::check_change(next, next); }) {
      Rule::check_change(options(), next);
    }
  }

  /// Replaces the options of a live limiter, keeping its state: see each limiter's page
  /// ("Changing settings live") for what the state means under the new rate. Validated as by
  /// the constructor (nothing changes if it throws). Thread-safe: each decision reads the
  /// rule once, so it is made wholly under the old options or wholly under the new.
  void reconfigure(const options_type& next) {
    std::unique_ptr<rule_node> node{new rule_node{Rule{next}, nullptr}};  // validates
    const rule_node* current = current_.load(std::memory_order_acquire);
    do {
      if constexpr (requires { Rule::check_change(next, next); }) {
        Rule::check_change(current->rule.options(), next);
      }
      node->older = current;
      // Release publishes the node's contents to readers' acquire loads; a failed CAS reloads
      // (acquire) the rule another reconfigure() published, checked again against it.
    } while (!current_.compare_exchange_weak(current, node.get(), std::memory_order_release,
                                             std::memory_order_acquire));
    static_cast<void>(node.release());  // owned by the chain from current_ now
  }

  ~cas_limiter() {
    const rule_node* node = current_.load(std::memory_order_relaxed);
    while (node != &first_)
      delete std::exchange(node, node->older);
  }

 protected:
  // Builds (and so validates) the rule first, then reads the clock only for a rule whose
  // initial state depends on it (the windows number the window they start in).
  cas_limiter(const options_type& options, Clock clock)
      : base{std::move(clock)}, first_{Rule{options}, nullptr} {
    state_.store(start_state(), std::memory_order_relaxed);  // before any other thread sees it
  }

 private:
  static constexpr std::string_view component = Rule::component;
  static constexpr bool reserves = Rule::reserves;
  static constexpr bool execute_waits = requires { requires Rule::queues; };
  // The cost is checked here, against the rule the decision reads, not by limiter_base: a
  // reconfigure() between the two reads could otherwise pass a cost the new rule cannot take.
  static constexpr bool checks_cost = true;

  // A rule and the one it replaced. Nodes are immutable once published and freed only by the
  // destructor: a reader may still be deciding with a replaced rule, and without a way to know
  // when the last one is done (hazard pointers, epochs), keeping them is what makes a load of
  // current_ and a use of its rule safe. A reconfigure() costs sizeof(rule_node) (32-48
  // bytes) until the limiter goes; reconfigure is an operator's act, not a per-call one.
  struct rule_node {
    Rule rule;
    const rule_node* older;
  };

  [[nodiscard]] typename Rule::state start_state() const noexcept {
    if constexpr (requires { Rule::initial(); }) {
      return Rule::initial();
    } else {
      return first_.rule.initial(this->clock_.now());
    }
  }

  [[nodiscard]] std::uint64_t max_cost() const noexcept { return rule().max_cost(); }

  // Throws std::invalid_argument for a cost `rule` cannot take.
  static void check_cost(const Rule& rule, std::uint32_t cost) {
    if (!rule.admissible(cost)) [[unlikely]]
      throw_bad_cost(component, rule.max_cost(), cost);
  }

  // The one CAS loop. Relaxed ordering throughout: the decision depends on this one word only,
  // and every CAS on it is a read-modify-write in its single modification order, so no two
  // callers can spend the same capacity whatever the ordering. The limiter publishes no other
  // memory, so there is nothing for acquire/release to order. A refusal writes nothing.
  // Returns the wait (>= 0) of an admission or reservation, -1 for a refusal.
  std::int64_t reserve(std::uint32_t cost, std::int64_t now, std::int64_t max_wait) {
    const Rule& rule = this->rule();
    check_cost(rule, cost);
    const time_point at{duration{now}};
    typename Rule::state s = state_.load(std::memory_order_relaxed);
    for (;;) {
      const auto d = rule.decide(s, cost, at, duration{max_wait});
      if (!d.admitted) return -1;
      if (state_.compare_exchange_weak(s, d.next, std::memory_order_relaxed,
                                       std::memory_order_relaxed)) {
        return d.wait.count();
      }
    }
  }

  // try_acquire is a reservation that may not wait.
  bool admit(std::uint32_t cost, std::int64_t now) { return reserve(cost, now, 0) == 0; }

  [[nodiscard]] std::int64_t wait_ns(std::uint32_t cost, std::int64_t now) const {
    const Rule& rule = this->rule();
    check_cost(rule, cost);
    return rule.wait(state_.load(std::memory_order_relaxed), cost, time_point{duration{now}})
        .count();
  }

  [[nodiscard]] std::int64_t queue_wait_ns(std::uint32_t cost,
                                           std::int64_t now) const noexcept requires requires {
    Rule::queues;
  }
  {
    return rule()
        .queue_wait(state_.load(std::memory_order_relaxed), cost, time_point{duration{now}})
        .count();
  }

  [[nodiscard]] std::uint64_t available_at(std::int64_t now) const noexcept {
    return rule().available(state_.load(std::memory_order_relaxed), time_point{duration{now}});
  }

  // The state first: it ends the base's line, beside the admission cells that an admitting
  // caller writes just after its CAS, so both writes hit a line the caller already owns. The
  // rule's pointer and the first rule, read-only but for a reconfigure(), take the next line,
  // which no call ever invalidates: a limiter never reconfigured reads its rule where it read
  // it before, one load (current_) later.
  std::atomic<typename Rule::state> state_{};
  std::atomic<const rule_node*> current_{&first_};
  rule_node first_;
};

}  // namespace bulwark::detail
