#include <array>
#include <bulwark/sharding/detail/des.hpp>
#include <bulwark/sharding/keyspace_range.hpp>
#include <bulwark/sharding/vitess_hash.hpp>
#include <cstdint>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include "catch.hpp"

using bulwark::vitess_hash_vindex;
namespace des = bulwark::detail::des;

namespace {

struct des_vector {
  std::uint64_t key;
  std::uint64_t plaintext;
  std::uint64_t ciphertext;
};

// Both paths, the table-driven one and the bit-by-bit reference.
void check_des(const des_vector& v) {
  const auto keys = des::schedule(v.key);
  INFO("key " << std::hex << v.key << " plaintext " << v.plaintext);
  CHECK(des::encrypt(v.plaintext, keys) == v.ciphertext);
  CHECK(des::decrypt(v.ciphertext, keys) == v.plaintext);
  CHECK(des::reference_encrypt(v.plaintext, v.key) == v.ciphertext);
  CHECK(des::reference_decrypt(v.ciphertext, v.key) == v.plaintext);
}

struct vindex_vector {
  std::uint64_t id;
  std::uint64_t keyspace_id;
};

}  // namespace

// Vitess go/vt/vtgate/vindexes/hash_test.go, TestHashMap and TestHashReverseMap: every id and
// keyspace id of both tables. The Go test writes the keyspace ids as Go string literals; each
// is decoded here to its 8 bytes (UTF-8 characters in them stand for two bytes: "Β" is ce 92,
// "ɢ" c9 a2, "ľ" c4 be, "ݡ" dd a1). The NULL row maps to no keyspace id and has no analogue.
TEST_CASE("vitess hash vindex matches hash_test.go TestHashMap and TestHashReverseMap",
          "[sharding]") {
  const vindex_vector vectors[] = {
      {1, 0x166b40b44aba4bd6},  // "\x16k@\xb4J\xbaK\xd6"
      {2, 0x06e7ea22ce92708f},  // "\x06\xe7\xea\"Βp\x8f"
      {3, 0x4eb190c9a2fa169c},  // "N\xb1\x90ɢ\xfa\x16\x9c"
      {4, 0xd2fd8867d50d2dfe},  // "\xd2\xfd\x88g\xd5\r-\xfe"
      {5, 0x70bb023c810ca87a},  // "p\xbb\x02<\x81\f\xa8z"
      {6, 0xf098480ac4c4be71},  // "\xf0\x98H\n\xc4ľq"
      {0, 0x8ca64de9c1b123a7},  // "\x8c\xa6M\xe9\xc1\xb1#\xa7"
      // NewInt64(-1) and NewUint64(2^64 - 1): the same bits, so the same keyspace id.
      {static_cast<std::uint64_t>(std::int64_t{-1}), 0x355550b2150e2451},  // "5UP\xb2\x15\x0e$Q"
      {std::numeric_limits<std::uint64_t>::max(), 0x355550b2150e2451},
      // NewInt64 and NewUint64 of 2^63 - 1.
      {9223372036854775807ULL, 0xf77d48aadda1f1bb},  // "\xf7}H\xaaݡ\xf1\xbb"
      // NewInt64(-2^63).
      {static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::min()),
       0x95f8a5e5dd31d900},  // "\x95\xf8\xa5\xe5\xdd1\xd9\x00"
  };
  for (const auto& v : vectors) {
    INFO("id " << v.id);
    CHECK(vitess_hash_vindex::keyspace_id(v.id) == v.keyspace_id);
    CHECK(vitess_hash_vindex::reverse(v.keyspace_id) == v.id);
    CHECK(des::reference_encrypt(v.id, 0) == v.keyspace_id);
  }
  // The byte form is what Vitess stores: "\x16k@\xb4J\xbaK\xd6" for id 1.
  const std::array<std::uint8_t, 8> one{0x16, 0x6b, 0x40, 0xb4, 0x4a, 0xba, 0x4b, 0xd6};
  CHECK(vitess_hash_vindex::keyspace_id_bytes(1) == one);
  CHECK(vitess_hash_vindex::reverse(std::span<const std::uint8_t>{one}) == 1);
  // The vindex is usable at compile time.
  static_assert(vitess_hash_vindex::keyspace_id(1) == 0x166b40b44aba4bd6);
}

// Vitess go/vt/vtgate/vindexes/hash_test.go, TestHashReverseMapNeg: a 16-byte keyspace id is
// refused ("invalid keyspace id: 166b40b44aba4bd6166b40b44aba4bd6"); bulwark names the same hex.
TEST_CASE("vitess hash vindex refuses a keyspace id that is not 8 bytes", "[sharding]") {
  const std::vector<std::uint8_t> sixteen{0x16, 0x6b, 0x40, 0xb4, 0x4a, 0xba, 0x4b, 0xd6,
                                          0x16, 0x6b, 0x40, 0xb4, 0x4a, 0xba, 0x4b, 0xd6};
  CHECK_THROWS_WITH(vitess_hash_vindex::reverse(std::span<const std::uint8_t>{sixteen}),
                    "bulwark::vitess_hash_vindex: keyspace id must be 8 bytes (got "
                    "\"166b40b44aba4bd6166b40b44aba4bd6\")");
  CHECK_THROWS_WITH(vitess_hash_vindex::reverse(std::span<const std::uint8_t>{}),
                    "bulwark::vitess_hash_vindex: keyspace id must be 8 bytes (got \"\")");
}

// The TestConvert table of Vitess's earlier hash vindex tests (the 2014 hash_test.go of
// go/vt/vtgate/vindexes, when the vindex was null-key 3DES, the same function): ids 11, 2^56
// and 2^59.
TEST_CASE("vitess hash vindex matches the earlier hash_test.go TestConvert", "[sharding]") {
  const vindex_vector vectors[] = {
      {11, 0xaefc44491cfe474c},                 // "\xae\xfcDI\x1c\xfeGL"
      {0x100000000000000, 0x0d9f279ba5d87260},  // "\r\x9f'\x9b\xa5\xd8r`"
      {0x800000000000000, 0x20b9e767b2fb1456},  // " \xb9\xe7g\xb2\xfb\x14V"
  };
  for (const auto& v : vectors) {
    INFO("id " << v.id);
    CHECK(vitess_hash_vindex::keyspace_id(v.id) == v.keyspace_id);
    CHECK(vitess_hash_vindex::reverse(v.keyspace_id) == v.id);
  }
}

// TiDB's port of the vindex, pingcap/tidb util/vitess/vitess_hash_test.go TestVitessHash.
TEST_CASE("vitess hash vindex matches tidb vitess_hash_test.go TestVitessHash", "[sharding]") {
  CHECK(vitess_hash_vindex::keyspace_id(30375298039) == 0x031265661E5F1133);
  CHECK(vitess_hash_vindex::keyspace_id(1123) == 0x031B565D41BDF8CA);
  CHECK(vitess_hash_vindex::keyspace_id(30573721600) == 0x1EFD6439F2050FFD);
  CHECK(vitess_hash_vindex::keyspace_id(116) == 0x1E1788FF0FDE093C);
  CHECK(vitess_hash_vindex::keyspace_id(UINT64_MAX) == 0x355550B2150E2451);
}

// Worked example of J. Orlin Grabbe, "The DES Algorithm Illustrated": key 133457799BBCDFF1,
// plaintext 0123456789ABCDEF, ciphertext 85E813540F0AB405.
TEST_CASE("des encrypts the DES Algorithm Illustrated example", "[sharding]") {
  check_des({0x133457799BBCDFF1, 0x0123456789ABCDEF, 0x85E813540F0AB405});
}

// NIST SP 800-20 Appendix A, Table A.1 (Variable Plaintext Known Answer Test, key
// 0101010101010101, i.e. the zero key with parity bits set), rounds 0 to 15; copied from Go's
// src/crypto/des/des_test.go tableA1Tests.
TEST_CASE("des passes SP 800-20 Table A.1 variable plaintext tests", "[sharding]") {
  const std::uint64_t ciphertexts[] = {
      0x95f8a5e5dd31d900, 0xdd7f121ca5015619, 0x2e8653104f3834ea, 0x4bd388ff6cd81d4f,
      0x20b9e767b2fb1456, 0x55579380d77138ef, 0x6cc5defaaf04512f, 0x0d9f279ba5d87260,
      0xd9031b0271bd5a0a, 0x424250b37c3dd951, 0xb8061b7ecd9a21e5, 0xf15d0f286b65bd28,
      0xadd0cc8d6e5deba1, 0xe6d5f82752ad63d1, 0xecbfe3bd3f591a5e, 0xf356834379d165cd};
  for (unsigned i = 0; i < 16; ++i)
    check_des({0x0101010101010101, std::uint64_t{1} << (63 - i), ciphertexts[i]});
}

// NIST SP 800-20 Appendix A: Table A.2 (Variable Key, plaintext 0) rows 21 and 49, Table A.3
// (Permutation Operation, plaintext 0) rows 0 to 4, and every row of Table A.4 (Substitution
// Table); copied from Go's src/crypto/des/des_test.go tableA2Tests, tableA3Tests, tableA4Tests
// (there as 3DES with the key repeated three times, which is single DES under that key).
TEST_CASE("des passes SP 800-20 Tables A.2, A.3 and A.4 with non-zero keys", "[sharding]") {
  const des_vector vectors[] = {
      // Table A.2
      {0x0101018001010101, 0, 0x5199c29a52c9f059},
      {0x0101010101010180, 0, 0x9cc62df43b6eed74},
      // Table A.3
      {0x1046913489980131, 0, 0x88d55e54f54c97b4},
      {0x1007103489988020, 0, 0x0c0cc00c83ea48fd},
      {0x10071034c8980120, 0, 0x83bc8ef3a6570183},
      {0x1046103489988020, 0, 0xdf725dcad94ea2e9},
      {0x1086911519190101, 0, 0xe652b53b550be8b0},
      // Table A.4
      {0x7ca110454a1a6e57, 0x01a1d6d039776742, 0x690f5b0d9a26939b},
      {0x0131d9619dc1376e, 0x5cd54ca83def57da, 0x7a389d10354bd271},
      {0x07a1133e4a0b2686, 0x0248d43806f67172, 0x868ebb51cab4599a},
      {0x3849674c2602319e, 0x51454b582ddf440a, 0x7178876e01f19b2a},
      {0x04b915ba43feb5b6, 0x42fd443059577fa2, 0xaf37fb421f8c4095},
      {0x0113b970fd34f2ce, 0x059b5e0851cf143a, 0x86a560f10ec6d85b},
      {0x0170f175468fb5e6, 0x0756d8e0774761d2, 0x0cd3da020021dc09},
      {0x43297fad38e373fe, 0x762514b829bf486a, 0xea676b2cb7db2b7a},
      {0x07a7137045da2a16, 0x3bdd119049372802, 0xdfd64a815caf1a0f},
      {0x04689104c2fd3b2f, 0x26955f6835af609a, 0x5c513c9c4886c088},
      {0x37d06bb516cb7546, 0x164d5e404f275232, 0x0a2aeeae3ff4ab77},
      {0x1f08260d1ac2465e, 0x6b056e18759f5cca, 0xef1bf03e5dfa575a},
      {0x584023641aba6176, 0x004bd6ef09176062, 0x88bf0db6d70dee56},
      {0x025816164629b007, 0x480d39006ee762f2, 0xa1f9915541020b56},
      {0x49793ebc79b3258f, 0x437540c8698f3cfa, 0x6fbf1cafcffd0556},
      {0x4fb05e1515ab73a7, 0x072d43a077075292, 0x2f22e49bab7ca1ac},
      {0x49e95d6d4ca229bf, 0x02fe55778117f12a, 0x5a6b612cc26cce4a},
      {0x018310dc409b26d6, 0x1d9d5c5018f728c2, 0x5f4c038ed12b2e41},
      {0x1c587f1c13924fef, 0x305532286d6f295a, 0x63fac0d034d9f793},
  };
  for (const auto& v : vectors)
    check_des(v);
}

// Go's src/crypto/des/des_test.go encryptDESTests: its rows 0-2, 4, 5, 8, 9, 14 and 18 (keys
// and blocks of all zeros, all ones, 0123456789abcdef and fedcba9876543210).
TEST_CASE("des matches Go crypto/des encryptDESTests", "[sharding]") {
  const des_vector vectors[] = {
      {0, 0, 0x8ca64de9c1b123a7},
      {0, UINT64_MAX, 0x355550b2150e2451},
      {0, 0x0123456789abcdef, 0x617b3a0ce8f07100},
      {UINT64_MAX, 0, 0xcaaaaf4deaf1dbae},
      {UINT64_MAX, UINT64_MAX, 0x7359b2163e4edc58},
      {0x0123456789abcdef, 0, 0xd5d44ff720683d0d},
      {0x0123456789abcdef, UINT64_MAX, 0x59732356f36fde06},
      {0xfedcba9876543210, 0x0123456789abcdef, 0xed39d950fa74bcc4},
      {0x0e329232ea6d0d73, 0x8787878787878787, 0},
  };
  for (const auto& v : vectors)
    check_des(v);
}

// DES is a permutation: reverse undoes keyspace_id for any id (hash.go's vunhash of vhash).
TEST_CASE("vitess hash vindex reverse undoes keyspace_id", "[sharding]") {
  std::mt19937_64 rng{20240611};
  for (int i = 0; i < 2000; ++i) {
    const std::uint64_t id = rng();
    CHECK(vitess_hash_vindex::reverse(vitess_hash_vindex::keyspace_id(id)) == id);
    CHECK(vitess_hash_vindex::keyspace_id(vitess_hash_vindex::reverse(id)) == id);
  }
}

// id -> keyspace id -> shard, with the key ranges of keyspace_range.hpp. The expected shards
// follow from the vectors above: id 1's keyspace id 166b.. is below 0x40.., id 4's d2fd.. is
// at or above 0xc0.., id 5's 70bb.. is in 40-80, id 0's 8ca6.. in 80-c0.
TEST_CASE("vitess hash vindex routes ids through Vitess key ranges", "[sharding]") {
  const auto router = bulwark::keyspace_router({"-40", "40-80", "80-c0", "c0-"});
  const auto shard_of = [&](std::uint64_t id) {
    return router.shards()[router.shard_for(vitess_hash_vindex::keyspace_id(id))];
  };
  CHECK(shard_of(1) == "-40");
  CHECK(shard_of(5) == "40-80");
  CHECK(shard_of(0) == "80-c0");
  CHECK(shard_of(4) == "c0-");
}

// The fast path's pieces against the FIPS 46-3 tables they were derived from: IP and IP^-1
// (section "Enciphering", the IP and IP^-1 tables), each the other's inverse, on a seeded
// sample; the expected values come from permute() over the printed tables, not from the fast
// code.
TEST_CASE("des fast initial and final permutations equal the FIPS 46-3 IP and IP-1 tables",
          "[sharding]") {
  std::mt19937_64 rng{46003};
  for (unsigned bit = 0; bit < 64; ++bit) {
    const std::uint64_t x = std::uint64_t{1} << bit;
    INFO("bit " << bit);
    CHECK(des::initial_permute(x) == des::permute(x, 64, des::initial_permutation));
    CHECK(des::final_permute(x) == des::permute(x, 64, des::final_permutation));
  }
  for (int i = 0; i < 1000; ++i) {
    const std::uint64_t x = rng();
    INFO("block " << std::hex << x);
    CHECK(des::initial_permute(x) == des::permute(x, 64, des::initial_permutation));
    CHECK(des::final_permute(x) == des::permute(x, 64, des::final_permutation));
    CHECK(des::final_permute(des::initial_permute(x)) == x);
  }
}

// The table-driven cipher against reference_encrypt/reference_decrypt, which follow FIPS 46-3
// bit by bit (its IP, E, S1..S8, P, PC-1, PC-2 and IP^-1 tables): a seeded sample of blocks
// under random keys and under the zero key Vitess uses.
TEST_CASE("des fast path equals the FIPS 46-3 reference path on random blocks and keys",
          "[sharding]") {
  std::mt19937_64 rng{19770115};  // FIPS 46 was published on 1977-01-15
  for (int i = 0; i < 500; ++i) {
    const std::uint64_t key = rng();
    const std::uint64_t block = rng();
    const auto keys = des::schedule(key);
    INFO("key " << std::hex << key << " block " << block);
    CHECK(des::encrypt(block, keys) == des::reference_encrypt(block, key));
    CHECK(des::decrypt(block, keys) == des::reference_decrypt(block, key));
    CHECK(vitess_hash_vindex::keyspace_id(block) == des::reference_encrypt(block, 0));
    CHECK(vitess_hash_vindex::reverse(block) == des::reference_decrypt(block, 0));
  }
  // Parity bits (the low bit of each key byte) are ignored by both.
  const std::uint64_t block = rng();
  CHECK(des::encrypt(block, des::schedule(0x0101010101010101)) == des::reference_encrypt(block, 0));
  static_assert(des::encrypt(0, des::schedule(0)) == des::reference_encrypt(0, 0));
}
