// Must not compile (ctest no_exceptions.execute_not_offered): built without exceptions, the
// throwing execute forms are not offered, and the compiler says which constraint refused.
#include <bulwark/rate_limit/gcra.hpp>

int main() {
  bulwark::gcra<> limiter({});
  return limiter.execute([] { return 0; });
}
