#include "lab/format.hpp"

#include <charconv>
#include <chrono>
#include <cstdint>
#include <string_view>

namespace lab {
namespace {

// `digits` significant digits for values from 1 up (for 3: two decimals below 10, one below
// 100, none above), trailing zeros dropped. Fixed rather than std::chars_format::general, which
// would print 999.7 as "1e+03". std::to_chars rather than printf or streams, so the text never
// depends on the locale.
std::string significant(double value, int digits) {
  int decimals = digits - 1;
  for (double v = value < 0 ? -value : value; v >= 10.0 && decimals > 0; v /= 10.0)
    --decimals;
  char buffer[64];
  const auto end =
      std::to_chars(buffer, buffer + sizeof buffer, value, std::chars_format::fixed, decimals).ptr;
  std::string text(buffer, end);
  if (text.find('.') != std::string::npos) {
    text.erase(text.find_last_not_of('0') + 1);
    if (text.back() == '.') text.pop_back();
  }
  return text;
}

}  // namespace

std::string format_duration(bulwark::duration d) {
  struct unit {
    std::int64_t ns;
    std::string_view suffix;
  };
  static constexpr unit units[] = {{1'000'000'000, "s"}, {1'000'000, "ms"}, {1'000, "us"}};
  const std::int64_t ns = std::chrono::nanoseconds{d}.count();
  const std::int64_t magnitude = ns < 0 ? -ns : ns;
  for (const unit& u : units) {
    if (magnitude >= u.ns) {
      return significant(static_cast<double>(ns) / static_cast<double>(u.ns), 3).append(u.suffix);
    }
  }
  return std::to_string(ns) + (ns == 0 ? "s" : "ns");
}

std::string format_percent(double fraction) {
  return significant(fraction * 100.0, 3) + "%";
}

std::string format_number(double value) {
  char buffer[64];
  const auto end = std::to_chars(buffer, buffer + sizeof buffer, value).ptr;
  return std::string(buffer, end);
}

}  // namespace lab
