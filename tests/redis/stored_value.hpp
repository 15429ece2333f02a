#pragma once
// The successful result a test completes an idempotency lease with.

#include <bulwark/idempotency.hpp>
#include <string>
#include <utility>
#include <variant>

namespace bulwark_test {

inline bulwark::stored_result<std::string> stored_value(std::string v) {
  return bulwark::stored_result<std::string>{std::in_place_index<0>, std::move(v)};
}

}  // namespace bulwark_test
