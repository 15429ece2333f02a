#pragma once

// Load balancing: balancers over atomically swapped endpoint snapshots (round robin, smooth
// and stride weighted round robin, random, least outstanding, power of two choices, peak
// EWMA, sticky, or one of these chosen by name at run time), slow start, panic mode, active
// health checks, Envoy-style outlier ejection, and replica read selection (read preferences,
// max staleness, read-your-writes).
#include "bulwark/balancing/endpoint.hpp"
#include "bulwark/balancing/endpoint_set.hpp"
#include "bulwark/balancing/health_checker.hpp"
#include "bulwark/balancing/least_request.hpp"
#include "bulwark/balancing/load_balancer.hpp"
#include "bulwark/balancing/locality.hpp"
#include "bulwark/balancing/locality_aware.hpp"
#include "bulwark/balancing/named_policy.hpp"
#include "bulwark/balancing/outlier.hpp"
#include "bulwark/balancing/policy.hpp"
#include "bulwark/balancing/read_preference.hpp"
#include "bulwark/balancing/replica_selector.hpp"
#include "bulwark/balancing/round_robin.hpp"
#include "bulwark/balancing/sticky.hpp"
#include "bulwark/balancing/weighted.hpp"
