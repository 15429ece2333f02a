#pragma once

// The library's version. CMakeLists.txt's project(VERSION) is the other copy;
// tests/core/test_version.cpp fails when the two disagree.
#define BULWARK_VERSION_MAJOR 0
#define BULWARK_VERSION_MINOR 1
#define BULWARK_VERSION_PATCH 0

namespace bulwark {

/// The version of the headers in use, as numbers and as "major.minor.patch".
struct version_info {
  int major;
  int minor;
  int patch;
};

inline constexpr version_info version{BULWARK_VERSION_MAJOR, BULWARK_VERSION_MINOR,
                                      BULWARK_VERSION_PATCH};
inline constexpr const char* version_string = "0.1.0";

}  // namespace bulwark
