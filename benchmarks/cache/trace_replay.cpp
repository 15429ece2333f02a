// trace_replay: the hit ratio of each eviction policy of bulwark::cache on a trace.
//
//   trace_replay [--policy NAME] [--sizes N,N,...] TRACE [SIZE...]
//
// TRACE: one integer key per line ("-" for standard input; a name ending in .gz is read through
// `gzip -dc`). NAME: lru, s3fifo, sieve, tinylfu or all (the default). Sizes come from --sizes,
// from the arguments after TRACE, or both.
//
// For each size and policy it replays the trace through a one-shard bulwark::cache (the policy
// sees the whole capacity, as a simulator's would): a get, and on a miss a put. It prints one
// row per size with the hit ratio in percent of each policy, in the layout of the table in the
// LIRS traces' README, so rows can be compared side by side.

#include <bulwark/cache.hpp>
#include <bulwark/cache/s3fifo.hpp>
#include <bulwark/cache/sieve.hpp>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <sstream>
#include <string>
#include <vector>

namespace {

std::vector<std::uint64_t> parse(std::istream& in) {
  std::vector<std::uint64_t> keys;
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty()) continue;
    keys.push_back(std::strtoull(line.c_str(), nullptr, 10));
  }
  return keys;
}

std::vector<std::uint64_t> read_trace(const std::string& path) {
  if (path == "-") return parse(std::cin);
  if (path.size() > 3 && path.compare(path.size() - 3, 3, ".gz") == 0) {
    const std::string command = "gzip -dc '" + path + "'";
    FILE* pipe = ::popen(command.c_str(), "r");
    if (pipe == nullptr) return {};
    std::string text;
    char buffer[1 << 16];
    std::size_t n = 0;
    while ((n = std::fread(buffer, 1, sizeof buffer, pipe)) > 0)
      text.append(buffer, n);
    ::pclose(pipe);
    std::istringstream in{text};
    return parse(in);
  }
  std::ifstream in{path};
  return parse(in);
}

template <class Policy>
double hit_ratio(const std::vector<std::uint64_t>& keys, std::uint64_t size) {
  // A fixed seed: the sketch's collisions, and so the hit ratio, repeat from run to run.
  bulwark::cache<std::uint64_t, std::uint8_t, Policy> c(
      {.maximum_size = size, .shards = 1, .hash_seed = 0});
  std::uint64_t hits = 0;
  for (const std::uint64_t key : keys) {
    if (c.get(key)) {
      ++hits;
    } else {
      c.put(key, 0);
    }
  }
  return keys.empty() ? 0.0 : 100.0 * static_cast<double>(hits) / static_cast<double>(keys.size());
}

struct policy_column {
  const char* name;    // --policy NAME
  const char* header;  // column title, as in the README's table
  double (*run)(const std::vector<std::uint64_t>&, std::uint64_t);
};

constexpr policy_column columns[] = {
    {"lru", "LRU", hit_ratio<bulwark::lru_eviction>},
    {"s3fifo", "S3FIFO", hit_ratio<bulwark::s3fifo_eviction>},
    {"sieve", "Sieve", hit_ratio<bulwark::sieve_eviction>},
    {"tinylfu", "WTinyL", hit_ratio<bulwark::tiny_lfu_eviction>},
};

bool parse_sizes(const std::string& text, std::vector<std::uint64_t>& sizes) {
  std::istringstream in{text};
  std::string item;
  while (std::getline(in, item, ',')) {
    const auto size = std::strtoull(item.c_str(), nullptr, 10);
    if (size == 0) return false;
    sizes.push_back(size);
  }
  return true;
}

int usage() {
  std::fprintf(stderr,
               "usage: trace_replay [--policy lru|s3fifo|sieve|tinylfu|all] [--sizes N,N,...] "
               "TRACE [SIZE...]\n");
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  std::string policy = "all";
  std::string path;
  std::vector<std::uint64_t> sizes;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if ((arg == "--policy" || arg == "--sizes") && i + 1 < argc) {
      const std::string value = argv[++i];
      if (arg == "--policy") {
        policy = value;
      } else if (!parse_sizes(value, sizes)) {
        std::fprintf(stderr, "trace_replay: bad sizes %s\n", value.c_str());
        return 2;
      }
    } else if (path.empty()) {
      path = arg;
    } else if (!parse_sizes(arg, sizes)) {
      std::fprintf(stderr, "trace_replay: bad size %s\n", arg.c_str());
      return 2;
    }
  }
  if (path.empty() || sizes.empty()) return usage();
  std::vector<const policy_column*> chosen;
  for (const auto& column : columns) {
    if (policy == "all" || policy == column.name) chosen.push_back(&column);
  }
  if (chosen.empty()) return usage();

  const auto keys = read_trace(path);
  if (keys.empty()) {
    std::fprintf(stderr, "trace_replay: no keys read from %s\n", path.c_str());
    return 1;
  }
  std::string name = path.substr(path.find_last_of('/') + 1);
  if (const auto dot = name.find('.'); dot != std::string::npos) name.resize(dot);
  std::printf("%-20s %6s", "trace", "size");
  for (const auto* column : chosen)
    std::printf(" %7s", column->header);
  std::printf("\n");
  for (const std::uint64_t size : sizes) {
    std::printf("%-20s %6llu", name.c_str(), static_cast<unsigned long long>(size));
    for (const auto* column : chosen)
      std::printf(" %7.2f", column->run(keys, size));
    std::printf("\n");
  }
  return 0;
}
