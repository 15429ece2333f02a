#include <bulwark/core/random.hpp>
#include <bulwark/hashing/detail/md5.hpp>
#include <cstdint>
#include <string>
#include <string_view>

#include "catch.hpp"

#if BULWARK_HAVE_NETTLE
#include <nettle/md5.h>
#endif

namespace {

std::string hex(const bulwark::detail::md5::digest& d) {
  static constexpr char digits[] = "0123456789abcdef";
  std::string out;
  for (const auto b : d) {
    out += digits[b >> 4];
    out += digits[b & 15];
  }
  return out;
}

}  // namespace

TEST_CASE("md5 passes the RFC 1321 test suite", "[hashing]") {
  // RFC 1321, appendix A.5.
  using bulwark::detail::md5;
  CHECK(hex(md5::of("")) == "d41d8cd98f00b204e9800998ecf8427e");
  CHECK(hex(md5::of("a")) == "0cc175b9c0f1b6a831c399e269772661");
  CHECK(hex(md5::of("abc")) == "900150983cd24fb0d6963f7d28e17f72");
  CHECK(hex(md5::of("message digest")) == "f96b697d7cb7938d525a2f31aaf161d0");
  CHECK(hex(md5::of("abcdefghijklmnopqrstuvwxyz")) == "c3fcd3d76192e4007dfb496cca67e13b");
  CHECK(hex(md5::of("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789")) ==
        "d174ab98d277d9f5a5611c2c9f419d9f");
  CHECK(hex(md5::of("1234567890123456789012345678901234567890123456789012345678901234567890123456"
                    "7890")) == "57edf4a22be3c955ac49da2e2107b67a");
}

TEST_CASE("md5 pads correctly around the block boundaries", "[hashing]") {
  // 55 bytes fit one padded block, 56 need two; 64 is exactly one block. Digests from the
  // RFC's algorithm (also computed with coreutils md5sum).
  using bulwark::detail::md5;
  CHECK(hex(md5::of(std::string(55, 'a'))) == "ef1772b6dff9a122358552954ad0df65");
  CHECK(hex(md5::of(std::string(56, 'a'))) == "3b0c8ac703f828b04c6c197006d17218");
  CHECK(hex(md5::of(std::string(64, 'a'))) == "014842d480b571495a4a0363793f7367");
}

#if BULWARK_HAVE_NETTLE
TEST_CASE("md5 equals nettle's md5 on random inputs of every length to 300", "[hashing]") {
  bulwark::fast_rng rng{1321};
  for (std::size_t len = 0; len <= 300; ++len) {
    std::string input(len, '\0');
    for (auto& c : input)
      c = static_cast<char>(bulwark::uniform_below(rng, 256));
    md5_ctx ctx;
    md5_init(&ctx);
    md5_update(&ctx, input.size(), reinterpret_cast<const std::uint8_t*>(input.data()));
    bulwark::detail::md5::digest expected{};
    md5_digest(&ctx, expected.size(), expected.data());
    REQUIRE(bulwark::detail::md5::of(input) == expected);
  }
}
#endif
