#pragma once
// The connection layer of the redis add-on: one hiredis connection with connect and command
// timeouts, reconnection with jittered exponential backoff, and scripts called by EVALSHA
// (reloaded with SCRIPT LOAD when the server answers NOSCRIPT). Needs hiredis (link
// bulwark::redis). redis_client (client.hpp) pools these for many threads.

#if !__has_include(<hiredis/hiredis.h>)
#error "bulwark/redis needs hiredis (Debian: libhiredis-dev); link the CMake target bulwark::redis"
#endif

#include <hiredis/hiredis.h>
#include <sys/time.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "bulwark/core/clock.hpp"
#include "bulwark/core/metrics.hpp"
#include "bulwark/core/options.hpp"
#include "bulwark/core/random.hpp"
#include "bulwark/detail/saturating.hpp"
#include "bulwark/redis/detail/sha1.hpp"
#include "bulwark/redis/health.hpp"

namespace bulwark {

/// Options of a redis_client (defaults in parentheses).
struct redis_client_options {
  std::string host = "127.0.0.1";  ///< server address, IPv4/IPv6 literal or name ("127.0.0.1")
  int port = 6379;                 ///< server port (6379)
  std::string password{};          ///< AUTH on connect when non-empty (none)
  std::size_t connections = 1;     ///< connections in the pool, one call at a time each (1)
  duration connect_timeout = std::chrono::milliseconds{100};  ///< per connect attempt (100ms)
  /// Per command; a slower answer counts as unreachable and the connection is reopened (50ms).
  duration command_timeout = std::chrono::milliseconds{50};
  duration reconnect_min = std::chrono::milliseconds{10};  ///< first backoff after a failure (10ms)
  duration reconnect_max = std::chrono::seconds{1};        ///< the longest backoff (1s)
  /// Consecutive calls that reached the network and got no answer (timed out, broken,
  /// refused) after which the client fails every call at once for breaker_cooldown (3).
  std::uint32_t breaker_failures = 3;
  /// How long the open breaker fails calls without touching the network before it lets one
  /// probe through (500ms).
  duration breaker_cooldown = std::chrono::milliseconds{500};
  /// Called when a new connection finds another run_id than the client's last one: the
  /// server restarted or failed over, and may have lost what it did not persist (none).
  /// Runs on the calling thread holding one connection: it must not call the client, and
  /// must not throw (std::terminate).
  std::function<void(const redis_restart&)> on_restart{};
};

/// How a call to Redis ended.
enum class redis_status {
  ok,           ///< the server answered (possibly with an error reply: see redis_result)
  unavailable,  ///< no answer: not connected (backing off), refused, closed, or timed out
};

/// Thrown by components whose interface has no way to say "no answer" (redis_store), when Redis
/// does not answer or answers with an unexpected error. Not a bulwark::rejected: the guard did
/// not refuse, its store was unreachable.
class redis_error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

/// A Lua script with its SHA-1 computed once, so EVALSHA can be sent without asking the server.
/// Immutable and thread-safe after construction.
class redis_script {
 public:
  explicit redis_script(std::string source) : source_{std::move(source)} {
    sha_ = detail::sha1_hex(source_);
  }
  [[nodiscard]] const std::string& source() const noexcept { return source_; }
  [[nodiscard]] const std::string& sha() const noexcept { return sha_; }

 private:
  std::string source_;
  std::string sha_;
};

/// A read-only view of one hiredis reply (an element of an array reply, or the whole reply).
/// Valid while the redis_result that owns the reply lives.
class redis_value {
 public:
  explicit redis_value(const redisReply* reply) noexcept : reply_{reply} {}

  [[nodiscard]] bool is_nil() const noexcept { return reply_->type == REDIS_REPLY_NIL; }
  [[nodiscard]] bool is_error() const noexcept { return reply_->type == REDIS_REPLY_ERROR; }
  [[nodiscard]] bool is_integer() const noexcept { return reply_->type == REDIS_REPLY_INTEGER; }
  [[nodiscard]] bool is_string() const noexcept {
    return reply_->type == REDIS_REPLY_STRING || reply_->type == REDIS_REPLY_STATUS;
  }
  [[nodiscard]] bool is_array() const noexcept { return reply_->type == REDIS_REPLY_ARRAY; }
  /// The bytes of a string, status or error reply; empty for other types.
  [[nodiscard]] std::string_view str() const noexcept {
    return reply_->str == nullptr ? std::string_view{} : std::string_view{reply_->str, reply_->len};
  }
  [[nodiscard]] long long integer() const noexcept { return reply_->integer; }
  /// Elements of an array reply; 0 for other types.
  [[nodiscard]] std::size_t size() const noexcept { return is_array() ? reply_->elements : 0; }
  /// Element i of an array reply. Precondition: i < size().
  [[nodiscard]] redis_value operator[](std::size_t i) const noexcept {
    return redis_value{reply_->element[i]};
  }

 private:
  const redisReply* reply_;
};

/// The outcome of one command: a status, and when ok, the reply (which may be an error reply,
/// e.g. "WRONGTYPE ...": the server answered). Owns the reply. Move-only.
class redis_result {
 public:
  redis_result() = default;
  explicit redis_result(redisReply* reply) noexcept : status_{redis_status::ok}, reply_{reply} {}

  [[nodiscard]] redis_status status() const noexcept { return status_; }
  /// True when the server answered with something other than an error reply.
  [[nodiscard]] bool ok() const noexcept { return reply_ != nullptr && !value().is_error(); }
  /// The reply. Precondition: status() == redis_status::ok.
  [[nodiscard]] redis_value value() const noexcept { return redis_value{reply_.get()}; }

 private:
  struct free_reply {
    void operator()(redisReply* r) const noexcept { freeReplyObject(r); }
  };
  redis_status status_ = redis_status::unavailable;
  std::unique_ptr<redisReply, free_reply> reply_{};
};

namespace detail {

inline void validate(const redis_client_options& o) {
  const option_check check{"redis_client"};
  check.that(!o.host.empty(), "host", "non-empty", o.host);
  check.in_range("port", o.port, 1, 65535);
  check.at_least("connections", o.connections, std::size_t{1});
  check.positive("connect_timeout", o.connect_timeout);
  check.positive("command_timeout", o.command_timeout);
  check.positive("reconnect_min", o.reconnect_min);
  check.that(o.reconnect_max >= o.reconnect_min, "reconnect_max", ">= reconnect_min",
             o.reconnect_max);
  check.at_least("breaker_failures", o.breaker_failures, std::uint32_t{1});
  check.positive("breaker_cooldown", o.breaker_cooldown);
}

[[nodiscard]] inline timeval to_timeval(duration d) noexcept {
  const auto us = std::chrono::duration_cast<std::chrono::microseconds>(d).count();
  timeval tv{};
  tv.tv_sec = static_cast<decltype(tv.tv_sec)>(us / 1'000'000);
  tv.tv_usec = static_cast<decltype(tv.tv_usec)>(us % 1'000'000);
  return tv;
}

/// Counters a connection adds to; owned by the client and shared by its connections.
struct redis_connection_counters {
  metric_counter commands;          // commands sent (EVALSHA retries and SCRIPT LOADs included)
  metric_counter unavailable;       // calls that got no answer
  metric_counter connects;          // successful connects (the first included)
  metric_counter connect_failures;  // failed connect attempts
  metric_counter script_loads;      // SCRIPT LOADs after NOSCRIPT
  metric_counter timeouts;          // commands and connects that waited out their timeout
  metric_counter breaker_trips;     // times the breaker opened
  metric_counter breaker_rejected;  // calls failed at once by the open breaker
  metric_counter restarts;          // run_id changes seen by a new connection
};

/// What the connections of one client share: counters, the breaker and the last run_id.
struct redis_connection_shared {
  explicit redis_connection_shared(const redis_client_options& o) noexcept
      : breaker{o.breaker_failures, o.breaker_cooldown} {}
  redis_connection_counters counters;
  redis_breaker breaker;
  redis_run_ids run_ids;
};

/// One hiredis connection. Not thread-safe: redis_client gives it to one caller at a time.
///
/// Connects lazily. When a connect fails, further calls fail at once (no network) until a
/// backoff has passed: reconnect_min, doubling per consecutive failure up to reconnect_max,
/// each drawn uniformly from [backoff/2, backoff] so that a fleet does not reconnect in step.
/// When an established connection breaks (I/O error, EOF, or a command timeout, after which
/// hiredis's reply stream is out of step), it is dropped and the next call reconnects at once.
/// A connect counts as made only once INFO server has answered: a stopped server whose kernel
/// still completes TCP handshakes is a failed connect, not a connection. Every call first asks
/// the client's breaker (health.hpp), and tells it whether the network answered.
template <clock Clock>
class redis_connection {
 public:
  redis_connection(const redis_client_options& options, Clock clock,
                   redis_connection_shared& shared, std::uint64_t seed)
      : options_{&options}, clock_{std::move(clock)}, shared_{&shared}, rng_{seed} {}

  redis_connection(const redis_connection&) = delete;
  redis_connection& operator=(const redis_connection&) = delete;
  ~redis_connection() { drop(); }

  /// Sends one command (binary-safe arguments) and waits for its reply, at most
  /// command_timeout. O(size of arguments and reply).
  redis_result command(const std::vector<std::string_view>& args) {
    redis_connection_counters& k = shared_->counters;
    if (!shared_->breaker.allow(clock_.now())) {
      k.breaker_rejected.add();
      k.unavailable.add();
      return {};
    }
    const readiness r = ready();
    if (r != readiness::connected) {
      if (r == readiness::connect_failed) {
        no_answer();
      } else {
        shared_->breaker.abstained();
      }
      k.unavailable.add();
      return {};
    }
    redis_result out = send(args);
    if (out.status() == redis_status::ok) {
      shared_->breaker.answered();
    } else {
      no_answer();
      k.unavailable.add();
    }
    return out;
  }

  /// EVALSHA script keys... args...; on NOSCRIPT (a restarted or flushed server), SCRIPT LOAD
  /// and EVALSHA once more.
  redis_result eval(const redis_script& script, const std::vector<std::string_view>& keys,
                    const std::vector<std::string_view>& args) {
    const std::string key_count = std::to_string(keys.size());
    std::vector<std::string_view> argv;
    argv.reserve(3 + keys.size() + args.size());
    argv.insert(argv.end(), {"EVALSHA", script.sha(), key_count});
    argv.insert(argv.end(), keys.begin(), keys.end());
    argv.insert(argv.end(), args.begin(), args.end());
    redis_result r = command(argv);
    if (r.status() != redis_status::ok || !r.value().is_error() ||
        !r.value().str().starts_with("NOSCRIPT")) {
      return r;
    }
    shared_->counters.script_loads.add();
    redis_result loaded = command({"SCRIPT", "LOAD", script.source()});
    if (!loaded.ok()) return loaded;
    return command(argv);
  }

  /// Whether a connection is open now (a snapshot; it may break on the next command).
  [[nodiscard]] bool connected() const noexcept { return context_ != nullptr; }

 private:
  enum class readiness { connected, backing_off, connect_failed };

  void no_answer() {
    if (shared_->breaker.no_answer(clock_.now())) shared_->counters.breaker_trips.add();
  }

  // The command on the open connection, without the breaker; drops the connection when no
  // answer came (the stream is then unusable).
  redis_result send(const std::vector<std::string_view>& args) {
    std::vector<const char*> argv(args.size());
    std::vector<std::size_t> lengths(args.size());
    for (std::size_t i = 0; i < args.size(); ++i) {
      argv[i] = args[i].data();
      lengths[i] = args[i].size();
    }
    shared_->counters.commands.add();
    void* reply =
        redisCommandArgv(context_, static_cast<int>(args.size()), argv.data(), lengths.data());
    if (reply == nullptr) {
      count_timeout(errno);
      drop();
      return {};
    }
    return redis_result{static_cast<redisReply*>(reply)};
  }

  // hiredis reports a blocking read or write past SO_RCVTIMEO/SO_SNDTIMEO as an I/O error
  // with EAGAIN, and a connect past its timeout with ETIMEDOUT.
  void count_timeout(int error) noexcept {
    if (context_ != nullptr && context_->err == REDIS_ERR_IO &&
        (error == EAGAIN || error == EWOULDBLOCK || error == ETIMEDOUT)) {
      shared_->counters.timeouts.add();
    }
  }

  readiness ready() {
    if (context_ != nullptr) return readiness::connected;
    const time_point now = clock_.now();
    if (now < next_attempt_) return readiness::backing_off;
    if (connect()) {
      failures_ = 0;
      shared_->counters.connects.add();
      return readiness::connected;
    }
    shared_->counters.connect_failures.add();
    const duration cap = options_->reconnect_max;
    duration backoff = options_->reconnect_min;
    for (int i = 0; i < failures_ && backoff < cap; ++i)
      backoff *= 2;
    backoff = std::min(backoff, cap);
    ++failures_;
    const double u = uniform01(rng_);
    next_attempt_ = detail::deadline_after(
        now, backoff / 2 + duration{static_cast<duration::rep>(
                               u * static_cast<double>(backoff.count()) / 2.0)});
    return readiness::connect_failed;
  }

  bool connect() {
    context_ = redisConnectWithTimeout(options_->host.c_str(), options_->port,
                                       to_timeval(options_->connect_timeout));
    if (context_ == nullptr || context_->err != 0) {
      count_timeout(errno);
      drop();
      return false;
    }
    if (redisSetTimeout(context_, to_timeval(options_->command_timeout)) != REDIS_OK) {
      drop();
      return false;
    }
    if (!options_->password.empty() && !send({"AUTH", options_->password}).ok()) {
      drop();
      return false;
    }
    // An error reply (INFO renamed away) leaves restarts undetected but the connection usable.
    const redis_result info = send({"INFO", "server"});
    if (info.status() != redis_status::ok) return false;  // send() dropped the connection
    if (info.ok()) observe_run_id(parse_run_id(info.value().str()));
    return true;
  }

  void observe_run_id(std::string_view run_id) {
    const auto restart = shared_->run_ids.seen(run_id, clock_.now());
    if (!restart) return;
    shared_->counters.restarts.add();
    if (options_->on_restart) notify(options_->on_restart, *restart);
  }

  // noexcept: a throwing callback would leave a half-open breaker waiting for a verdict.
  static void notify(const std::function<void(const redis_restart&)>& f,
                     const redis_restart& restart) noexcept {
    f(restart);
  }

  void drop() noexcept {
    if (context_ != nullptr) redisFree(context_);
    context_ = nullptr;
  }

  const redis_client_options* options_;
  [[no_unique_address]] Clock clock_;
  redis_connection_shared* shared_;
  fast_rng rng_;
  redisContext* context_ = nullptr;
  time_point next_attempt_{};
  int failures_ = 0;
};

}  // namespace detail
}  // namespace bulwark
