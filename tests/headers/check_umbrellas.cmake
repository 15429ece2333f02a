# cmake -DINCLUDE_DIR=<dir> -P check_umbrellas.cmake
#
# A folder's public headers are exactly what its umbrella exports: for every area folder
# <INCLUDE_DIR>/bulwark/<area>/, the umbrella <area>.hpp includes each header directly in the
# folder (internals live in <area>/detail/ and are not listed) and no other header.
# bulwark.hpp includes every area umbrella except the optional add-ons' (redis, asio), and
# version.hpp.
# Fails with one line per difference. Registered as headers.umbrellas (tests/CMakeLists.txt).
if(NOT INCLUDE_DIR)
  message(FATAL_ERROR "check_umbrellas.cmake: pass -DINCLUDE_DIR=<dir>")
endif()
# IS_DIRECTORY and EXISTS want absolute paths.
get_filename_component(INCLUDE_DIR "${INCLUDE_DIR}" ABSOLUTE)
set(root "${INCLUDE_DIR}/bulwark")
set(problems "")

# The bulwark/... headers a file includes, in either spelling ("..." or <...>).
function(included_headers file out)
  file(STRINGS "${file}" lines REGEX "^[ \t]*#[ \t]*include[ \t]*[\"<]bulwark/")
  set(found "")
  foreach(line IN LISTS lines)
    string(REGEX REPLACE "^[ \t]*#[ \t]*include[ \t]*[\"<](bulwark/[^\">]*)[\">].*$" "\\1" header
      "${line}")
    list(APPEND found "${header}")
  endforeach()
  set(${out} "${found}" PARENT_SCOPE)
endfunction()

# Reports what `actual` has beyond `expected` and the reverse.
function(compare umbrella expected actual)
  set(missing ${expected})
  if(actual)
    list(REMOVE_ITEM missing ${actual})
  endif()
  set(extra ${actual})
  if(expected)
    list(REMOVE_ITEM extra ${expected})
  endif()
  foreach(header IN LISTS missing)
    list(APPEND problems "${umbrella} does not include ${header}")
  endforeach()
  foreach(header IN LISTS extra)
    list(APPEND problems "${umbrella} includes ${header}, which is not its folder's public header")
  endforeach()
  set(problems "${problems}" PARENT_SCOPE)
endfunction()

file(GLOB entries RELATIVE "${root}" "${root}/*")
list(SORT entries)
set(areas "")
foreach(entry IN LISTS entries)
  if(NOT IS_DIRECTORY "${root}/${entry}" OR entry STREQUAL "detail")
    continue()
  endif()
  if(NOT EXISTS "${root}/${entry}.hpp")
    list(APPEND problems "bulwark/${entry}/ has no umbrella header bulwark/${entry}.hpp")
    continue()
  endif()
  list(APPEND areas "${entry}")
  file(GLOB headers RELATIVE "${INCLUDE_DIR}" "${root}/${entry}/*.hpp")
  included_headers("${root}/${entry}.hpp" included)
  compare("bulwark/${entry}.hpp" "${headers}" "${included}")
endforeach()

set(expected "bulwark/version.hpp")
foreach(area IN LISTS areas)
  if(NOT area STREQUAL "redis" AND NOT area STREQUAL "asio")
    list(APPEND expected "bulwark/${area}.hpp")
  endif()
endforeach()
if(EXISTS "${root}/bulwark.hpp")
  included_headers("${root}/bulwark.hpp" included)
  compare("bulwark/bulwark.hpp" "${expected}" "${included}")
else()
  list(APPEND problems "there is no bulwark/bulwark.hpp")
endif()

if(problems)
  list(JOIN problems "\n  " text)
  message(FATAL_ERROR "umbrella headers disagree with their folders:\n  ${text}")
endif()
list(LENGTH areas count)
message(STATUS "umbrella headers: ${count} areas, each umbrella exports exactly its folder")
