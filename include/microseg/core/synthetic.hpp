#pragma once
/// \file A synthetic customer base drawn from planted segments, for the demo, tests and
/// benchmarks. Any block of rows can be generated alone: a row depends only on the seed and its
/// global index, so the table is the same whatever the rank count.
#include <cstdint>
#include <string>
#include <vector>

#include "microseg/core/types.hpp"

namespace microseg {

struct SyntheticSpec {
  std::int64_t customers = 0;
  int segments = 8;
  double separation = 3.0;  ///< distance between planted segment centres, in within-segment σ
  std::uint64_t seed = 1;
  /// > 0: a two-level base. Planted segment s lies in macro segment s mod macro_segments: its
  /// centre is its macro segment's centre plus its own offset (`separation` apart from the other
  /// segments' offsets), and macro centres are `macro_separation` apart.
  int macro_segments = 0;
  double macro_separation = 12.0;
};

/// The feature columns, grouped as marketers do: demographic, behavioural (RFM and channels),
/// psychographic, situational.
const std::vector<std::string>& synthetic_feature_names();

struct SyntheticBlock {
  std::vector<std::int64_t> ids;
  FeatureMatrix features;  ///< rows × synthetic_feature_names().size()
  std::vector<std::int32_t> planted_segment;
  std::vector<std::int32_t> planted_macro_segment;  ///< empty unless spec.macro_segments > 0
};

/// Rows [rows.begin, rows.end) of the base described by spec.
SyntheticBlock generate_synthetic_block(const SyntheticSpec& spec, RowRange rows);

}  // namespace microseg
