// Built when the package provides bulwark::asio (the asio component, with standalone asio):
// proves the component's headers and asio compile and link from an installed package. A
// coroutine waits 5 ms of virtual time, which async::advance() lets pass.
#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>
#include <asio/io_context.hpp>
#include <bulwark/asio.hpp>
#include <bulwark/core/clock.hpp>
#include <chrono>
#include <cstdio>

int main() {
  asio::io_context io;
  bulwark::manual_clock clock;
  bool woke = false;
  auto waiter = [&]() -> asio::awaitable<void> {
    co_await bulwark::async::sleep_for(clock, std::chrono::milliseconds(5));
    woke = true;
  };
  asio::co_spawn(io, waiter(), asio::detached);
  io.poll();
  bulwark::async::advance(io, clock, std::chrono::milliseconds(5));
  std::printf("test_package_asio: %s\n", woke ? "ok" : "FAILED");
  return woke ? 0 : 1;
}
