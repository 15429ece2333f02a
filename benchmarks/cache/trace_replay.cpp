// trace_replay: the hit ratio of each eviction policy of bulwark::cache on a trace.
//
//   trace_replay TRACE SIZE...        TRACE: one integer key per line ("-" for standard input;
//                                     a name ending in .gz is read through `gzip -dc`)
//
// For each size and policy it replays the trace through a one-shard bulwark::cache (the policy
// sees the whole capacity, as a simulator's would): a get, and on a miss a put. It prints one
// row per size with the hit ratio in percent of each policy, in the layout of the table in the
// LIRS traces' README, so rows can be compared side by side.

#include <bulwark/cache.hpp>
#include <bulwark/cache/s3fifo.hpp>
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
  bulwark::cache<std::uint64_t, std::uint8_t, Policy> c({.maximum_size = size, .shards = 1});
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

}  // namespace

int main(int argc, char** argv) {
  if (argc < 3) {
    std::fprintf(stderr, "usage: trace_replay TRACE SIZE...\n");
    return 2;
  }
  const std::string path = argv[1];
  const auto keys = read_trace(path);
  if (keys.empty()) {
    std::fprintf(stderr, "trace_replay: no keys read from %s\n", path.c_str());
    return 1;
  }
  std::string name = path.substr(path.find_last_of('/') + 1);
  if (const auto dot = name.find('.'); dot != std::string::npos) name.resize(dot);
  std::printf("%-20s %6s %7s %7s %7s\n", "trace", "size", "LRU", "S3FIFO", "WTinyL");
  for (int i = 2; i < argc; ++i) {
    const auto size = std::strtoull(argv[i], nullptr, 10);
    if (size == 0) {
      std::fprintf(stderr, "trace_replay: bad size %s\n", argv[i]);
      return 2;
    }
    std::printf("%-20s %6llu %7.2f %7.2f %7.2f\n", name.c_str(),
                static_cast<unsigned long long>(size), hit_ratio<bulwark::lru_eviction>(keys, size),
                hit_ratio<bulwark::s3fifo_eviction>(keys, size),
                hit_ratio<bulwark::tiny_lfu_eviction>(keys, size));
  }
  return 0;
}
