#include "microseg/core/feature_transform.hpp"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <iomanip>
#include <sstream>
#include <stdexcept>

namespace microseg {

MissingPolicy parse_missing_policy(const std::string& text) {
  if (text == "reject") return MissingPolicy::reject;
  if (text == "mean") return MissingPolicy::mean;
  if (text == "median") return MissingPolicy::median;
  if (text == "drop") return MissingPolicy::drop;
  throw InputError("unknown missing-value policy '" + text +
                   "'; valid values are reject, mean, median, drop");
}

std::string to_string(MissingPolicy policy) {
  switch (policy) {
    case MissingPolicy::reject:
      return "reject";
    case MissingPolicy::mean:
      return "mean";
    case MissingPolicy::median:
      return "median";
    case MissingPolicy::drop:
      return "drop";
  }
  throw std::invalid_argument("to_string: invalid MissingPolicy");
}

std::vector<std::string> FeatureTransform::names() const {
  std::vector<std::string> names;
  names.reserve(features.size());
  for (const auto& feature : features) names.push_back(feature.name);
  return names;
}

FeatureTransform FeatureTransform::plan(MissingPolicy missing, std::vector<std::string> sources,
                                        std::vector<std::vector<std::string>> categories) {
  FeatureTransform transform;
  transform.missing = missing;
  transform.sources = std::move(sources);
  transform.categories = std::move(categories);
  transform.categories.resize(transform.sources.size());
  for (std::size_t s = 0; s < transform.sources.size(); ++s) {
    const auto& names = transform.categories[s];
    if (names.empty()) {
      transform.features.push_back({transform.sources[s], static_cast<int>(s), -1});
    }
    for (std::size_t c = 0; c < names.size(); ++c) {
      transform.features.push_back({transform.sources[s] + "=" + names[c], static_cast<int>(s),
                                    static_cast<std::int64_t>(c)});
    }
  }
  const std::size_t d = transform.features.size();
  transform.fill.assign(d, std::nan(""));
  transform.clip_low.assign(d, -std::numeric_limits<double>::infinity());
  transform.clip_high.assign(d, std::numeric_limits<double>::infinity());
  transform.weight.assign(d, 1.0);
  return transform;
}

FeatureTransform identity_transform(const std::vector<std::string>& names) {
  return FeatureTransform::plan(MissingPolicy::reject, names, {});
}

void set_weights(FeatureTransform& transform, const std::vector<std::string>& assignments) {
  for (const auto& assignment : assignments) {
    const auto equals = assignment.rfind('=');
    const std::string name = assignment.substr(0, equals);
    const std::string text = equals == std::string::npos ? "" : assignment.substr(equals + 1);
    const auto source = std::find(transform.sources.begin(), transform.sources.end(), name);
    if (equals == std::string::npos || name.empty()) {
      throw InputError("option --weights: '" + assignment +
                       "' is not feature=weight (e.g. monetary=2,age=0.5)");
    }
    if (source == transform.sources.end()) {
      std::string known;
      for (const auto& s : transform.sources) known += (known.empty() ? "" : ", ") + s;
      throw InputError("option --weights: feature '" + name +
                       "' is not among the features being segmented (" + known + ")");
    }
    double weight = 0;
    std::size_t used = 0;
    try {
      weight = std::stod(text, &used);
    } catch (const std::exception&) {
      used = 0;
    }
    if (used == 0 || used != text.size() || !std::isfinite(weight) || weight <= 0) {
      throw InputError("option --weights: weight '" + text + "' of feature '" + name +
                       "' is not a finite number > 0");
    }
    const int s = static_cast<int>(source - transform.sources.begin());
    for (std::size_t j = 0; j < transform.features.size(); ++j) {
      if (transform.features[j].source == s) transform.weight[j] = weight;
    }
  }
}

FeatureMatrix expand_features(const FeatureMatrix& source, const FeatureTransform& transform,
                              const std::vector<std::vector<std::int64_t>>& code_maps,
                              const std::vector<std::int64_t>& ids,
                              std::int64_t* unknown_categories) {
  const Eigen::Index n = source.rows();
  const auto d = static_cast<Eigen::Index>(transform.features.size());
  if (source.cols() != static_cast<Eigen::Index>(transform.sources.size())) {
    throw std::invalid_argument("expand_features: the matrix has " + std::to_string(source.cols()) +
                                " columns, the transform " +
                                std::to_string(transform.sources.size()) + " sources");
  }
  // The input's code of each row, mapped into the transform's dictionary, per one-hot source.
  const auto sources = static_cast<Eigen::Index>(transform.sources.size());
  std::vector<std::vector<std::int64_t>> codes(transform.sources.size());
  std::int64_t unknown = 0;
  for (Eigen::Index s = 0; s < sources; ++s) {
    const auto& names = transform.categories[s];
    if (names.empty()) continue;
    const std::vector<std::int64_t>* map =
        static_cast<std::size_t>(s) < code_maps.size() && !code_maps[s].empty() ? &code_maps[s]
                                                                                : nullptr;
    const auto dictionary_size = static_cast<double>(map != nullptr ? map->size() : names.size());
    codes[s].resize(static_cast<std::size_t>(n));
    for (Eigen::Index i = 0; i < n; ++i) {
      const float x = source(i, s);
      if (std::isnan(x)) {
        codes[s][i] = -2;  // missing
        continue;
      }
      if (!(x >= 0 && x < dictionary_size) || x != std::floor(x)) {
        std::ostringstream message;
        message << "column '" << transform.sources[s] << "': customer id "
                << (static_cast<std::size_t>(i) < ids.size() ? ids[i] : i) << " has code "
                << std::setprecision(9) << x << ", not a code 0.." << dictionary_size - 1
                << " of its categories";
        throw InputError(message.str());
      }
      const auto code = static_cast<std::int64_t>(x);
      codes[s][i] = map != nullptr ? (*map)[code] : code;
      if (codes[s][i] < 0) ++unknown;
    }
  }
  if (unknown_categories != nullptr) *unknown_categories = unknown;
  FeatureMatrix expanded(n, d);
  for (Eigen::Index i = 0; i < n; ++i) {
    for (Eigen::Index j = 0; j < d; ++j) {
      const TransformedFeature& feature = transform.features[j];
      if (feature.category < 0) {
        expanded(i, j) = source(i, feature.source);
        continue;
      }
      const std::int64_t code = codes[feature.source][i];
      expanded(i, j) = code == -2 ? std::nanf("") : (code == feature.category ? 1.0f : 0.0f);
    }
  }
  return expanded;
}

std::vector<std::int64_t> count_missing(const FeatureMatrix& features) {
  std::vector<std::int64_t> counts(static_cast<std::size_t>(features.cols()), 0);
  for (Eigen::Index i = 0; i < features.rows(); ++i) {
    for (Eigen::Index j = 0; j < features.cols(); ++j) counts[j] += std::isnan(features(i, j));
  }
  return counts;
}

std::vector<char> rows_without_missing(const FeatureMatrix& features) {
  std::vector<char> keep(static_cast<std::size_t>(features.rows()), 1);
  for (Eigen::Index i = 0; i < features.rows(); ++i) {
    for (Eigen::Index j = 0; j < features.cols(); ++j) {
      if (std::isnan(features(i, j))) keep[i] = 0;
    }
  }
  return keep;
}

void keep_rows(CustomerBlock& block, const std::vector<char>& keep) {
  Eigen::Index kept = 0;
  for (std::size_t i = 0; i < keep.size(); ++i) {
    if (!keep[i]) continue;
    const auto row = static_cast<Eigen::Index>(i);
    if (kept != row) block.features.row(kept) = block.features.row(row);
    if (static_cast<std::size_t>(kept) < block.ids.size() && i < block.ids.size()) {
      block.ids[kept] = block.ids[i];
    }
    if (i < block.weights.size()) block.weights[static_cast<std::size_t>(kept)] = block.weights[i];
    ++kept;
  }
  block.features.conservativeResize(kept, block.features.cols());
  if (!block.ids.empty()) block.ids.resize(static_cast<std::size_t>(kept));
  if (!block.weights.empty()) block.weights.resize(static_cast<std::size_t>(kept));
}

void fill_missing(FeatureMatrix& features, const std::vector<double>& fill) {
  for (Eigen::Index i = 0; i < features.rows(); ++i) {
    for (Eigen::Index j = 0; j < features.cols(); ++j) {
      if (std::isnan(features(i, j)) && !std::isnan(fill[j])) {
        features(i, j) = static_cast<float>(fill[j]);
      }
    }
  }
}

void clip_features(FeatureMatrix& features, const std::vector<double>& low,
                   const std::vector<double>& high) {
  const Eigen::Index d = features.cols();
  std::vector<float> lo(d), hi(d);
  for (Eigen::Index j = 0; j < d; ++j) {
    // The float nearest each bound on the outside, so clipping never moves a value inward of it.
    lo[j] = static_cast<float>(low[j]);
    if (static_cast<double>(lo[j]) > low[j]) lo[j] = std::nextafter(lo[j], -INFINITY);
    hi[j] = static_cast<float>(high[j]);
    if (static_cast<double>(hi[j]) < high[j]) hi[j] = std::nextafter(hi[j], INFINITY);
  }
  for (Eigen::Index i = 0; i < features.rows(); ++i) {
    for (Eigen::Index j = 0; j < d; ++j) {
      const float x = features(i, j);
      if (x < lo[j]) features(i, j) = lo[j];
      if (x > hi[j]) features(i, j) = hi[j];
    }
  }
}

std::uint32_t ordered_key32(float value) {
  if (value == 0) value = 0;  // −0 → +0
  std::uint32_t bits = 0;
  std::memcpy(&bits, &value, sizeof bits);
  // Negative numbers: flip every bit (larger magnitude sorts lower); positive: set the sign bit.
  return (bits >> 31) != 0 ? ~bits : bits | (std::uint32_t{1} << 31);
}

float from_ordered_key32(std::uint32_t key) {
  const std::uint32_t bits = (key >> 31) != 0 ? key & ~(std::uint32_t{1} << 31) : ~key;
  float value = 0;
  std::memcpy(&value, &bits, sizeof value);
  return value;
}

QuantilePosition quantile_position(std::int64_t n, double q) {
  QuantilePosition position;
  if (n <= 0) return position;
  const double h = static_cast<double>(n - 1) * q;
  const double below = std::floor(h);
  position.lower = std::clamp(static_cast<std::int64_t>(below), std::int64_t{0}, n - 1);
  position.upper = std::min(position.lower + 1, n - 1);
  position.fraction = h - below;
  return position;
}

double interpolate_quantile(double lower, double upper, double fraction) {
  const double difference = upper - lower;
  return fraction >= 0.5 ? upper - difference * (1 - fraction) : lower + difference * fraction;
}

double linear_quantile(std::vector<float> values, double q) {
  values.erase(std::remove_if(values.begin(), values.end(), [](float x) { return std::isnan(x); }),
               values.end());
  if (values.empty()) return std::nan("");
  std::sort(values.begin(), values.end());
  const QuantilePosition at = quantile_position(static_cast<std::int64_t>(values.size()), q);
  return interpolate_quantile(values[at.lower], values[at.upper], at.fraction);
}

}  // namespace microseg
