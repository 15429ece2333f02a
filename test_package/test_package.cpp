// The smallest useful consumer of an installed bulwark: it includes public headers through the
// package's include directory, prints the version and drives a manual_clock. It exits non-zero
// when anything is not as the headers promise, so every packaging check that runs it (Conan's
// test_package, ctest's consumer.* tests) fails loudly instead of merely linking.
#include <bulwark/core/clock.hpp>
#include <bulwark/version.hpp>
#include <chrono>
#include <cstdio>
#include <string>
#include <string_view>

int main() {
  using namespace std::chrono_literals;

  int failures = 0;
  const auto expect = [&failures](bool ok, const char* what) {
    if (!ok) {
      std::fprintf(stderr, "test_package: FAILED: %s\n", what);
      ++failures;
    }
  };

  std::printf("bulwark %s\n", bulwark::version_string);

  const std::string from_numbers = std::to_string(bulwark::version.major) + "." +
                                   std::to_string(bulwark::version.minor) + "." +
                                   std::to_string(bulwark::version.patch);
  expect(from_numbers == bulwark::version_string, "version numbers match version_string");
  expect(bulwark::version.major == BULWARK_VERSION_MAJOR &&
             bulwark::version.minor == BULWARK_VERSION_MINOR &&
             bulwark::version.patch == BULWARK_VERSION_PATCH,
         "version macros match bulwark::version");
#ifdef BULWARK_EXPECTED_VERSION
  // The version the package manager resolved must be the version of the headers it delivered.
  expect(std::string_view{BULWARK_EXPECTED_VERSION} == bulwark::version_string,
         "package version (" BULWARK_EXPECTED_VERSION ") matches the headers");
#endif

  static_assert(bulwark::clock<bulwark::manual_clock>);
  static_assert(bulwark::clock<bulwark::steady_clock>);

  bulwark::manual_clock clock;
  const bulwark::manual_clock copy = clock;  // a handle: shares the same virtual time
  const bulwark::time_point start = clock.now();
  expect(start == bulwark::manual_clock::default_start, "manual_clock starts at default_start");

  clock.advance(250ms);
  clock.sleep_for(750ms);  // advances instead of sleeping
  const auto elapsed = copy.now() - start;
  expect(elapsed == 1s, "advance + sleep_for moved every copy by one second");
  std::printf("manual_clock advanced %lld ms\n",
              static_cast<long long>(
                  std::chrono::duration_cast<std::chrono::milliseconds>(elapsed).count()));

  if (failures != 0) return 1;
  std::printf("test_package: OK\n");
  return 0;
}
