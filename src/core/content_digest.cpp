#include "microseg/core/content_digest.hpp"

#include <cstring>

#include "microseg/core/random.hpp"

namespace microseg {

ContentDigestSums content_digest_sums(const CustomerBlock& block) {
  ContentDigestSums sums;
  const Eigen::Index d = block.features.cols();
  for (Eigen::Index i = 0; i < block.features.rows(); ++i) {
    const auto row = static_cast<std::uint64_t>(block.rows.begin + i);
    std::uint64_t hash =
        keyed_hash(static_cast<std::uint64_t>(block.ids[static_cast<std::size_t>(i)]),
                   RandomStream::content_digest, row);
    for (Eigen::Index j = 0; j < d; ++j) {
      const float value = block.features(i, j);
      std::uint32_t bits = 0;
      std::memcpy(&bits, &value, sizeof bits);
      hash = keyed_hash(hash, RandomStream::content_digest, bits, static_cast<std::uint64_t>(j));
    }
    sums.low += static_cast<std::int64_t>(hash & 0xffffffffu);
    sums.high += static_cast<std::int64_t>(hash >> 32);
  }
  return sums;
}

std::string content_digest_text(const ContentDigestSums& total) {
  const std::uint64_t digest =
      (static_cast<std::uint64_t>(total.high) << 32) + static_cast<std::uint64_t>(total.low);
  static const char digits[] = "0123456789abcdef";
  std::string text(16, '0');
  for (int i = 0; i < 16; ++i) text[15 - i] = digits[(digest >> (4 * i)) & 15];
  return text;
}

}  // namespace microseg
