#include "microseg/distributed/feature_preparation.hpp"

#include <algorithm>
#include <cmath>
#include <limits>

namespace microseg::distributed {
namespace {

// The global counts of missing values per source column; with reject, an error naming each.
std::vector<std::int64_t> agreed_missing_counts(const Communicator& comm,
                                                const CustomerBlock& block,
                                                const std::vector<std::string>& sources,
                                                MissingPolicy policy, const std::string& path,
                                                const std::string& remedy) {
  std::vector<std::int64_t> missing = count_missing(block.features);
  comm.sum_in_place(missing);
  if (policy != MissingPolicy::reject) return missing;
  // The first customer with a missing value, in global row order, to point at.
  std::int64_t first_row = std::numeric_limits<std::int64_t>::max(), first_id = 0;
  const std::vector<char> complete = rows_without_missing(block.features);
  for (std::size_t i = 0; i < complete.size(); ++i) {
    if (complete[i]) continue;
    first_row = block.rows.begin + static_cast<std::int64_t>(i);
    first_id = block.ids[i];
    break;
  }
  const std::int64_t global_first = comm.min(first_row);
  first_id =
      comm.max(global_first == first_row ? first_id : std::numeric_limits<std::int64_t>::min());
  std::string columns;
  for (std::size_t s = 0; s < sources.size(); ++s) {
    if (missing[s] == 0) continue;
    columns += (columns.empty() ? "'" : ", '") + sources[s] + "': " + std::to_string(missing[s]);
  }
  if (!columns.empty()) {
    comm.agree("input file '" + path + "' has missing values (NaN) in column " + columns +
               "; the first is customer id " + std::to_string(first_id) + " (row " +
               std::to_string(global_first) + "); " + remedy);
  }
  return missing;
}

// Drops rows holding a NaN and renumbers the block's rows over the kept rows in global order,
// so later stages (keyed draws, the assignments' positions) see a table without them.
void drop_missing_rows(const Communicator& comm, CustomerBlock& block, PreparedCustomers& out,
                       const std::string& path) {
  out.kept = rows_without_missing(block.features);
  keep_rows(block, out.kept);
  const auto kept = static_cast<std::int64_t>(block.features.rows());
  const std::int64_t begin = comm.exclusive_prefix_sum(kept);
  out.dropped = comm.sum(static_cast<std::int64_t>(out.kept.size())) - comm.sum(kept);
  block.rows = {begin, begin + kept};
  if (comm.sum(kept) == 0) {
    comm.agree("input file '" + path +
               "': every customer has a missing value, so --missing drop leaves none");
  }
}

void fold_weights_and_indicators(ScalingModel& model, const FeatureTransform& transform) {
  for (std::size_t j = 0; j < transform.features.size(); ++j) {
    // Indicators are already 0/1: they stay unscaled, so a customer of another category is at
    // distance √2 × weight, whatever the category's share.
    if (transform.is_indicator(j)) {
      model.offset[j] = 0;
      model.scale[j] = 1;
    }
    model.scale[j] /= transform.weight[j];
  }
}

}  // namespace

PreparedCustomers fit_and_apply_preparation(const Communicator& comm, CustomerBlock& block,
                                            FeatureTransform plan,
                                            const TransformSettings& settings,
                                            const std::string& path) {
  PreparedCustomers out;
  const bool weighted = !settings.sample_weight.empty();
  if (weighted && (settings.scale == ScaleKind::robust || settings.clip_low || settings.clip_high ||
                   plan.missing == MissingPolicy::median)) {
    // Every rank has the same settings, so every rank throws alike.
    throw AgreedError(
        "--sample-weight cannot be combined with quantiles (--scale robust, "
        "--clip-quantiles, --missing median): weighted quantiles are not implemented");
  }
  if (weighted) check_sample_weights(comm, block, path, settings.sample_weight);
  out.missing = agreed_missing_counts(comm, block, plan.sources, plan.missing, path,
                                      "fix the input or choose --missing mean, median or drop");
  // Without one-hot columns the features are the sources: no copy (it would double the memory).
  if (plan.expands()) {
    comm.run_agreed([&] { block.features = expand_features(block.features, plan, {}, block.ids); });
  }
  block.feature_names = plan.names();
  const std::size_t d = plan.features.size();
  out.kept.assign(static_cast<std::size_t>(block.features.rows()), 1);
  if (plan.missing == MissingPolicy::drop) {
    drop_missing_rows(comm, block, out, path);
    // The customers left must still hold some weight.
    if (weighted) check_sample_weights(comm, block, path, settings.sample_weight);
  } else if (plan.missing != MissingPolicy::reject) {
    plan.fill = plan.missing == MissingPolicy::mean
                    ? column_means_ignoring_missing(comm, block.features,
                                                    weighted ? &block.weights : nullptr)
                    : [&] {
                        std::vector<double> medians(d);
                        const auto q = column_quantiles(comm, block.features, {0.5});
                        for (std::size_t j = 0; j < d; ++j) medians[j] = q[j][0];
                        return medians;
                      }();
    for (std::size_t j = 0; j < d; ++j) {
      if (std::isnan(plan.fill[j])) {
        comm.agree("input file '" + path + "': column '" + block.feature_names[j] +
                   "' holds no values at all, so --missing " + to_string(plan.missing) +
                   " has nothing to impute from");
      }
    }
    fill_missing(block.features, plan.fill);
  }
  check_finite(comm, block, path);  // what is left is ±Inf
  out.customers = comm.sum(static_cast<std::int64_t>(block.features.rows()));

  if (settings.clip_low || settings.clip_high) {
    const double low = settings.clip_low.value_or(0.0), high = settings.clip_high.value_or(1.0);
    const auto q = column_quantiles(comm, block.features, {low, high});
    for (std::size_t j = 0; j < d; ++j) {
      if (plan.is_indicator(j)) continue;  // 0/1 columns have nothing to clip
      if (settings.clip_low) plan.clip_low[j] = q[j][0];
      if (settings.clip_high) plan.clip_high[j] = q[j][1];
    }
    clip_features(block.features, plan.clip_low, plan.clip_high);
  }

  comm.run_agreed(
      [&] { apply_log1p(block.features, settings.log1p, block.feature_names, block.ids); });
  FittedTransform& fitted = out.scaling;
  fitted.statistics = weighted ? weighted_feature_statistics(comm, block.features, block.weights)
                               : feature_statistics(comm, block.features);
  if (settings.scale == ScaleKind::robust) {
    const auto q = column_quantiles(comm, block.features, {0.25, 0.5, 0.75});
    for (std::size_t j = 0; j < d; ++j) {
      fitted.statistics.lower_quartile.push_back(q[j][0]);
      fitted.statistics.median.push_back(q[j][1]);
      fitted.statistics.upper_quartile.push_back(q[j][2]);
    }
  }
  fitted.model = ScalingModel::from_statistics(settings.scale, settings.log1p, fitted.statistics);
  fold_weights_and_indicators(fitted.model, plan);
  apply_scaling(block.features, fitted.model);
  out.features = std::move(plan);
  return out;
}

PreparedCustomers apply_saved_preparation(const Communicator& comm, CustomerBlock& block,
                                          const FeatureTransform& transform,
                                          const ScalingModel& scaling,
                                          const std::vector<std::vector<std::int64_t>>& code_maps,
                                          const std::string& path) {
  PreparedCustomers out;
  out.features = transform;
  out.scaling.model = scaling;
  out.missing = agreed_missing_counts(
      comm, block, transform.sources, transform.missing, path,
      "the model was fitted with --missing reject, so customers need every value");
  std::int64_t unknown = 0;
  if (transform.expands()) {
    comm.run_agreed([&] {
      block.features = expand_features(block.features, transform, code_maps, block.ids, &unknown);
    });
  }
  out.unknown_categories = comm.sum(unknown);
  block.feature_names = transform.names();
  out.kept.assign(static_cast<std::size_t>(block.features.rows()), 1);
  if (transform.missing == MissingPolicy::drop) {
    drop_missing_rows(comm, block, out, path);
  } else {
    fill_missing(block.features, transform.fill);
  }
  check_finite(comm, block, path);
  out.customers = comm.sum(static_cast<std::int64_t>(block.features.rows()));
  clip_features(block.features, transform.clip_low, transform.clip_high);
  comm.run_agreed(
      [&] { apply_log1p(block.features, scaling.log1p, block.feature_names, block.ids); });
  apply_scaling(block.features, scaling);
  return out;
}

double mean_scaled_variance(const FittedTransform& transform) {
  const auto& stats = transform.statistics;
  if (stats.std.empty()) return 0;
  double total = 0;
  for (std::size_t j = 0; j < stats.std.size(); ++j) {
    const double s = stats.std[j] / transform.model.scale[j];
    total += s * s;
  }
  return total / static_cast<double>(stats.std.size());
}

void apply_fitted_sources(const Communicator& comm, CustomerBlock& block,
                          const FeatureTransform& transform, const std::vector<char>& kept) {
  if (transform.expands()) {
    comm.run_agreed(
        [&] { block.features = expand_features(block.features, transform, {}, block.ids); });
  }
  block.feature_names = transform.names();
  if (transform.missing == MissingPolicy::drop) {
    keep_rows(block, kept);
  } else {
    fill_missing(block.features, transform.fill);
  }
  clip_features(block.features, transform.clip_low, transform.clip_high);
}

}  // namespace microseg::distributed
