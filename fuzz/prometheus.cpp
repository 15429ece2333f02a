// Fuzzes prometheus_text with arbitrary prefixes, names, help texts, labels and values.
// Each add() either throws std::invalid_argument, leaving the output as it was, or is accepted;
// the output of str() is then parsed back by the small parser below, written from the text
// exposition format 0.0.4 (prometheus.io/docs/instrumenting/exposition_formats/, "Text format
// details"), and must give back exactly the accepted samples: per family one HELP and one TYPE
// line before its samples, names matching the name grammars, label values and HELP text
// unescaped to the bytes given, values equal to the values given (NaN, +Inf, -Inf spelled as
// the format spells them), label values valid UTF-8 (Prometheus refuses others), and no
// series (name and label set, in any order) twice.

#include <algorithm>
#include <bit>
#include <bulwark/core/prometheus.hpp>
#include <charconv>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <map>
#include <optional>
#include <set>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

#include "fuzz_support.hpp"

namespace {

using value_type = std::variant<std::uint64_t, std::int64_t, double>;
using labels_type = std::vector<std::pair<std::string, std::string>>;

struct sample {
  labels_type labels;
  value_type value;
};

struct family {
  std::string name;
  std::string help;
  std::string type;
  std::vector<sample> samples;
};

bool valid_name(std::string_view name, bool colon_ok) {
  if (name.empty()) return false;
  for (std::size_t i = 0; i < name.size(); ++i) {
    const char c = name[i];
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' ||
                    (colon_ok && c == ':') || (i > 0 && c >= '0' && c <= '9');
    if (!ok) return false;
  }
  return true;
}

// RFC 3629: shortest form, no surrogates, at most U+10FFFF.
bool valid_utf8(std::string_view s) {
  for (std::size_t i = 0; i < s.size();) {
    const auto b = static_cast<unsigned char>(s[i]);
    std::size_t n = 0;
    std::uint32_t cp = 0;
    if (b < 0x80) {
      ++i;
      continue;
    } else if ((b & 0xE0) == 0xC0) {
      n = 1;
      cp = b & 0x1FU;
    } else if ((b & 0xF0) == 0xE0) {
      n = 2;
      cp = b & 0x0FU;
    } else if ((b & 0xF8) == 0xF0) {
      n = 3;
      cp = b & 0x07U;
    } else {
      return false;
    }
    if (i + n >= s.size()) return false;
    for (std::size_t k = 1; k <= n; ++k) {
      const auto c = static_cast<unsigned char>(s[i + k]);
      if ((c & 0xC0) != 0x80) return false;
      cp = (cp << 6) | (c & 0x3FU);
    }
    const std::uint32_t min = n == 1 ? 0x80 : n == 2 ? 0x800 : 0x10000;
    if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return false;
    i += n + 1;
  }
  return true;
}

// Undoes the format's escapes: `quoted` (label values) knows \\, \" and \n; HELP \\ and \n.
std::optional<std::string> unescape(std::string_view text, bool quoted) {
  std::string out;
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text[i] != '\\') {
      if (text[i] == '\n' || (quoted && text[i] == '"')) return std::nullopt;
      out += text[i];
      continue;
    }
    if (++i == text.size()) return std::nullopt;
    if (text[i] == '\\') {
      out += '\\';
    } else if (text[i] == 'n') {
      out += '\n';
    } else if (quoted && text[i] == '"') {
      out += '"';
    } else {
      return std::nullopt;
    }
  }
  return out;
}

bool same_value(std::string_view text, const value_type& expected) {
  if (const auto* d = std::get_if<double>(&expected)) {
    if (std::isnan(*d)) return text == "NaN";
    if (std::isinf(*d)) return text == (*d > 0 ? "+Inf" : "-Inf");
    double parsed = 0;
    const auto r = std::from_chars(text.data(), text.data() + text.size(), parsed);
    return r.ec == std::errc{} && r.ptr == text.data() + text.size() &&
           std::memcmp(&parsed, d, sizeof parsed) == 0;
  }
  return std::visit(
      [&](auto v) {
        decltype(v) parsed{};
        const auto r = std::from_chars(text.data(), text.data() + text.size(), parsed);
        return r.ec == std::errc{} && r.ptr == text.data() + text.size() && parsed == v;
      },
      expected);
}

// Parses one sample line: name, optional {labels}, one space, the value.
std::optional<std::pair<std::string, sample>> parse_sample(std::string_view line,
                                                           const value_type& expected) {
  std::size_t i = 0;
  while (i < line.size() && line[i] != '{' && line[i] != ' ')
    ++i;
  std::pair<std::string, sample> out;
  out.first = std::string{line.substr(0, i)};
  if (!valid_name(out.first, true)) return std::nullopt;
  if (i < line.size() && line[i] == '{') {
    ++i;
    while (i < line.size() && line[i] != '}') {
      const std::size_t eq = line.find('=', i);
      if (eq == std::string_view::npos || eq + 1 >= line.size() || line[eq + 1] != '"')
        return std::nullopt;
      const std::string name{line.substr(i, eq - i)};
      if (!valid_name(name, false)) return std::nullopt;
      std::size_t end = eq + 2;
      while (end < line.size() && line[end] != '"') {
        if (line[end] == '\\') ++end;
        ++end;
      }
      if (end >= line.size()) return std::nullopt;
      auto value = unescape(line.substr(eq + 2, end - eq - 2), true);
      if (!value || !valid_utf8(*value)) return std::nullopt;
      out.second.labels.emplace_back(name, std::move(*value));
      i = end + 1;
      if (i < line.size() && line[i] == ',') ++i;
    }
    if (i >= line.size()) return std::nullopt;
    ++i;  // '}'
  }
  if (i >= line.size() || line[i] != ' ') return std::nullopt;
  if (!same_value(line.substr(i + 1), expected)) return std::nullopt;
  out.second.value = expected;
  return out;
}

std::string pick(bulwark_fuzz::input& in, std::initializer_list<const char*> pool) {
  const std::uint8_t choice = in.byte();
  if (choice % 4 == 0) return in.text(16);
  return pool.begin()[choice % pool.size()];
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  bulwark_fuzz::input in{data, size};
  bulwark::prometheus_text out;
  std::vector<family> model;
  // Strings handed to add() as string_views must outlive it: keep them all.
  std::vector<std::string> keep;
  keep.reserve(256);

  for (int n = 0; n < 8 && !in.empty(); ++n) {
    const std::string prefix = pick(in, {"bulwark", "", "x:y"});
    keep.push_back(pick(in, {"total", "keys", "a"}));
    const std::string& name = keep.back();
    keep.push_back(pick(in, {"Help.", "", "back\\slash\nnewline \"q\""}));
    const std::string& help = keep.back();
    const auto type =
        in.byte() % 2 == 0 ? bulwark::metric_type::counter : bulwark::metric_type::gauge;
    value_type value;
    switch (in.byte() % 3) {
      case 0:
        value = in.integer<std::uint64_t>();
        break;
      case 1:
        value = in.integer<std::int64_t>();
        break;
      default:
        value = std::bit_cast<double>(in.integer<std::uint64_t>());
        break;
    }
    const std::size_t label_count = in.byte() % 4;
    labels_type labels;
    for (std::size_t l = 0; l < label_count; ++l) {
      std::string label_name = pick(in, {"limiter", "le", "__name", "shard"});
      std::string label_value = pick(in, {"payments", "", "a\"b\\c\nd", "\xc3\xa9"});
      labels.emplace_back(std::move(label_name), std::move(label_value));
    }
    const bulwark::metric m{name, help, type, value};
    const std::string before = out.str();
    try {
      switch (labels.size()) {
        case 0:
          out.add(prefix, m);
          break;
        case 1:
          out.add(prefix, m, {{labels[0].first, labels[0].second}});
          break;
        case 2:
          out.add(prefix, m,
                  {{labels[0].first, labels[0].second}, {labels[1].first, labels[1].second}});
          break;
        default:
          out.add(prefix, m,
                  {{labels[0].first, labels[0].second},
                   {labels[1].first, labels[1].second},
                   {labels[2].first, labels[2].second}});
          break;
      }
    } catch (const std::invalid_argument& e) {
      BULWARK_FUZZ_CHECK(std::string_view{e.what()}.starts_with("bulwark::prometheus_text: "));
      // A refused sample leaves no trace in the output.
      BULWARK_FUZZ_CHECK(out.str() == before);
      continue;
    }
    const std::string full = prefix.empty() ? name : prefix + "_" + name;
    auto f =
        std::find_if(model.begin(), model.end(), [&](const family& x) { return x.name == full; });
    if (f == model.end()) {
      model.push_back(
          {full, help, type == bulwark::metric_type::counter ? "counter" : "gauge", {}});
      f = model.end() - 1;
    }
    f->samples.push_back({labels, value});
  }

  // Parse the text back, family by family, against the model.
  const std::string text = out.str();
  BULWARK_FUZZ_CHECK(text.empty() || text.back() == '\n');
  std::vector<std::string_view> lines;
  for (std::size_t start = 0; start < text.size();) {
    const std::size_t end = text.find('\n', start);
    lines.push_back(std::string_view{text}.substr(start, end - start));
    start = end + 1;
  }
  std::size_t at = 0;
  std::set<std::pair<std::string, labels_type>> series;
  for (const family& f : model) {
    BULWARK_FUZZ_CHECK(at + 2 + f.samples.size() <= lines.size());
    const std::string help_head = "# HELP " + f.name + " ";
    BULWARK_FUZZ_CHECK(lines[at].starts_with(help_head));
    const auto help = unescape(lines[at].substr(help_head.size()), false);
    BULWARK_FUZZ_CHECK(help && *help == f.help);
    BULWARK_FUZZ_CHECK(lines[at + 1] == "# TYPE " + f.name + " " + f.type);
    at += 2;
    for (const sample& s : f.samples) {
      const auto parsed = parse_sample(lines[at], s.value);
      if (!parsed)
        std::fprintf(stderr, "unparsable sample line: %s\n", std::string{lines[at]}.c_str());
      BULWARK_FUZZ_CHECK(parsed.has_value());
      ++at;
      BULWARK_FUZZ_CHECK(parsed->first == f.name);
      BULWARK_FUZZ_CHECK(parsed->second.labels == s.labels);
      labels_type sorted = s.labels;
      std::sort(sorted.begin(), sorted.end());
      BULWARK_FUZZ_CHECK(series.emplace(f.name, sorted).second);
    }
  }
  BULWARK_FUZZ_CHECK(at == lines.size());
  return 0;
}
