# Defines hiredis::hiredis if hiredis can be found and nobody defined it yet: hiredis's own CMake
# package first (vcpkg and Conan provide one), else its header and library (Debian's
# libhiredis-dev ships no CMake package). Used by the build and by the installed
# bulwarkConfig.cmake, for the optional redis add-on only.
if(NOT TARGET hiredis::hiredis)
  find_package(hiredis CONFIG QUIET)
endif()
if(NOT TARGET hiredis::hiredis)
  find_path(BULWARK_HIREDIS_INCLUDE_DIR hiredis/hiredis.h)
  find_library(BULWARK_HIREDIS_LIBRARY hiredis)
  if(BULWARK_HIREDIS_INCLUDE_DIR AND BULWARK_HIREDIS_LIBRARY)
    add_library(hiredis::hiredis UNKNOWN IMPORTED)
    set_target_properties(hiredis::hiredis PROPERTIES
      IMPORTED_LOCATION "${BULWARK_HIREDIS_LIBRARY}"
      INTERFACE_INCLUDE_DIRECTORIES "${BULWARK_HIREDIS_INCLUDE_DIR}")
  endif()
endif()
