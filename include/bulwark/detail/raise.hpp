#pragma once

#include <cstdlib>
#include <exception>
#include <string>
#include <utility>

#include "bulwark/core/error_handler.hpp"

// BULWARK_HAS_EXCEPTIONS is 1 unless the translation unit is built without exceptions
// (-fno-exceptions with g++ or clang, /EHs- with MSVC). The only compiler check in bulwark:
// headers test this macro.
#if defined(__cpp_exceptions) || defined(__EXCEPTIONS) || defined(_CPPUNWIND)
#define BULWARK_HAS_EXCEPTIONS 1
#else
#define BULWARK_HAS_EXCEPTIONS 0
#endif

// Handlers in code that runs in both builds (a loader that failed and is rethrown, a callback
// whose exception is swallowed), and in the bodies of the throwing forms, which must still
// parse without exceptions. Without them nothing can arrive in a handler: the try body runs as
// plain code and the handlers are compiled but dead (BULWARK_RETHROW there is std::abort(), so
// a handler still ends every path). BULWARK_CATCH names a type without a variable.
#if BULWARK_HAS_EXCEPTIONS
#define BULWARK_TRY try
#define BULWARK_CATCH(...) catch (__VA_ARGS__)
#define BULWARK_CATCH_ALL catch (...)
#define BULWARK_RETHROW throw
#else
#define BULWARK_TRY if (true)
#define BULWARK_CATCH(...) else if (false)
#define BULWARK_CATCH_ALL else
#define BULWARK_RETHROW std::abort()
#endif

namespace bulwark::detail {

/// The constraint on the callable of every throwing form (execute and its variants, which
/// throw a bulwark::rejected when the guard refuses): without exceptions those forms are not
/// offered, and a call to one fails to compile naming this concept. The permit APIs
/// (try_acquire, pick, try_begin, ...) are the same in both builds. The preprocessor cannot do
/// this inside the classes: clang-format 14 misformats a class with a requires-clause and an
/// #if.
template <class F>
concept with_exceptions = BULWARK_HAS_EXCEPTIONS != 0;

/// The one place bulwark reports misuse and invalid options. With exceptions on it throws
/// `E(args...)`; without them it builds the same E only to read its what(), hands that message
/// to the installed error_handler (core/error_handler.hpp) and aborts.
template <class E, class... Args>
[[noreturn]] void raise(Args&&... args) {
#if BULWARK_HAS_EXCEPTIONS
  throw E(std::forward<Args>(args)...);
#else
  const E error(std::forward<Args>(args)...);
  get_error_handler()(error.what());
  std::abort();
#endif
}

/// The message an exception carries: what() for a std::exception, `otherwise` for anything
/// else (and always without exceptions, where nothing is ever caught).
inline std::string what_of(const std::exception_ptr& error, const char* otherwise) {
#if BULWARK_HAS_EXCEPTIONS
  try {
    std::rethrow_exception(error);
  } catch (const std::exception& e) {
    return e.what();
  } catch (...) {
  }
#else
  static_cast<void>(error);
#endif
  return otherwise;
}

}  // namespace bulwark::detail
