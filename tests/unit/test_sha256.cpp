#include <catch2/catch.hpp>
#include <string>

#include "microseg/core/sha256.hpp"

using microseg::Sha256;
using microseg::sha256_hex;

// The examples of FIPS 180-4 (NIST's "SHA256.pdf" and "SHA2_Additional.pdf").
TEST_CASE("sha256 matches the FIPS 180-4 example messages", "[sha256]") {
  CHECK(sha256_hex("abc") == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  CHECK(sha256_hex("") == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  CHECK(sha256_hex("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq") ==
        "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
  CHECK(
      sha256_hex("abcdefghbcdefghicdefghijdefghijkefghijklfghijklmghijklmnhijklmnoijklmnopjklmnopq"
                 "klmnopqrlmnopqrsmnopqrstnopqrstu") ==
      "cf5b16a778af8380036ce59e7b0492370b249b11e8f07a51afac45037afee9d1");
}

TEST_CASE("sha256 of one million 'a' given in uneven pieces matches FIPS 180-4", "[sha256]") {
  Sha256 hash;
  const std::string piece(997, 'a');  // a prime, so pieces straddle every block boundary
  std::size_t left = 1'000'000;
  while (left > 0) {
    const std::size_t take = std::min(left, piece.size());
    hash.update(piece.data(), take);
    left -= take;
  }
  CHECK(Sha256::hex(hash.digest()) ==
        "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
}

// Lengths around the padding boundaries (55 bytes fit the length in one block, 56 do not),
// against coreutils' sha256sum.
TEST_CASE("sha256 pads messages around the block boundary as sha256sum does", "[sha256]") {
  const std::pair<std::size_t, const char*> cases[] = {
      {55, "d5e285683cd4efc02d021a5c62014694958901005d6f71e89e0989fac77e4072"},
      {56, "04c26261370ee7541549d16dee320c723e3fd14671e66a099afe0a377c16888e"},
      {63, "75220b47218278e656f2013bb8f0c455a25eaf01e86c64924e9d48d89776d6f2"},
      {64, "7ce100971f64e7001e8fe5a51973ecdfe1ced42befe7ee8d5fd6219506b5393c"},
      {119, "000b48d4edf0fa7bee3c6236ecd2785baa5db4eeb8bb54341b029e0d9fa5fb0c"}};
  for (const auto& [length, expected] : cases) {
    INFO("length " << length);
    CHECK(sha256_hex(std::string(length, 'x')) == expected);
    Sha256 bytewise;
    for (std::size_t i = 0; i < length; ++i) bytewise.update("x", 1);
    CHECK(Sha256::hex(bytewise.digest()) == expected);
  }
}
