// bulwark-lab: plays the lab's scenarios in virtual time and prints what each arm saw.
//
//   bulwark-lab                          every scenario, seed 42
//   bulwark-lab --scenario baseline --seed 7
//   bulwark-lab --json                   the same results as JSON
//   bulwark-lab --list                   the scenarios and what each shows
//
// Exit status: 0 on success, 1 if a scenario fails to run, 2 for a bad command line.

#include <algorithm>
#include <charconv>
#include <cstdint>
#include <exception>
#include <iostream>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "lab/progress.hpp"
#include "lab/report.hpp"
#include "lab/scenarios.hpp"

namespace {

constexpr std::uint64_t default_seed = 42;

constexpr std::string_view usage =
    R"(usage: bulwark-lab [--scenario NAME]... [--seed N] [--json] [--list] [--help]

Plays deterministic scenarios in virtual time: a simulated backend (latency, failures,
outages, capacity) under open-loop load, once per arm (an unprotected client, and a client
protected by a bulwark guard), and prints a table per scenario with the arms side by side.

  --scenario NAME  play only NAME (repeatable; default: every scenario)
  --seed N         seed of every random stream (default: 42); same seed, same results
  --json           print the results as JSON instead of tables
  --list           list the scenarios and exit
  --help           show this help and exit
)";

struct command_line {
  std::vector<std::string> scenarios;  // empty: all
  std::uint64_t seed = default_seed;
  bool json = false;
  bool list = false;
  bool help = false;
};

// A bad command line: what was wrong, for the message before the exit with status 2.
struct usage_error {
  std::string message;
};

std::optional<std::uint64_t> parse_seed(std::string_view text) {
  std::uint64_t value = 0;
  const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (error != std::errc{} || end != text.data() + text.size() || text.empty()) return std::nullopt;
  return value;
}

// Accepts "--name value" and "--name=value" alike.
command_line parse(std::span<char* const> args) {
  command_line parsed;
  for (std::size_t i = 0; i < args.size(); ++i) {
    std::string_view arg = args[i];
    std::optional<std::string_view> inline_value;
    if (const auto eq = arg.find('='); arg.starts_with("--") && eq != std::string_view::npos) {
      inline_value = arg.substr(eq + 1);
      arg = arg.substr(0, eq);
    }
    const auto value = [&]() -> std::string_view {
      if (inline_value) return *inline_value;
      if (i + 1 == args.size()) {
        throw usage_error{"option '" + std::string{arg} + "' needs a value"};
      }
      return args[++i];
    };
    const auto flag = [&] {
      if (inline_value) throw usage_error{"option '" + std::string{arg} + "' takes no value"};
      return true;
    };

    if (arg == "--scenario") {
      parsed.scenarios.emplace_back(value());
    } else if (arg == "--seed") {
      const std::string_view text = value();
      const auto seed = parse_seed(text);
      if (!seed) {
        throw usage_error{"--seed needs a non-negative integer below 2^64, not '" +
                          std::string{text} + "'"};
      }
      parsed.seed = *seed;
    } else if (arg == "--json") {
      parsed.json = flag();
    } else if (arg == "--list") {
      parsed.list = flag();
    } else if (arg == "--help" || arg == "-h") {
      parsed.help = flag();
    } else {
      throw usage_error{"unknown option '" + std::string{arg} + "'"};
    }
  }
  return parsed;
}

// The scenarios to play, in the order asked for; every name checked before anything runs.
std::vector<lab::scenario> select(std::vector<lab::scenario> all,
                                  const std::vector<std::string>& names) {
  if (names.empty()) return all;
  std::vector<lab::scenario> chosen;
  for (const std::string& name : names) {
    const lab::scenario* found = lab::find_scenario(all, name);
    if (found == nullptr) {
      std::string known;
      for (const lab::scenario& s : all) {
        known += (known.empty() ? "" : ", ") + s.name;
      }
      throw usage_error{"no scenario named '" + name + "' (there are: " + known + ")"};
    }
    chosen.push_back(*found);
  }
  return chosen;
}

int run(const command_line& options) {
  std::vector<lab::scenario> scenarios = select(lab::all_scenarios(), options.scenarios);
  if (options.list) {
    std::size_t width = 0;
    for (const lab::scenario& s : scenarios)
      width = std::max(width, s.name.size());
    for (const lab::scenario& s : scenarios) {
      std::cout << s.name << std::string(width - s.name.size() + 2, ' ') << s.summary << '\n';
    }
    return 0;
  }

  lab::progress_bar progress{std::cerr, lab::stderr_is_terminal()};
  std::vector<lab::scenario_result> results;
  for (std::size_t i = 0; i < scenarios.size(); ++i) {
    const lab::scenario& s = scenarios[i];
    const auto share = [&, i](double done) {
      progress.update(s.name,
                      (static_cast<double>(i) + done) / static_cast<double>(scenarios.size()));
    };
    results.push_back(lab::run_scenario(s, options.seed, share));
    if (!options.json) {
      // The bar and the report may share a terminal: erase the bar before printing.
      progress.clear();
      std::cout << (i == 0 ? "" : "\n") << lab::render_text(results.back()) << std::flush;
    }
  }
  progress.clear();
  if (options.json) std::cout << lab::render_json(results, options.seed);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  try {
    // argv[0] is the program's name, when there is one (argc may be 0).
    const auto args =
        argc > 0 ? std::span<char* const>{argv + 1, argv + argc} : std::span<char* const>{};
    const command_line options = parse(args);
    if (options.help) {
      std::cout << usage;
      return 0;
    }
    return run(options);
  } catch (const usage_error& error) {
    std::cerr << "bulwark-lab: " << error.message << "\n(see bulwark-lab --help)\n";
    return 2;
  } catch (const std::exception& error) {
    std::cerr << "bulwark-lab: " << error.what() << '\n';
    return 1;
  }
}
