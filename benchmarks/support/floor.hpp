#pragma once
// The physical floor: rows that every bench_<area> binary reports next to its own, because
// this OBJECT library (bulwark_bench_floor, from floor.cpp) is linked into each of them. An
// object library rather than a static one, since floor.cpp only registers benchmarks from
// static initialisers, and a linker drops archive members that nothing references.
//
//   floor/steady_clock_now    bulwark::steady_clock::now(), the clock read every guard may do
//   floor/coarse_clock_now    bulwark::coarse_clock::now(), the cheaper, tick-resolution read
//   floor/cas_uncontended     one successful compare_exchange on a std::atomic<uint64_t>
//   floor/mutex_lock_unlock   lock() then unlock() of a std::mutex no other thread touches
//
// How to read a figure. Absolute nanoseconds move with the machine, its load and its frequency
// scaling; a ratio to a floor row of the same run moves much less. So read "a token bucket
// acquire costs 1.3 CAS" or "a lookup costs 0.4 clock reads" rather than "12 ns": divide the
// row's time per iteration (or, for throughput rows, invert items/s) by the floor row's time from
// the same invocation. Do not divide figures from different runs or machines. A guard that is one
// CAS loop cannot beat floor/cas_uncontended, and one that reads the clock pays at least
// floor/steady_clock_now: a figure near its floor has nothing left to gain, one far above it
// shows where to look.
//
// The rows are single-threaded and uncontended by design: they are the lower bound. Contention
// is what the areas' own threaded rows measure.
//
// floor.cpp also starts and joins one thread at static initialisation, so that glibc leaves
// its single-threaded fast path before any row runs (see there): every binary that links the
// floor measures its mutex baselines as a multi-threaded service would see them.
//
// Nothing else lives here; the rows need no declarations to be registered.
