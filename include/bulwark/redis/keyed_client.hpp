#pragma once
// bulwark::redis_keyed_client: what the redis components need from a client, "the thing that
// runs a command for a key", met by redis_client (one server) and redis_cluster_client (a
// Redis Cluster), so that redis_gcra and redis_store run unchanged on either.

#include <concepts>
#include <optional>
#include <string_view>
#include <vector>

#include "bulwark/core/clock.hpp"
#include "bulwark/redis/connection.hpp"

namespace bulwark {

/// A client that sends a command or a script to the server that holds a key:
/// - keyed_command(key, args): args, sent where `key` lives (key is usually one of args);
/// - eval(script, keys, args): EVALSHA where keys[0] lives (every key of one call must be in
///   keys[0]'s slot: share a hash tag), reloading the script on NOSCRIPT;
/// - command(args): a command about no key (PING, TIME), sent to any server;
/// - clock(): the Clock the client times its backoff with (components copy it);
/// - last_restart(): when a server restart or failover was last detected (nullopt: never).
/// None of them throws for network errors: a call that got no answer has status unavailable.
template <class C>
concept redis_keyed_client = clock<typename C::clock_type> &&
    requires(C& c, const C& cc, const redis_script& script, std::string_view key,
             const std::vector<std::string_view>& args) {
  { c.keyed_command(key, args) } -> std::same_as<redis_result>;
  { c.eval(script, args, args) } -> std::same_as<redis_result>;
  { c.command(args) } -> std::same_as<redis_result>;
  { cc.clock() } -> std::convertible_to<const typename C::clock_type&>;
  { cc.last_restart() } -> std::same_as<std::optional<time_point>>;
};

/// Whether a client's scripts may only name keys of one hash slot (a Redis Cluster): then a
/// component puts a helper key in the slot of the keys it serves (redis_store's fencing
/// counter) instead of one key for all. False unless a client says otherwise
/// (redis_cluster_client does).
template <class C>
inline constexpr bool redis_routes_by_slot = false;

}  // namespace bulwark
