#include "lab/report.hpp"

#include <algorithm>
#include <chrono>
#include <string_view>
#include <vector>

#include "lab/format.hpp"
#include "lab/json.hpp"

namespace lab {
namespace {

std::string pad_left(std::string_view text, std::size_t width) {
  std::string out(width > text.size() ? width - text.size() : 0, ' ');
  return out.append(text);
}

std::string pad_right(std::string_view text, std::size_t width) {
  std::string out{text};
  out.resize(std::max(width, text.size()), ' ');
  return out;
}

// A table row: a label, then one value per arm.
struct row {
  std::string_view label;
  std::vector<std::string> values;
};

std::vector<row> table_rows(const scenario_result& result) {
  std::vector<row> rows{{"requests", {}},   {"successes", {}},     {"failures", {}},
                        {"rejections", {}}, {"backend calls", {}}, {"latency p50", {}},
                        {"latency p99", {}}};
  for (const arm_result& a : result.arms) {
    const std::string cells[] = {
        std::to_string(a.stats.requests), std::to_string(a.stats.successes),
        std::to_string(a.stats.failures), std::to_string(a.stats.rejections),
        std::to_string(a.backend.calls),  format_duration(a.stats.p50),
        format_duration(a.stats.p99)};
    for (std::size_t i = 0; i < std::size(cells); ++i)
      rows[i].values.push_back(cells[i]);
  }
  // The arms' own counters, one row per name in the order the arms registered them; "-" for
  // an arm without it. None at all: the table is unchanged.
  const std::size_t fixed = rows.size();
  for (const arm_result& a : result.arms) {
    for (const auto& counter : a.counters) {
      const std::string& name = counter.first;
      const auto same = [&name](const row& r) { return r.label == name; };
      if (std::find_if(rows.begin() + static_cast<std::ptrdiff_t>(fixed), rows.end(), same) ==
          rows.end())
        rows.push_back({name, {}});
    }
  }
  for (std::size_t i = fixed; i < rows.size(); ++i) {
    for (const arm_result& a : result.arms) {
      std::string cell = "-";
      for (const auto& [name, value] : a.counters)
        if (name == rows[i].label) cell = std::to_string(value);
      rows[i].values.push_back(std::move(cell));
    }
  }
  return rows;
}

double milliseconds(duration d) {
  return std::chrono::duration<double, std::milli>{d}.count();
}
double seconds(duration d) {
  return std::chrono::duration<double>{d}.count();
}

void write_arm(json_writer& json, const arm_result& a) {
  json.begin_object();
  json.key("name").string(a.name);
  json.key("requests").number(a.stats.requests);
  json.key("successes").number(a.stats.successes);
  json.key("failures").number(a.stats.failures);
  json.key("rejections").number(a.stats.rejections);
  json.key("backend_calls").number(a.backend.calls);
  json.key("latency_ms").begin_object();
  json.key("p50").number(milliseconds(a.stats.p50));
  json.key("p99").number(milliseconds(a.stats.p99));
  json.end_object();
  json.key("backend").begin_object();
  json.key("ok").number(a.backend.ok);
  json.key("errors").number(a.backend.errors);
  json.key("overloaded").number(a.backend.overloaded);
  json.key("timed_out").number(a.backend.timed_out);
  json.key("max_in_flight").number(a.backend.max_in_flight);
  json.end_object();
  if (!a.counters.empty()) {  // only arms that keep counters: the others' JSON is unchanged
    json.key("counters").begin_object();
    for (const auto& [name, value] : a.counters)
      json.key(name).number(value);
    json.end_object();
  }
  // Column-wise, one array per outcome, so the timeline stays short and easy to plot.
  json.key("timeline").begin_object();
  for (const auto& [name, field] : {std::pair{"successes", &timeline_bucket::successes},
                                    std::pair{"failures", &timeline_bucket::failures},
                                    std::pair{"rejections", &timeline_bucket::rejections}}) {
    json.key(name).begin_array();
    for (const timeline_bucket& bucket : a.stats.timeline)
      json.number(bucket.*field);
    json.end_array();
  }
  json.end_object();
  json.end_object();
}

}  // namespace

std::string sparkline(std::span<const timeline_bucket> timeline) {
  static constexpr std::string_view levels[] = {"▁", "▂", "▃", "▄", "▅", "▆", "▇", "█"};
  constexpr std::size_t top = std::size(levels) - 1;
  std::string line;
  for (const timeline_bucket& bucket : timeline) {
    if (bucket.requests() == 0) {
      line += ' ';
      continue;
    }
    // Eight even steps of the ratio, so only a bucket at 87.5% or more is drawn full.
    const auto step = static_cast<std::size_t>(bucket.success_ratio() * double{std::size(levels)});
    line += levels[std::min(step, top)];
  }
  return line;
}

std::string render_text(const scenario_result& result) {
  const std::vector<row> rows = table_rows(result);

  std::size_t label_width = 0;
  for (const row& r : rows)
    label_width = std::max(label_width, r.label.size());
  for (const arm_result& a : result.arms)
    label_width = std::max(label_width, a.name.size());
  label_width += 2;

  std::vector<std::size_t> column_widths;
  for (std::size_t column = 0; column < result.arms.size(); ++column) {
    std::size_t width = result.arms[column].name.size();
    for (const row& r : rows)
      width = std::max(width, r.values[column].size());
    column_widths.push_back(width + 2);
  }

  std::string out = result.name + ": " + result.summary + "\n";
  out += "  load     " + result.load + "\n";
  out += "  backend  " + result.backend + "\n\n";

  out += "  " + std::string(label_width, ' ');
  for (std::size_t column = 0; column < result.arms.size(); ++column) {
    out += pad_left(result.arms[column].name, column_widths[column]);
  }
  out += '\n';
  for (const row& r : rows) {
    out += "  " + pad_right(r.label, label_width);
    for (std::size_t column = 0; column < r.values.size(); ++column) {
      out += pad_left(r.values[column], column_widths[column]);
    }
    out += '\n';
  }

  out += "  success ratio, one mark per " + format_duration(result.timeline_bucket) +
         " from 0s to " + format_duration(result.length) + "\n";
  for (const arm_result& a : result.arms) {
    out += "  " + pad_right(a.name, label_width) + sparkline(a.stats.timeline) + "\n";
  }
  return out;
}

std::string render_json(std::span<const scenario_result> results, std::uint64_t seed) {
  json_writer json;
  json.begin_object();
  json.key("seed").number(seed);
  json.key("scenarios").begin_array();
  for (const scenario_result& s : results) {
    json.begin_object();
    json.key("name").string(s.name);
    json.key("summary").string(s.summary);
    json.key("load").string(s.load);
    json.key("backend").string(s.backend);
    json.key("length_s").number(seconds(s.length));
    json.key("timeline_bucket_s").number(seconds(s.timeline_bucket));
    json.key("arms").begin_array();
    for (const arm_result& a : s.arms)
      write_arm(json, a);
    json.end_array();
    json.end_object();
  }
  json.end_array();
  json.end_object();
  return std::move(json).str() + "\n";
}

}  // namespace lab
