# Defines asio::asio if standalone asio can be found and nobody defined it yet: asio's own CMake
# package first (vcpkg provides one), else its header (Debian's libasio-dev ships no CMake
# package): an imported INTERFACE target, so its include directory is a system one for every
# consumer and asio's own code never trips -Wconversion and friends. Used by the build and by
# the installed bulwarkConfig.cmake, for the optional asio add-on only.
if(NOT TARGET asio::asio)
  find_package(asio CONFIG QUIET)
endif()
if(NOT TARGET asio::asio)
  find_path(BULWARK_ASIO_INCLUDE_DIR asio.hpp)
  if(BULWARK_ASIO_INCLUDE_DIR AND EXISTS "${BULWARK_ASIO_INCLUDE_DIR}/asio/awaitable.hpp")
    if(NOT TARGET Threads::Threads)
      find_package(Threads REQUIRED)
    endif()
    add_library(asio::asio INTERFACE IMPORTED)
    # ASIO_STANDALONE: never reach for Boost; ASIO_NO_DEPRECATED: the add-on uses the current
    # interface only, and so should a program mixing it with asio.
    set_target_properties(asio::asio PROPERTIES
      INTERFACE_INCLUDE_DIRECTORIES "${BULWARK_ASIO_INCLUDE_DIR}"
      INTERFACE_COMPILE_DEFINITIONS "ASIO_STANDALONE;ASIO_NO_DEPRECATED"
      INTERFACE_LINK_LIBRARIES Threads::Threads)
  endif()
endif()
