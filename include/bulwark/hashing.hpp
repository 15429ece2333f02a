#pragma once
// bulwark/hashing: consistent hashing. Rings (Envoy-compatible), jump hash, rendezvous, Maglev
// (Envoy-compatible), AnchorHash, ketama (libmemcached/twemproxy-compatible), bounded loads,
// replica selection, and live placements that swap immutable snapshots. See docs/hashing.md.

#include "bulwark/hashing/anchor_hash.hpp"
#include "bulwark/hashing/bounded_load.hpp"
#include "bulwark/hashing/hash_ring.hpp"
#include "bulwark/hashing/jump_hash.hpp"
#include "bulwark/hashing/ketama.hpp"
#include "bulwark/hashing/maglev.hpp"
#include "bulwark/hashing/node.hpp"
#include "bulwark/hashing/placement.hpp"
#include "bulwark/hashing/rendezvous.hpp"
#include "bulwark/hashing/replicas.hpp"
