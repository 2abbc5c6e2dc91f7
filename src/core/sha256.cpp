#include "microseg/core/sha256.hpp"

#include <openssl/evp.h>

#include <stdexcept>

namespace microseg {
namespace {

void check(int status, const char* call) {
  if (status != 1) throw std::runtime_error(std::string("SHA-256: OpenSSL ") + call + " failed");
}

}  // namespace

void Sha256::ContextDeleter::operator()(evp_md_ctx_st* context) const {
  EVP_MD_CTX_free(context);
}

Sha256::Sha256() : context_(EVP_MD_CTX_new()) {
  if (!context_) throw std::runtime_error("SHA-256: OpenSSL EVP_MD_CTX_new failed");
  check(EVP_DigestInit_ex(context_.get(), EVP_sha256(), nullptr), "EVP_DigestInit_ex");
}

void Sha256::update(const void* data, std::size_t bytes) {
  if (bytes > 0) check(EVP_DigestUpdate(context_.get(), data, bytes), "EVP_DigestUpdate");
}

Sha256::Digest Sha256::digest() {
  Digest out{};
  unsigned int length = 0;
  check(EVP_DigestFinal_ex(context_.get(), out.data(), &length), "EVP_DigestFinal_ex");
  if (length != out.size()) throw std::runtime_error("SHA-256: OpenSSL gave a digest of odd size");
  return out;
}

std::string Sha256::hex(const Digest& digest) {
  static constexpr char digits[] = "0123456789abcdef";
  std::string text;
  text.reserve(2 * digest.size());
  for (std::uint8_t byte : digest) {
    text += digits[byte >> 4];
    text += digits[byte & 0xf];
  }
  return text;
}

std::string sha256_hex(std::string_view bytes) {
  Sha256 hash;
  hash.update(bytes);
  return Sha256::hex(hash.digest());
}

}  // namespace microseg
