# Warnings are errors for everything bulwark builds itself (tests, examples, benchmarks).
# Consumers of the INTERFACE target never inherit these flags.
function(bulwark_set_warnings target)
  if(MSVC)
    target_compile_options(${target} PRIVATE /W4 /WX /permissive-)
  else()
    target_compile_options(${target} PRIVATE
      -Wall -Wextra -Wpedantic -Wconversion -Wsign-conversion -Wshadow
      -Wnon-virtual-dtor -Wold-style-cast -Wcast-align -Woverloaded-virtual
      -Wnull-dereference -Wdouble-promotion -Werror)
  endif()
endfunction()
