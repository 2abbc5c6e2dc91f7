#pragma once
/// \file Segment profiles across ranks: per segment and for the whole population, the size,
/// share, mean, standard deviation, min, max, 5th and 95th percentiles and lift of every feature in
/// original units.
#include <cstdint>
#include <vector>

#include "microseg/core/profile.hpp"
#include "microseg/distributed/communicator.hpp"

namespace microseg::distributed {

/// Collective: exact quantiles of every segment's values of every feature at each of `levels`,
/// numpy's 'linear' rule over the segment's non-NaN values (result[(s·d + j)·L + l], NaN for a
/// segment without values). Order statistics by bisection over ordered_key32, a block of features
/// at a time (at most about 8M keys per rank; 32 rounds per block, each one allreduce of counts),
/// so the result does not depend on the rank count.
std::vector<double> segment_quantiles(const Communicator& comm, const FeatureMatrix& values,
                                      const std::vector<std::int32_t>& labels, int k,
                                      const std::vector<double>& levels);

/// Collective: the profiles of segments 0 … k−1 from this rank's rows in original units (one
/// label per row). Two exact passes (means, then squared deviations from them) and the exact
/// percentiles (segment_quantiles), so the numbers are the same for any rank count. With
/// `weights` (sample weights, one per row; every rank passes them or none) shares, means, stds
/// and lifts are weighted; min, max and the percentiles stay over the customers.
SegmentProfiles profile_segments(const Communicator& comm, const FeatureMatrix& original,
                                 const std::vector<std::int32_t>& labels, int k,
                                 const std::vector<float>* weights = nullptr);

}  // namespace microseg::distributed
