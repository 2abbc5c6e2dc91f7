#include "microseg/distributed/quality.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <optional>
#include <string>

#include "microseg/core/first_items.hpp"
#include "microseg/core/quality.hpp"
#include "microseg/core/random.hpp"

namespace microseg::distributed {
namespace {

const double nan = std::numeric_limits<double>::quiet_NaN();

// The fixed-point grids of the final assignment's sums, from the global bounds: a distance is at
// most twice the largest row norm (centroids lie in the rows' convex hull). With sample weights
// every term is weighted, so each bound is times the largest weight (1 without weights).
struct QualityFormats {
  explicit QualityFormats(const RankRows& rows)
      : distance(FixedPointFormat::for_bound(2 * rows.max_row_norm() * rows.weight_bound(),
                                             rows.total())),
        squared(FixedPointFormat::for_bound(
            4 * rows.max_row_norm() * rows.max_row_norm() * rows.weight_bound(), rows.total())),
        unit(FixedPointFormat::for_bound(std::max(1.0, rows.weight_bound()), rows.total())),
        weight(FixedPointFormat::for_bound(rows.weight_bound(), rows.total())),
        features(formats_for_bounds(rows.weighted_feature_bounds(), rows.total())) {}
  FixedPointFormat distance, squared, unit, weight;
  std::vector<FixedPointFormat> features;
};

// Segment means from the labels, as scikit-learn's metrics take them (weighted means with sample
// weights), and each segment's size: its customers, or its total weight.
struct SegmentMeans {
  CentroidMatrix means;
  std::vector<double> overall_mean;
  std::vector<std::int64_t> counts;
  std::vector<double> sizes;  // counts, or Σ w
};

// Per segment and feature Σ x (Σ w·x with weights) and per segment Σ w, summed across ranks.
struct SegmentSums {
  std::vector<ExactSum> features, weights;
  std::vector<std::int64_t> counts;
};

SegmentSums segment_sums(const RankRows& rows, const std::vector<std::int32_t>& labels, int k,
                         const QualityFormats& formats) {
  const int d = rows.d();
  const std::vector<float>& weights = rows.weights();
  SegmentSums sums{std::vector<ExactSum>(static_cast<std::size_t>(k) * d, 0),
                   std::vector<ExactSum>(rows.weighted() ? k : 0, 0),
                   std::vector<std::int64_t>(k, 0)};
  for (std::size_t i = 0; i < labels.size(); ++i) {
    const int s = labels[i];
    ++sums.counts[s];
    ExactSum* segment = sums.features.data() + static_cast<std::size_t>(s) * d;
    const auto row = static_cast<Eigen::Index>(i);
    if (rows.weighted()) {
      const double w = weights[i];
      sums.weights[s] += formats.weight.to_fixed(w);
      for (int j = 0; j < d; ++j) {
        segment[j] += formats.features[j].to_fixed(rows.features()(row, j) * w);
      }
    } else {
      for (int j = 0; j < d; ++j)
        segment[j] += formats.features[j].to_fixed(rows.features()(row, j));
    }
  }
  rows.comm().sum_in_place(sums.features);
  rows.comm().sum_in_place(sums.counts);
  if (rows.weighted()) rows.comm().sum_in_place(sums.weights);
  return sums;
}

SegmentMeans segment_means(const RankRows& rows, const std::vector<std::int32_t>& labels, int k,
                           const QualityFormats& formats) {
  const int d = rows.d();
  const SegmentSums sums = segment_sums(rows, labels, k, formats);
  SegmentMeans result;
  result.counts = sums.counts;
  for (int s = 0; s < k; ++s) {
    if (result.counts[s] == 0) {
      rows.comm().agree("segment " + std::to_string(s) + " of k = " + std::to_string(k) +
                        " has no customers nearest to its final centroid: the data has fewer than "
                        "k distinct customers, or the fit stopped at --max-iter long before "
                        "converging (raise --max-iter)");
    }
    result.sizes.push_back(rows.weighted() ? formats.weight.to_double(sums.weights[s])
                                           : static_cast<double>(result.counts[s]));
    if (result.sizes.back() == 0) {
      rows.comm().agree("segment " + std::to_string(s) + " of k = " + std::to_string(k) +
                        " holds only customers of sample weight 0 nearest to its final centroid: "
                        "the fit stopped at --max-iter before converging (raise --max-iter)");
    }
  }
  result.means.resize(k, d);
  result.overall_mean.assign(d, 0.0);
  for (int j = 0; j < d; ++j) {
    ExactSum column_total = 0;
    for (int s = 0; s < k; ++s) {
      const ExactSum sum = sums.features[static_cast<std::size_t>(s) * d + j];
      column_total += sum;
      result.means(s, j) = formats.features[j].to_double(sum) / result.sizes[s];
    }
    result.overall_mean[j] = formats.features[j].to_double(column_total) / rows.total_weight();
  }
  return result;
}

// Calinski–Harabasz and Davies–Bouldin from the dispersion around the segment means (weighted
// dispersion, sizes and means with sample weights).
void dispersion_metrics(const RankRows& rows, const std::vector<std::int32_t>& labels,
                        const QualityFormats& formats, const SegmentMeans& means,
                        QualityReport& quality) {
  const auto k = static_cast<int>(means.counts.size());
  DispersionSums dispersion(k);
  if (rows.weighted()) {
    accumulate_weighted_dispersion(rows.features(), rows.weights(), labels, means.means,
                                   {formats.distance, formats.squared}, dispersion);
  } else {
    accumulate_dispersion(rows.features(), labels, means.means, formats.distance, formats.squared,
                          dispersion);
  }
  rows.comm().sum_in_place(dispersion.distance_sums);
  const double within = formats.squared.to_double(rows.comm().sum(dispersion.squared_distance_sum));
  quality.calinski_harabasz =
      rows.weighted()
          ? weighted_calinski_harabasz(rows.total_weight(), means.sizes, means.means,
                                       means.overall_mean, within)
          : calinski_harabasz(rows.total(), means.counts, means.means, means.overall_mean, within);
  std::vector<double> mean_distance(k);
  for (int s = 0; s < k; ++s) {
    mean_distance[s] = formats.distance.to_double(dispersion.distance_sums[s]) / means.sizes[s];
  }
  quality.davies_bouldin = davies_bouldin(means.means, mean_distance);
}

// A row's place in the sample order: its keyed hash, then its global row.
struct KeyedRow {
  std::uint64_t key;
  std::int64_t row;
};

bool before(const KeyedRow& a, const KeyedRow& b) {
  return a.key != b.key ? a.key < b.key : a.row < b.row;
}

// This rank's rows of the uniform sample: the m rows with the smallest keys overall (every row
// when m = n). Each rank offers its m smallest; every rank finds the same m-th key.
std::vector<std::size_t> local_sample_rows(const RankRows& rows, std::int64_t m,
                                           std::uint64_t seed) {
  const auto key_of = [&](std::size_t i) {
    const std::int64_t row = rows.rows().begin + static_cast<std::int64_t>(i);
    return KeyedRow{
        keyed_hash(seed, RandomStream::silhouette_sample, static_cast<std::uint64_t>(row)), row};
  };
  const auto count = static_cast<std::size_t>(rows.rows().size());
  std::optional<KeyedRow> threshold;  // the m-th smallest key overall; none when m = n
  if (m < rows.total()) {
    const std::vector<KeyedRow> smallest =
        first_items<KeyedRow>(count, static_cast<std::size_t>(m), key_of, before);
    std::vector<KeyedRow> all = rows.comm().all_gather(smallest);
    std::nth_element(all.begin(), all.begin() + (m - 1), all.end(), before);
    threshold = all[static_cast<std::size_t>(m - 1)];
  }
  std::vector<std::size_t> chosen;
  for (std::size_t i = 0; i < count; ++i) {
    if (!threshold || !before(*threshold, key_of(i))) chosen.push_back(i);
  }
  return chosen;
}

// The exact silhouette on a uniform sample: the sample is gathered to every rank (sample × d
// floats) and each rank scores its own sampled rows against it in sample order, so every sum runs
// in the same order for any rank count.
double sampled_silhouette(const RankRows& rows, const std::vector<std::int32_t>& labels, int k,
                          const QualityFormats& formats, std::int64_t m, std::uint64_t seed) {
  const GatheredSample sample = gather_sample(rows, labels, local_sample_rows(rows, m, seed));
  const auto sample_rows = static_cast<Eigen::Index>(sample.all_labels.size());
  std::vector<std::int64_t> sample_sizes(k, 0);
  for (std::int32_t s : sample.all_labels) ++sample_sizes[s];
  const SilhouetteSample against{sample.all, sample.all_labels, sample_sizes,
                                 FixedPointFormat::for_bound(2 * rows.max_row_norm(), sample_rows)};
  ExactSum total = 0;
  for (double s : silhouettes_against_sample(against, sample.mine, sample.mine_labels)) {
    total += formats.unit.to_fixed(s);
  }
  return formats.unit.to_double(rows.comm().sum(total)) / static_cast<double>(sample_rows);
}

}  // namespace

GatheredSample gather_sample(const RankRows& rows, const std::vector<std::int32_t>& labels,
                             const std::vector<std::size_t>& chosen) {
  const int d = rows.d();
  std::vector<float> local_rows;
  GatheredSample sample;
  for (std::size_t i : chosen) {
    sample.mine_labels.push_back(labels[i]);
    for (int j = 0; j < d; ++j) {
      local_rows.push_back(rows.features()(static_cast<Eigen::Index>(i), j));
    }
  }
  const std::vector<float> all_rows = rows.comm().all_gather(local_rows);
  sample.all_labels = rows.comm().all_gather(sample.mine_labels);
  sample.mine = Eigen::Map<const FeatureMatrix>(
      local_rows.data(), static_cast<Eigen::Index>(sample.mine_labels.size()), d);
  sample.all = Eigen::Map<const FeatureMatrix>(
      all_rows.data(), static_cast<Eigen::Index>(sample.all_labels.size()), d);
  return sample;
}

double exact_inertia(const RankRows& rows, const std::vector<double>& nearest_distances) {
  const FixedPointFormat squared_format = FixedPointFormat::for_bound(
      4 * rows.max_row_norm() * rows.max_row_norm() * rows.weight_bound(), rows.total());
  ExactSum local = 0;
  if (rows.weighted()) {
    for (std::size_t i = 0; i < nearest_distances.size(); ++i) {
      const double distance = nearest_distances[i];
      local += squared_format.to_fixed(distance * distance * rows.weights()[i]);
    }
  } else {
    for (double distance : nearest_distances) local += squared_format.to_fixed(distance * distance);
  }
  return squared_format.to_double(rows.comm().sum(local));
}

FinalAssignment assign_and_measure(const RankRows& rows, const CentroidMatrix& centroids,
                                   const SilhouetteSampling& sampling,
                                   std::optional<NearestTwo> nearest, bool keep_margins) {
  const auto k = static_cast<int>(centroids.rows());
  const QualityFormats formats(rows);
  FinalAssignment result;
  QualityReport& quality = result.quality;
  {
    // The second-nearest distances serve the simplified silhouette only; they are freed at once,
    // so the final assignment holds no more per row than the fit did.
    NearestTwo assigned = nearest ? std::move(*nearest) : nearest_two(rows.features(), centroids);
    // With sample weights the weighted mean Σ w·s / Σ w (w·s rounded once per row).
    ExactSum simplified = 0;
    for (std::size_t i = 0; i < assigned.nearest.size(); ++i) {
      const double s =
          simplified_silhouette(assigned.nearest_distance[i], assigned.second_distance[i]);
      simplified += formats.unit.to_fixed(rows.weighted() ? s * rows.weights()[i] : s);
    }
    quality.inertia = exact_inertia(rows, assigned.nearest_distance);
    quality.silhouette_simplified =
        formats.unit.to_double(rows.comm().sum(simplified)) / rows.total_weight();
    if (keep_margins) {
      result.margins.resize(assigned.nearest.size());
      for (std::size_t i = 0; i < assigned.nearest.size(); ++i) {
        result.margins[i] = assigned.second_distance[i] - assigned.nearest_distance[i];
      }
    }
    result.segments = std::move(assigned.nearest);
    result.distances = std::move(assigned.nearest_distance);
  }
  const SegmentMeans means = segment_means(rows, result.segments, k, formats);
  quality.calinski_harabasz = quality.davies_bouldin = nan;
  if (k >= 2) dispersion_metrics(rows, result.segments, formats, means, quality);
  const std::int64_t m = std::min(sampling.size, rows.total());
  quality.silhouette_sample_size = m;
  quality.silhouette_sampled =
      m < 2 || k < 2 ? nan
                     : sampled_silhouette(rows, result.segments, k, formats, m, sampling.seed);
  return result;
}

}  // namespace microseg::distributed
