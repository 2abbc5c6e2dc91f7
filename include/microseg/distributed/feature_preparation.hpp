#pragma once
/// \file The transform stage across ranks: one-hot expansion, missing values, clipping at
/// quantiles, log1p, scaling (z-score, min-max, robust) and weights, fitted with exact
/// reductions so every rank count gives the same numbers; and the same steps with saved numbers
/// for `microseg assign`.
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "microseg/core/feature_transform.hpp"
#include "microseg/core/scaling.hpp"
#include "microseg/distributed/column_statistics.hpp"
#include "microseg/distributed/communicator.hpp"

namespace microseg::distributed {

/// The fitted transform of the features after one-hot, missing values and clipping: log1p where
/// flagged, then scaling (weights folded into the scale).
struct FittedTransform {
  ScalingModel model;
  FeatureStatistics statistics;  ///< of the log1p-transformed features, before scaling
};

/// Mean over features of the variance of the scaled features (scikit-learn's tolerance unit).
double mean_scaled_variance(const FittedTransform& transform);

/// How to fit the transform (the options of segment and sweep).
struct TransformSettings {
  ScaleKind scale = ScaleKind::zscore;
  std::vector<char> log1p;         ///< per transformed feature
  std::optional<double> clip_low;  ///< quantile levels, e.g. 0.01 and 0.99
  std::optional<double> clip_high;
  /// The --sample-weight column the block's weights came from ("" for none): they are checked,
  /// and the mean imputation and z-score statistics are weighted.
  std::string sample_weight;
};

/// What the transform stage did to this rank's block.
struct PreparedCustomers {
  FeatureTransform features;            ///< fitted: fill values, clipping bounds, weights
  FittedTransform scaling;              ///< log1p and scaling (weights folded into scale)
  std::vector<char> kept;               ///< per row read by this rank: 1 unless dropped
  std::int64_t customers = 0;           ///< kept over all ranks
  std::int64_t dropped = 0;             ///< dropped over all ranks (--missing drop)
  std::vector<std::int64_t> missing;    ///< NaN per source column, over all ranks
  std::int64_t unknown_categories = 0;  ///< assign: codes the model does not know
};

/// Collective. On entry `block` holds the source columns of `plan` as read (and with
/// settings.sample_weight its weights); on exit the transformed, scaled and weighted features
/// (block.rows renumbered over the kept rows, the weights kept with them). Throws AgreedError
/// naming `path` and the columns with missing values (reject), a column without values to
/// impute from, an invalid code, ±Inf values, no customers left, or a negative, NaN or infinite
/// sample weight or none above 0.
PreparedCustomers fit_and_apply_preparation(const Communicator& comm, CustomerBlock& block,
                                            FeatureTransform plan,
                                            const TransformSettings& settings,
                                            const std::string& path);

/// Collective: the same steps with a saved transform and scaling, as `microseg assign` needs.
/// `code_maps` map the input's category codes to the transform's (see expand_features).
PreparedCustomers apply_saved_preparation(const Communicator& comm, CustomerBlock& block,
                                          const FeatureTransform& transform,
                                          const ScalingModel& scaling,
                                          const std::vector<std::vector<std::int64_t>>& code_maps,
                                          const std::string& path);

/// Collective: the first steps alone (one-hot expansion, missing values, clipping) with a fitted
/// transform, on the source columns read again: the features in original units that profiles
/// are computed from. `kept` is the mask the fitted preparation returned (--missing drop).
void apply_fitted_sources(const Communicator& comm, CustomerBlock& block,
                          const FeatureTransform& transform, const std::vector<char>& kept);

}  // namespace microseg::distributed
