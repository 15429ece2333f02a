// Lag-aware reads with read-your-writes: a primary and two replicas, one of which falls
// behind. Each write returns the position (an LSN) it committed at; a read that carries it
// goes only to a member that has applied it. Runs in virtual time (bulwark::manual_clock).

#include <bulwark/balancing.hpp>
#include <chrono>
#include <cstdint>
#include <iostream>
#include <map>
#include <string>

using namespace std::chrono_literals;

int main() {
  bulwark::manual_clock clock;
  bulwark::replica_selector<std::uint64_t, bulwark::manual_clock> db(
      {.id = "primary"}, {{.id = "replica-1"}, {.id = "replica-2"}}, {}, clock);
  db.report_rtt("primary", 3ms);
  db.report_rtt("replica-1", 1ms);
  db.report_rtt("replica-2", 1ms);

  // The database itself, reduced to what the example needs: each member's applied LSN.
  std::map<std::string, std::uint64_t> applied{{"primary", 0}, {"replica-1", 0}, {"replica-2", 0}};
  const auto heartbeat = [&] {
    for (const auto& [id, lsn] : applied)
      db.report_position(id, lsn, clock.now());
  };

  // A write goes to the primary and returns its commit position: the token.
  const auto write = [&](const std::string& what) {
    return db.execute_write([&](const std::string& member) {
      const std::uint64_t lsn = ++applied[member];
      std::cout << "write " << what << " on " << member << " at lsn " << lsn << "\n";
      return lsn;
    });
  };
  const bulwark::read_preference replicas{.mode = bulwark::read_mode::secondary_preferred};

  const std::uint64_t token = write("order 42");
  applied["replica-1"] = token;  // replica-1 has streamed it, replica-2 is behind
  heartbeat();
  for (int i = 0; i < 4; ++i) {
    auto h = db.select_read(replicas, token);
    std::cout << "read after lsn " << token << " -> " << h.id() << "\n";
  }

  // Another session (or process) holding the same token gets the same guarantee.
  applied["replica-1"] = 0;  // replica-1 restarts from an old snapshot: nobody has the write
  heartbeat();
  std::cout << "read after lsn " << token << " -> " << db.select_read(replicas, token).id()
            << " (no replica has it yet)\n";

  // Max staleness: replica-2's last applied write is 200s old against the primary's.
  const auto old = clock.now();
  clock.advance(200s);
  applied["primary"] = 7;
  db.report_position("primary", 7, clock.now());
  db.report_position("replica-1", 7, clock.now());
  db.report_position("replica-2", 0, old);
  std::cout << "replica-2 staleness " << db.staleness("replica-2")->count() / 1'000'000'000
            << "s\n";
  std::map<std::string, int> reads;
  for (int i = 0; i < 100; ++i)
    ++reads[db.select_read({.mode = bulwark::read_mode::secondary, .max_staleness = 90s}).id()];
  std::cout << "with max_staleness 90s: replica-1 " << reads["replica-1"] << ", replica-2 "
            << reads["replica-2"] << "\n";

  // Failover: the primary goes down, writes are refused until a replica is promoted.
  db.mark_down("primary");
  try {
    write("order 43");
  } catch (const bulwark::no_primary& e) {
    std::cout << "write refused: " << e.what() << "\n";
  }
  db.promote("replica-1");
  write("order 43");
}
