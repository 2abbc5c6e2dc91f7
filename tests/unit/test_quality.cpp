#include <algorithm>
#include <catch2/catch.hpp>
#include <cmath>
#include <limits>
#include <random>
#include <set>
#include <vector>

#include "microseg/core/assignment.hpp"
#include "microseg/core/quality.hpp"

using namespace microseg;

namespace {

// Three loose clusters in d = 4, labelled by cluster; segment 3 is left empty and row 0 is made a
// segment of its own (label 4), so the metrics meet both edge cases.
struct Labelled {
  FeatureMatrix features;
  std::vector<std::int32_t> labels;
  int k = 5;
};

Labelled labelled_data(int n, std::uint64_t seed) {
  std::mt19937_64 engine(seed);
  std::normal_distribution<float> noise(0.0f, 1.5f);
  Labelled data{FeatureMatrix(n, 4), std::vector<std::int32_t>(n), 5};
  for (int i = 0; i < n; ++i) {
    const int cluster = i % 3;
    for (int j = 0; j < 4; ++j)
      data.features(i, j) = 4.0f * cluster * (j % 2 ? 1 : -1) + noise(engine);
    data.labels[i] = cluster;
  }
  data.labels[0] = 4;
  return data;
}

// Plain loops rather than Eigen reductions: GCC 12 warns inside Eigen's AVX-512 reductions.
double squared_norm(const Eigen::RowVectorXd& v) {
  double sum = 0;
  for (Eigen::Index j = 0; j < v.size(); ++j) sum += v(j) * v(j);
  return sum;
}

double distance(const FeatureMatrix& x, int a, const Eigen::RowVectorXd& center) {
  return std::sqrt(squared_norm(x.row(a).cast<double>() - center));
}

double distance(const FeatureMatrix& x, int a, int b) {
  return std::sqrt(squared_norm(x.row(a).cast<double>() - x.row(b).cast<double>()));
}

std::vector<int> occupied_labels(const std::vector<std::int32_t>& labels) {
  const std::set<int> present(labels.begin(), labels.end());
  return std::vector<int>(present.begin(), present.end());
}

Eigen::RowVectorXd brute_mean(const FeatureMatrix& x, const std::vector<std::int32_t>& labels,
                              int label) {
  Eigen::RowVectorXd sum = Eigen::RowVectorXd::Zero(x.cols());
  int count = 0;
  for (int i = 0; i < x.rows(); ++i) {
    if (labels[i] != label && label >= 0) continue;
    sum += x.row(i).cast<double>();
    ++count;
  }
  return sum / count;
}

// sklearn.metrics.calinski_harabasz_score, written out.
double brute_calinski_harabasz(const FeatureMatrix& x, const std::vector<std::int32_t>& labels) {
  const std::vector<int> present = occupied_labels(labels);
  const Eigen::RowVectorXd mean = brute_mean(x, labels, -1);
  double extra = 0, intra = 0;
  for (int label : present) {
    const Eigen::RowVectorXd mean_k = brute_mean(x, labels, label);
    for (int i = 0; i < x.rows(); ++i) {
      if (labels[i] != label) continue;
      extra += squared_norm(mean_k - mean);
      intra += squared_norm(x.row(i).cast<double>() - mean_k);
    }
  }
  const double n = x.rows(), k = present.size();
  return intra == 0 ? 1.0 : extra * (n - k) / (intra * (k - 1));
}

// sklearn.metrics.davies_bouldin_score, written out.
double brute_davies_bouldin(const FeatureMatrix& x, const std::vector<std::int32_t>& labels) {
  const std::vector<int> present = occupied_labels(labels);
  const std::size_t k = present.size();
  std::vector<Eigen::RowVectorXd> means;
  std::vector<double> intra;
  for (int label : present) {
    means.push_back(brute_mean(x, labels, label));
    double sum = 0;
    int count = 0;
    for (int i = 0; i < x.rows(); ++i) {
      if (labels[i] != label) continue;
      sum += distance(x, i, means.back());
      ++count;
    }
    intra.push_back(sum / count);
  }
  double total = 0;
  for (std::size_t a = 0; a < k; ++a) {
    double worst = 0;
    for (std::size_t b = 0; b < k; ++b) {
      double d = std::sqrt(squared_norm(means[a] - means[b]));
      if (d == 0) d = std::numeric_limits<double>::infinity();
      worst = std::max(worst, (intra[a] + intra[b]) / d);
    }
    total += worst;
  }
  return total / k;
}

// sklearn.metrics.silhouette_samples, written out.
std::vector<double> brute_silhouette(const FeatureMatrix& x,
                                     const std::vector<std::int32_t>& labels) {
  const std::vector<int> present = occupied_labels(labels);
  std::vector<double> result(x.rows(), 0.0);
  for (int a = 0; a < x.rows(); ++a) {
    double same = 0;
    int same_count = 0;
    double nearest_other = std::numeric_limits<double>::infinity();
    for (int label : present) {
      double sum = 0;
      int count = 0;
      for (int b = 0; b < x.rows(); ++b) {
        if (labels[b] != label) continue;
        sum += distance(x, a, b);
        ++count;
      }
      if (label == labels[a]) {
        same = sum;
        same_count = count;
      } else {
        nearest_other = std::min(nearest_other, sum / count);
      }
    }
    if (same_count <= 1) continue;
    const double intra = same / (same_count - 1);
    result[a] = (nearest_other - intra) / std::max(intra, nearest_other);
  }
  return result;
}

struct Pieces {
  std::vector<std::int64_t> counts;
  CentroidMatrix means;
  std::vector<double> overall_mean;
  DispersionSums dispersion;
  std::vector<double> mean_distance;
};

Pieces pieces_of(const Labelled& data) {
  const int k = data.k, d = static_cast<int>(data.features.cols());
  Pieces pieces{std::vector<std::int64_t>(k, 0), CentroidMatrix::Zero(k, d),
                std::vector<double>(d, 0.0), DispersionSums(k), std::vector<double>(k)};
  for (int i = 0; i < data.features.rows(); ++i) {
    ++pieces.counts[data.labels[i]];
    pieces.means.row(data.labels[i]) += data.features.row(i).cast<double>();
  }
  for (int c = 0; c < k; ++c) pieces.means.row(c) /= static_cast<double>(pieces.counts[c]);
  const Eigen::RowVectorXd overall = brute_mean(data.features, data.labels, -1);
  for (int j = 0; j < d; ++j) pieces.overall_mean[j] = overall(j);
  const auto n = data.features.rows();
  const FixedPointFormat distance_format = FixedPointFormat::for_bound(100.0, n);
  const FixedPointFormat squared_format = FixedPointFormat::for_bound(1e4, n);
  accumulate_dispersion(data.features, data.labels, pieces.means, distance_format, squared_format,
                        pieces.dispersion);
  for (int c = 0; c < k; ++c) {
    pieces.mean_distance[c] = distance_format.to_double(pieces.dispersion.distance_sums[c]) /
                              static_cast<double>(pieces.counts[c]);
  }
  return pieces;
}

}  // namespace

TEST_CASE("accumulate_dispersion sums distances and squared distances to the label means",
          "[quality]") {
  const Labelled data = labelled_data(90, 1);
  const Pieces pieces = pieces_of(data);
  const FixedPointFormat distance_format = FixedPointFormat::for_bound(100.0, 90);
  const FixedPointFormat squared_format = FixedPointFormat::for_bound(1e4, 90);
  std::vector<double> distance_sums(data.k, 0.0);
  double squared_sum = 0;
  for (int i = 0; i < 90; ++i) {
    const double dist = distance(data.features, i, pieces.means.row(data.labels[i]));
    distance_sums[data.labels[i]] += dist;
    squared_sum += dist * dist;
  }
  for (int c = 0; c < data.k; ++c) {
    CHECK(distance_format.to_double(pieces.dispersion.distance_sums[c]) ==
          Approx(distance_sums[c]).epsilon(1e-12).margin(1e-12));
  }
  CHECK(squared_format.to_double(pieces.dispersion.squared_distance_sum) ==
        Approx(squared_sum).epsilon(1e-12));

  DispersionSums top(data.k), bottom(data.k);
  accumulate_dispersion(data.features.topRows(31), {data.labels.begin(), data.labels.begin() + 31},
                        pieces.means, distance_format, squared_format, top);
  accumulate_dispersion(data.features.bottomRows(59), {data.labels.begin() + 31, data.labels.end()},
                        pieces.means, distance_format, squared_format, bottom);
  CHECK(top.squared_distance_sum + bottom.squared_distance_sum ==
        pieces.dispersion.squared_distance_sum);
  for (int c = 0; c < data.k; ++c) {
    CHECK(top.distance_sums[c] + bottom.distance_sums[c] == pieces.dispersion.distance_sums[c]);
  }
}

TEST_CASE("calinski_harabasz matches scikit-learn's definition and ignores empty segments",
          "[quality]") {
  const Labelled data = labelled_data(150, 2);
  const Pieces pieces = pieces_of(data);
  const FixedPointFormat squared_format = FixedPointFormat::for_bound(1e4, 150);
  const double score =
      calinski_harabasz(150, pieces.counts, pieces.means, pieces.overall_mean,
                        squared_format.to_double(pieces.dispersion.squared_distance_sum));
  CHECK(score == Approx(brute_calinski_harabasz(data.features, data.labels)).epsilon(1e-10));
  CHECK(score > 10);  // well-separated clusters
}

TEST_CASE("calinski_harabasz is 1 with no within-segment dispersion or a single segment",
          "[quality]") {
  CentroidMatrix means(2, 1);
  means << 0.0, 4.0;
  CHECK(calinski_harabasz(4, {2, 2}, means, {2.0}, 0.0) == 1.0);
  CHECK(calinski_harabasz(4, {4, 0}, means, {0.0}, 3.0) == 1.0);
  // Hand value: B = 2·4 + 2·4 = 16, W = 2, n = 4, k = 2: (16 / 1) / (2 / 2) = 16.
  CHECK(calinski_harabasz(4, {2, 2}, means, {2.0}, 2.0) == 16.0);
}

TEST_CASE("davies_bouldin matches scikit-learn's definition with an empty segment passed as NaN",
          "[quality]") {
  const Labelled data = labelled_data(150, 3);
  Pieces pieces = pieces_of(data);
  REQUIRE(std::isnan(pieces.mean_distance[3]));  // 0 / 0 for the empty segment
  const double score = davies_bouldin(pieces.means, pieces.mean_distance);
  CHECK(score == Approx(brute_davies_bouldin(data.features, data.labels)).epsilon(1e-10));
}

TEST_CASE("davies_bouldin handles coincident means as infinitely far and all-zero spreads as 0",
          "[quality]") {
  CentroidMatrix means(3, 1);
  means << 0.0, 0.0, 10.0;
  // Pairs (0,1) coincide: ratio 0. s = {1, 3, 2}: row 0: max((1+2)/10) = 0.3, row 1: 0.5,
  // row 2: max(0.3, 0.5) = 0.5; mean = 1.3 / 3.
  CHECK(davies_bouldin(means, {1.0, 3.0, 2.0}) == Approx(1.3 / 3));
  CHECK(davies_bouldin(means, {0.0, 0.0, 0.0}) == 0.0);
  CentroidMatrix same = CentroidMatrix::Zero(2, 2);
  CHECK(davies_bouldin(same, {1.0, 2.0}) == 0.0);
}

TEST_CASE("simplified_silhouette is (b - a) / max(a, b) and 0 for k = 1 or a = b = 0",
          "[quality]") {
  CHECK(simplified_silhouette(1.0, 3.0) == Approx(2.0 / 3));
  CHECK(simplified_silhouette(3.0, 1.0) == Approx(-2.0 / 3));
  CHECK(simplified_silhouette(2.0, 2.0) == 0.0);
  CHECK(simplified_silhouette(0.0, 0.0) == 0.0);
  CHECK(simplified_silhouette(0.0, 5.0) == 1.0);
  CHECK(simplified_silhouette(1.0, std::numeric_limits<double>::infinity()) == 0.0);
}

TEST_CASE("pairwise distance sums give scikit-learn's silhouette, 0 for a row alone", "[quality]") {
  const Labelled data = labelled_data(240, 4);
  const FixedPointFormat format = FixedPointFormat::for_bound(100.0, 240);
  std::vector<ExactSum> sums(240 * data.k, 0);
  accumulate_pairwise_distance_sums(data.features, data.features, data.labels, data.k, format,
                                    sums);
  std::vector<std::int64_t> sizes(data.k, 0);
  for (std::int32_t label : data.labels) ++sizes[label];
  const std::vector<double> silhouette =
      silhouette_from_distance_sums(sums, data.labels, sizes, format);
  const std::vector<double> expected = brute_silhouette(data.features, data.labels);
  REQUIRE(silhouette.size() == 240);
  CHECK(silhouette[0] == 0.0);  // label 4 holds row 0 only
  for (int i = 0; i < 240; ++i)
    CHECK(silhouette[i] == Approx(expected[i]).epsilon(1e-10).margin(1e-12));
  for (int i = 0; i < 240; ++i) {
    for (int c = 0; c < data.k; ++c) {
      double hand = 0;
      for (int b = 0; b < 240; ++b) {
        if (data.labels[b] == c) hand += distance(data.features, i, b);
      }
      REQUIRE(format.to_double(sums[i * data.k + c]) == Approx(hand).epsilon(1e-12).margin(1e-12));
    }
  }
}

TEST_CASE("pairwise distance sums are identical for any split of targets and others", "[quality]") {
  const Labelled data = labelled_data(700, 5);
  const FixedPointFormat format = FixedPointFormat::for_bound(100.0, 700);
  std::vector<ExactSum> whole(700 * data.k, 0);
  accumulate_pairwise_distance_sums(data.features, data.features, data.labels, data.k, format,
                                    whole);

  // Others arrive in three ring steps of uneven size; targets in two blocks.
  const Eigen::Index others_split[4] = {0, 301, 302, 700};
  const Eigen::Index target_split[3] = {0, 13, 700};
  for (int t = 0; t < 2; ++t) {
    const Eigen::Index t0 = target_split[t], t_count = target_split[t + 1] - t0;
    std::vector<ExactSum> part(t_count * data.k, 0);
    for (int o = 0; o < 3; ++o) {
      const Eigen::Index o0 = others_split[o], o_count = others_split[o + 1] - o0;
      accumulate_pairwise_distance_sums(
          data.features.middleRows(t0, t_count), data.features.middleRows(o0, o_count),
          {data.labels.begin() + o0, data.labels.begin() + o0 + o_count}, data.k, format, part);
    }
    for (Eigen::Index i = 0; i < t_count * data.k; ++i) REQUIRE(part[i] == whole[t0 * data.k + i]);
  }
}

TEST_CASE("pairwise distance sums hold exactly one to_fixed(distance) per pair", "[quality]") {
  const Labelled data = labelled_data(60, 6);
  // Generous bounds put the scaled distances below 2^63, a tight one above it.
  for (double bound : {50.0, 1e19, 1e30}) {
    const FixedPointFormat format = FixedPointFormat::for_bound(bound, 60);
    std::vector<ExactSum> sums(60 * data.k, 0);
    accumulate_pairwise_distance_sums(data.features, data.features, data.labels, data.k, format,
                                      sums);
    for (int a = 0; a < 60; ++a) {
      std::vector<ExactSum> expected(data.k, 0);
      for (int b = 0; b < 60; ++b) {
        const Eigen::RowVectorXd other = data.features.row(b).cast<double>();
        expected[data.labels[b]] += format.to_fixed(
            std::sqrt(squared_distance(data.features.row(a).data(), other.data(), 4)));
      }
      for (int c = 0; c < data.k; ++c) REQUIRE(sums[a * data.k + c] == expected[c]);
    }
  }
}

TEST_CASE("a row's distance to an identical row adds exactly nothing", "[quality]") {
  FeatureMatrix row(1, 3);
  row << 0.1f, -7.3f, 1e3f;
  const FixedPointFormat format = FixedPointFormat::for_bound(1e4, 2);
  std::vector<ExactSum> sums(2, 0);
  accumulate_pairwise_distance_sums(row, row, {1}, 2, format, sums);
  CHECK(sums[0] == 0);
  CHECK(sums[1] == 0);
}

TEST_CASE("silhouette_from_distance_sums is 0 without another occupied segment or with a = b = 0",
          "[quality]") {
  const FixedPointFormat format = FixedPointFormat::for_bound(10.0, 4);
  // Two rows in segment 0 at distance 2 from each other, segment 1 empty.
  std::vector<ExactSum> sums = {format.to_fixed(2.0), 0, format.to_fixed(2.0), 0};
  CHECK(silhouette_from_distance_sums(sums, {0, 0}, {2, 0}, format) == std::vector<double>{0, 0});
  // Duplicated rows in two segments: a = b = 0.
  std::vector<ExactSum> zeros(4, 0);
  CHECK(silhouette_from_distance_sums(zeros, {0, 1}, {2, 2}, format) == std::vector<double>{0, 0});
  // Hand value: a = 2 / 1, b = 9 / 3 → (3 - 2) / 3.
  std::vector<ExactSum> one = {format.to_fixed(2.0), format.to_fixed(9.0)};
  CHECK(silhouette_from_distance_sums(one, {0}, {2, 3}, format)[0] == Approx(1.0 / 3));
}
