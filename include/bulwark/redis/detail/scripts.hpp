#pragma once
// The Lua scripts the redis add-on runs, each one atomic on the server (Redis runs a script to
// completion before any other command). Internal: redis_gcra and redis_store call them.
//
// Redis's Lua (5.1) has one number type, a double: integers are exact up to 2^53. Absolute
// times in nanoseconds (about 1.7e18) are not, so a TAT is stored as a decimal string and read
// as seconds and nanoseconds apart; only differences from now (at most tau < 2^53) are computed
// in doubles.

#include <cstdint>

#include "bulwark/redis/connection.hpp"

namespace bulwark::detail {

/// The largest span a script computes with exactly: 2^53 ns, about 104 days.
inline constexpr std::int64_t lua_exact_ns = std::int64_t{1} << 53;

/// What the GCRA script's arithmetic may reach besides a backlog: the nanoseconds of the
/// server's TIME (under 1 s) added to it when the new TAT is written.
inline constexpr std::int64_t lua_time_slack_ns = 1'000'000'000;

/// GCRA (ITU-T I.371 virtual scheduling): bulwark::gcra_rule computed on the server, line for
/// line. d is the rule's backlog max(TAT, now) - now; `wait` is decide()'s wait (and wait(),
/// the rule's time_until_available); `fit` is available(); the write is decide()'s next TAT,
/// for a request taken now or reserved up to max_wait ahead. The one extension is `want`
/// (taking up to `want` units that fit now, for redis_gcra's batches).
///   KEYS[1]  the key's TAT, "<seconds><9 digits of ns>"
///   ARGV     T (ns, gcra_rule::emission_interval), tau (ns, gcra_rule::tolerance), cost, want
///   (units to take if they fit now, >= cost; 0: only
///            ask), max_wait (ns: reserve `cost` units that fit within it, as gcra's
///            try_acquire_for; 0: now or never), and optionally the time to decide at
///            (seconds, ns) instead of TIME
///   returns  {granted, wait_ns, remaining}: granted = 0 when refused (or asked), with wait the
///            time until `cost` units fit and remaining the units that fit now; else granted =
///            min(want, units that fit) taken now (wait 0), or cost reserved `wait` ahead
///            (remaining 0)
/// Exact while every backlog plus T x cost stays below 2^53 - 1 s: the caller bounds tau and
/// max_wait so (redis_gcra: tau <= 2^53 - 1 s, max_wait <= 2^53 - 1 s - 2 tau).
inline const redis_script& gcra_script() {
  static const redis_script script{R"lua(
if redis.replicate_commands then redis.replicate_commands() end
local T = tonumber(ARGV[1])
local tau = tonumber(ARGV[2])
local cost = tonumber(ARGV[3])
local want = tonumber(ARGV[4])
local max_wait = tonumber(ARGV[5])
local s, n
if ARGV[6] then
  s = tonumber(ARGV[6])
  n = tonumber(ARGV[7])
else
  local now = redis.call('TIME')
  s = tonumber(now[1])
  n = tonumber(now[2]) * 1000
end
-- d = max(TAT, now) - now: the backlog, exact while it is below 2^53 ns
local d = 0
local tat = redis.call('GET', KEYS[1])
if tat then
  local len = string.len(tat)
  d = (tonumber(string.sub(tat, 1, len - 9)) - s) * 1000000000
      + (tonumber(string.sub(tat, len - 8)) - n)
  if d < 0 then d = 0 end
end
-- units that fit: the largest k with d + k T <= tau (the division is corrected, not trusted)
local fit = 0
if tau >= d then
  fit = math.floor((tau - d) / T)
  while fit > 0 and fit * T > tau - d do fit = fit - 1 end
  while (fit + 1) * T <= tau - d do fit = fit + 1 end
end
-- how long until cost units fit: 0 exactly when fit >= cost
local wait = d + cost * T - tau
if wait < 0 then wait = 0 end
if want == 0 or wait > max_wait then return {0, wait, fit} end
-- now: as many as wanted that fit; later (wait > 0): cost units, which at now + wait move
-- TAT as an admission then would, since max(TAT, now + wait) = TAT there
local take = cost
if wait == 0 then
  take = want
  if take > fit then take = fit end
end
-- TAT := max(TAT, now) + take T, written back as seconds and nanoseconds
local x = d + take * T
local total = n + x
local px = math.floor(x / 1000000) + 1
if ARGV[6] then px = px + 60000 end
redis.call('SET', KEYS[1],
  string.format('%d%09d', s + math.floor(total / 1000000000), total % 1000000000), 'PX', px)
if wait > 0 then return {take, wait, 0} end
return {take, 0, fit - take}
)lua"};
  return script;
}

/// Idempotency try_begin. Records are strings: "p|<fingerprint>|<token>" in progress (expiring
/// at the lease's end), "c|<fingerprint>|<v or f><bytes>" completed (expiring at the ttl).
///   KEYS[1] the record, KEYS[2] the store's fencing counter; ARGV fingerprint, lease (ms)
///   returns {"acquired", token} | {"in_progress", pttl} | {"completed", kind .. bytes}
///           | {"mismatch"}
inline const redis_script& begin_script() {
  static const redis_script script{R"lua(
local rec = redis.call('GET', KEYS[1])
if rec then
  local sep = string.find(rec, '|', 3, true)
  if string.sub(rec, 3, sep - 1) ~= ARGV[1] then return {'mismatch'} end
  if string.sub(rec, 1, 1) == 'p' then return {'in_progress', redis.call('PTTL', KEYS[1])} end
  return {'completed', string.sub(rec, sep + 1)}
end
local token = string.format('%d', redis.call('INCR', KEYS[2]))
redis.call('SET', KEYS[1], 'p|' .. ARGV[1] .. '|' .. token, 'NX', 'PX', ARGV[2])
return {'acquired', token}
)lua"};
  return script;
}

/// Idempotency complete: only if the record is in progress under ARGV[1] (the token).
///   KEYS[1] the record; ARGV token, ttl (ms), kind .. bytes; returns 1 if stored, else 0
inline const redis_script& complete_script() {
  static const redis_script script{R"lua(
local rec = redis.call('GET', KEYS[1])
if not rec or string.sub(rec, 1, 2) ~= 'p|' then return 0 end
local sep = string.find(rec, '|', 3, true)
if string.sub(rec, sep + 1) ~= ARGV[1] then return 0 end
redis.call('SET', KEYS[1], 'c|' .. string.sub(rec, 3, sep - 1) .. '|' .. ARGV[3], 'PX', ARGV[2])
return 1
)lua"};
  return script;
}

/// Idempotency release: deletes the record only if it is in progress under ARGV[1].
inline const redis_script& release_script() {
  static const redis_script script{R"lua(
local rec = redis.call('GET', KEYS[1])
if not rec or string.sub(rec, 1, 2) ~= 'p|' then return 0 end
local sep = string.find(rec, '|', 3, true)
if string.sub(rec, sep + 1) ~= ARGV[1] then return 0 end
redis.call('DEL', KEYS[1])
return 1
)lua"};
  return script;
}

}  // namespace bulwark::detail
