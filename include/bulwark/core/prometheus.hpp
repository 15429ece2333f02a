#pragma once

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdint>
#include <initializer_list>
#include <set>
#include <string>
#include <string_view>
#include <unordered_map>
#include <variant>
#include <vector>

#include "bulwark/core/metrics.hpp"
#include "bulwark/core/options.hpp"
#include "bulwark/detail/format.hpp"
#include "bulwark/detail/raise.hpp"

namespace bulwark {

/// A label on a sample: `limiter="payments"`.
struct metric_label {
  std::string_view name;
  std::string_view value;
};

/// Renders metrics snapshots as Prometheus text exposition format 0.0.4
/// (https://prometheus.io/docs/instrumenting/exposition_formats/), ready to serve at /metrics.
///
///   prometheus_text out;
///   out.add("bulwark_rate_limit", payments.metrics(), {{"limiter", "payments"}});
///   out.add("bulwark_rate_limit", search.metrics(), {{"limiter", "search"}});
///   std::string body = out.str();
///
/// Each metric is named "<prefix>_<metric name>". Samples of one name form one family with a
/// single HELP and TYPE line, whatever order they were added in, because the format requires a
/// family's samples to be contiguous. Label values and HELP text are escaped as the format
/// specifies. Bad input throws std::invalid_argument: a name that is not a valid metric or
/// label name, a family added again with another type or help, or the same series twice. An add
/// that throws leaves the output as it was (no family without samples, no half a snapshot).
///
/// Not thread-safe: build one per scrape. str() is linear in the output size.
class prometheus_text {
 public:
  /// Adds every field of `snapshot` under `prefix`, with `labels` on each sample. Strong
  /// guarantee: if any field is refused (or an allocation fails), none of them is added.
  template <metrics_snapshot S>
  prometheus_text& add(std::string_view prefix, const S& snapshot,
                       std::initializer_list<metric_label> labels = {}) {
    std::vector<added> done;
    BULWARK_TRY {
      snapshot.for_each_metric([&](const metric& m) {
        done.emplace_back();  // room first, so that a recorded sample can always be undone
        done.back() = add_one(prefix, m, labels);
      });
    }
    BULWARK_CATCH_ALL {
      for (auto it = done.rbegin(); it != done.rend(); ++it)
        undo(*it);
      BULWARK_RETHROW;
    }
    return *this;
  }

  /// Adds one sample. Strong guarantee: if it throws, the output is unchanged.
  prometheus_text& add(std::string_view prefix, const metric& m,
                       std::initializer_list<metric_label> labels = {}) {
    add_one(prefix, m, labels);
    return *this;
  }

  /// The exposition text: per family a HELP line, a TYPE line and its samples, families in
  /// the order they were first added, each line ending in '\n'.
  [[nodiscard]] std::string str() const {
    std::string out;
    for (const auto& f : families_) {
      out.append("# HELP ").append(f.name).append(" ");
      append_escaped(out, f.help, false);
      out.append("\n# TYPE ").append(f.name).append(" ").append(type_name(f.type)).append("\n");
      for (const auto& sample : f.samples)
        out.append(sample).append("\n");
    }
    return out;
  }

 private:
  struct family {
    std::string name;
    std::string help;
    metric_type type;
    std::vector<std::string> samples;
  };

  // What one add_one did, so that a failed snapshot can take it back. Empty: nothing.
  struct added {
    std::size_t family = npos;
    bool new_family = false;
    std::set<std::string>::iterator series{};
  };
  static constexpr std::size_t npos = static_cast<std::size_t>(-1);

  // Everything is checked before anything is changed; the changes then run in an order that
  // undoes the earlier ones if a later allocation throws.
  added add_one(std::string_view prefix, const metric& m,
                std::initializer_list<metric_label> labels) {
    std::string name{prefix};
    if (!name.empty()) name += '_';
    name += m.name;
    check_metric_name(name);

    const auto known = family_index_.find(name);
    if (known != family_index_.end()) {
      const family& f = families_[known->second];
      if (f.type != m.type)
        throw_invalid_option("prometheus_text", "type of " + name, "the same in every sample",
                             type_name(m.type));
      if (f.help != m.help)
        throw_invalid_option("prometheus_text", "help of " + name, "the same in every sample",
                             m.help);
    }

    std::string series = name;
    if (labels.size() != 0) {
      series += '{';
      bool first = true;
      for (auto l = labels.begin(); l != labels.end(); ++l) {
        check_label_name(l->name);
        for (auto earlier = labels.begin(); earlier != l; ++earlier) {
          if (earlier->name == l->name) {
            throw_invalid_option("prometheus_text", "label " + std::string{l->name},
                                 "given once per sample", l->value);
          }
        }
        // The format's label values are UTF-8, and Prometheus refuses a scrape with any other
        // bytes in one (model.LabelValue.IsValid): refuse the sample, not the whole scrape.
        if (!is_utf8(l->value)) {
          throw_invalid_option("prometheus_text", "label value of " + std::string{l->name},
                               "valid UTF-8", l->value);
        }
        if (!first) series += ',';
        first = false;
        series.append(l->name).append("=\"");
        append_escaped(series, l->value, true);
        series += '"';
      }
      series += '}';
    }
    // A series is its name and its label set, in any order (Prometheus's data model): the
    // identity is the sample's text with its labels sorted by name (distinct, and each value
    // ends at its first unescaped quote, so two label sets never print alike).
    std::vector<metric_label> sorted{labels};
    std::sort(sorted.begin(), sorted.end(),
              [](const metric_label& a, const metric_label& b) { return a.name < b.name; });
    std::string identity = name + "{";
    for (const metric_label& l : sorted) {
      identity.append(l.name).append("=\"");
      append_escaped(identity, l.value, true);
      identity += "\",";
    }
    if (series_.contains(identity)) {
      throw_invalid_option("prometheus_text", "series", "added once", series);
    }
    std::string sample = series + ' ';
    std::visit([&](auto v) { append_value(sample, v); }, m.value);

    added done{known != family_index_.end() ? known->second : families_.size(),
               known == family_index_.end(), series_.insert(std::move(identity)).first};
    BULWARK_TRY {
      if (done.new_family) {
        families_.push_back({name, std::string{m.help}, m.type, {}});
        BULWARK_TRY {
          family_index_.emplace(std::move(name), done.family);
        }
        BULWARK_CATCH_ALL {
          families_.pop_back();
          BULWARK_RETHROW;
        }
      }
      BULWARK_TRY {
        families_[done.family].samples.push_back(std::move(sample));
      }
      BULWARK_CATCH_ALL {
        if (done.new_family) {
          family_index_.erase(families_.back().name);
          families_.pop_back();
        }
        BULWARK_RETHROW;
      }
    }
    BULWARK_CATCH_ALL {
      series_.erase(done.series);
      BULWARK_RETHROW;
    }
    return done;
  }

  void undo(const added& a) noexcept {
    if (a.family == npos) return;
    families_[a.family].samples.pop_back();
    series_.erase(a.series);
    if (a.new_family) {
      family_index_.erase(families_.back().name);
      families_.pop_back();
    }
  }

  static std::string_view type_name(metric_type type) noexcept {
    return type == metric_type::counter ? "counter" : "gauge";
  }

  // Metric names match [a-zA-Z_:][a-zA-Z0-9_:]*; label names [a-zA-Z_][a-zA-Z0-9_]* and must
  // not start with "__", which Prometheus reserves for itself.
  static bool is_name_char(char c, bool first, bool colon_ok) noexcept {
    const bool letter = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
    return letter || (colon_ok && c == ':') || (!first && c >= '0' && c <= '9');
  }
  static bool is_valid_name(std::string_view name, bool colon_ok) noexcept {
    if (name.empty()) return false;
    for (std::size_t i = 0; i < name.size(); ++i) {
      if (!is_name_char(name[i], i == 0, colon_ok)) return false;
    }
    return true;
  }
  static void check_metric_name(std::string_view name) {
    if (!is_valid_name(name, true)) {
      throw_invalid_option("prometheus_text", "metric name", "[a-zA-Z_:][a-zA-Z0-9_:]*", name);
    }
  }
  static void check_label_name(std::string_view name) {
    if (!is_valid_name(name, false) || name.starts_with("__")) {
      throw_invalid_option("prometheus_text", "label name",
                           "[a-zA-Z_][a-zA-Z0-9_]* not starting with \"__\"", name);
    }
  }

  // Label values escape backslash, double quote and line feed; HELP text escapes backslash
  // and line feed only (the format's two escaping rules).
  static void append_escaped(std::string& out, std::string_view text, bool quote) {
    for (char c : text) {
      if (c == '\\') {
        out += "\\\\";
      } else if (c == '\n') {
        out += "\\n";
      } else if (c == '"' && quote) {
        out += "\\\"";
      } else {
        out += c;
      }
    }
  }

  static void append_value(std::string& out, double v) {
    if (std::isnan(v)) {
      out += "NaN";
    } else if (std::isinf(v)) {
      out += v > 0 ? "+Inf" : "-Inf";
    } else {
      detail::append_number(out, v);
    }
  }
  template <class Integer>
  static void append_value(std::string& out, Integer v) {
    detail::append_number(out, v);
  }

  std::vector<family> families_;
  std::unordered_map<std::string, std::size_t> family_index_;
  std::set<std::string> series_;

  // RFC 3629: shortest forms only, no surrogates, nothing above U+10FFFF.
  static bool is_utf8(std::string_view text) noexcept {
    for (std::size_t i = 0; i < text.size();) {
      const auto lead = static_cast<unsigned char>(text[i]);
      const std::size_t extra = lead < 0x80                   ? 0
                                : lead >= 0xC2 && lead < 0xE0 ? 1
                                : lead >= 0xE0 && lead < 0xF0 ? 2
                                : lead >= 0xF0 && lead < 0xF5 ? 3
                                                              : 4;
      if (extra == 4 || text.size() - i <= extra) return false;
      std::uint32_t code = extra == 0 ? lead : lead & (0x3FU >> extra);
      for (std::size_t k = 1; k <= extra; ++k) {
        const auto next = static_cast<unsigned char>(text[i + k]);
        if ((next & 0xC0U) != 0x80U) return false;
        code = (code << 6) | (next & 0x3FU);
      }
      if ((extra == 2 && code < 0x800) || (extra == 3 && code < 0x10000) || code > 0x10FFFF ||
          (code >= 0xD800 && code <= 0xDFFF)) {
        return false;
      }
      i += extra + 1;
    }
    return true;
  }
};

}  // namespace bulwark
