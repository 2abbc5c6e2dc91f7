#include "microseg/core/quality.hpp"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <stdexcept>

#include "microseg/core/assignment.hpp"
#include "multiply_add.hpp"

namespace microseg {
namespace {

// Pairwise distances: others in transposed blocks of kOthersBlock rows (64 KiB at d = 32), SIMD
// groups of kLanes; targets kRowBlock at a time within tiles of kTargetTile rows.
constexpr int kOthersBlock = 256;
constexpr int kLanes = 8;
constexpr int kRowBlock = 4;
constexpr int kTargetTile = 16;

using detail::multiply_add;

// Squared distances of `Rows` target rows to the `width` (a multiple of kLanes) transposed
// others, into out[r * kOthersBlock + l]. Each pair is Σ_j (a_j − b_j)² in j order, whatever the
// blocking, so it is exactly 0 for identical rows and independent of the partition.
template <int Rows>
void block_squared_distances(const float* const* rows, const double* transposed, int d, int width,
                             double* out) {
  for (int lane0 = 0; lane0 < width; lane0 += kLanes) {
    double acc[Rows][kLanes] = {};
    for (int j = 0; j < d; ++j) {
      const double* column = transposed + static_cast<std::size_t>(j) * kOthersBlock + lane0;
#pragma GCC unroll 8
      for (int r = 0; r < Rows; ++r) {
        const double x = rows[r][j];
        for (int l = 0; l < kLanes; ++l) {
          const double delta = x - column[l];
          acc[r][l] = multiply_add(delta, delta, acc[r][l]);
        }
      }
    }
    for (int r = 0; r < Rows; ++r) {
      for (int l = 0; l < kLanes; ++l) out[r * kOthersBlock + lane0 + l] = acc[r][l];
    }
  }
}

// static_cast<ExactSum>(value) for a finite value in [0, 2^127): below 2^63 the hardware
// conversion, above it the value is an integer and its mantissa is shifted into place.
inline ExactSum truncate_non_negative(double value) {
  if (value < 0x1p63) return static_cast<ExactSum>(static_cast<std::int64_t>(value));
  if (!(value < 0x1p127)) return static_cast<ExactSum>(value);  // out of bound: as to_fixed
  std::uint64_t bits;
  std::memcpy(&bits, &value, sizeof bits);
  const int shift = static_cast<int>(bits >> 52) - 1075;
  const std::uint64_t mantissa = (bits & ((std::uint64_t{1} << 52) - 1)) | (std::uint64_t{1} << 52);
  return static_cast<ExactSum>(mantissa) << shift;
}

}  // namespace

namespace {

// Both dispersions row by row; weight_of(i) is the row's weight, or 1.0 without weights (a
// product with 1.0 is exact, so the unweighted terms are the plain distances).
template <class WeightOf>
void add_dispersion(const FeatureMatrix& features, const std::vector<std::int32_t>& labels,
                    const CentroidMatrix& segment_means, const DispersionGrids& grids,
                    WeightOf weight_of, DispersionSums& sums) {
  const Eigen::Index n = features.rows();
  const int d = static_cast<int>(features.cols());
  const std::size_t k = sums.distance_sums.size();
  if (labels.size() != static_cast<std::size_t>(n) || segment_means.cols() != d ||
      static_cast<std::size_t>(segment_means.rows()) != k) {
    throw std::invalid_argument("accumulate_dispersion: labels, means and sums do not match");
  }
  for (Eigen::Index i = 0; i < n; ++i) {
    const std::int32_t label = labels[i];
    if (label < 0 || static_cast<std::size_t>(label) >= k) {
      throw std::invalid_argument("accumulate_dispersion: label out of range");
    }
    const double squared =
        squared_distance(features.row(i).data(), segment_means.row(label).data(), d);
    const double w = weight_of(i);
    sums.distance_sums[label] += grids.distance.to_fixed(w * std::sqrt(squared));
    sums.squared_distance_sum += grids.squared.to_fixed(w * squared);
  }
}

// Σ size · ‖mean − overall‖² · (n − k) / (within · (k − 1)) over the occupied segments.
double calinski_harabasz_of(double n, const std::vector<double>& sizes,
                            const CentroidMatrix& segment_means,
                            const std::vector<double>& overall_mean, double within_dispersion) {
  if (static_cast<std::size_t>(segment_means.rows()) != sizes.size() ||
      static_cast<std::size_t>(segment_means.cols()) != overall_mean.size()) {
    throw std::invalid_argument("calinski_harabasz: counts, means and overall mean do not match");
  }
  // scikit-learn counts only the labels that occur, so empty segments do not count towards k.
  std::int64_t occupied = 0;
  double between = 0;
  for (std::size_t c = 0; c < sizes.size(); ++c) {
    if (sizes[c] <= 0) continue;
    ++occupied;
    double squared = 0;
    for (std::size_t j = 0; j < overall_mean.size(); ++j) {
      const double delta = segment_means(c, j) - overall_mean[j];
      squared += delta * delta;
    }
    between += sizes[c] * squared;
  }
  if (within_dispersion == 0.0 || occupied < 2) return 1.0;
  return between * (n - static_cast<double>(occupied)) /
         (within_dispersion * (static_cast<double>(occupied) - 1.0));
}

}  // namespace

void accumulate_dispersion(const FeatureMatrix& features, const std::vector<std::int32_t>& labels,
                           const CentroidMatrix& segment_means,
                           const FixedPointFormat& distance_format,
                           const FixedPointFormat& squared_format, DispersionSums& sums) {
  add_dispersion(
      features, labels, segment_means, {distance_format, squared_format},
      [](Eigen::Index) { return 1.0; }, sums);
}

void accumulate_weighted_dispersion(const FeatureMatrix& features,
                                    const std::vector<float>& weights,
                                    const std::vector<std::int32_t>& labels,
                                    const CentroidMatrix& segment_means,
                                    const DispersionGrids& grids, DispersionSums& sums) {
  if (weights.size() != labels.size()) {
    throw std::invalid_argument("accumulate_weighted_dispersion: one weight per row expected");
  }
  add_dispersion(
      features, labels, segment_means, grids,
      [&](Eigen::Index i) { return static_cast<double>(weights[static_cast<std::size_t>(i)]); },
      sums);
}

double calinski_harabasz(std::int64_t n, const std::vector<std::int64_t>& counts,
                         const CentroidMatrix& segment_means,
                         const std::vector<double>& overall_mean, double within_dispersion) {
  // Counts and n below 2^53 are exact doubles, so this is the integer formula's value.
  return calinski_harabasz_of(static_cast<double>(n),
                              std::vector<double>(counts.begin(), counts.end()), segment_means,
                              overall_mean, within_dispersion);
}

double weighted_calinski_harabasz(double total_weight, const std::vector<double>& segment_weights,
                                  const CentroidMatrix& segment_means,
                                  const std::vector<double>& overall_mean,
                                  double within_dispersion) {
  return calinski_harabasz_of(total_weight, segment_weights, segment_means, overall_mean,
                              within_dispersion);
}

double davies_bouldin(const CentroidMatrix& segment_means,
                      const std::vector<double>& mean_distance_to_mean) {
  if (static_cast<std::size_t>(segment_means.rows()) != mean_distance_to_mean.size()) {
    throw std::invalid_argument("davies_bouldin: one mean distance per segment expected");
  }
  // scikit-learn only sees the labels that occur; an empty segment has no finite mean distance
  // (0/0) or no finite mean, and is left out.
  std::vector<Eigen::Index> occupied;
  for (Eigen::Index c = 0; c < segment_means.rows(); ++c) {
    if (std::isfinite(mean_distance_to_mean[c]) && segment_means.row(c).allFinite()) {
      occupied.push_back(c);
    }
  }
  const std::size_t k = occupied.size();
  if (k == 0) return 0.0;
  constexpr double kAllCloseTolerance = 1e-8;  // np.allclose(x, 0): |x| <= atol
  std::vector<double> centroid_distance(k * k, 0.0);
  bool all_distances_zero = true, all_intra_zero = true;
  for (std::size_t a = 0; a < k; ++a) {
    if (std::fabs(mean_distance_to_mean[occupied[a]]) > kAllCloseTolerance) all_intra_zero = false;
    for (std::size_t b = 0; b < k; ++b) {
      double squared = 0;
      for (Eigen::Index j = 0; j < segment_means.cols(); ++j) {
        const double delta = segment_means(occupied[a], j) - segment_means(occupied[b], j);
        squared += delta * delta;
      }
      const double distance = std::sqrt(squared);
      centroid_distance[a * k + b] = distance;
      if (distance > kAllCloseTolerance) all_distances_zero = false;
    }
  }
  if (all_intra_zero || all_distances_zero) return 0.0;
  double score_sum = 0;
  for (std::size_t a = 0; a < k; ++a) {
    double worst = 0;  // the diagonal: 2 s_a / inf
    for (std::size_t b = 0; b < k; ++b) {
      const double distance = centroid_distance[a * k + b];
      const double ratio =
          (mean_distance_to_mean[occupied[a]] + mean_distance_to_mean[occupied[b]]) /
          (distance == 0.0 ? std::numeric_limits<double>::infinity() : distance);
      worst = std::max(worst, ratio);
    }
    score_sum += worst;
  }
  return score_sum / static_cast<double>(k);
}

double simplified_silhouette(double nearest_distance, double second_distance) {
  if (std::isinf(second_distance)) return 0.0;  // k = 1: no other centroid
  const double larger = std::max(nearest_distance, second_distance);
  if (!(larger > 0)) return 0.0;
  return (second_distance - nearest_distance) / larger;
}

void accumulate_pairwise_distance_sums(const FeatureMatrix& targets, const FeatureMatrix& others,
                                       const std::vector<std::int32_t>& others_labels, int k,
                                       const FixedPointFormat& format,
                                       std::vector<ExactSum>& sums) {
  const Eigen::Index n_targets = targets.rows(), n_others = others.rows();
  const int d = static_cast<int>(targets.cols());
  if (others.cols() != d && n_others > 0) {
    throw std::invalid_argument(
        "accumulate_pairwise_distance_sums: targets and others differ in width");
  }
  if (others_labels.size() != static_cast<std::size_t>(n_others) ||
      sums.size() != static_cast<std::size_t>(n_targets) * k) {
    throw std::invalid_argument("accumulate_pairwise_distance_sums: labels or sums do not match");
  }
  for (std::int32_t label : others_labels) {
    if (label < 0 || label >= k) {
      throw std::invalid_argument("accumulate_pairwise_distance_sums: label out of range");
    }
  }
  // format.to_fixed(t) is (ExactSum) ldexp(t, e); for a normal 2^e, t * 2^e is the same correctly
  // rounded value, and the truncation below the same integer, without two library calls per pair.
  const bool fast_grid = format.exponent() >= -1022;
  const double grid_scale = fast_grid ? std::ldexp(1.0, format.exponent()) : 1.0;
  // All others transposed once, block after block, each block [j * kOthersBlock + lane].
  const Eigen::Index block_count = (n_others + kOthersBlock - 1) / kOthersBlock;
  const std::size_t block_size = static_cast<std::size_t>(d) * kOthersBlock;
  std::vector<double> transposed(block_count * block_size, 0.0);
  for (Eigen::Index b = 0; b < n_others; ++b) {
    double* block = transposed.data() + (b / kOthersBlock) * block_size + b % kOthersBlock;
    for (int j = 0; j < d; ++j) block[static_cast<std::size_t>(j) * kOthersBlock] = others(b, j);
  }
  std::vector<double> squared(static_cast<std::size_t>(kRowBlock) * kOthersBlock);
  // Targets go in tiles whose sums rows (kTargetTile · k · 16 bytes) stay in cache while every
  // block of others streams past them; the per-pair scatter into sums is the costly part.
  for (Eigen::Index tile = 0; tile < n_targets; tile += kTargetTile) {
    const Eigen::Index tile_end = std::min<Eigen::Index>(tile + kTargetTile, n_targets);
    for (Eigen::Index block = 0; block < block_count; ++block) {
      const Eigen::Index first = block * kOthersBlock;
      const int count = static_cast<int>(std::min<Eigen::Index>(kOthersBlock, n_others - first));
      const int width = (count + kLanes - 1) / kLanes * kLanes;
      const double* block_values = transposed.data() + block * block_size;
      const std::int32_t* labels = others_labels.data() + first;
      auto add_row = [&](Eigen::Index target, const double* row_squared) {
        ExactSum* target_sums = sums.data() + static_cast<std::size_t>(target) * k;
        if (fast_grid) {
          for (int l = 0; l < count; ++l) {
            target_sums[labels[l]] += truncate_non_negative(std::sqrt(row_squared[l]) * grid_scale);
          }
        } else {
          for (int l = 0; l < count; ++l) {
            target_sums[labels[l]] += format.to_fixed(std::sqrt(row_squared[l]));
          }
        }
      };
      Eigen::Index a = tile;
      for (; a + kRowBlock <= tile_end; a += kRowBlock) {
        const float* rows[kRowBlock];
        for (int r = 0; r < kRowBlock; ++r) rows[r] = targets.row(a + r).data();
        block_squared_distances<kRowBlock>(rows, block_values, d, width, squared.data());
        for (int r = 0; r < kRowBlock; ++r) add_row(a + r, squared.data() + r * kOthersBlock);
      }
      for (; a < tile_end; ++a) {
        const float* rows[1] = {targets.row(a).data()};
        block_squared_distances<1>(rows, block_values, d, width, squared.data());
        add_row(a, squared.data());
      }
    }
  }
}

std::vector<double> silhouette_from_distance_sums(const std::vector<ExactSum>& sums,
                                                  const std::vector<std::int32_t>& target_labels,
                                                  const std::vector<std::int64_t>& sample_sizes,
                                                  const FixedPointFormat& format) {
  const std::size_t k = sample_sizes.size(), n = target_labels.size();
  if (sums.size() != n * k) {
    throw std::invalid_argument(
        "silhouette_from_distance_sums: sums do not match labels and sizes");
  }
  std::vector<double> silhouette(n, 0.0);
  for (std::size_t a = 0; a < n; ++a) {
    const std::int32_t own = target_labels[a];
    if (own < 0 || static_cast<std::size_t>(own) >= k) {
      throw std::invalid_argument("silhouette_from_distance_sums: label out of range");
    }
    if (sample_sizes[own] <= 1) continue;  // alone in its segment: 0, as scikit-learn does
    const double intra =
        format.to_double(sums[a * k + own]) / static_cast<double>(sample_sizes[own] - 1);
    double inter = std::numeric_limits<double>::infinity();
    for (std::size_t c = 0; c < k; ++c) {
      if (c == static_cast<std::size_t>(own) || sample_sizes[c] <= 0) continue;
      inter =
          std::min(inter, format.to_double(sums[a * k + c]) / static_cast<double>(sample_sizes[c]));
    }
    const double larger = std::max(intra, inter);
    // No other segment in the sample (inf / inf) or a = b = 0 (0 / 0): scikit-learn's nan → 0.
    if (std::isinf(inter) || !(larger > 0)) continue;
    silhouette[a] = (inter - intra) / larger;
  }
  return silhouette;
}

std::vector<double> silhouettes_against_sample(const SilhouetteSample& sample,
                                               const FeatureMatrix& targets,
                                               const std::vector<std::int32_t>& target_labels) {
  const auto k = static_cast<int>(sample.segment_sizes.size());
  std::vector<double> silhouettes;
  silhouettes.reserve(target_labels.size());
  constexpr Eigen::Index chunk = 256;  // bounds the chunk × k distance sums in memory
  for (Eigen::Index start = 0; start < targets.rows(); start += chunk) {
    const Eigen::Index count = std::min(chunk, targets.rows() - start);
    std::vector<ExactSum> pair_sums(static_cast<std::size_t>(count) * k, 0);
    accumulate_pairwise_distance_sums(targets.middleRows(start, count), sample.rows, sample.labels,
                                      k, sample.format, pair_sums);
    const std::vector<std::int32_t> chunk_labels(target_labels.begin() + start,
                                                 target_labels.begin() + start + count);
    for (double s : silhouette_from_distance_sums(pair_sums, chunk_labels, sample.segment_sizes,
                                                  sample.format)) {
      silhouettes.push_back(s);
    }
  }
  return silhouettes;
}

}  // namespace microseg
