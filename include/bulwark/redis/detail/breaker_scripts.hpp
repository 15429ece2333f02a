#pragma once
// The Lua scripts of redis_circuit_breaker. Every script reads and writes only keys of one
// breaker, all under its hash tag "{name}", so one Redis Cluster node holds them all.
//
// The shared state of a breaker:
//   <prefix>{name}:state    hash {gen, state}: gen counts published transitions (the
//                           generation, or epoch); state is "open" or "closed"
//   <prefix>{name}:open     exists while the breaker is open fleet-wide; PX = the wait in open,
//                           so Redis's clock times it and no two instances' clocks are compared
//   <prefix>{name}:probe:i  a half-open probe's lease (SET NX PX), i < fleet_probes
//   <prefix>{name}:fails:g  with aggregated counts: failures seen in generation g's window
// Fleet-wide half-open is "state = open and the open key has expired".
// Every script answers {verdict, gen, state, pttl of the open key}, so a caller learns the
// state from any answer, won or lost.

#include "bulwark/redis/connection.hpp"

namespace bulwark::detail {

// The common tail: the state as every script reports it.
inline constexpr const char* breaker_state_lua = R"lua(
local function state_of(verdict)
  local gen = tonumber(redis.call('HGET', KEYS[1], 'gen') or '0')
  local st = redis.call('HGET', KEYS[1], 'state') or 'closed'
  return {verdict, gen, st, redis.call('PTTL', KEYS[2])}
end
)lua";

/// Reads the state. KEYS state, open. Returns {0, gen, state, pttl}.
inline const redis_script& breaker_read_script() {
  static const redis_script s{std::string{breaker_state_lua} + "return state_of(0)\n"};
  return s;
}

/// Opens the breaker if nobody published a transition since generation ARGV[1] (a
/// compare-and-set on gen), for ARGV[2] ms; frees the probe lease KEYS[3] if it holds token
/// ARGV[3]. Returns verdict 1 when this call opened it, 0 (and the newer state) when not.
inline const redis_script& breaker_trip_script() {
  static const redis_script s{std::string{breaker_state_lua} + R"lua(
if ARGV[3] ~= '' and redis.call('GET', KEYS[3]) == ARGV[3] then redis.call('DEL', KEYS[3]) end
local gen = tonumber(redis.call('HGET', KEYS[1], 'gen') or '0')
if gen ~= tonumber(ARGV[1]) then return state_of(0) end
redis.call('HSET', KEYS[1], 'gen', gen + 1, 'state', 'open')
redis.call('SET', KEYS[2], gen + 1, 'PX', ARGV[2])
return state_of(1)
)lua"};
  return s;
}

/// Closes the breaker if the generation is still ARGV[1] (a probe of that half-open period
/// succeeded); frees the probe lease KEYS[3] held with token ARGV[2]. Verdict 1 when closed.
inline const redis_script& breaker_close_script() {
  static const redis_script s{std::string{breaker_state_lua} + R"lua(
if redis.call('GET', KEYS[3]) == ARGV[2] then redis.call('DEL', KEYS[3]) end
local gen = tonumber(redis.call('HGET', KEYS[1], 'gen') or '0')
if gen ~= tonumber(ARGV[1]) then return state_of(0) end
redis.call('HSET', KEYS[1], 'gen', gen + 1, 'state', 'closed')
redis.call('DEL', KEYS[2])
return state_of(1)
)lua"};
  return s;
}

/// Takes a probe lease in half-open: KEYS[3..] are the lease slots, ARGV token, lease ms.
/// Verdict: the slot taken (>= 0), -1 when the breaker is not half-open (the state says what
/// it is), -2 when every slot is leased.
inline const redis_script& breaker_probe_script() {
  static const redis_script s{std::string{breaker_state_lua} + R"lua(
local st = redis.call('HGET', KEYS[1], 'state') or 'closed'
if st ~= 'open' or redis.call('PTTL', KEYS[2]) > 0 then return state_of(-1) end
for i = 3, #KEYS do
  if redis.call('SET', KEYS[i], ARGV[1], 'NX', 'PX', ARGV[2]) then return state_of(i - 3) end
end
return state_of(-2)
)lua"};
  return s;
}

/// Frees the probe lease KEYS[3] if it holds token ARGV[1] (a probe ignored). Verdict 0.
inline const redis_script& breaker_release_script() {
  static const redis_script s{std::string{breaker_state_lua} + R"lua(
if redis.call('GET', KEYS[3]) == ARGV[1] then redis.call('DEL', KEYS[3]) end
return state_of(0)
)lua"};
  return s;
}

/// Aggregated counts: counts one failure in generation ARGV[1]'s window (KEYS[3], expiring
/// ARGV[3] ms after the window's first failure) and, at ARGV[4] failures with the breaker
/// still closed in that generation, opens it for ARGV[2] ms. Verdict 1 when this call opened
/// it, 0 otherwise.
inline const redis_script& breaker_count_script() {
  static const redis_script s{std::string{breaker_state_lua} + R"lua(
local n = redis.call('INCR', KEYS[3])
if n == 1 then redis.call('PEXPIRE', KEYS[3], ARGV[3]) end
local gen = tonumber(redis.call('HGET', KEYS[1], 'gen') or '0')
local st = redis.call('HGET', KEYS[1], 'state') or 'closed'
if n < tonumber(ARGV[4]) or gen ~= tonumber(ARGV[1]) or st ~= 'closed' then
  return state_of(0)
end
redis.call('HSET', KEYS[1], 'gen', gen + 1, 'state', 'open')
redis.call('SET', KEYS[2], gen + 1, 'PX', ARGV[2])
return state_of(1)
)lua"};
  return s;
}

}  // namespace bulwark::detail
