#pragma once
// bulwark/sharding: routers that send each key to one shard (hash-mod, range with Vitess key
// ranges and Vitess's hash vindex, directory overrides, tags and regions, consistent hashing,
// Redis Cluster slots), live routers swapped atomically, resharding plans, migration state and
// hot-shard reports. See docs/sharding.md.

#include "bulwark/sharding/consistent_router.hpp"
#include "bulwark/sharding/directory_router.hpp"
#include "bulwark/sharding/hash_mod_router.hpp"
#include "bulwark/sharding/keyspace_range.hpp"
#include "bulwark/sharding/live_router.hpp"
#include "bulwark/sharding/range_router.hpp"
#include "bulwark/sharding/range_table.hpp"
#include "bulwark/sharding/reshard_plan.hpp"
#include "bulwark/sharding/shard_load.hpp"
#include "bulwark/sharding/shard_router.hpp"
#include "bulwark/sharding/slot_router.hpp"
#include "bulwark/sharding/tag_router.hpp"
#include "bulwark/sharding/vitess_hash.hpp"
