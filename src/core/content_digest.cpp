#include "microseg/core/content_digest.hpp"

#include <cstring>
#include <vector>

#include "microseg/core/random.hpp"

namespace microseg {

ContentDigestSums content_digest_sums(const CustomerBlock& block) {
  ContentDigestSums sums;
  const Eigen::Index d = block.features.cols();
  // One odd 64-bit key per column. A row's values enter as Σ key_j · bits_j (mod 2^64): one
  // multiply-add per value, where a full hash per value made the digest most of the read phase.
  // A single changed value changes the sum (an odd key times a non-zero difference below 2^32 is
  // never 0 mod 2^64); the row's mix below then spreads it over every bit.
  std::vector<std::uint64_t> keys(static_cast<std::size_t>(d));
  for (Eigen::Index j = 0; j < d; ++j) {
    keys[static_cast<std::size_t>(j)] =
        keyed_hash(0, RandomStream::content_digest, static_cast<std::uint64_t>(j), 1) | 1u;
  }
  for (Eigen::Index i = 0; i < block.features.rows(); ++i) {
    const float* row = block.features.row(i).data();
    std::uint64_t values = 0;
    for (Eigen::Index j = 0; j < d; ++j) {
      std::uint32_t bits = 0;
      std::memcpy(&bits, row + j, sizeof bits);
      values += keys[static_cast<std::size_t>(j)] * bits;
    }
    const auto global_row = static_cast<std::uint64_t>(block.rows.begin + i);
    const std::uint64_t hash =
        keyed_hash(static_cast<std::uint64_t>(block.ids[static_cast<std::size_t>(i)]),
                   RandomStream::content_digest, global_row, values);
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
