// What the shared exports may show (core/publication): counts below the minimum, and keyed
// pseudonyms, checked against RFC 4231's HMAC-SHA-256 test vectors.
#include <catch2/catch.hpp>
#include <string>

#include "microseg/core/publication.hpp"
#include "microseg/core/sha256.hpp"

using microseg::PublicationRules;

TEST_CASE("HMAC-SHA-256 matches RFC 4231", "[publication]") {
  // Test case 2: a key shorter than the block.
  CHECK(microseg::hmac_sha256_hex("Jefe", "what do ya want for nothing?") ==
        "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
  // Test case 6: a key longer than the block (131 bytes of 0xaa), hashed first.
  CHECK(microseg::hmac_sha256_hex(std::string(131, '\xaa'),
                                  "Test Using Larger Than Block-Size Key - Hash Key First") ==
        "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54");
}

TEST_CASE("counts below the minimum are hidden and shown as <N", "[publication]") {
  PublicationRules rules;
  CHECK(rules.min_count == 10);
  CHECK_FALSE(rules.hides(0));  // an empty cell describes nobody
  CHECK(rules.hides(1));
  CHECK(rules.hides(9));
  CHECK_FALSE(rules.hides(10));
  CHECK(rules.count_text(3) == "<10");
  CHECK(rules.count_text(10) == "10");
  CHECK(rules.count_text(0) == "0");
  CHECK(rules.reason() == "fewer than 10 customers");
  rules.min_count = 1;
  CHECK_FALSE(rules.hides(1));
  CHECK(rules.count_text(1) == "1");
}

TEST_CASE("ids are exported as they are, or as HMAC pseudonyms of their decimal text",
          "[publication]") {
  PublicationRules rules;
  CHECK_FALSE(rules.pseudonymising());
  CHECK(rules.exported_id(-42) == "-42");
  rules.key = "Jefe";
  CHECK(rules.pseudonymising());
  CHECK(rules.exported_id(1234567890123) == microseg::hmac_sha256_hex("Jefe", "1234567890123"));
  CHECK(rules.exported_id(1234567890123).size() == 64);
  // The fingerprint names the key without being the key or its plain hash.
  const std::string fingerprint = microseg::key_fingerprint("Jefe");
  CHECK(fingerprint.size() == 64);
  CHECK(fingerprint != microseg::sha256_hex("Jefe"));
  CHECK(fingerprint == microseg::key_fingerprint("Jefe"));
  CHECK(fingerprint != microseg::key_fingerprint("Jeff"));
}
