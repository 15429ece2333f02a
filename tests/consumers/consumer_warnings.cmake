# The warnings bulwark holds its own code to, as errors, for the consumer programs that
# tests/consumers builds (test_package/CMakeLists.txt carries the same list, behind the same
# option, for itself).
option(BULWARK_CONSUMER_WERROR "Build the consumer with bulwark's warnings, as errors" ON)

function(bulwark_consumer_warnings target)
  if(NOT BULWARK_CONSUMER_WERROR)
    return()
  endif()
  if(MSVC)
    target_compile_options(${target} PRIVATE /W4 /WX /permissive-)
  else()
    target_compile_options(${target} PRIVATE
      -Wall -Wextra -Wpedantic -Wconversion -Wsign-conversion -Wshadow -Wold-style-cast -Werror)
  endif()
endfunction()
