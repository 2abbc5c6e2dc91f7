#pragma once
/// \file What happens to the columns read from the input before log1p and scaling: one-hot
/// expansion of categorical codes, missing values (reject, impute or drop), clipping at
/// quantiles, and per-feature weights. Also the exact quantile rule and its order-preserving
/// key, so the distributed layer can find quantiles by bisection.
///
/// Order of the steps: expand → missing → clip → log1p → scale → weight. Each step's numbers are
/// fitted across ranks (distributed/feature_preparation) and saved in the run's model, so
/// `microseg assign` repeats them exactly on new customers.
#include <cstdint>
#include <limits>
#include <string>
#include <vector>

#include "microseg/core/types.hpp"

namespace microseg {

/// What to do with a missing (NaN) value.
enum class MissingPolicy { reject, mean, median, drop };
MissingPolicy parse_missing_policy(const std::string& text);  ///< throws InputError
std::string to_string(MissingPolicy policy);

/// One column k-means sees: a source column as it is, or the 0/1 indicator of one category of a
/// categorical source column.
struct TransformedFeature {
  std::string name;            ///< "age", or "region=north" for an indicator
  int source = 0;              ///< index into FeatureTransform::sources
  std::int64_t category = -1;  ///< code in the source's dictionary; -1 for a numeric column
};

/// The fitted steps before log1p and scaling, per transformed feature (d of them).
struct FeatureTransform {
  MissingPolicy missing = MissingPolicy::reject;
  std::vector<std::string> sources;                  ///< input columns, in reading order
  std::vector<std::vector<std::string>> categories;  ///< per source; empty unless one-hot
  std::vector<TransformedFeature> features;
  std::vector<double> fill;                 ///< imputed value; NaN when none (reject, drop)
  std::vector<double> clip_low, clip_high;  ///< clipping bounds; ∓inf when none
  std::vector<double> weight;               ///< multiplies the scaled column (1: none)

  std::vector<std::string> names() const;
  bool is_indicator(std::size_t feature) const { return features.at(feature).category >= 0; }
  /// True when some source is one-hot expanded; otherwise the features are the sources, in order.
  bool expands() const {
    for (const auto& names : categories) {
      if (!names.empty()) return true;
    }
    return false;
  }

  /// Sources as they are, one-hot where `categories[s]` is not empty; no fill, no clip, weight 1.
  static FeatureTransform plan(MissingPolicy missing, std::vector<std::string> sources,
                               std::vector<std::vector<std::string>> categories);
};

/// The source columns of the matrix layout and of runs saved before transforms were recorded.
FeatureTransform identity_transform(const std::vector<std::string>& names);

/// Parses `a=2,b=0.5` into one weight per source column of `transform` (1 where not given), set
/// on every transformed feature of that source. Throws InputError naming an unknown feature or a
/// weight that is not a finite number > 0.
void set_weights(FeatureTransform& transform, const std::vector<std::string>& assignments);

/// Expands the source columns into the transformed features. `code_maps[s]` maps a code of the
/// input's dictionary of source s to the code of the transform's (−1: a category the transform
/// does not know, so every indicator of that row is 0); empty means the same dictionary. A NaN
/// code gives NaN indicators. Throws InputError naming the column and customer id of a code that
/// is not an integer of the input's dictionary.
FeatureMatrix expand_features(const FeatureMatrix& source, const FeatureTransform& transform,
                              const std::vector<std::vector<std::int64_t>>& code_maps,
                              const std::vector<std::int64_t>& ids,
                              std::int64_t* unknown_categories = nullptr);

/// NaN values per column.
std::vector<std::int64_t> count_missing(const FeatureMatrix& features);

/// 1 for each row without a NaN.
std::vector<char> rows_without_missing(const FeatureMatrix& features);

/// Keeps the flagged rows of the block (ids, features and weights); the caller renumbers
/// block.rows.
void keep_rows(CustomerBlock& block, const std::vector<char>& keep);

/// Replaces NaN in column j by fill[j] (rounded to float), where fill[j] is not NaN.
void fill_missing(FeatureMatrix& features, const std::vector<double>& fill);

/// Clamps column j to [low[j], high[j]] (bounds rounded outwards to float, so a bound that is a
/// data value keeps that value).
void clip_features(FeatureMatrix& features, const std::vector<double>& low,
                   const std::vector<double>& high);

/// An unsigned key whose order is the order of the floats (−0 as +0); NaN must be excluded.
std::uint32_t ordered_key32(float value);
float from_ordered_key32(std::uint32_t key);

/// numpy's default ('linear') quantile of n sorted values at level q ∈ [0, 1]: position
/// h = (n − 1)·q, lower order statistic x[⌊h⌋] (0-based), upper x[min(⌊h⌋ + 1, n − 1)].
struct QuantilePosition {
  std::int64_t lower = 0, upper = 0;
  double fraction = 0;  ///< h − ⌊h⌋
};
QuantilePosition quantile_position(std::int64_t n, double q);
/// numpy's interpolation between the two order statistics (its _lerp, bit for bit).
double interpolate_quantile(double lower, double upper, double fraction);
/// The quantile of the non-NaN values (NaN when there are none): the serial reference.
double linear_quantile(std::vector<float> values, double q);

}  // namespace microseg
