#include <bulwark/version.hpp>
#include <string>

#include "catch.hpp"

TEST_CASE("version.hpp agrees with the version CMake builds and installs", "[core]") {
  const std::string from_macros = std::to_string(BULWARK_VERSION_MAJOR) + "." +
                                  std::to_string(BULWARK_VERSION_MINOR) + "." +
                                  std::to_string(BULWARK_VERSION_PATCH);
  CHECK(from_macros == BULWARK_CMAKE_VERSION);
  CHECK(std::string{bulwark::version_string} == BULWARK_CMAKE_VERSION);
  CHECK(bulwark::version.major == BULWARK_VERSION_MAJOR);
  CHECK(bulwark::version.minor == BULWARK_VERSION_MINOR);
  CHECK(bulwark::version.patch == BULWARK_VERSION_PATCH);
}
