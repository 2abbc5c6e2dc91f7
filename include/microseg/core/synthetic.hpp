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

/// The id of row `row` of the base (and of the customer born with that row's draws in a later
/// quarter, core/synthetic_quarters.hpp): distinct rows have distinct ids below 2^40 rows.
std::int64_t synthetic_customer_id(std::int64_t row);

/// Per planted segment, the share of the base it is drawn with (sums to 1).
std::vector<double> planted_segment_weights(const SyntheticSpec& spec);

/// Per planted segment, the mean of its `monetary` feature (exact: 650 · exp(1.5 c + 0.45²/2),
/// c its centre on the monetary latent dimension), the value order of the segments.
std::vector<double> planted_monetary_means(const SyntheticSpec& spec);

/// One customer of a base observed quarter by quarter (`microseg generate --quarters`). Plain
/// data, so it can travel between ranks.
struct QuarterCustomer {
  std::int64_t id = 0;
  std::int64_t birth_row = 0;  ///< the row of the base whose draws it was born with
  std::int32_t segment = 0;    ///< its planted segment this quarter
  std::int16_t first_quarter = 1;
  std::int8_t moved_down = 0;  ///< 1: it moved to a planted segment of lower value last quarter
};

/// How much of a customer's latent noise carries over from one quarter to the next (AR(1)).
inline constexpr double quarter_noise_correlation = 0.8;

/// The features of `customers` in `quarter`, each drawn from its planted segment's distribution:
/// in its first quarter with its birth row's draws (quarter 1 equals generate_synthetic_block),
/// later with latent noise that moves one AR(1) step per quarter (correlation
/// quarter_noise_correlation, fresh draws keyed by (seed, id, quarter)) and fresh count draws.
FeatureMatrix synthetic_quarter_features(const SyntheticSpec& spec,
                                         const std::vector<QuarterCustomer>& customers,
                                         int quarter);

}  // namespace microseg
