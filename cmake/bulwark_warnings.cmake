# Warnings for everything bulwark builds itself (tests, examples, benchmarks), as errors unless
# BULWARK_WARNINGS_AS_ERRORS is OFF (the demo preset turns it off, so that a newer compiler's
# new warning cannot stop a newcomer's first build; CI and the dev presets keep it on).
# Consumers of the INTERFACE target never inherit these flags.
option(BULWARK_WARNINGS_AS_ERRORS "Treat warnings as errors in bulwark's own targets" ON)
function(bulwark_set_warnings target)
  if(MSVC)
    target_compile_options(${target} PRIVATE /W4 /permissive-)
    if(BULWARK_WARNINGS_AS_ERRORS)
      target_compile_options(${target} PRIVATE /WX)
    endif()
  else()
    target_compile_options(${target} PRIVATE
      -Wall -Wextra -Wpedantic -Wconversion -Wsign-conversion -Wshadow
      -Wnon-virtual-dtor -Wold-style-cast -Wcast-align -Woverloaded-virtual
      -Wdouble-promotion)
    if(BULWARK_WARNINGS_AS_ERRORS)
      target_compile_options(${target} PRIVATE -Werror)
    endif()
    # Not -Wnull-dereference: g++ 12 at -O3 reports "potential null pointer dereference" inside
    # libstdc++'s own std::string moves (seen in a vector<replica> insert), which no code of
    # ours can avoid.
  endif()
endfunction()
