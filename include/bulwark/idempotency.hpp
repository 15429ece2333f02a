#pragma once
// bulwark idempotency: run a handler at most once per (scope, key) and replay its outcome.
// See docs/idempotency.md.

#include "bulwark/idempotency/codec.hpp"
#include "bulwark/idempotency/errors.hpp"
#include "bulwark/idempotency/executor.hpp"
#include "bulwark/idempotency/memory_store.hpp"
#include "bulwark/idempotency/options.hpp"
#include "bulwark/idempotency/permit.hpp"
#include "bulwark/idempotency/store.hpp"
