#pragma once
// Shared by every fuzz target: a reader that decodes numbers and strings from the fuzzer's
// bytes (running out of bytes yields zeros, so every input is a valid program), and a check
// that aborts, which libFuzzer and the corpus replay both report as a failure.

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

#define BULWARK_FUZZ_CHECK(condition)                                                        \
  do {                                                                                       \
    if (!(condition)) {                                                                      \
      std::fprintf(stderr, "%s:%d: invariant failed: %s\n", __FILE__, __LINE__, #condition); \
      std::abort();                                                                          \
    }                                                                                        \
  } while (false)

namespace bulwark_fuzz {

class input {
 public:
  input(const std::uint8_t* data, std::size_t size) noexcept : data_{data}, size_{size} {}

  [[nodiscard]] bool empty() const noexcept { return pos_ >= size_; }

  std::uint8_t byte() noexcept { return pos_ < size_ ? data_[pos_++] : std::uint8_t{0}; }

  template <class T>
  T integer() noexcept {
    T value{};
    for (std::size_t i = 0; i < sizeof(T); ++i)
      value = static_cast<T>((static_cast<std::uint64_t>(value) << 8) | byte());
    return value;
  }

  /// A value in [lo, hi], from one byte when the range is small (so that seeds stay short).
  std::uint64_t in_range(std::uint64_t lo, std::uint64_t hi) noexcept {
    const std::uint64_t span = hi - lo;
    if (span == 0) return lo;
    const std::uint64_t raw = span < 256 ? byte() : integer<std::uint64_t>();
    return span == UINT64_MAX ? raw : lo + raw % (span + 1);
  }

  /// A string of up to max_length bytes: a length byte, then that many bytes (or what is left).
  std::string text(std::size_t max_length = 32) {
    const std::size_t want = byte() % (max_length + 1);
    std::string out;
    while (out.size() < want && !empty())
      out += static_cast<char>(byte());
    return out;
  }

  /// The bytes not read yet.
  [[nodiscard]] std::string_view rest() const noexcept {
    if (pos_ >= size_) return {};
    return {reinterpret_cast<const char*>(data_ + pos_), size_ - pos_};
  }

 private:
  const std::uint8_t* data_;
  std::size_t size_;
  std::size_t pos_ = 0;
};

}  // namespace bulwark_fuzz
