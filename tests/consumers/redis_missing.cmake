# consumer.redis_component_missing: installs the checkout configured with BULWARK_REDIS=OFF and
# BULWARK_ASIO=OFF into a scratch prefix, then configures redis_missing/, which checks what
# find_package(bulwark COMPONENTS redis), and COMPONENTS asio, say there.
#
#   SOURCE_DIR  the bulwark checkout
#   WORK_DIR    scratch directory (wiped first)
#   GENERATOR   the generator to use
cmake_minimum_required(VERSION 3.25)

file(REMOVE_RECURSE "${WORK_DIR}")
function(run what)
  execute_process(COMMAND ${ARGN} RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE out)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "consumer.redis_component_missing: ${what} failed (exit ${rc}):\n${out}")
  endif()
  message("${out}")
endfunction()
run("configuring bulwark with BULWARK_REDIS=OFF and BULWARK_ASIO=OFF"
  "${CMAKE_COMMAND}" -S "${SOURCE_DIR}" -B "${WORK_DIR}/build" -G "${GENERATOR}"
  -DBULWARK_REDIS=OFF -DBULWARK_ASIO=OFF -DBULWARK_INSTALL=ON -DBULWARK_BUILD_TESTS=OFF
  -DBULWARK_BUILD_EXAMPLES=OFF -DBULWARK_BUILD_BENCHMARKS=OFF)
run("installing it" "${CMAKE_COMMAND}" --install "${WORK_DIR}/build" --prefix "${WORK_DIR}/prefix")
run("the consumer" "${CMAKE_COMMAND}" -S "${CMAKE_CURRENT_LIST_DIR}/redis_missing"
  -B "${WORK_DIR}/consumer" -G "${GENERATOR}" "-DBULWARK_PREFIX=${WORK_DIR}/prefix")
