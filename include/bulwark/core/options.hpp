#pragma once

#include <stdexcept>
#include <string>
#include <string_view>

#include "bulwark/detail/format.hpp"
#include "bulwark/detail/raise.hpp"

namespace bulwark {

/// Raises std::invalid_argument (detail::raise: thrown, or the error handler without exceptions)
/// with the one message shape every component uses:
///   "bulwark::<component>: <field> must be <rule> (got <value>)"
/// e.g. "bulwark::gcra: burst must be >= 1 (got 0)". The value is rendered as the user wrote
/// it: numbers in decimal, durations in their exact unit ("250ms"), strings quoted.
template <class T>
[[noreturn]] void throw_invalid_option(std::string_view component, std::string_view field,
                                       std::string_view rule, const T& value) {
  std::string message = "bulwark::";
  message.append(component).append(": ").append(field).append(" must be ").append(rule);
  message.append(" (got ").append(detail::to_message_text(value)).append(")");
  detail::raise<std::invalid_argument>(message);
}

/// Raises std::invalid_argument for an option that cannot change on a live object's
/// reconfigure() (a structural one: the clock's window numbering, the number of shards):
///   "bulwark::<component>: option '<field>' cannot change on reconfigure (was 8, got 16)"
template <class T>
[[noreturn]] void throw_fixed_option(std::string_view component, std::string_view field,
                                     const T& was, const T& got) {
  std::string message = "bulwark::";
  message.append(component).append(": option '").append(field);
  message.append("' cannot change on reconfigure (was ").append(detail::to_message_text(was));
  message.append(", got ").append(detail::to_message_text(got)).append(")");
  detail::raise<std::invalid_argument>(message);
}

/// Validates one component's options field by field; each check throws on the first bad field
/// with the message of throw_invalid_option. Used by constructors:
///
///   option_check check{"gcra"};
///   check.at_least("burst", options.burst, 1u);
///   check.positive("rate", options.rate.period);
///
/// Comparisons are written so that NaN fails every check.
class option_check {
 public:
  explicit constexpr option_check(std::string_view component) noexcept : component_{component} {}

  /// Fails unless `holds`, reporting `rule` (free text after "must be") and `value`.
  template <class T>
  void that(bool holds, std::string_view field, std::string_view rule, const T& value) const {
    if (!holds) throw_invalid_option(component_, field, rule, value);
  }

  /// value > 0 (numbers and durations).
  template <class T>
  void positive(std::string_view field, const T& value) const {
    that(value > T{}, field, "> 0", value);
  }

  /// value >= 0 (numbers and durations).
  template <class T>
  void non_negative(std::string_view field, const T& value) const {
    that(value >= T{}, field, ">= 0", value);
  }

  /// value >= min.
  template <class T>
  void at_least(std::string_view field, const T& value, const T& min) const {
    that(value >= min, field, ">= " + detail::to_message_text(min), value);
  }

  /// value <= max.
  template <class T>
  void at_most(std::string_view field, const T& value, const T& max) const {
    that(value <= max, field, "<= " + detail::to_message_text(max), value);
  }

  /// lo <= value <= hi.
  template <class T>
  void in_range(std::string_view field, const T& value, const T& lo, const T& hi) const {
    that(value >= lo && value <= hi, field,
         "in [" + detail::to_message_text(lo) + ", " + detail::to_message_text(hi) + "]", value);
  }

  /// 0 < value <= 1: rates and thresholds expressed as fractions.
  void fraction(std::string_view field, double value) const {
    that(value > 0.0 && value <= 1.0, field, "in (0, 1]", value);
  }

  /// was == got, for an option reconfigure() cannot change (see throw_fixed_option).
  template <class T>
  void unchanged(std::string_view field, const T& was, const T& got) const {
    if (!(was == got)) throw_fixed_option(component_, field, was, got);
  }

  [[nodiscard]] constexpr std::string_view component() const noexcept { return component_; }

 private:
  std::string_view component_;
};

}  // namespace bulwark
