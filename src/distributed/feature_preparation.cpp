#include "microseg/distributed/feature_preparation.hpp"

#include <algorithm>
#include <cmath>
#include <limits>

#include "microseg/distributed/order_statistics.hpp"

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

std::vector<std::vector<double>> column_quantiles(const Communicator& comm,
                                                  const FeatureMatrix& features,
                                                  const std::vector<double>& levels) {
  const auto d = static_cast<std::size_t>(features.cols());
  std::vector<std::vector<std::uint32_t>> keys(d);
  std::vector<std::int64_t> counts(d, 0);
  for (std::size_t j = 0; j < d; ++j) {
    for (Eigen::Index i = 0; i < features.rows(); ++i) {
      const float x = features(i, static_cast<Eigen::Index>(j));
      if (!std::isnan(x)) keys[j].push_back(ordered_key32(x));
    }
    std::sort(keys[j].begin(), keys[j].end());
    counts[j] = static_cast<std::int64_t>(keys[j].size());
  }
  comm.sum_in_place(counts);

  // Two searches per (column, level): the lower and upper order statistic. A search finds the
  // smallest key whose global count of keys ≤ it exceeds the 0-based rank.
  const std::size_t per_column = 2 * levels.size();
  const std::size_t searches = d * per_column;
  std::vector<std::uint32_t> low(searches, 0), high(searches, ~std::uint32_t{0});
  std::vector<std::int64_t> target(searches, 0);
  std::vector<QuantilePosition> positions(d * levels.size());
  for (std::size_t j = 0; j < d; ++j) {
    for (std::size_t l = 0; l < levels.size(); ++l) {
      const QuantilePosition at = quantile_position(counts[j], levels[l]);
      positions[j * levels.size() + l] = at;
      const std::size_t i = j * per_column + 2 * l;
      target[i] = at.lower + 1;
      target[i + 1] = at.upper + 1;
      if (counts[j] == 0) low[i] = high[i], low[i + 1] = high[i + 1];
    }
  }
  low = smallest_keys_reaching(comm, keys, per_column, std::move(low), std::move(high), target);
  std::vector<std::vector<double>> quantiles(d, std::vector<double>(levels.size()));
  for (std::size_t j = 0; j < d; ++j) {
    for (std::size_t l = 0; l < levels.size(); ++l) {
      const std::size_t i = j * per_column + 2 * l;
      quantiles[j][l] =
          counts[j] == 0
              ? std::nan("")
              : interpolate_quantile(from_ordered_key32(low[i]), from_ordered_key32(low[i + 1]),
                                     positions[j * levels.size() + l].fraction);
    }
  }
  return quantiles;
}

std::vector<double> column_means_ignoring_missing(const Communicator& comm,
                                                  const FeatureMatrix& features) {
  const auto d = static_cast<std::size_t>(features.cols());
  std::vector<double> bounds(d, 0.0);
  std::vector<std::int64_t> counts(d, 0);
  for (Eigen::Index i = 0; i < features.rows(); ++i) {
    for (std::size_t j = 0; j < d; ++j) {
      const float x = features(i, static_cast<Eigen::Index>(j));
      if (std::isnan(x)) continue;
      bounds[j] = std::max(bounds[j], std::abs(static_cast<double>(x)));
      ++counts[j];
    }
  }
  comm.max_in_place(bounds);
  comm.sum_in_place(counts);
  std::vector<FixedPointFormat> formats;
  for (std::size_t j = 0; j < d; ++j) {
    formats.push_back(FixedPointFormat::for_bound(bounds[j], std::max<std::int64_t>(counts[j], 1)));
  }
  std::vector<ExactSum> sums(d, 0);
  for (Eigen::Index i = 0; i < features.rows(); ++i) {
    for (std::size_t j = 0; j < d; ++j) {
      const float x = features(i, static_cast<Eigen::Index>(j));
      if (!std::isnan(x)) sums[j] += formats[j].to_fixed(x);
    }
  }
  comm.sum_in_place(sums);
  std::vector<double> means(d);
  for (std::size_t j = 0; j < d; ++j) {
    means[j] = counts[j] == 0 ? std::nan("")
                              : formats[j].to_double(sums[j]) / static_cast<double>(counts[j]);
  }
  return means;
}

PreparedCustomers fit_and_apply_preparation(const Communicator& comm, CustomerBlock& block,
                                            FeatureTransform plan,
                                            const TransformSettings& settings,
                                            const std::string& path) {
  PreparedCustomers out;
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
  } else if (plan.missing != MissingPolicy::reject) {
    plan.fill = plan.missing == MissingPolicy::mean
                    ? column_means_ignoring_missing(comm, block.features)
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
  fitted.statistics = feature_statistics(comm, block.features);
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

}  // namespace microseg::distributed
