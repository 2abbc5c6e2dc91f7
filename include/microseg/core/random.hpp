#pragma once
/// \file Counter-based random numbers keyed by (seed, stream, global index).
///
/// A draw depends only on its key, never on which rank or thread makes it, so sampling is the
/// same for any rank count.
#include <cstdint>

namespace microseg {

/// Named streams so that different uses of one seed never share draws.
enum class RandomStream : std::uint64_t {
  generate_segment = 1,
  generate_feature = 2,
  init_first_center = 3,
  init_kmeanspp = 4,
  init_oversample = 5,
  reseed = 6,
  silhouette_sample = 7,
  local_kmeans = 8,
  id_partition = 9,
  restart = 10,
  stability_half = 11,
  content_digest = 12,
  micro_fit = 20,  ///< the seed of each macro segment's micro fit (two-level runs)
  bisect_split = 13,
  generate_quarter_fate = 30,     ///< a customer's fate from one quarter to the next
  generate_quarter_feature = 31,  ///< a customer's fresh feature draws in a later quarter
  generate_new_customer = 32,     ///< the planted segment of a customer new in a quarter
  campaign = 33,  ///< a synthetic campaign (generate campaign): arm, conversion, revenue
};

/// A well-mixed 64-bit hash of the key (SplitMix64 finaliser over a combination of the parts).
std::uint64_t keyed_hash(std::uint64_t seed, RandomStream stream, std::uint64_t index,
                         std::uint64_t sub_index = 0);

/// A uniform double in [0, 1) for the key.
inline double keyed_uniform(std::uint64_t seed, RandomStream stream, std::uint64_t index,
                            std::uint64_t sub_index = 0) {
  return static_cast<double>(keyed_hash(seed, stream, index, sub_index) >> 11) * 0x1.0p-53;
}

}  // namespace microseg
