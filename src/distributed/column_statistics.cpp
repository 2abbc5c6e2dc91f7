#include "microseg/distributed/column_statistics.hpp"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <optional>
#include <sstream>

#include "microseg/core/feature_transform.hpp"
#include "microseg/distributed/order_statistics.hpp"

namespace microseg::distributed {
namespace {

// The customers and each column's global min and max: what both kinds of statistics start from.
FeatureStatistics count_and_range(const Communicator& comm, const FeatureMatrix& features) {
  FeatureStatistics stats;
  stats.count = comm.sum(static_cast<std::int64_t>(features.rows()));
  local_min_max(features, stats.min, stats.max);
  comm.min_in_place(stats.min);
  comm.max_in_place(stats.max);
  return stats;
}

}  // namespace

FeatureStatistics feature_statistics(const Communicator& comm, const FeatureMatrix& features) {
  const int d = static_cast<int>(features.cols());
  FeatureStatistics stats = count_and_range(comm, features);
  std::vector<double> bounds(d), deviation_bounds(d);
  for (int j = 0; j < d; ++j) {
    bounds[j] = std::max(std::abs(stats.min[j]), std::abs(stats.max[j]));
    deviation_bounds[j] = (stats.max[j] - stats.min[j]) * (stats.max[j] - stats.min[j]);
  }
  // Two passes: the mean first, then squared deviations from it, which avoids the cancellation
  // of Σx² − n·mean².
  const auto sum_formats = formats_for_bounds(bounds, stats.count);
  std::vector<ExactSum> sums = local_column_sums(features, sum_formats);
  comm.sum_in_place(sums);
  stats.mean.resize(d);
  for (int j = 0; j < d; ++j) {
    stats.mean[j] =
        stats.count > 0 ? sum_formats[j].to_double(sums[j]) / static_cast<double>(stats.count) : 0;
  }
  const auto deviation_formats = formats_for_bounds(deviation_bounds, stats.count);
  std::vector<ExactSum> deviations =
      local_squared_deviations(features, stats.mean, deviation_formats);
  comm.sum_in_place(deviations);
  stats.std.resize(d);
  for (int j = 0; j < d; ++j) {
    const double variance = stats.count > 0 ? deviation_formats[j].to_double(deviations[j]) /
                                                  static_cast<double>(stats.count)
                                            : 0;
    stats.std[j] = std::sqrt(std::max(0.0, variance));
  }
  return stats;
}

FeatureStatistics weighted_feature_statistics(const Communicator& comm,
                                              const FeatureMatrix& features,
                                              const std::vector<float>& weights) {
  const int d = static_cast<int>(features.cols());
  FeatureStatistics stats = count_and_range(comm, features);
  double weight_bound = 0;
  for (float w : weights) weight_bound = std::max(weight_bound, static_cast<double>(w));
  weight_bound = comm.max(weight_bound);
  const FixedPointFormat weight_format = FixedPointFormat::for_bound(weight_bound, stats.count);
  ExactSum local_weight = 0;
  for (float w : weights) local_weight += weight_format.to_fixed(w);
  const double total_weight = weight_format.to_double(comm.sum(local_weight));
  std::vector<double> bounds(d), deviation_bounds(d);
  for (int j = 0; j < d; ++j) {
    bounds[j] = std::max(std::abs(stats.min[j]), std::abs(stats.max[j])) * weight_bound;
    deviation_bounds[j] =
        (stats.max[j] - stats.min[j]) * (stats.max[j] - stats.min[j]) * weight_bound;
  }
  // Two passes, as feature_statistics, each term weighted.
  const auto sum_formats = formats_for_bounds(bounds, stats.count);
  std::vector<ExactSum> sums = local_weighted_column_sums(features, weights, sum_formats);
  comm.sum_in_place(sums);
  stats.mean.resize(d);
  for (int j = 0; j < d; ++j) {
    stats.mean[j] = total_weight > 0 ? sum_formats[j].to_double(sums[j]) / total_weight : 0;
  }
  const auto deviation_formats = formats_for_bounds(deviation_bounds, stats.count);
  std::vector<ExactSum> deviations =
      local_weighted_squared_deviations(features, weights, stats.mean, deviation_formats);
  comm.sum_in_place(deviations);
  stats.std.resize(d);
  for (int j = 0; j < d; ++j) {
    const double variance =
        total_weight > 0 ? deviation_formats[j].to_double(deviations[j]) / total_weight : 0;
    stats.std[j] = std::sqrt(std::max(0.0, variance));
  }
  return stats;
}

void check_sample_weights(const Communicator& comm, const CustomerBlock& block,
                          const std::string& path, const std::string& column) {
  // The first bad weight in global row order: the lowest rank holding one has it.
  std::int64_t bad = 0, positive = 0;
  std::optional<std::string> first;
  for (std::size_t i = 0; i < block.weights.size(); ++i) {
    const float w = block.weights[i];
    positive += w > 0;
    if (std::isfinite(w) && w >= 0) continue;
    if (bad++ == 0) {
      std::ostringstream text;
      text << "customer id " << block.ids[i] << " (row "
           << block.rows.begin + static_cast<std::int64_t>(i) << ") has weight " << w;
      first = text.str();
    }
  }
  const std::string where = "input file '" + path + "': column '" + column + "' (--sample-weight)";
  bad = comm.sum(bad);
  if (bad > 0) {
    // agree() keeps the lowest rank's message, and ranks hold rows in order.
    comm.agree(first ? std::optional<std::string>(
                           where + " holds " + std::to_string(bad) +
                           " weights that are negative, NaN or infinite; the first: " + *first +
                           ". Weights must be finite and >= 0")
                     : std::nullopt);
    return;
  }
  if (comm.sum(positive) > 0) return;
  // Global rows start at 0: the rank holding row 0 names the first customer.
  const bool holds_first = block.rows.begin == 0 && !block.ids.empty();
  comm.agree(holds_first ? std::optional<std::string>(
                               where + " holds only weights of 0 (the first customer, id " +
                               std::to_string(block.ids.front()) +
                               ", has weight 0): at least one customer must weigh more than 0")
                         : std::nullopt);
}

void check_finite(const Communicator& comm, const CustomerBlock& block, const std::string& path) {
  const int d = static_cast<int>(block.features.cols());
  std::vector<std::int64_t> bad_counts(d, 0);
  std::optional<std::pair<std::int64_t, int>> first;  // local row, feature
  for (Eigen::Index i = 0; i < block.features.rows(); ++i) {
    for (int j = 0; j < d; ++j) {
      if (!std::isfinite(block.features(i, j))) {
        ++bad_counts[j];
        if (!first) first = std::make_pair(static_cast<std::int64_t>(i), j);
      }
    }
  }
  comm.sum_in_place(bad_counts);
  const std::int64_t total = std::accumulate(bad_counts.begin(), bad_counts.end(), std::int64_t{0});
  if (total == 0) return;
  std::optional<std::string> error;
  if (first) {  // the lowest rank with a bad value holds the first one in row order
    std::ostringstream message;
    message << "input file '" << path << "': " << total << " feature values are NaN or infinite (";
    bool separator = false;
    for (int j = 0; j < d; ++j) {
      if (bad_counts[j] == 0) continue;
      message << (separator ? ", " : "") << block.feature_names[j] << ": " << bad_counts[j];
      separator = true;
    }
    message << "); the first is feature '" << block.feature_names[first->second]
            << "' of customer id " << block.ids[first->first] << " (row "
            << block.rows.begin + first->first << ")";
    error = message.str();
  }
  comm.agree(error);
}

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
    sort_keys(keys[j]);
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
                                                  const FeatureMatrix& features,
                                                  const std::vector<float>* weights) {
  const auto d = static_cast<std::size_t>(features.cols());
  // A row's term is x, or w·x with weights (exact in double); its size 1, or w.
  const auto weight_of = [&](Eigen::Index i) {
    return weights ? static_cast<double>((*weights)[static_cast<std::size_t>(i)]) : 1.0;
  };
  std::vector<double> bounds(d, 0.0), weight_bounds(d, 0.0);
  std::vector<std::int64_t> counts(d, 0);
  for (Eigen::Index i = 0; i < features.rows(); ++i) {
    for (std::size_t j = 0; j < d; ++j) {
      const float x = features(i, static_cast<Eigen::Index>(j));
      if (std::isnan(x)) continue;
      bounds[j] = std::max(bounds[j], std::abs(static_cast<double>(x) * weight_of(i)));
      weight_bounds[j] = std::max(weight_bounds[j], weight_of(i));
      ++counts[j];
    }
  }
  comm.max_in_place(bounds);
  comm.sum_in_place(counts);
  if (weights) comm.max_in_place(weight_bounds);
  std::vector<FixedPointFormat> formats, weight_formats;
  for (std::size_t j = 0; j < d; ++j) {
    const std::int64_t terms = std::max<std::int64_t>(counts[j], 1);
    formats.push_back(FixedPointFormat::for_bound(bounds[j], terms));
    weight_formats.push_back(FixedPointFormat::for_bound(weight_bounds[j], terms));
  }
  std::vector<ExactSum> sums(d, 0), weight_sums(weights ? d : 0, 0);
  for (Eigen::Index i = 0; i < features.rows(); ++i) {
    for (std::size_t j = 0; j < d; ++j) {
      const float x = features(i, static_cast<Eigen::Index>(j));
      if (std::isnan(x)) continue;
      if (!weights) {
        sums[j] += formats[j].to_fixed(x);
        continue;
      }
      sums[j] += formats[j].to_fixed(x * weight_of(i));
      weight_sums[j] += weight_formats[j].to_fixed(weight_of(i));
    }
  }
  comm.sum_in_place(sums);
  if (weights) comm.sum_in_place(weight_sums);
  std::vector<double> means(d);
  for (std::size_t j = 0; j < d; ++j) {
    const double size =
        weights ? weight_formats[j].to_double(weight_sums[j]) : static_cast<double>(counts[j]);
    means[j] = counts[j] == 0 || size == 0 ? std::nan("") : formats[j].to_double(sums[j]) / size;
  }
  return means;
}

}  // namespace microseg::distributed
