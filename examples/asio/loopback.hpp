#pragma once
// The loopback backend of examples/asio/service.cpp (and of bench_asio's loopback rows): a
// TCP server on 127.0.0.1, an ephemeral port, its own io_context on its own thread, that
// answers "GET <n>\n" with "OK <n>\n", and, told "MODE outage\n" on a connection, fails, hangs
// or slows a share of requests until told "MODE ok\n"; and `call`, one request on its own
// connection.

#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>
#include <asio/io_context.hpp>
#include <asio/ip/tcp.hpp>
#include <asio/read_until.hpp>
#include <asio/steady_timer.hpp>
#include <asio/use_awaitable.hpp>
#include <asio/write.hpp>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <exception>
#include <stdexcept>
#include <string>
#include <thread>

namespace loopback {

using namespace std::chrono_literals;
using asio::ip::tcp;

class server {
 public:
  server() : acceptor_{io_, {asio::ip::make_address("127.0.0.1"), 0}} {
    asio::co_spawn(io_, accept(), asio::detached);
    thread_ = std::thread{[this] { io_.run(); }};
  }
  ~server() {
    io_.stop();
    thread_.join();
  }
  server(const server&) = delete;
  server& operator=(const server&) = delete;

  [[nodiscard]] tcp::endpoint endpoint() const { return acceptor_.local_endpoint(); }
  [[nodiscard]] std::uint64_t requests() const { return requests_.load(); }

 private:
  asio::awaitable<void> accept() {
    for (;;) {
      tcp::socket socket = co_await acceptor_.async_accept(asio::use_awaitable);
      asio::co_spawn(io_, serve(std::move(socket)), asio::detached);
    }
  }

  asio::awaitable<void> serve(tcp::socket socket) {
    try {
      std::string line;
      const std::size_t n = co_await asio::async_read_until(socket, asio::dynamic_buffer(line),
                                                            '\n', asio::use_awaitable);
      const std::string request = line.substr(0, n - 1);
      std::string reply;
      if (request.rfind("MODE ", 0) == 0) {
        outage_ = request == "MODE outage";
        reply = "OK\n";
      } else {
        requests_.fetch_add(1, std::memory_order_relaxed);
        // One thread runs the server: the counter needs no lock.
        const std::uint64_t k = served_++ % 10;
        if (outage_ && k < 3) {
          reply = "ERR\n";
        } else if (outage_ && k < 5) {
          // Hangs: reads until the client closes the connection (a timeout, or the end).
          std::string rest;
          co_await asio::async_read_until(socket, asio::dynamic_buffer(rest), '\n',
                                          asio::use_awaitable);
          co_return;
        } else {
          if (outage_ && k < 7) {
            asio::steady_timer slow{io_, 200ms};
            co_await slow.async_wait(asio::use_awaitable);
          }
          reply = "OK " + request.substr(4) + "\n";
        }
      }
      co_await asio::async_write(socket, asio::buffer(reply), asio::use_awaitable);
    } catch (const std::exception&) {
      // The client went away: nothing to answer.
    }
  }

  asio::io_context io_;
  tcp::acceptor acceptor_;
  std::thread thread_;
  bool outage_ = false;  // the server's thread only
  std::uint64_t served_ = 0;
  std::atomic<std::uint64_t> requests_{0};
};

struct backend_error : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// One request on its own connection; cancellable (a timeout closes it mid-read).
inline asio::awaitable<std::string> call(tcp::endpoint server, std::string request) {
  tcp::socket socket{co_await asio::this_coro::executor};
  co_await socket.async_connect(server, asio::use_awaitable);
  co_await asio::async_write(socket, asio::buffer(request), asio::use_awaitable);
  std::string line;
  co_await asio::async_read_until(socket, asio::dynamic_buffer(line), '\n', asio::use_awaitable);
  if (line.rfind("OK", 0) != 0) throw backend_error("backend: " + line);
  co_return line;
}

}  // namespace loopback
