#pragma once
/// \file Segment profiles across ranks: per segment and for the whole population, the size,
/// share, mean, standard deviation, min, max and lift of every feature in original units.
#include <cstdint>
#include <vector>

#include "microseg/core/profile.hpp"
#include "microseg/distributed/communicator.hpp"

namespace microseg::distributed {

/// Collective: the profiles of segments 0 … k−1 from this rank's rows in original units (one
/// label per row). Two exact passes (means, then squared deviations from them), so the numbers
/// are the same for any rank count. With `weights` (sample weights, one per row; every rank
/// passes them or none) shares, means, stds and lifts are weighted.
SegmentProfiles profile_segments(const Communicator& comm, const FeatureMatrix& original,
                                 const std::vector<std::int32_t>& labels, int k,
                                 const std::vector<float>* weights = nullptr);

}  // namespace microseg::distributed
