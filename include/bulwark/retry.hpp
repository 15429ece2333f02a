#pragma once

// Retrying failed calls: backoff schedules and jitter, the retry executor (deadlines, server
// hints, cancellation, dead letters) and retry budgets shared between executors.
#include "bulwark/retry/active_request_budget.hpp"
#include "bulwark/retry/backoff.hpp"
#include "bulwark/retry/budget.hpp"
#include "bulwark/retry/call.hpp"
#include "bulwark/retry/executor.hpp"
#include "bulwark/retry/exhausted.hpp"
#include "bulwark/retry/jitter.hpp"
#include "bulwark/retry/policy.hpp"
#include "bulwark/retry/schedule.hpp"
#include "bulwark/retry/wait.hpp"
