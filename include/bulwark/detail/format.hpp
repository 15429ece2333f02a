#pragma once

#include <charconv>
#include <chrono>
#include <concepts>
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
/// as a shortest round-trip decimal when not: "250ms", "1.5s", "-3us", "19.999873ms", "0s".
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
    std::int64_t ns;
    std::string_view suffix;
  };
  static constexpr unit units[] = {{1'000'000'000, "s"}, {1'000'000, "ms"}, {1'000, "us"}};
  const auto magnitude = ns < 0 ? -ns : ns;
  for (const auto& u : units) {
    if (magnitude < u.ns) continue;
    if (ns % u.ns == 0) {
      append_number(out, ns / u.ns);
    } else {
      append_number(out, static_cast<double>(ns) / static_cast<double>(u.ns));
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
