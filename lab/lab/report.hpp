#pragma once

#include <cstdint>
#include <span>
#include <string>

#include "lab/scenario.hpp"
#include "lab/stats.hpp"

namespace lab {

/// One character per bucket for its success ratio, from ▁ (none succeeded) to █ (all did),
/// in eight even steps; a space for a bucket without requests. UTF-8.
[[nodiscard]] std::string sparkline(std::span<const timeline_bucket> timeline);

/// A scenario's report for a terminal: a heading, the setup, a table with the arms side by
/// side as columns, and each arm's timeline as a sparkline. Ends with a newline.
[[nodiscard]] std::string render_text(const scenario_result& result);

/// The results of a run as one JSON document (compact, one line):
///   {"seed":42,"scenarios":[{"name":"baseline",...,"arms":[{"name":"unprotected",...}]}]}
/// Latencies are in milliseconds, lengths in seconds, timelines arrays of counts per bucket.
[[nodiscard]] std::string render_json(std::span<const scenario_result> results, std::uint64_t seed);

}  // namespace lab
