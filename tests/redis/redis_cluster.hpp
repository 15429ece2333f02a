#pragma once
// A Redis Cluster of the test's own: three redis-server masters in cluster mode on free
// loopback ports (redis_server.hpp, each with its temporary directory and nodes.conf), joined
// by `redis-cli --cluster create`, and commands to migrate a slot step by step. Stopped when
// the object goes away.

#include <fcntl.h>
#include <hiredis/hiredis.h>
#include <spawn.h>
#include <sys/wait.h>

#include <chrono>
#include <cstdio>
#include <memory>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "redis_server.hpp"

namespace bulwark_test {

/// One command on a fresh connection to 127.0.0.1:port; the reply as text (a string, status
/// or error reply; an integer in decimal; an array's elements joined by '\n'), or "" when
/// the server did not answer.
inline std::string ask_node(int port, const std::vector<std::string>& args) {
  timeval tv{1, 0};
  redisContext* c = redisConnectWithTimeout("127.0.0.1", port, tv);
  std::string out;
  if (c != nullptr && c->err == 0) {
    std::vector<const char*> argv;
    std::vector<std::size_t> lengths;
    for (const auto& a : args) {
      argv.push_back(a.data());
      lengths.push_back(a.size());
    }
    auto* reply = static_cast<redisReply*>(
        redisCommandArgv(c, static_cast<int>(args.size()), argv.data(), lengths.data()));
    if (reply != nullptr) {
      if (reply->type == REDIS_REPLY_INTEGER) {
        out = std::to_string(reply->integer);
      } else if (reply->type == REDIS_REPLY_ARRAY) {
        for (std::size_t i = 0; i < reply->elements; ++i) {
          if (i > 0) out += '\n';
          out.append(reply->element[i]->str, reply->element[i]->len);
        }
      } else if (reply->str != nullptr) {
        out.assign(reply->str, reply->len);
      }
      freeReplyObject(reply);
    }
  }
  if (c != nullptr) redisFree(c);
  return out;
}

class redis_cluster {
 public:
  /// Whether a cluster can be made here; tests skip (with a message) when not.
  static bool available() { return on_path("redis-server") && on_path("redis-cli"); }

  redis_cluster() {
    for (int i = 0; i < 3; ++i) {
      // A node timeout far above the tests' length: a stopped master is never failed over
      // or marked down by the others while a test runs. The bus port is a free one of its
      // own (Redis 7's --cluster-port): the default, port + 10000, may pass 65535.
      servers_.push_back(std::make_unique<redis_server>(std::vector<std::string>{
          "--cluster-enabled", "yes", "--cluster-config-file", "nodes.conf",
          "--cluster-node-timeout", "60000", "--cluster-port", std::to_string(free_port())}));
    }
    std::vector<std::string> args{"redis-cli", "--cluster", "create"};
    for (const auto& s : servers_)
      args.push_back("127.0.0.1:" + std::to_string(s->port()));
    args.insert(args.end(), {"--cluster-replicas", "0", "--cluster-yes"});
    if (run_quietly(args) != 0) throw std::runtime_error("redis-cli --cluster create failed");
    for (const auto& s : servers_)
      wait_ok(s->port());
  }

  redis_cluster(const redis_cluster&) = delete;
  redis_cluster& operator=(const redis_cluster&) = delete;

  [[nodiscard]] int port(std::size_t i) const { return servers_.at(i)->port(); }
  [[nodiscard]] redis_server& server(std::size_t i) { return *servers_.at(i); }
  [[nodiscard]] std::string address(std::size_t i) const {
    return "127.0.0.1:" + std::to_string(port(i));
  }
  [[nodiscard]] std::vector<std::string> seeds() const { return {address(0)}; }

  /// The index of the master that serves `slot`, as node 0's CLUSTER SLOTS says.
  [[nodiscard]] std::size_t owner(std::uint16_t slot) const {
    timeval tv{1, 0};
    redisContext* c = redisConnectWithTimeout("127.0.0.1", port(0), tv);
    long long found = -1;
    if (c != nullptr && c->err == 0) {
      auto* r = static_cast<redisReply*>(redisCommand(c, "CLUSTER SLOTS"));
      for (std::size_t i = 0; r != nullptr && i < r->elements; ++i) {
        const redisReply* range = r->element[i];
        if (range->element[0]->integer <= slot && slot <= range->element[1]->integer)
          found = range->element[2]->element[1]->integer;
      }
      if (r != nullptr) freeReplyObject(r);
    }
    if (c != nullptr) redisFree(c);
    for (std::size_t i = 0; i < servers_.size(); ++i) {
      if (port(i) == found) return i;
    }
    throw std::runtime_error("no owner for slot " + std::to_string(slot));
  }

  [[nodiscard]] std::string node_id(std::size_t i) const {
    return ask_node(port(i), {"CLUSTER", "MYID"});
  }

  // The steps of a slot migration (the Redis Cluster specification's resharding, as
  // redis-cli --cluster reshard performs it).

  /// CLUSTER SETSLOT IMPORTING on `to`, then MIGRATING on `from`: from now on, `from` answers
  /// ASK for keys of the slot it no longer has.
  void begin_migration(std::uint16_t slot, std::size_t from, std::size_t to) {
    expect_ok(ask_node(port(to),
                       {"CLUSTER", "SETSLOT", std::to_string(slot), "IMPORTING", node_id(from)}));
    expect_ok(ask_node(port(from),
                       {"CLUSTER", "SETSLOT", std::to_string(slot), "MIGRATING", node_id(to)}));
  }

  /// MIGRATE every key of the slot from `from` to `to` (one MIGRATE ... KEYS call).
  void move_keys(std::uint16_t slot, std::size_t from, std::size_t to) {
    const std::string keys =
        ask_node(port(from), {"CLUSTER", "GETKEYSINSLOT", std::to_string(slot), "1000"});
    if (keys.empty()) return;
    std::vector<std::string> args{"MIGRATE", "127.0.0.1", std::to_string(port(to)), "", "0",
                                  "5000",    "KEYS"};
    std::size_t start = 0;
    while (start <= keys.size()) {
      const std::size_t end = std::min(keys.find('\n', start), keys.size());
      args.push_back(keys.substr(start, end - start));
      start = end + 1;
    }
    expect_ok(ask_node(port(from), args));
  }

  /// CLUSTER SETSLOT NODE on every master, the new owner first: the migration is over and
  /// `from` answers MOVED.
  void end_migration(std::uint16_t slot, std::size_t to) {
    const std::string id = node_id(to);
    expect_ok(ask_node(port(to), {"CLUSTER", "SETSLOT", std::to_string(slot), "NODE", id}));
    for (std::size_t i = 0; i < servers_.size(); ++i) {
      if (i != to)
        expect_ok(ask_node(port(i), {"CLUSTER", "SETSLOT", std::to_string(slot), "NODE", id}));
    }
  }

  /// Polls CLUSTER INFO on `port` until cluster_state:ok: readiness of an external process,
  /// bounded (about 10 s).
  static void wait_ok(int port) {
    for (int attempt = 0; attempt < 1000; ++attempt) {
      if (ask_node(port, {"CLUSTER", "INFO"}).find("cluster_state:ok") != std::string::npos) return;
      std::this_thread::sleep_for(std::chrono::milliseconds{10});
    }
    throw std::runtime_error("cluster not ok on port " + std::to_string(port));
  }

 private:
  static void expect_ok(const std::string& reply) {
    if (reply != "OK") throw std::runtime_error("cluster command failed: " + reply);
  }

  // Runs a program to its end with stdout and stderr sent to /dev/null; its exit status.
  static int run_quietly(std::vector<std::string> args) {
    std::vector<char*> argv;
    for (auto& a : args)
      argv.push_back(a.data());
    argv.push_back(nullptr);
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0);
    posix_spawn_file_actions_addopen(&actions, 2, "/dev/null", O_WRONLY, 0);
    pid_t pid = -1;
    const int spawned = ::posix_spawnp(&pid, argv[0], &actions, nullptr, argv.data(), environ);
    posix_spawn_file_actions_destroy(&actions);
    if (spawned != 0) return -1;
    int status = 0;
    ::waitpid(pid, &status, 0);
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  }

  std::vector<std::unique_ptr<redis_server>> servers_;
};

/// A cluster for one test, or nullptr (with a message ctest shows) when redis-server or
/// redis-cli is not installed: the test then returns early instead of failing.
inline std::unique_ptr<redis_cluster> cluster_or_skip() {
  if (!redis_cluster::available()) {
    std::fprintf(stderr,
                 "SKIPPED: redis-server or redis-cli not found on PATH (Debian: "
                 "redis-server, redis-tools)\n");
    return nullptr;
  }
  return std::make_unique<redis_cluster>();
}

}  // namespace bulwark_test
