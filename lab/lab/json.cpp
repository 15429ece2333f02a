#include "lab/json.hpp"

#include <charconv>
#include <cmath>
#include <stdexcept>
#include <utility>

namespace lab {

void append_json_string(std::string& out, std::string_view text) {
  static constexpr char hex[] = "0123456789abcdef";
  out += '"';
  for (const char c : text) {
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\b':
        out += "\\b";
        break;
      case '\f':
        out += "\\f";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\r':
        out += "\\r";
        break;
      case '\t':
        out += "\\t";
        break;
      default: {
        const auto byte = static_cast<unsigned char>(c);
        if (byte < 0x20) {
          out += "\\u00";
          out += hex[byte >> 4];
          out += hex[byte & 0xf];
        } else {
          out += c;
        }
      }
    }
  }
  out += '"';
}

void json_writer::before_value() {
  if (open_.empty()) {
    if (done_) throw std::logic_error{"lab::json_writer: a second top-level value"};
    done_ = true;  // this value is the whole document
    return;
  }
  level& current = open_.back();
  if (current.kind == container::object) {
    if (!expecting_value_) throw std::logic_error{"lab::json_writer: a value without a key"};
    expecting_value_ = false;
    return;  // key() placed the comma
  }
  if (!current.empty) out_ += ',';
  current.empty = false;
}

json_writer& json_writer::key(std::string_view name) {
  if (open_.empty() || open_.back().kind != container::object || expecting_value_) {
    throw std::logic_error{"lab::json_writer: a key outside an object or without a value"};
  }
  if (!open_.back().empty) out_ += ',';
  open_.back().empty = false;
  append_json_string(out_, name);
  out_ += ':';
  expecting_value_ = true;
  return *this;
}

json_writer& json_writer::begin_object() {
  before_value();
  out_ += '{';
  open_.push_back({container::object});
  return *this;
}

json_writer& json_writer::begin_array() {
  before_value();
  out_ += '[';
  open_.push_back({container::array});
  return *this;
}

void json_writer::end(container kind, char close) {
  if (open_.empty() || open_.back().kind != kind || expecting_value_) {
    throw std::logic_error{"lab::json_writer: unbalanced end"};
  }
  open_.pop_back();
  out_ += close;
}

json_writer& json_writer::end_object() {
  end(container::object, '}');
  return *this;
}

json_writer& json_writer::end_array() {
  end(container::array, ']');
  return *this;
}

json_writer& json_writer::string(std::string_view value) {
  before_value();
  append_json_string(out_, value);
  return *this;
}

json_writer& json_writer::number(double value) {
  if (!std::isfinite(value)) return null();
  before_value();
  char buffer[64];
  out_.append(buffer, std::to_chars(buffer, buffer + sizeof buffer, value).ptr);
  return *this;
}

json_writer& json_writer::boolean(bool value) {
  before_value();
  out_ += value ? "true" : "false";
  return *this;
}

json_writer& json_writer::null() {
  before_value();
  out_ += "null";
  return *this;
}

std::string json_writer::str() && {
  if (!done_ || !open_.empty()) throw std::logic_error{"lab::json_writer: incomplete document"};
  return std::move(out_);
}

}  // namespace lab
