# vcpkg overlay port for bulwark, building the checkout this port sits in:
#   vcpkg install bulwark --overlay-ports=<checkout>/ports
# or, in manifest mode, "vcpkg-configuration": { "overlay-ports": ["<checkout>/ports"] }.
#
# An overlay port inside the repository has the sources at hand: the repository root is two
# levels up from this file. A registry port (vcpkg's curated registry or a private one) cannot
# see a checkout, so it would replace the next line with a pinned download. The repository has
# no release tags yet, so REF is a full commit hash (a tag, "v${VERSION}", once releases exist):
#
#   vcpkg_from_github(
#     OUT_SOURCE_PATH SOURCE_PATH
#     REPO bulwark-cpp/bulwark
#     REF <full commit hash>
#     SHA512 <sha512 of that commit's archive, as `vcpkg install` reports it on first try>
#     HEAD_REF main)
get_filename_component(SOURCE_PATH "${CMAKE_CURRENT_LIST_DIR}/../.." ABSOLUTE)

# Header-only: one (release) configuration is all there is to install.
set(VCPKG_BUILD_TYPE release)

# Each feature installs its add-on component (bulwark::redis, bulwark::asio, bulwark::config,
# bulwark::prometheus) and depends on its library; without it the add-on is off even where the
# library happens to be installed.
vcpkg_check_features(OUT_FEATURE_OPTIONS FEATURE_OPTIONS
  FEATURES
    redis BULWARK_REDIS
    asio BULWARK_ASIO
    config BULWARK_CONFIG
    prometheus BULWARK_PROMETHEUS)

vcpkg_cmake_configure(
  SOURCE_PATH "${SOURCE_PATH}"
  OPTIONS
    ${FEATURE_OPTIONS}
    -DBULWARK_BUILD_TESTS=OFF
    -DBULWARK_BUILD_EXAMPLES=OFF
    -DBULWARK_BUILD_BENCHMARKS=OFF
    -DBULWARK_INSTALL=ON)
vcpkg_cmake_install()

# The build installs its package files in share/cmake/bulwark; vcpkg wants them in share/bulwark.
vcpkg_cmake_config_fixup(CONFIG_PATH share/cmake/bulwark)

# Nothing is compiled, so there is no debug tree and nothing in lib/; remove both in case a
# tool left them empty. The license goes to share/bulwark/copyright below, not to share/doc.
file(REMOVE_RECURSE
  "${CURRENT_PACKAGES_DIR}/debug"
  "${CURRENT_PACKAGES_DIR}/lib"
  "${CURRENT_PACKAGES_DIR}/share/doc")

vcpkg_install_copyright(FILE_LIST "${SOURCE_PATH}/LICENSE")
file(INSTALL "${CMAKE_CURRENT_LIST_DIR}/usage" DESTINATION "${CURRENT_PACKAGES_DIR}/share/${PORT}")
