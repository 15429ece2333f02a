#pragma once

#include <charconv>
#include <chrono>
#include <concepts>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <system_error>
#include <type_traits>

namespace bulwark::detail {

/// Appends `value` to `out` as decimal text: std::to_chars, so the text does not depend on the
/// locale and a double prints in its shortest round-trip form.
template <class T>
requires(std::is_arithmetic_v<T> && !std::same_as<T, bool>) void append_number(std::string& out,
                                                                               T value) {
  char buffer[64];
  const auto result = std::to_chars(buffer, buffer + sizeof buffer, value);
  out.append(buffer, result.ptr);
}

/// Appends a duration the way a person writes it: hours and minutes when exact ("2h",
/// "5min"), otherwise the largest of s, ms, us, ns not above it, as an integer when exact and
/// as its exact decimal when not: "250ms", "1.5s", "-3us", "19.999873ms", "0s". Every value
/// of the range prints exactly, duration::min() included ("-9223372036.854775808s").
template <class Rep, class Period>
void append_duration(std::string& out, std::chrono::duration<Rep, Period> d) {
  const auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(d).count();
  if (ns == 0) {
    out += "0s";
    return;
  }
  constexpr std::int64_t hour = 3'600'000'000'000;
  constexpr std::int64_t minute = 60'000'000'000;
  if (ns % hour == 0) {
    append_number(out, ns / hour);
    out += 'h';
    return;
  }
  if (ns % minute == 0) {
    append_number(out, ns / minute);
    out += "min";
    return;
  }
  struct unit {
    std::uint64_t ns;
    int digits;  // of a fraction of the unit: log10(ns)
    std::string_view suffix;
  };
  static constexpr unit units[] = {{1'000'000'000, 9, "s"}, {1'000'000, 6, "ms"}, {1'000, 3, "us"}};
  // Unsigned, because -duration::min() does not fit the signed type.
  const std::uint64_t magnitude =
      ns < 0 ? std::uint64_t{0} - static_cast<std::uint64_t>(ns) : static_cast<std::uint64_t>(ns);
  for (const auto& u : units) {
    if (magnitude < u.ns) continue;
    // Whole units, then the exact decimal fraction without trailing zeros: integers, because
    // a double has 16 significant digits and would round duration::max() ("9223372036.854775807s").
    if (ns < 0) out += '-';
    append_number(out, magnitude / u.ns);
    std::uint64_t fraction = magnitude % u.ns;
    if (fraction != 0) {
      int digits = u.digits;
      while (fraction % 10 == 0) {
        fraction /= 10;
        --digits;
      }
      std::string text;
      append_number(text, fraction);
      out += '.';
      out.append(static_cast<std::size_t>(digits) - text.size(), '0');
      out += text;
    }
    out += u.suffix;
    return;
  }
  append_number(out, ns);
  out += "ns";
}

/// Renders a value for an error message. Strings are quoted so that an empty or blank value
/// is visible in the message.
template <class T>
std::string to_message_text(const T& value) {
  std::string out;
  if constexpr (std::same_as<T, bool>) {
    out = value ? "true" : "false";
  } else if constexpr (std::is_arithmetic_v<T>) {
    append_number(out, value);
  } else if constexpr (requires {
                         value.count();
                         typename T::period;
                       }) {
    append_duration(out, value);
  } else if constexpr (std::is_convertible_v<const T&, std::string_view>) {
    out += '"';
    out += std::string_view{value};
    out += '"';
  } else {
    out = to_string(value);  // found by ADL, e.g. bulwark::to_string(rate)
  }
  return out;
}

}  // namespace bulwark::detail
