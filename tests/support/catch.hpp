#pragma once
// One include for the tests, whichever Catch2 major version tests/CMakeLists.txt found.
// v3 split the single header and moved Approx into its own header; the macros the tests use
// (TEST_CASE, SECTION, REQUIRE, CHECK, REQUIRE_THROWS_WITH, GENERATE, Approx) are the same.
#if BULWARK_CATCH2_VERSION == 3
#include <catch2/catch_approx.hpp>
#include <catch2/catch_test_macros.hpp>
#include <catch2/generators/catch_generators.hpp>
#include <catch2/generators/catch_generators_range.hpp>
#include <catch2/matchers/catch_matchers_string.hpp>
// v2 put Approx in the global namespace through its single header; v3 keeps it in Catch::.
using Catch::Approx;
#else
#include <catch2/catch.hpp>
#endif
