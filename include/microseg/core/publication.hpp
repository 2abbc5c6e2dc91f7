#pragma once
/// \file What a shared export may show of the customers (docs/file-format.md, "Sharing results
/// safely"): the smallest group whose statistics are published, and keyed pseudonyms of customer
/// ids (HMAC-SHA-256 through OpenSSL's libcrypto, as core/sha256), so callers include no OpenSSL
/// header.
#include <cstdint>
#include <string>
#include <string_view>

namespace microseg {

/// Defaults of the options: --privacy-min-count 10, --pseudonymise-ids off.
constexpr std::int64_t default_privacy_min_count = 10;

/// The rules the shared CSV files follow. The key is held in memory only: never printed,
/// written or recorded (the manifest records `key_fingerprint`).
struct PublicationRules {
  /// A segment or migration cell of fewer customers has its statistics left blank and its
  /// count shown as "<min_count"; 0 or 1 suppresses nothing.
  std::int64_t min_count = default_privacy_min_count;
  std::string key;  ///< the pseudonym key's bytes; empty: ids are exported as they are

  /// True when a group of `count` customers must not be described (0 and counts ≥ min_count
  /// are shown: an empty cell describes nobody).
  bool hides(std::int64_t count) const { return count > 0 && count < min_count; }
  /// The count as published: the number, or "<N" when it is hidden.
  std::string count_text(std::int64_t count) const;
  /// The `suppressed` column's reason, "fewer than N customers".
  std::string reason() const;
  bool pseudonymising() const { return !key.empty(); }
  /// The customer id as exported: its decimal text, or with a key HMAC-SHA-256(key, decimal
  /// text) in 64 lower-case hex digits.
  std::string exported_id(std::int64_t id) const;
};

/// HMAC-SHA-256(key, message) in 64 lower-case hexadecimal digits. Throws std::runtime_error
/// when libcrypto fails.
std::string hmac_sha256_hex(std::string_view key, std::string_view message);

/// A fingerprint that names a key without revealing it: SHA-256 of HMAC(key, "microseg-key-id")
/// (the HMAC's 32 raw bytes), hex.
std::string key_fingerprint(std::string_view key);

}  // namespace microseg
