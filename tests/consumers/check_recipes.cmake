# consumer.recipes: the Conan recipes and the vcpkg port parse, do what they should, and agree
# with CMake on the version, without Conan or vcpkg installed.
#
#   SOURCE_DIR       the bulwark checkout
#   WORK_DIR         scratch directory in the build tree (wiped)
#   PROJECT_VERSION  CMake's project(VERSION), which every recipe must carry
#   PYTHON           a python3 interpreter; empty: the Python half is skipped (ctest: Skipped)
#
# vcpkg half (here): ports/bulwark/portfile.cmake runs with the vcpkg_* functions replaced by
# stubs that record their arguments; plain CMake commands in it (file(INSTALL), ...) run for
# real against a scratch CURRENT_PACKAGES_DIR. Conan half and vcpkg.json: check_recipes.py.
cmake_minimum_required(VERSION 3.25)

function(fail)
  string(JOIN "" text ${ARGN})
  message(FATAL_ERROR "consumer.recipes: ${text}")
endfunction()

foreach(required IN ITEMS SOURCE_DIR WORK_DIR PROJECT_VERSION)
  if("${${required}}" STREQUAL "")
    fail("-D${required}=... is required")
  endif()
endforeach()
get_filename_component(parent "${WORK_DIR}" DIRECTORY)
if(NOT IS_ABSOLUTE "${WORK_DIR}" OR NOT EXISTS "${parent}/CTestTestfile.cmake")
  fail("refusing to wipe ${WORK_DIR}: not a directory in a ctest build tree")
endif()
file(REMOVE_RECURSE "${WORK_DIR}")
file(MAKE_DIRECTORY "${WORK_DIR}")

# --- vcpkg portfile, run against stubs ---------------------------------------------------------

function(record call)
  set_property(GLOBAL APPEND PROPERTY vcpkg_calls "${call}")
endfunction()

function(vcpkg_cmake_configure)
  cmake_parse_arguments(PARSE_ARGV 0 arg
    "WINDOWS_USE_MSBUILD;NO_CHARSET_FLAG;DISABLE_PARALLEL_CONFIGURE"
    "SOURCE_PATH;GENERATOR;LOGFILE_BASE"
    "OPTIONS;OPTIONS_DEBUG;OPTIONS_RELEASE;MAYBE_UNUSED_VARIABLES")
  if(arg_UNPARSED_ARGUMENTS)
    fail("vcpkg_cmake_configure: unknown arguments ${arg_UNPARSED_ARGUMENTS}")
  endif()
  set_property(GLOBAL PROPERTY configure_source_path "${arg_SOURCE_PATH}")
  set_property(GLOBAL PROPERTY configure_options "${arg_OPTIONS};${arg_OPTIONS_RELEASE}")
  record(vcpkg_cmake_configure)
endfunction()

function(vcpkg_cmake_install)
  cmake_parse_arguments(PARSE_ARGV 0 arg "DISABLE_PARALLEL;ADD_BIN_TO_PATH" "" "")
  if(arg_UNPARSED_ARGUMENTS)
    fail("vcpkg_cmake_install: unknown arguments ${arg_UNPARSED_ARGUMENTS}")
  endif()
  record(vcpkg_cmake_install)
endfunction()

function(vcpkg_cmake_config_fixup)
  cmake_parse_arguments(PARSE_ARGV 0 arg "DO_NOT_DELETE_PARENT_CONFIG_PATH;NO_PREFIX_CORRECTION"
    "PACKAGE_NAME;CONFIG_PATH;TOOLS_PATH" "")
  if(arg_UNPARSED_ARGUMENTS)
    fail("vcpkg_cmake_config_fixup: unknown arguments ${arg_UNPARSED_ARGUMENTS}")
  endif()
  record("vcpkg_cmake_config_fixup(CONFIG_PATH ${arg_CONFIG_PATH})")
endfunction()

function(vcpkg_install_copyright)
  cmake_parse_arguments(PARSE_ARGV 0 arg "" "COMMENT" "FILE_LIST")
  if(arg_UNPARSED_ARGUMENTS OR NOT arg_FILE_LIST)
    fail("vcpkg_install_copyright: expected FILE_LIST <files>, got ${ARGN}")
  endif()
  foreach(file IN LISTS arg_FILE_LIST)
    if(NOT EXISTS "${file}")
      fail("vcpkg_install_copyright: ${file} does not exist")
    endif()
  endforeach()
  record(vcpkg_install_copyright)
endfunction()

# vcpkg sets FEATURES to the features a user asked for; "core" is always there. The stub maps
# each FEATURES pair as vcpkg does (-D<option>=ON when requested, OFF otherwise) and refuses a
# feature vcpkg.json does not declare, since vcpkg would never request it.
file(READ "${SOURCE_DIR}/ports/bulwark/vcpkg.json" vcpkg_manifest)
string(JSON declared_count LENGTH "${vcpkg_manifest}" features)
set(declared_features "")
math(EXPR last "${declared_count} - 1")
foreach(i RANGE ${last})
  string(JSON feature MEMBER "${vcpkg_manifest}" features ${i})
  list(APPEND declared_features "${feature}")
endforeach()

function(vcpkg_check_features)
  cmake_parse_arguments(PARSE_ARGV 0 arg "" "OUT_FEATURE_OPTIONS;PREFIX"
    "FEATURES;INVERTED_FEATURES")
  if(arg_UNPARSED_ARGUMENTS OR NOT arg_OUT_FEATURE_OPTIONS)
    fail("vcpkg_check_features: expected OUT_FEATURE_OPTIONS <var> FEATURES <feature> <option>..., "
      "got ${ARGN}")
  endif()
  list(LENGTH arg_FEATURES count)
  math(EXPR odd "${count} % 2")
  if(count EQUAL 0 OR odd)
    fail("vcpkg_check_features: FEATURES takes <feature> <option> pairs, got '${arg_FEATURES}'")
  endif()
  set(options "")
  set(mapped "")
  math(EXPR last "${count} - 2")
  foreach(i RANGE 0 ${last} 2)
    math(EXPR j "${i} + 1")
    list(GET arg_FEATURES ${i} feature)
    list(GET arg_FEATURES ${j} option)
    if(NOT feature IN_LIST declared_features)
      fail("vcpkg_check_features: feature '${feature}' is not declared in vcpkg.json "
        "(declared: ${declared_features})")
    endif()
    list(APPEND mapped "${feature}")
    if(feature IN_LIST FEATURES)
      list(APPEND options "-D${option}=ON")
    else()
      list(APPEND options "-D${option}=OFF")
    endif()
  endforeach()
  foreach(feature IN LISTS declared_features)
    if(NOT feature IN_LIST mapped)
      fail("vcpkg_check_features: vcpkg.json declares feature '${feature}' but the portfile "
        "maps it to no option")
    endif()
  endforeach()
  set(${arg_OUT_FEATURE_OPTIONS} "${options}" PARENT_SCOPE)
  record(vcpkg_check_features)
endfunction()

foreach(download IN ITEMS vcpkg_from_github vcpkg_from_gitlab vcpkg_from_git
    vcpkg_download_distfile vcpkg_extract_source_archive)
  cmake_language(EVAL CODE "
    function(${download})
      fail(\"${download}: the overlay port builds the checkout it sits in; it must not download\")
    endfunction()")
endforeach()

set(PORT bulwark)
set(VERSION "${PROJECT_VERSION}")
set(TARGET_TRIPLET x64-linux)
set(CURRENT_PACKAGES_DIR "${WORK_DIR}/vcpkg-packages")
set(CURRENT_BUILDTREES_DIR "${WORK_DIR}/vcpkg-buildtrees")
# As `vcpkg install bulwark[redis,config]` would: two features asked for, two left out.
set(FEATURES core redis config)
set(portfile "${SOURCE_DIR}/ports/bulwark/portfile.cmake")
if(NOT EXISTS "${portfile}")
  fail("${portfile} does not exist")
endif()
include("${portfile}")

get_property(calls GLOBAL PROPERTY vcpkg_calls)
set(expected_calls vcpkg_check_features vcpkg_cmake_configure vcpkg_cmake_install
  "vcpkg_cmake_config_fixup(CONFIG_PATH share/cmake/bulwark)" vcpkg_install_copyright)
if(NOT calls STREQUAL expected_calls)
  list(JOIN calls ", " calls)
  list(JOIN expected_calls ", " expected_calls)
  fail("portfile.cmake called [${calls}], expected [${expected_calls}] in that order")
endif()
if(NOT VCPKG_BUILD_TYPE STREQUAL "release")
  fail("portfile.cmake must set VCPKG_BUILD_TYPE to release (header-only), not "
    "'${VCPKG_BUILD_TYPE}'")
endif()

get_property(source_path GLOBAL PROPERTY configure_source_path)
if(NOT EXISTS "${source_path}/CMakeLists.txt")
  fail("vcpkg_cmake_configure(SOURCE_PATH ${source_path}): no CMakeLists.txt there")
endif()
file(REAL_PATH "${source_path}" source_real)
file(REAL_PATH "${SOURCE_DIR}" checkout_real)
if(NOT source_real STREQUAL checkout_real)
  fail("SOURCE_PATH is ${source_path}; the overlay port must build its checkout ${SOURCE_DIR}")
endif()
file(STRINGS "${source_path}/CMakeLists.txt" project_line REGEX "^project\\(bulwark")
if(NOT project_line)
  fail("${source_path}/CMakeLists.txt is not bulwark's")
endif()

get_property(options GLOBAL PROPERTY configure_options)
foreach(option IN ITEMS -DBULWARK_BUILD_TESTS=OFF -DBULWARK_BUILD_EXAMPLES=OFF
    -DBULWARK_BUILD_BENCHMARKS=OFF -DBULWARK_REDIS=ON -DBULWARK_CONFIG=ON -DBULWARK_ASIO=OFF
    -DBULWARK_PROMETHEUS=OFF)
  if(NOT option IN_LIST options)
    fail("vcpkg_cmake_configure does not pass ${option} (options: ${options})")
  endif()
endforeach()

set(usage "${CURRENT_PACKAGES_DIR}/share/bulwark/usage")
if(NOT EXISTS "${usage}")
  fail("portfile.cmake did not install usage into share/bulwark")
endif()
file(READ "${usage}" usage_text)
foreach(line IN ITEMS "find_package(bulwark CONFIG REQUIRED)" "bulwark::bulwark")
  string(FIND "${usage_text}" "${line}" at)
  if(at EQUAL -1)
    fail("usage does not mention ${line}")
  endif()
endforeach()
message(STATUS "consumer.recipes: portfile.cmake: calls, SOURCE_PATH, options and usage OK")

# --- Conan recipes and vcpkg.json ----------------------------------------------------------------

if(NOT PYTHON)
  # ctest reports the test as Skipped (SKIP_REGULAR_EXPRESSION) rather than passed.
  message("consumer.recipes: SKIPPED the Conan recipe and vcpkg.json checks: "
    "no Python 3 interpreter was found when bulwark was configured")
  return()
endif()
execute_process(
  COMMAND "${PYTHON}" "${CMAKE_CURRENT_LIST_DIR}/check_recipes.py"
    --root "${SOURCE_DIR}" --version "${PROJECT_VERSION}" --work "${WORK_DIR}/conan"
  RESULT_VARIABLE rc)
if(NOT rc EQUAL 0)
  fail("check_recipes.py failed (exit ${rc})")
endif()
