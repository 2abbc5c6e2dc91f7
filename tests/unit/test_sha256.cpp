#include <unistd.h>

#include <catch2/catch.hpp>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>

#include "microseg/core/sha256.hpp"
#include "microseg/io/run_manifest.hpp"

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

namespace {

// What coreutils' sha256sum prints for a file: the independent oracle.
std::string sha256sum_of(const std::string& path) {
  const std::string command = "sha256sum '" + path + "'";
  FILE* pipe = popen(command.c_str(), "r");
  REQUIRE(pipe != nullptr);
  char digest[65] = {};
  const std::size_t got = std::fread(digest, 1, 64, pipe);
  REQUIRE(pclose(pipe) == 0);
  REQUIRE(got == 64);
  return digest;
}

}  // namespace

// Files of bytes from a fixed generator around the sizes where the manifest's 1 MiB read buffer
// and the 64-byte block meet, hashed whole (io::sha256_of_file) and in uneven pieces.
TEST_CASE("sha256 of output files agrees with sha256sum at buffer and block edges", "[sha256]") {
  const auto directory =
      std::filesystem::temp_directory_path() / ("microseg-sha256-" + std::to_string(::getpid()));
  std::filesystem::create_directories(directory);
  std::uint64_t state = 2026;
  for (std::size_t length : {std::size_t{0}, std::size_t{1}, std::size_t{65}, std::size_t{1} << 20,
                             (std::size_t{1} << 20) + 3, (std::size_t{3} << 20) - 1}) {
    INFO("length " << length);
    std::string bytes(length, '\0');
    for (char& c : bytes) {
      state = state * 6364136223846793005ULL + 1442695040888963407ULL;
      c = static_cast<char>(state >> 56);
    }
    const std::string path = (directory / ("bytes-" + std::to_string(length))).string();
    std::ofstream(path, std::ios::binary)
        .write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
    const std::string expected = sha256sum_of(path);
    CHECK(microseg::io::sha256_of_file(path) == expected);
    Sha256 pieces;
    for (std::size_t at = 0; at < length; at += 4099) {
      pieces.update(bytes.data() + at, std::min<std::size_t>(4099, length - at));
    }
    CHECK(Sha256::hex(pieces.digest()) == expected);
  }
  std::filesystem::remove_all(directory);
}

TEST_CASE("sha256 of a file that cannot be read is an error naming it", "[sha256]") {
  CHECK_THROWS_WITH(microseg::io::sha256_of_file("/nonexistent/microseg/out.h5"),
                    Catch::Contains("/nonexistent/microseg/out.h5"));
}
