#include "microseg/core/publication.hpp"

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <array>
#include <stdexcept>

#include "microseg/core/sha256.hpp"

namespace microseg {
namespace {

using Mac = std::array<unsigned char, 32>;

Mac hmac_sha256(std::string_view key, std::string_view message) {
  Mac mac{};
  unsigned int length = 0;
  // A key of 0 bytes is refused before this; HMAC() wants a non-null pointer even so.
  const unsigned char* result = HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()),
                                     reinterpret_cast<const unsigned char*>(message.data()),
                                     message.size(), mac.data(), &length);
  if (result == nullptr || length != mac.size()) {
    throw std::runtime_error("HMAC-SHA-256: OpenSSL HMAC failed");
  }
  return mac;
}

std::string hex(const Mac& mac) {
  static const char digits[] = "0123456789abcdef";
  std::string text;
  text.reserve(2 * mac.size());
  for (unsigned char byte : mac) {
    text += digits[byte >> 4];
    text += digits[byte & 15];
  }
  return text;
}

}  // namespace

std::string PublicationRules::count_text(std::int64_t count) const {
  return hides(count) ? "<" + std::to_string(min_count) : std::to_string(count);
}

std::string PublicationRules::reason() const {
  return "fewer than " + std::to_string(min_count) + " customers";
}

std::string PublicationRules::exported_id(std::int64_t id) const {
  const std::string text = std::to_string(id);
  return key.empty() ? text : hmac_sha256_hex(key, text);
}

std::string hmac_sha256_hex(std::string_view key, std::string_view message) {
  return hex(hmac_sha256(key, message));
}

std::string key_fingerprint(std::string_view key) {
  const Mac mac = hmac_sha256(key, "microseg-key-id");
  return sha256_hex(std::string_view(reinterpret_cast<const char*>(mac.data()), mac.size()));
}

}  // namespace microseg
