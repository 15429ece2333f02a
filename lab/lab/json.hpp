#pragma once

#include <charconv>
#include <concepts>
#include <string>
#include <string_view>
#include <vector>

namespace lab {

/// Appends `text` to `out` as a JSON string literal: quoted, with `"` and `\` escaped and
/// control characters written as \n, \t, ... or \u00XX (RFC 8259, section 7). Other bytes,
/// UTF-8 included, pass through unchanged.
void append_json_string(std::string& out, std::string_view text);

/// Writes compact JSON into a string, placing the commas and checking the nesting.
///
///   json_writer json;
///   json.begin_object().key("seed").number(42).key("arms").begin_array().end_array();
///   json.end_object();
///   std::string text = std::move(json).str();   // {"seed":42,"arms":[]}
///
/// Misuse (a value where a key belongs, unbalanced ends, str() before the end) throws
/// std::logic_error. Not thread-safe.
class json_writer {
 public:
  json_writer& begin_object();
  json_writer& end_object();
  json_writer& begin_array();
  json_writer& end_array();

  /// A member's name; the next call writes its value.
  json_writer& key(std::string_view name);

  json_writer& string(std::string_view value);
  template <std::integral T>
  requires(!std::same_as<T, bool>) json_writer& number(T value) {
    before_value();
    char buffer[24];  // enough for any 64-bit integer and its sign
    out_.append(buffer, std::to_chars(buffer, buffer + sizeof buffer, value).ptr);
    return *this;
  }
  /// Shortest round-trip decimal; NaN and infinities, which JSON cannot spell, as null.
  json_writer& number(double value);
  json_writer& boolean(bool value);
  json_writer& null();

  /// The document. Precondition: every begin has its end.
  [[nodiscard]] std::string str() &&;

 private:
  enum class container { object, array };
  void before_value();
  void end(container kind, char close);

  std::string out_;
  struct level {
    container kind;
    bool empty = true;
  };
  std::vector<level> open_;
  bool expecting_value_ = false;  // a key was written
  bool done_ = false;             // the top-level value is complete
};

}  // namespace lab
