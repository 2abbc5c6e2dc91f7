#pragma once
/// \file A digest of customer rows that ranks compute on their own blocks and sum exactly, so
/// it is the same for any rank count: the input fingerprint a checkpoint and a manifest record.
///
/// Each row hashes its global index, its id and a keyed linear sum of the bits of its feature
/// values (keyed_hash); the digest is the sum of the row hashes modulo 2^64. A changed value, id
/// or row order changes it. The sum travels as two int64 sums of 32-bit halves, exact for fewer than 2^31 rows.
#include <cstdint>
#include <string>

#include "microseg/core/types.hpp"

namespace microseg {

/// One rank's share of the digest (or, summed over ranks, the whole table's).
struct ContentDigestSums {
  std::int64_t low = 0;   ///< Σ of the low 32 bits of the row hashes
  std::int64_t high = 0;  ///< Σ of the high 32 bits
};

/// The sums over the rows of `block` (global rows block.rows).
ContentDigestSums content_digest_sums(const CustomerBlock& block);

/// The digest of sums taken over every row, as 16 hexadecimal digits.
std::string content_digest_text(const ContentDigestSums& total);

}  // namespace microseg
