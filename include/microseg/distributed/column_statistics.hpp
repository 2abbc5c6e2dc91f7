#pragma once
/// \file Statistics and checks of the columns a rank holds, over every rank: exact means and
/// standard deviations, exact quantiles, and the check that every value is finite. Sums are exact
/// (fixed point) and quantiles exact order statistics, so every result is the same for any rank
/// count.
#include <string>
#include <vector>

#include "microseg/core/scaling.hpp"
#include "microseg/core/types.hpp"
#include "microseg/distributed/communicator.hpp"

namespace microseg::distributed {

/// Global count, mean, population std, min and max of every column (exact sums, two passes).
FeatureStatistics feature_statistics(const Communicator& comm, const FeatureMatrix& features);

/// The same with sample weights (one per row, every rank): the weighted mean Σ w·x / Σ w and
/// population std √(Σ w·(x − mean)² / Σ w); count, min and max stay over every row, those of
/// weight 0 included.
FeatureStatistics weighted_feature_statistics(const Communicator& comm,
                                              const FeatureMatrix& features,
                                              const std::vector<float>& weights);

/// Fails on every rank unless every sample weight is finite and ≥ 0 and some is > 0: the message
/// names the file, the column (`--sample-weight`), the count of bad weights and the first
/// customer id (in global row order) holding one.
void check_sample_weights(const Communicator& comm, const CustomerBlock& block,
                          const std::string& path, const std::string& column);

/// Fails on every rank, naming the file, feature, count and first customer id, if any feature
/// value is NaN or ±Inf.
void check_finite(const Communicator& comm, const CustomerBlock& block, const std::string& path);

/// Exact quantiles of each column's non-NaN values over every rank, numpy's 'linear' rule, at
/// each of `levels` (result[j][l]; NaN for a column without values). The order statistics are
/// found by bisection over ordered_key32 of the float values: at most 32 rounds, each one
/// allreduce of integer counts, so the result does not depend on the rank count.
std::vector<std::vector<double>> column_quantiles(const Communicator& comm,
                                                  const FeatureMatrix& features,
                                                  const std::vector<double>& levels);

/// Mean of each column's non-NaN values over every rank (exact fixed-point sums); NaN for a
/// column without values. With sample `weights` (one per row) the weighted mean of those values;
/// NaN too when their weights are all 0.
std::vector<double> column_means_ignoring_missing(const Communicator& comm,
                                                  const FeatureMatrix& features,
                                                  const std::vector<float>* weights = nullptr);

}  // namespace microseg::distributed
