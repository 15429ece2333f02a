#pragma once
// A redis-server of the test's own: a free loopback port, a temporary directory, no
// persistence; pausable (SIGSTOP/SIGCONT); stopped (SIGTERM, then waited for) when the object
// goes away. Shared by the
// redis tests, the benchmark and nothing else.

#include <hiredis/hiredis.h>
#include <netinet/in.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <stdexcept>
#include <string>
#include <thread>
#include <utility>
#include <vector>

extern char** environ;

namespace bulwark_test {

/// Whether `name` is an executable on PATH.
inline bool on_path(const std::string& name) {
  const char* path = std::getenv("PATH");
  if (path == nullptr) return false;
  std::string all{path};
  std::size_t start = 0;
  while (start <= all.size()) {
    const std::size_t end = std::min(all.find(':', start), all.size());
    const std::string candidate = all.substr(start, end - start) + "/" + name;
    if (::access(candidate.c_str(), X_OK) == 0) return true;
    start = end + 1;
  }
  return false;
}

/// A port the kernel just handed out on 127.0.0.1 (bound to port 0, then closed).
inline int free_port() {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) throw std::runtime_error("socket() failed");
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  socklen_t length = sizeof(addr);
  if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0 ||
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &length) != 0) {
    ::close(fd);
    throw std::runtime_error("bind() failed");
  }
  ::close(fd);
  return ntohs(addr.sin_port);
}

class redis_server {
 public:
  /// Whether redis-server can be started here; tests skip (with a message) when not.
  static bool available() { return on_path("redis-server"); }

  /// `extra` arguments follow the defaults (e.g. --cluster-enabled yes).
  explicit redis_server(std::vector<std::string> extra = {})
      : port_{free_port()}, extra_{std::move(extra)} {
    char pattern[] = "/tmp/bulwark-redis-XXXXXX";
    if (::mkdtemp(pattern) == nullptr) throw std::runtime_error("mkdtemp() failed");
    dir_ = pattern;
    start();
  }
  ~redis_server() {
    stop();
    std::error_code ignored;
    std::filesystem::remove_all(dir_, ignored);
  }
  redis_server(const redis_server&) = delete;
  redis_server& operator=(const redis_server&) = delete;

  [[nodiscard]] int port() const noexcept { return port_; }

  /// Starts the server on port() and waits (bounded) until it answers PING.
  void start() {
    if (pid_ > 0) return;
    const std::string port = std::to_string(port_);
    std::vector<std::string> args{"redis-server", "--port",      port, "--bind",
                                  "127.0.0.1",    "--save",      "",   "--appendonly",
                                  "no",           "--dir",       dir_, "--logfile",
                                  dir_ + "/log",  "--daemonize", "no"};
    args.insert(args.end(), extra_.begin(), extra_.end());
    std::vector<char*> argv;
    for (auto& a : args)
      argv.push_back(a.data());
    argv.push_back(nullptr);
    if (::posix_spawnp(&pid_, "redis-server", nullptr, nullptr, argv.data(), environ) != 0) {
      pid_ = -1;
      throw std::runtime_error("cannot start redis-server");
    }
    // Process start-up, not synchronisation between threads: poll PING, at most ~5 s.
    for (int attempt = 0; attempt < 500; ++attempt) {
      if (ping()) return;
      std::this_thread::sleep_for(std::chrono::milliseconds{10});
    }
    stop();
    throw std::runtime_error("redis-server did not answer PING on port " + port);
  }

  /// Stops the server (SIGTERM, then waits for it to exit).
  void stop() {
    if (pid_ <= 0) return;
    ::kill(pid_, SIGTERM);
    ::kill(pid_, SIGCONT);  // a paused server acts on SIGTERM only once it runs again
    int status = 0;
    ::waitpid(pid_, &status, 0);
    pid_ = -1;
  }

  /// Pauses the server (SIGSTOP): it is alive, its kernel still completes TCP handshakes, but
  /// nothing is answered until resume(). stop() resumes it first.
  void pause() {
    if (pid_ > 0) ::kill(pid_, SIGSTOP);
  }
  /// Resumes a paused server (SIGCONT).
  void resume() {
    if (pid_ > 0) ::kill(pid_, SIGCONT);
  }

  /// One PING on a fresh connection.
  [[nodiscard]] bool ping() const {
    timeval tv{0, 200'000};
    redisContext* c = redisConnectWithTimeout("127.0.0.1", port_, tv);
    bool ok = false;
    if (c != nullptr && c->err == 0) {
      auto* reply = static_cast<redisReply*>(redisCommand(c, "PING"));
      ok = reply != nullptr && reply->type == REDIS_REPLY_STATUS;
      if (reply != nullptr) freeReplyObject(reply);
    }
    if (c != nullptr) redisFree(c);
    return ok;
  }

 private:
  int port_;
  std::vector<std::string> extra_;
  std::string dir_;
  pid_t pid_ = -1;
};

}  // namespace bulwark_test

namespace bulwark_test {

/// A server for one test, or nullptr (with a message ctest shows) when redis-server is not
/// installed: the test then returns early instead of failing.
inline std::unique_ptr<redis_server> server_or_skip() {
  if (!redis_server::available()) {
    std::fprintf(stderr, "SKIPPED: redis-server not found on PATH (Debian: redis-server)\n");
    return nullptr;
  }
  return std::make_unique<redis_server>();
}

}  // namespace bulwark_test
