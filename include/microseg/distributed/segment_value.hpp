#pragma once
/// \file The distributed parts of actionable profiles: value per segment and the RFM quintile
/// summary. Sums are exact (fixed point or int64), so the
/// results are the same for any rank count.
#include <cstdint>
#include <string>
#include <vector>

#include "microseg/core/segment_description.hpp"
#include "microseg/distributed/communicator.hpp"

namespace microseg::distributed {

/// Σ and mean of `values` (one per local row) per segment (`labels` in 0 … k−1), and each
/// segment's share of the total. With sample `weights` (one per row; every rank passes them or
/// none): Σ w·value, Σ w·value / Σ w and the share of Σ w·value.
SegmentValue value_by_segment(const Communicator& comm, const std::string& feature,
                              const std::vector<double>& values,
                              const std::vector<std::int32_t>& labels, int k,
                              const std::vector<float>* weights = nullptr);

/// One recency, frequency and monetary value per local row, in original units.
struct RfmValues {
  const std::vector<double>* recency = nullptr;
  const std::vector<double>* frequency = nullptr;
  const std::vector<double>* monetary = nullptr;
};

/// Per segment, the customers' RFM quintile scores (core/rfm.hpp thresholds and scores, found
/// exactly by distributed_quintile_thresholds; recency is scored reversed, so 5 is the most
/// recent).
RfmQuintileSummary rfm_quintile_summary(const Communicator& comm, const RfmColumns& columns,
                                        const RfmValues& values,
                                        const std::vector<std::int32_t>& labels, int k);

}  // namespace microseg::distributed
