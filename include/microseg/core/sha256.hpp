#pragma once
/// \file SHA-256, for the sha256 of every output a run's manifest lists and the fingerprint of a
/// fit's seeds: OpenSSL's libcrypto (the EVP digest interface) behind a small class, so callers
/// include no OpenSSL header.
#include <array>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

struct evp_md_ctx_st;  // OpenSSL's EVP_MD_CTX

namespace microseg {

/// An incremental SHA-256: update() with the message in any number of pieces, then digest().
class Sha256 {
 public:
  using Digest = std::array<std::uint8_t, 32>;

  /// Throws std::runtime_error when libcrypto cannot set up the digest.
  Sha256();
  void update(const void* data, std::size_t bytes);
  void update(std::string_view text) { update(text.data(), text.size()); }
  /// Pads the message and returns its digest; the object is spent afterwards.
  Digest digest();

  /// The digest as 64 lower-case hexadecimal digits, as sha256sum prints it.
  static std::string hex(const Digest& digest);

 private:
  struct ContextDeleter {
    void operator()(evp_md_ctx_st* context) const;
  };
  std::unique_ptr<evp_md_ctx_st, ContextDeleter> context_;
};

/// Hex SHA-256 of a byte string.
std::string sha256_hex(std::string_view bytes);

}  // namespace microseg
