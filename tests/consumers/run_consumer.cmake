# Configures, builds and runs one consumer project in a fresh build tree: the nested build
# behind each consumer.* test. Run by ctest as `cmake -D... -P run_consumer.cmake`:
#
#   SOURCE_DIR          the consumer project
#   BINARY_DIR          its build tree; wiped first, and must sit directly in a ctest directory
#   GENERATOR, GENERATOR_PLATFORM, GENERATOR_TOOLSET, MAKE_PROGRAM, CXX_COMPILER, CONFIG
#                       the outer build's, so the consumer is built the way bulwark's tests are
#   CONFIGURE_ARGS      more configure arguments, separated by '|'
#   CONFIGURE_ONLY      ON: stop after a successful configure (the project checks at configure)
#   RUN                 name of the executable to run after the build (must exit 0)
#   EXPECT_PACKAGE_DIR  bulwark_DIR in the consumer's cache must be this directory
#   EXPECT_INCLUDE      compile commands must contain this include directory...
#   FORBID_INCLUDE      ...and must not contain this one
#   ARCHIVE_FROM, ARCHIVE_FILES (separated by '|')
#                       first pack these files of ARCHIVE_FROM into ${BINARY_DIR}-archive.tar.gz,
#                       passed on as -DBULWARK_ARCHIVE=... and -DBULWARK_ARCHIVE_SHA256=...
cmake_minimum_required(VERSION 3.25)

function(fail)
  string(JOIN "" text ${ARGN})
  message(FATAL_ERROR "${TEST_NAME}: ${text}")
endfunction()

get_filename_component(TEST_NAME "${BINARY_DIR}" NAME)
set(TEST_NAME "consumer.${TEST_NAME}")

foreach(required IN ITEMS SOURCE_DIR BINARY_DIR GENERATOR CXX_COMPILER)
  if("${${required}}" STREQUAL "")
    fail("-D${required}=... is required")
  endif()
endforeach()

# The build tree is wiped before each run, so that a stale cache (a bulwark_DIR from an earlier
# run, say) cannot make the test pass. Guard the wipe: it must be a fresh directory directly in
# a ctest binary directory, never anything else.
get_filename_component(parent "${BINARY_DIR}" DIRECTORY)
if(NOT IS_ABSOLUTE "${BINARY_DIR}" OR NOT EXISTS "${parent}/CTestTestfile.cmake")
  fail("refusing to wipe ${BINARY_DIR}: not a directory in a ctest build tree")
endif()
file(REMOVE_RECURSE "${BINARY_DIR}")

string(REPLACE "|" ";" configure_args "${CONFIGURE_ARGS}")

if(ARCHIVE_FROM)
  # A release archive: one top-level directory holding exactly the files a release ships.
  set(stage "${BINARY_DIR}-stage")
  set(archive "${BINARY_DIR}-archive.tar.gz")
  file(REMOVE_RECURSE "${stage}" "${archive}")
  file(MAKE_DIRECTORY "${stage}/bulwark")
  string(REPLACE "|" ";" archive_files "${ARCHIVE_FILES}")
  foreach(entry IN LISTS archive_files)
    if(NOT EXISTS "${ARCHIVE_FROM}/${entry}")
      fail("${ARCHIVE_FROM}/${entry} does not exist")
    endif()
    file(COPY "${ARCHIVE_FROM}/${entry}" DESTINATION "${stage}/bulwark")
  endforeach()
  execute_process(COMMAND "${CMAKE_COMMAND}" -E tar czf "${archive}" bulwark
    WORKING_DIRECTORY "${stage}" RESULT_VARIABLE rc)
  if(NOT rc EQUAL 0)
    fail("could not create ${archive}")
  endif()
  file(SHA256 "${archive}" archive_sha256)
  list(APPEND configure_args "-DBULWARK_ARCHIVE=${archive}"
    "-DBULWARK_ARCHIVE_SHA256=${archive_sha256}")
endif()

set(generator_args -G "${GENERATOR}")
if(GENERATOR_PLATFORM)
  list(APPEND generator_args -A "${GENERATOR_PLATFORM}")
endif()
if(GENERATOR_TOOLSET)
  list(APPEND generator_args -T "${GENERATOR_TOOLSET}")
endif()
if(MAKE_PROGRAM)
  list(APPEND generator_args "-DCMAKE_MAKE_PROGRAM=${MAKE_PROGRAM}")
endif()

if(NOT CONFIGURE_ONLY)
  # Where to find the program, and what was compiled with which include directories.
  list(APPEND configure_args "-DCMAKE_RUNTIME_OUTPUT_DIRECTORY=${BINARY_DIR}/bin"
    -DCMAKE_EXPORT_COMPILE_COMMANDS=ON)
endif()

execute_process(
  COMMAND "${CMAKE_COMMAND}" -S "${SOURCE_DIR}" -B "${BINARY_DIR}" ${generator_args}
    "-DCMAKE_CXX_COMPILER=${CXX_COMPILER}"
    "-DCMAKE_BUILD_TYPE=${CONFIG}"
    # Only what the test names may be found: no package registries.
    -DCMAKE_FIND_USE_PACKAGE_REGISTRY=OFF
    -DCMAKE_FIND_USE_SYSTEM_PACKAGE_REGISTRY=OFF
    ${configure_args}
  COMMAND_ECHO STDOUT
  RESULT_VARIABLE rc)
if(NOT rc EQUAL 0)
  fail("configuring ${SOURCE_DIR} failed (exit ${rc})")
endif()

if(EXPECT_PACKAGE_DIR)
  # The consumer must have found the package where the test put it, not some other copy.
  file(STRINGS "${BINARY_DIR}/CMakeCache.txt" cached REGEX "^bulwark_DIR:[A-Z]+=")
  string(REGEX REPLACE "^bulwark_DIR:[A-Z]+=" "" found_dir "${cached}")
  if(NOT IS_DIRECTORY "${found_dir}")
    fail("bulwark_DIR is '${found_dir}', expected ${EXPECT_PACKAGE_DIR}")
  endif()
  file(REAL_PATH "${found_dir}" found_real)
  file(REAL_PATH "${EXPECT_PACKAGE_DIR}" expected_real)
  if(NOT found_real STREQUAL expected_real)
    fail("bulwark_DIR is ${found_dir}, expected ${EXPECT_PACKAGE_DIR}")
  endif()
  message(STATUS "${TEST_NAME}: bulwark_DIR = ${found_dir}")
endif()

if(CONFIGURE_ONLY)
  message(STATUS "${TEST_NAME}: passed (configure-time checks)")
  return()
endif()

set(build_config_args "")
if(CONFIG)
  set(build_config_args --config "${CONFIG}")
endif()
execute_process(
  COMMAND "${CMAKE_COMMAND}" --build "${BINARY_DIR}" ${build_config_args}
  COMMAND_ECHO STDOUT
  RESULT_VARIABLE rc)
if(NOT rc EQUAL 0)
  fail("building ${SOURCE_DIR} failed (exit ${rc})")
endif()

if(EXPECT_INCLUDE OR FORBID_INCLUDE)
  # Generators that write compile_commands.json (Ninja, Makefiles) let us see which bulwark
  # headers were compiled: the installed ones, never the checkout's.
  set(commands_file "${BINARY_DIR}/compile_commands.json")
  if(EXISTS "${commands_file}")
    file(READ "${commands_file}" commands)
    if(EXPECT_INCLUDE)
      string(FIND "${commands}" "${EXPECT_INCLUDE}" at)
      if(at EQUAL -1)
        fail("compile commands do not use ${EXPECT_INCLUDE}:\n${commands}")
      endif()
    endif()
    if(FORBID_INCLUDE)
      string(FIND "${commands}" "${FORBID_INCLUDE}" at)
      if(NOT at EQUAL -1)
        fail("compile commands use ${FORBID_INCLUDE}:\n${commands}")
      endif()
    endif()
  else()
    message(STATUS "${TEST_NAME}: no compile_commands.json (generator ${GENERATOR}); "
      "include directories not checked")
  endif()
endif()

if(RUN)
  set(program "")
  foreach(candidate IN ITEMS "bin/${RUN}" "bin/${RUN}.exe" "bin/${CONFIG}/${RUN}"
      "bin/${CONFIG}/${RUN}.exe")
    if(EXISTS "${BINARY_DIR}/${candidate}" AND NOT IS_DIRECTORY "${BINARY_DIR}/${candidate}")
      set(program "${BINARY_DIR}/${candidate}")
      break()
    endif()
  endforeach()
  if(NOT program)
    fail("the build produced no ${RUN} in ${BINARY_DIR}/bin")
  endif()
  execute_process(COMMAND "${program}" COMMAND_ECHO STDOUT RESULT_VARIABLE rc)
  if(NOT rc EQUAL 0)
    fail("${program} exited with ${rc}")
  endif()
endif()

message(STATUS "${TEST_NAME}: passed")
