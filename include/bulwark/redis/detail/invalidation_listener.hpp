#pragma once
// The connection redis_near_cache receives Redis's client-side-caching invalidations on
// (RESP2: a connection subscribed to __redis__:invalidate, which the data connections name in
// CLIENT TRACKING on REDIRECT <its id>), with its own thread. Internal to redis_near_cache.

#include <hiredis/hiredis.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

#include "bulwark/core/clock.hpp"
#include "bulwark/redis/connection.hpp"

namespace bulwark::detail {

/// What the listener tells its owner, always from its own thread, one call at a time.
struct invalidation_handlers {
  std::function<void(long long client_id)> up;  // subscribed: redirect tracking to client_id
  std::function<void()> down;                   // the connection is lost (or never came up)
  std::function<void(const std::vector<std::string_view>&)> keys;  // these keys changed
  std::function<void()> flush;  // everything may have changed (FLUSHALL, a null message)
};

/// One thread, one hiredis connection. Connects, reads CLIENT ID, SUBSCRIBEs, calls up(id),
/// then waits in poll() for messages. Liveness: when nothing arrived for `heartbeat` it sends a
/// PING (answered in subscribed mode with "pong"); nothing again for `heartbeat` means the
/// connection is lost: down() is called and it reconnects after a backoff (reconnect_min
/// doubling to reconnect_max). So a lost connection is noticed at once when the kernel reports
/// it (a killed client, a stopped server) and within 2 x heartbeat when the server or the path
/// to it goes silent. The destructor wakes the thread through an eventfd and joins it.
class invalidation_listener {
 public:
  invalidation_listener(const redis_client_options& options, duration heartbeat,
                        invalidation_handlers handlers)
      : options_{options}, heartbeat_{heartbeat}, handlers_{std::move(handlers)} {
    wake_ = ::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    thread_ = std::thread{[this] { run(); }};
  }
  invalidation_listener(const invalidation_listener&) = delete;
  invalidation_listener& operator=(const invalidation_listener&) = delete;
  ~invalidation_listener() {
    stopping_.store(true, std::memory_order_relaxed);
    const std::uint64_t one = 1;
    // A failed write leaves the thread to notice stopping_ within one heartbeat.
    if (wake_ >= 0 && ::write(wake_, &one, sizeof one) < 0) stopping_.store(true);
    thread_.join();
    if (wake_ >= 0) ::close(wake_);
  }

 private:
  using reply_ptr = std::unique_ptr<redisReply, void (*)(redisReply*)>;

  static reply_ptr wrap(void* r) {
    return reply_ptr{static_cast<redisReply*>(r), [](redisReply* p) {
                       if (p != nullptr) freeReplyObject(p);
                     }};
  }

  void run() {
    duration backoff = options_.reconnect_min;
    while (!stopping_.load(std::memory_order_relaxed)) {
      redisContext* c = subscribe();
      if (c != nullptr) {
        backoff = options_.reconnect_min;
        listen(c);
        redisFree(c);
      }
      handlers_.down();
      if (!wait(backoff)) return;
      backoff = std::min(backoff * 2, options_.reconnect_max);
    }
  }

  // A subscribed connection with up() called, or nullptr.
  redisContext* subscribe() {
    redisContext* c = redisConnectWithTimeout(options_.host.c_str(), options_.port,
                                              to_timeval(options_.connect_timeout));
    if (c == nullptr || c->err != 0 ||
        redisSetTimeout(c, to_timeval(options_.command_timeout)) != REDIS_OK) {
      if (c != nullptr) redisFree(c);
      return nullptr;
    }
    if (!options_.password.empty()) {
      const reply_ptr auth =
          wrap(redisCommand(c, "AUTH %b", options_.password.data(), options_.password.size()));
      if (!auth || auth->type == REDIS_REPLY_ERROR) return fail(c);
    }
    const reply_ptr id = wrap(redisCommand(c, "CLIENT ID"));
    if (!id || id->type != REDIS_REPLY_INTEGER) return fail(c);
    const reply_ptr sub = wrap(redisCommand(c, "SUBSCRIBE __redis__:invalidate"));
    if (!sub || sub->type != REDIS_REPLY_ARRAY) return fail(c);
    handlers_.up(id->integer);
    return c;
  }
  static redisContext* fail(redisContext* c) {
    redisFree(c);
    return nullptr;
  }

  // Until the connection is lost or the listener stops.
  void listen(redisContext* c) {
    const int heartbeat_ms = static_cast<int>(
        std::max<long long>(1, std::chrono::ceil<std::chrono::milliseconds>(heartbeat_).count()));
    bool ping_sent = false;
    for (;;) {
      void* raw = nullptr;
      while (redisGetReplyFromReader(c, &raw) == REDIS_OK && raw != nullptr) {
        ping_sent = false;  // anything from the server shows the connection alive
        handle(wrap(raw).get());
        raw = nullptr;
      }
      if (c->err != 0) return;
      pollfd fds[2] = {{c->fd, POLLIN, 0}, {wake_, POLLIN, 0}};
      const int n = ::poll(fds, 2, heartbeat_ms);
      if (stopping_.load(std::memory_order_relaxed)) return;
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) return;
      if (n == 0) {
        if (ping_sent) return;  // silent for two heartbeats
        if (redisAppendCommand(c, "PING") != REDIS_OK) return;
        int done = 0;
        while (done == 0)
          if (redisBufferWrite(c, &done) != REDIS_OK) return;
        ping_sent = true;
        continue;
      }
      if (redisBufferRead(c) != REDIS_OK) return;  // EOF (CLIENT KILL, restart) or error
    }
  }

  // ["message", "__redis__:invalidate", [keys...] or nil]; a "pong" needs nothing.
  void handle(const redisReply* r) {
    if (r->type != REDIS_REPLY_ARRAY || r->elements != 3) return;
    const redisReply* kind = r->element[0];
    if (kind->type != REDIS_REPLY_STRING || std::string_view{kind->str, kind->len} != "message")
      return;
    const redisReply* payload = r->element[2];
    if (payload->type != REDIS_REPLY_ARRAY) {
      handlers_.flush();
      return;
    }
    std::vector<std::string_view> keys;
    keys.reserve(payload->elements);
    for (std::size_t i = 0; i < payload->elements; ++i) {
      const redisReply* k = payload->element[i];
      if (k->type == REDIS_REPLY_STRING) keys.emplace_back(k->str, k->len);
    }
    handlers_.keys(keys);
  }

  // Sleeps `d` or until the destructor wakes it; false when stopping.
  bool wait(duration d) {
    const auto ms = std::chrono::ceil<std::chrono::milliseconds>(d).count();
    pollfd fd{wake_, POLLIN, 0};
    ::poll(&fd, 1, static_cast<int>(std::min<long long>(ms, 60'000)));
    return !stopping_.load(std::memory_order_relaxed);
  }

  redis_client_options options_;
  duration heartbeat_;
  invalidation_handlers handlers_;
  int wake_ = -1;
  std::atomic<bool> stopping_{false};
  std::thread thread_;
};

}  // namespace bulwark::detail
