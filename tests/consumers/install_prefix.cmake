# consumer.install: installs the outer build into a fresh prefix and checks what landed there.
# The prefix is the package the consumer.find_package and consumer.version_99_rejected tests
# build against (ctest fixture bulwark_installed).
#
#   BUILD_DIR   the bulwark build tree to install
#   SOURCE_DIR  the bulwark checkout (every file under include/ must be installed)
#   PREFIX      where to install; wiped first, and must sit directly in a ctest directory
#   CONFIG      the configuration to install (multi-config generators)
cmake_minimum_required(VERSION 3.25)

function(fail)
  string(JOIN "" text ${ARGN})
  message(FATAL_ERROR "consumer.install: ${text}")
endfunction()

foreach(required IN ITEMS BUILD_DIR SOURCE_DIR PREFIX)
  if("${${required}}" STREQUAL "")
    fail("-D${required}=... is required")
  endif()
endforeach()

# Start from nothing, so that files left by an earlier run (or an earlier layout) cannot make
# the consumers pass.
get_filename_component(parent "${PREFIX}" DIRECTORY)
if(NOT IS_ABSOLUTE "${PREFIX}" OR NOT EXISTS "${parent}/CTestTestfile.cmake")
  fail("refusing to wipe ${PREFIX}: not a directory in a ctest build tree")
endif()
file(REMOVE_RECURSE "${PREFIX}")

set(config_args "")
if(CONFIG)
  set(config_args --config "${CONFIG}")
endif()
execute_process(
  COMMAND "${CMAKE_COMMAND}" --install "${BUILD_DIR}" --prefix "${PREFIX}" ${config_args}
  COMMAND_ECHO STDOUT
  RESULT_VARIABLE rc)
if(NOT rc EQUAL 0)
  fail("cmake --install failed (exit ${rc})")
endif()

set(package_dir "${PREFIX}/share/cmake/bulwark")
foreach(file IN ITEMS
    "${package_dir}/bulwarkConfig.cmake"
    "${package_dir}/bulwarkConfigVersion.cmake"
    "${package_dir}/bulwarkTargets.cmake"
    "${PREFIX}/share/doc/bulwark/LICENSE"
    "${PREFIX}/include/bulwark/version.hpp"
    "${PREFIX}/include/bulwark/core/clock.hpp")
  if(NOT EXISTS "${file}")
    fail("${file} was not installed")
  endif()
endforeach()

# Every file under include/ is part of the public tree and must be installed (a header outside
# the FILE_SET, or with another extension, would compile in the checkout and break installs).
file(GLOB_RECURSE source_headers RELATIVE "${SOURCE_DIR}/include" "${SOURCE_DIR}/include/*")
file(GLOB_RECURSE installed_headers RELATIVE "${PREFIX}/include" "${PREFIX}/include/*")
set(missing ${source_headers})
list(REMOVE_ITEM missing ${installed_headers})
if(missing)
  list(JOIN missing "\n  " missing)
  fail("in include/ but not installed (reconfigure? outside the FILE_SET?):\n  ${missing}")
endif()
list(LENGTH installed_headers count)

# The package must be relocatable: no absolute path into the checkout or the build tree.
file(GLOB package_files "${package_dir}/*.cmake")
foreach(file IN LISTS package_files)
  file(READ "${file}" text)
  foreach(path IN ITEMS "${SOURCE_DIR}" "${BUILD_DIR}")
    string(FIND "${text}" "${path}" at)
    if(NOT at EQUAL -1)
      fail("${file} refers to ${path}; the installed package must not")
    endif()
  endforeach()
endforeach()

message(STATUS "consumer.install: ${count} headers and the CMake package installed in ${PREFIX}")
