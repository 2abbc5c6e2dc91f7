#include "microseg/core/scaling.hpp"

#include <algorithm>
#include <cmath>
#include <iomanip>
#include <limits>
#include <sstream>
#include <stdexcept>

namespace microseg {
namespace {

bool flagged(const std::vector<char>& log1p, Eigen::Index feature) {
  return static_cast<std::size_t>(feature) < log1p.size() && log1p[feature] != 0;
}

void require_size(const std::vector<double>& values, std::size_t d, const char* what) {
  if (values.size() != d) {
    throw std::invalid_argument(std::string("ScalingModel::from_statistics: ") + what + " has " +
                                std::to_string(values.size()) + " features, expected " +
                                std::to_string(d));
  }
}

// A zero, negative or non-finite spread cannot divide; such a feature is only shifted.
double usable_scale(double spread) {
  return std::isfinite(spread) && spread > 0 ? spread : 1.0;
}

}  // namespace

ScaleKind parse_scale_kind(const std::string& text) {
  if (text == "zscore") return ScaleKind::zscore;
  if (text == "minmax") return ScaleKind::minmax;
  if (text == "none") return ScaleKind::none;
  if (text == "robust") return ScaleKind::robust;
  throw InputError("unknown scaling '" + text + "'; valid values are zscore, minmax, robust, none");
}

std::string to_string(ScaleKind kind) {
  switch (kind) {
    case ScaleKind::zscore:
      return "zscore";
    case ScaleKind::minmax:
      return "minmax";
    case ScaleKind::none:
      return "none";
    case ScaleKind::robust:
      return "robust";
  }
  throw std::invalid_argument("to_string: invalid ScaleKind");
}

ScalingModel ScalingModel::from_statistics(ScaleKind kind, std::vector<char> log1p,
                                           const FeatureStatistics& stats) {
  const std::size_t d = std::max({log1p.size(), stats.mean.size(), stats.min.size()});
  ScalingModel model;
  model.kind = kind;
  model.log1p = std::move(log1p);
  model.log1p.resize(d, 0);
  model.offset.assign(d, 0.0);
  model.scale.assign(d, 1.0);
  if (kind == ScaleKind::zscore) {
    require_size(stats.mean, d, "mean");
    require_size(stats.std, d, "std");
    for (std::size_t j = 0; j < d; ++j) {
      model.offset[j] = stats.mean[j];
      model.scale[j] = usable_scale(stats.std[j]);
    }
  } else if (kind == ScaleKind::minmax) {
    require_size(stats.min, d, "min");
    require_size(stats.max, d, "max");
    for (std::size_t j = 0; j < d; ++j) {
      model.offset[j] = stats.min[j];
      model.scale[j] = usable_scale(stats.max[j] - stats.min[j]);
    }
  } else if (kind == ScaleKind::robust) {
    require_size(stats.median, d, "median");
    require_size(stats.lower_quartile, d, "lower_quartile");
    require_size(stats.upper_quartile, d, "upper_quartile");
    for (std::size_t j = 0; j < d; ++j) {
      model.offset[j] = stats.median[j];
      model.scale[j] = usable_scale(stats.upper_quartile[j] - stats.lower_quartile[j]);
    }
  }
  return model;
}

void apply_log1p(FeatureMatrix& features, const std::vector<char>& log1p,
                 const std::vector<std::string>& names, const std::vector<std::int64_t>& ids) {
  const Eigen::Index n = features.rows(), d = features.cols();
  bool any_flagged = false;
  for (Eigen::Index j = 0; j < d; ++j) any_flagged = any_flagged || flagged(log1p, j);
  if (!any_flagged) return;  // two passes over every value for nothing otherwise
  // Validate everything first so a rejected block is left untouched.
  for (Eigen::Index i = 0; i < n; ++i) {
    for (Eigen::Index j = 0; j < d; ++j) {
      const float x = features(i, j);
      if (!flagged(log1p, j) || x > -1.0f) continue;  // also rejects NaN
      std::ostringstream message;
      message << "feature '"
              << (static_cast<std::size_t>(j) < names.size() ? names[j] : "#" + std::to_string(j))
              << "': log1p needs values > -1, but ";
      if (static_cast<std::size_t>(i) < ids.size()) {
        message << "customer id " << ids[i];
      } else {
        message << "row " << i;
      }
      message << " has " << std::setprecision(std::numeric_limits<float>::max_digits10) << x;
      throw InputError(message.str());
    }
  }
  for (Eigen::Index i = 0; i < n; ++i) {
    for (Eigen::Index j = 0; j < d; ++j) {
      if (flagged(log1p, j)) {
        features(i, j) = static_cast<float>(std::log1p(static_cast<double>(features(i, j))));
      }
    }
  }
}

void local_min_max(const FeatureMatrix& features, std::vector<double>& min,
                   std::vector<double>& max) {
  const Eigen::Index n = features.rows(), d = features.cols();
  min.assign(d, std::numeric_limits<double>::infinity());
  max.assign(d, -std::numeric_limits<double>::infinity());
  for (Eigen::Index i = 0; i < n; ++i) {
    for (Eigen::Index j = 0; j < d; ++j) {
      const double x = features(i, j);
      if (x < min[j]) min[j] = x;
      if (x > max[j]) max[j] = x;
    }
  }
}

std::vector<ExactSum> local_column_sums(const FeatureMatrix& features,
                                        const std::vector<FixedPointFormat>& formats) {
  const Eigen::Index n = features.rows(), d = features.cols();
  if (formats.size() != static_cast<std::size_t>(d)) {
    throw std::invalid_argument("local_column_sums: one format per feature expected");
  }
  std::vector<ExactSum> sums(d, 0);
  for (Eigen::Index i = 0; i < n; ++i) {
    for (Eigen::Index j = 0; j < d; ++j) sums[j] += formats[j].to_fixed(features(i, j));
  }
  return sums;
}

std::vector<ExactSum> local_squared_deviations(const FeatureMatrix& features,
                                               const std::vector<double>& mean,
                                               const std::vector<FixedPointFormat>& formats) {
  const Eigen::Index n = features.rows(), d = features.cols();
  if (formats.size() != static_cast<std::size_t>(d) || mean.size() != formats.size()) {
    throw std::invalid_argument(
        "local_squared_deviations: one mean and format per feature expected");
  }
  std::vector<ExactSum> sums(d, 0);
  for (Eigen::Index i = 0; i < n; ++i) {
    for (Eigen::Index j = 0; j < d; ++j) {
      const double deviation = static_cast<double>(features(i, j)) - mean[j];
      sums[j] += formats[j].to_fixed(deviation * deviation);
    }
  }
  return sums;
}

std::vector<ExactSum> local_weighted_column_sums(const FeatureMatrix& features,
                                                 const std::vector<float>& weights,
                                                 const std::vector<FixedPointFormat>& formats) {
  const Eigen::Index n = features.rows(), d = features.cols();
  if (formats.size() != static_cast<std::size_t>(d) ||
      weights.size() != static_cast<std::size_t>(n)) {
    throw std::invalid_argument(
        "local_weighted_column_sums: one format per feature and one weight per row expected");
  }
  std::vector<ExactSum> sums(d, 0);
  for (Eigen::Index i = 0; i < n; ++i) {
    const double w = weights[static_cast<std::size_t>(i)];
    for (Eigen::Index j = 0; j < d; ++j) sums[j] += formats[j].to_fixed(features(i, j) * w);
  }
  return sums;
}

std::vector<ExactSum> local_weighted_squared_deviations(
    const FeatureMatrix& features, const std::vector<float>& weights,
    const std::vector<double>& mean, const std::vector<FixedPointFormat>& formats) {
  const Eigen::Index n = features.rows(), d = features.cols();
  if (formats.size() != static_cast<std::size_t>(d) || mean.size() != formats.size() ||
      weights.size() != static_cast<std::size_t>(n)) {
    throw std::invalid_argument(
        "local_weighted_squared_deviations: one mean and format per feature and one weight per "
        "row expected");
  }
  std::vector<ExactSum> sums(d, 0);
  for (Eigen::Index i = 0; i < n; ++i) {
    const double w = weights[static_cast<std::size_t>(i)];
    for (Eigen::Index j = 0; j < d; ++j) {
      const double deviation = static_cast<double>(features(i, j)) - mean[j];
      sums[j] += formats[j].to_fixed(deviation * deviation * w);
    }
  }
  return sums;
}

void apply_scaling(FeatureMatrix& features, const ScalingModel& model) {
  const Eigen::Index n = features.rows(), d = features.cols();
  if (model.offset.size() != static_cast<std::size_t>(d) ||
      model.scale.size() != model.offset.size()) {
    throw std::invalid_argument("apply_scaling: the model has " +
                                std::to_string(model.offset.size()) + " features, the data " +
                                std::to_string(d));
  }
  for (Eigen::Index i = 0; i < n; ++i) {
    for (Eigen::Index j = 0; j < d; ++j) {
      const double x = features(i, j);
      features(i, j) = static_cast<float>((x - model.offset[j]) / model.scale[j]);
    }
  }
}

CentroidMatrix centroids_in_original_units(const CentroidMatrix& scaled,
                                           const ScalingModel& model) {
  CentroidMatrix original(scaled.rows(), scaled.cols());
  for (Eigen::Index c = 0; c < scaled.rows(); ++c) {
    for (Eigen::Index j = 0; j < scaled.cols(); ++j) {
      original(c, j) = model.inverse(static_cast<std::size_t>(j), scaled(c, j));
    }
  }
  return original;
}

}  // namespace microseg
