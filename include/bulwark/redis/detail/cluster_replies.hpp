#pragma once
// What redis_cluster_client reads from a Redis Cluster: node addresses ("host:port"), the
// redirections MOVED and ASK, the transient errors TRYAGAIN and CLUSTERDOWN, and the CLUSTER
// SLOTS reply (RESP2). Internal to cluster_client.hpp.

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "bulwark/redis/connection.hpp"
#include "bulwark/sharding/slot_router.hpp"

namespace bulwark::detail {

/// A node's address split from "host:port" at the last colon (an IPv6 literal keeps its own
/// colons); empty when the port is not a number in [1, 65535] or the host is empty.
struct cluster_address {
  std::string host;
  int port = 0;
};

[[nodiscard]] inline std::optional<cluster_address> parse_cluster_address(std::string_view text) {
  const std::size_t colon = text.rfind(':');
  if (colon == std::string_view::npos || colon == 0 || colon + 1 == text.size()) return {};
  int port = 0;
  for (const char c : text.substr(colon + 1)) {
    if (c < '0' || c > '9' || port > 65535) return {};
    port = port * 10 + (c - '0');
  }
  if (port < 1 || port > 65535) return {};
  return cluster_address{std::string{text.substr(0, colon)}, port};
}

/// "MOVED <slot> <host:port>": the slot lives there now (update the map); "ASK <slot>
/// <host:port>": this one key is being imported there (send ASKING first; keep the map).
struct cluster_redirect {
  bool moved = false;
  std::uint16_t slot = 0;
  std::string address;
};

[[nodiscard]] inline std::optional<cluster_redirect> parse_redirect(std::string_view error) {
  cluster_redirect out;
  if (error.starts_with("MOVED ")) {
    out.moved = true;
    error.remove_prefix(6);
  } else if (error.starts_with("ASK ")) {
    error.remove_prefix(4);
  } else {
    return {};
  }
  const std::size_t space = error.find(' ');
  if (space == std::string_view::npos || space == 0) return {};
  std::uint32_t slot = 0;
  for (const char c : error.substr(0, space)) {
    if (c < '0' || c > '9' || slot >= redis_cluster_slots) return {};
    slot = slot * 10 + static_cast<std::uint32_t>(c - '0');
  }
  if (slot >= redis_cluster_slots) return {};
  out.slot = static_cast<std::uint16_t>(slot);
  out.address = std::string{error.substr(space + 1)};
  if (!parse_cluster_address(out.address)) return {};
  return out;
}

/// Errors a cluster answers while it reconfigures, worth a later retry: TRYAGAIN (a multi-key
/// command during a slot migration found only some of its keys) and CLUSTERDOWN (the cluster
/// is not serving this slot, or at all, for now).
[[nodiscard]] inline bool is_tryagain(std::string_view error) noexcept {
  return error.starts_with("TRYAGAIN");
}
[[nodiscard]] inline bool is_clusterdown(std::string_view error) noexcept {
  return error.starts_with("CLUSTERDOWN");
}

/// One master's slots from CLUSTER SLOTS: [first, last] inclusive, served at `address`.
struct cluster_slot_owner {
  std::uint16_t first = 0;
  std::uint16_t last = 0;
  std::string address;
};

/// The ranges of a CLUSTER SLOTS reply (RESP2: an array of [first, last, [ip, port, id, ...],
/// replicas...]); empty when the reply is malformed. An empty or "?" ip (a node that does not
/// know its own address) means the node that answered, `answered_host`.
[[nodiscard]] inline std::optional<std::vector<cluster_slot_owner>> parse_cluster_slots(
    redis_value reply, std::string_view answered_host) {
  if (!reply.is_array()) return {};
  std::vector<cluster_slot_owner> out;
  out.reserve(reply.size());
  for (std::size_t i = 0; i < reply.size(); ++i) {
    const redis_value range = reply[i];
    if (range.size() < 3 || !range[0].is_integer() || !range[1].is_integer() ||
        range[2].size() < 2 || !range[2][1].is_integer())
      return {};
    const long long first = range[0].integer();
    const long long last = range[1].integer();
    const long long port = range[2][1].integer();
    if (first < 0 || last < first || last >= static_cast<long long>(redis_cluster_slots) ||
        port < 1 || port > 65535)
      return {};
    std::string host{range[2][0].str()};
    if (host.empty() || host == "?") host = std::string{answered_host};
    out.push_back({static_cast<std::uint16_t>(first), static_cast<std::uint16_t>(last),
                   host + ":" + std::to_string(port)});
  }
  return out;
}

}  // namespace bulwark::detail
