#pragma once

// Caches: the single-threaded lru_cache building block; bulwark::cache (thread-safe, sharded,
// bounded by count or weight, expiry, single-flight get_or_load) with its eviction policies
// (adaptive W-TinyLFU by default, LRU, S3-FIFO); and the strategies built on it (cache-aside,
// write-through, write-behind, refresh-ahead).
#include "bulwark/cache/cache.hpp"
#include "bulwark/cache/cache_options.hpp"
#include "bulwark/cache/eviction.hpp"
#include "bulwark/cache/lru_cache.hpp"
#include "bulwark/cache/s3fifo.hpp"
#include "bulwark/cache/sieve.hpp"
#include "bulwark/cache/strategies.hpp"
#include "bulwark/cache/tiny_lfu.hpp"
#include "bulwark/cache/write_behind.hpp"
