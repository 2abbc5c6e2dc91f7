#include <algorithm>
#include <catch2/catch.hpp>
#include <cmath>
#include <limits>
#include <numeric>
#include <random>
#include <vector>

#include "microseg/core/assignment.hpp"

using namespace microseg;

namespace {

FeatureMatrix random_features(Eigen::Index rows, Eigen::Index cols, std::uint64_t seed,
                              float spread = 5.0f) {
  std::mt19937_64 engine(seed);
  std::normal_distribution<float> value(0.0f, spread);
  FeatureMatrix features(rows, cols);
  for (Eigen::Index i = 0; i < rows; ++i) {
    for (Eigen::Index j = 0; j < cols; ++j) features(i, j) = value(engine);
  }
  return features;
}

CentroidMatrix random_centroids(Eigen::Index k, Eigen::Index d, std::uint64_t seed) {
  std::mt19937_64 engine(seed);
  std::normal_distribution<double> value(0.0, 5.0);
  CentroidMatrix centroids(k, d);
  for (Eigen::Index c = 0; c < k; ++c) {
    for (Eigen::Index j = 0; j < d; ++j) centroids(c, j) = value(engine);
  }
  return centroids;
}

double brute_squared_distance(const FeatureMatrix& features, Eigen::Index i,
                              const CentroidMatrix& centroids, Eigen::Index c) {
  double sum = 0;
  for (Eigen::Index j = 0; j < features.cols(); ++j) {
    const double delta = static_cast<double>(features(i, j)) - centroids(c, j);
    sum += delta * delta;
  }
  return sum;
}

// The indices of the nearest and second-nearest centroid of row i in double (tie: lowest).
std::pair<int, int> brute_nearest_two(const FeatureMatrix& features, Eigen::Index i,
                                      const CentroidMatrix& centroids) {
  std::vector<int> order(centroids.rows());
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(), [&](int a, int b) {
    return brute_squared_distance(features, i, centroids, a) <
           brute_squared_distance(features, i, centroids, b);
  });
  return {order[0], order.size() > 1 ? order[1] : -1};
}

// Whether the double distances to the two nearest centroids differ clearly, so float rounding in
// the kernel cannot swap them.
bool well_separated(const FeatureMatrix& features, Eigen::Index i,
                    const CentroidMatrix& centroids) {
  const auto [first, second] = brute_nearest_two(features, i, centroids);
  const double a = brute_squared_distance(features, i, centroids, first);
  const double b = brute_squared_distance(features, i, centroids, second);
  double scale = 0;  // ‖x‖² + ‖c‖², in a loop: GCC 12 warns inside Eigen's AVX-512 reductions
  for (Eigen::Index j = 0; j < features.cols(); ++j) {
    const double x = features(i, j), c = centroids(second, j);
    scale += x * x + c * c;
  }
  return b - a > 1e-4 * scale;
}

struct Assignment {
  std::vector<std::int32_t> labels;
  std::vector<float> distances;
  LloydSums sums;
};

std::vector<FixedPointFormat64> lloyd_formats(const FeatureMatrix& features) {
  double bound = 0;
  for (Eigen::Index i = 0; i < features.rows(); ++i) {
    for (Eigen::Index j = 0; j < features.cols(); ++j)
      bound = std::max<double>(bound, std::fabs(features(i, j)));
  }
  return std::vector<FixedPointFormat64>(features.cols(),
                                         FixedPointFormat64::for_bound(bound, features.rows()));
}

Assignment assign(const FeatureMatrix& features, const CentroidMatrix& centroids,
                  const std::vector<FixedPointFormat64>& formats) {
  Assignment result{
      {}, {}, LloydSums(static_cast<int>(centroids.rows()), static_cast<int>(centroids.cols()))};
  const std::vector<float> norms = row_squared_norms(features);
  assign_and_accumulate(LloydRows{features, norms, formats}, AssignmentCentroids(centroids),
                        result.labels, result.distances, result.sums);
  return result;
}

}  // namespace

TEST_CASE("AssignmentCentroids transposes to float and pads k to 16 lanes that cannot win",
          "[assignment]") {
  const CentroidMatrix centroids = random_centroids(5, 3, 1);
  const AssignmentCentroids layout(centroids);
  REQUIRE(layout.k() == 5);
  REQUIRE(layout.d() == 3);
  REQUIRE(layout.k_padded() == 16);
  for (int j = 0; j < 3; ++j) {
    for (int c = 0; c < 16; ++c) {
      const float expected = c < 5 ? static_cast<float>(centroids(c, j)) : 0.0f;
      CHECK(layout.transposed()[j * 16 + c] == expected);
    }
  }
  for (int c = 0; c < 5; ++c) {
    const double norm = centroids.row(c).cast<float>().cast<double>().squaredNorm();
    CHECK(layout.squared_norms()[c] == Approx(norm).epsilon(1e-6));
  }
  for (int c = 5; c < 16; ++c) CHECK(std::isinf(layout.squared_norms()[c]));

  CHECK(AssignmentCentroids(random_centroids(16, 2, 2)).k_padded() == 16);
  CHECK(AssignmentCentroids(random_centroids(17, 2, 2)).k_padded() == 32);
  CHECK(AssignmentCentroids(random_centroids(1000, 2, 2)).k_padded() == 1008);
}

TEST_CASE("row_squared_norms matches the double norm of every row", "[assignment]") {
  const FeatureMatrix features = random_features(20, 7, 3);
  const std::vector<float> norms = row_squared_norms(features);
  REQUIRE(norms.size() == 20);
  for (Eigen::Index i = 0; i < 20; ++i) {
    CHECK(norms[i] == Approx(features.row(i).cast<double>().squaredNorm()).epsilon(1e-7));
  }
}

TEST_CASE("assign_and_accumulate labels match a brute-force double argmin on separated rows",
          "[assignment]") {
  for (int k : {1, 3, 16, 37}) {
    const FeatureMatrix features = random_features(503, 11, 10 + k);
    const CentroidMatrix centroids = random_centroids(k, 11, 20 + k);
    const Assignment result = assign(features, centroids, lloyd_formats(features));
    int compared = 0;
    for (Eigen::Index i = 0; i < features.rows(); ++i) {
      const double exact = brute_squared_distance(features, i, centroids, result.labels[i]);
      CHECK(result.distances[i] == Approx(exact).epsilon(1e-4).margin(1e-3));
      if (k > 1 && !well_separated(features, i, centroids)) continue;
      ++compared;
      CHECK(result.labels[i] == brute_nearest_two(features, i, centroids).first);
    }
    INFO("k = " << k);
    CHECK(compared > 400);
  }
}

TEST_CASE("assign_and_accumulate breaks exact ties towards the lowest centroid index",
          "[assignment]") {
  CentroidMatrix centroids = random_centroids(6, 4, 5);
  centroids.row(4) = centroids.row(1);  // a duplicate of 1: equal kernel values
  centroids.row(5) = centroids.row(0);
  const FeatureMatrix features = random_features(300, 4, 6);
  const Assignment result = assign(features, centroids, lloyd_formats(features));
  int on_duplicated = 0;
  for (std::int32_t label : result.labels) {
    CHECK(label != 4);
    CHECK(label != 5);
    on_duplicated += label == 0 || label == 1;
  }
  CHECK(on_duplicated > 0);
}

TEST_CASE("padding lanes never win and give no NaN even when every real centroid overflows",
          "[assignment]") {
  CentroidMatrix far = CentroidMatrix::Constant(3, 2, 1e30);  // ‖c‖² overflows float to +inf
  far(1, 0) = -1e30;
  const FeatureMatrix features = random_features(10, 2, 7);
  const Assignment result = assign(features, far, lloyd_formats(features));
  for (Eigen::Index i = 0; i < features.rows(); ++i) {
    CHECK(result.labels[i] >= 0);
    CHECK(result.labels[i] < 3);
    CHECK_FALSE(std::isnan(result.distances[i]));
  }
}

TEST_CASE("assign_and_accumulate gives the same per-row results for any split or order of rows",
          "[assignment]") {
  const FeatureMatrix features = random_features(1001, 9, 30);
  const CentroidMatrix centroids = random_centroids(21, 9, 31);
  const auto formats = lloyd_formats(features);
  const Assignment whole = assign(features, centroids, formats);

  for (Eigen::Index split : {Eigen::Index{1}, Eigen::Index{7}, Eigen::Index{500}}) {
    const Assignment top = assign(features.topRows(split), centroids, formats);
    const Assignment bottom = assign(features.bottomRows(1001 - split), centroids, formats);
    for (Eigen::Index i = 0; i < 1001; ++i) {
      const Assignment& part = i < split ? top : bottom;
      const Eigen::Index at = i < split ? i : i - split;
      REQUIRE(part.labels[at] == whole.labels[i]);
      REQUIRE(part.distances[at] == whole.distances[i]);
    }
    for (std::size_t s = 0; s < whole.sums.sums.size(); ++s) {
      REQUIRE(top.sums.sums[s] + bottom.sums.sums[s] == whole.sums.sums[s]);
    }
    for (std::size_t c = 0; c < whole.sums.counts.size(); ++c) {
      REQUIRE(top.sums.counts[c] + bottom.sums.counts[c] == whole.sums.counts[c]);
    }
  }

  std::vector<Eigen::Index> order(1001);
  std::iota(order.begin(), order.end(), 0);
  std::shuffle(order.begin(), order.end(), std::mt19937_64(4));
  FeatureMatrix shuffled(1001, 9);
  for (Eigen::Index i = 0; i < 1001; ++i) shuffled.row(i) = features.row(order[i]);
  const Assignment permuted = assign(shuffled, centroids, formats);
  for (Eigen::Index i = 0; i < 1001; ++i) {
    REQUIRE(permuted.labels[i] == whole.labels[order[i]]);
    REQUIRE(permuted.distances[i] == whole.distances[order[i]]);
  }
  CHECK(permuted.sums.sums == whole.sums.sums);
  CHECK(permuted.sums.counts == whole.sums.counts);
}

TEST_CASE("LloydSums hold label counts and per-segment coordinate sums", "[assignment]") {
  const FeatureMatrix features = random_features(400, 5, 40);
  const CentroidMatrix centroids = random_centroids(7, 5, 41);
  const auto formats = lloyd_formats(features);
  const Assignment result = assign(features, centroids, formats);
  std::vector<std::int64_t> counts(7, 0);
  CentroidMatrix hand = CentroidMatrix::Zero(7, 5);
  for (Eigen::Index i = 0; i < 400; ++i) {
    ++counts[result.labels[i]];
    hand.row(result.labels[i]) += features.row(i).cast<double>();
  }
  CHECK(result.sums.counts == counts);
  for (int c = 0; c < 7; ++c) {
    for (int j = 0; j < 5; ++j) {
      CHECK(formats[j].to_double(result.sums.sums[c * 5 + j]) ==
            Approx(hand(c, j)).epsilon(1e-12).margin(400.0 / formats[j].scale()));
    }
  }
}

TEST_CASE("centroids_from_sums gives segment means and keeps empty segments where they were",
          "[assignment]") {
  const std::vector<FixedPointFormat64> formats(2, FixedPointFormat64::for_bound(10.0, 4));
  LloydSums sums(3, 2);
  const double rows[3][2] = {{1.0, 2.0}, {3.0, -4.0}, {-5.0, 0.5}};
  const int labels[3] = {0, 2, 0};
  for (int i = 0; i < 3; ++i) {
    for (int j = 0; j < 2; ++j) sums.sums[labels[i] * 2 + j] += formats[j].to_fixed(rows[i][j]);
    ++sums.counts[labels[i]];
  }
  CentroidMatrix previous(3, 2);
  previous << 9, 9, 7, 8, 9, 9;
  const CentroidMatrix next = centroids_from_sums(sums, formats, previous);
  CHECK(next(0, 0) == -2.0);
  CHECK(next(0, 1) == 1.25);
  CHECK(next(1, 0) == 7.0);
  CHECK(next(1, 1) == 8.0);
  CHECK(next(2, 0) == 3.0);
  CHECK(next(2, 1) == -4.0);
}

TEST_CASE("total_squared_shift sums the squared moves of all centroids", "[assignment]") {
  CentroidMatrix before(2, 2), after(2, 2);
  before << 0, 0, 1, 1;
  after << 3, 4, 1, -1;
  CHECK(total_squared_shift(before, after) == 25.0 + 4.0);
  CHECK(total_squared_shift(before, before) == 0.0);
}

TEST_CASE("squared_distance is the double squared Euclidean distance", "[assignment]") {
  const float row[3] = {1.5f, -2.0f, 0.25f};
  const double center[3] = {0.5, 1.0, 0.25};
  CHECK(squared_distance(row, center, 3) == 1.0 + 9.0);
  CHECK(squared_distance(row, center, 0) == 0.0);
}

TEST_CASE("nearest_two finds the two nearest centroids with exact double distances",
          "[assignment]") {
  const FeatureMatrix features = random_features(300, 6, 50);
  const CentroidMatrix centroids = random_centroids(9, 6, 51);
  const NearestTwo result = nearest_two(features, centroids);
  const Assignment assigned = assign(features, centroids, lloyd_formats(features));
  int compared = 0;
  for (Eigen::Index i = 0; i < 300; ++i) {
    CHECK(result.nearest[i] == assigned.labels[i]);
    CHECK(result.second[i] != result.nearest[i]);
    CHECK(result.nearest_distance[i] ==
          std::sqrt(squared_distance(features.row(i).data(),
                                     centroids.row(result.nearest[i]).data(), 6)));
    CHECK(result.second_distance[i] ==
          Approx(std::sqrt(brute_squared_distance(features, i, centroids, result.second[i]))));
    CHECK(result.nearest_distance[i] <= result.second_distance[i] * (1 + 1e-5));
    // The third-nearest must not be clearly closer than the reported second.
    std::vector<double> others;
    for (int c = 0; c < 9; ++c) {
      if (c != result.nearest[i])
        others.push_back(brute_squared_distance(features, i, centroids, c));
    }
    CHECK(std::sqrt(*std::min_element(others.begin(), others.end())) ==
          Approx(result.second_distance[i]).epsilon(1e-4));
    if (!well_separated(features, i, centroids)) continue;
    ++compared;
    CHECK(result.nearest[i] == brute_nearest_two(features, i, centroids).first);
  }
  CHECK(compared > 250);
}

TEST_CASE("nearest_two with one centroid reports second -1 at infinite distance", "[assignment]") {
  const FeatureMatrix features = random_features(5, 3, 60);
  const CentroidMatrix centroid = random_centroids(1, 3, 61);
  const NearestTwo result = nearest_two(features, centroid);
  for (Eigen::Index i = 0; i < 5; ++i) {
    CHECK(result.nearest[i] == 0);
    CHECK(result.second[i] == -1);
    CHECK(std::isinf(result.second_distance[i]));
    CHECK(result.nearest_distance[i] ==
          Approx(std::sqrt(brute_squared_distance(features, i, centroid, 0))));
  }
}

TEST_CASE("nearest_two breaks ties towards the lowest index for both places", "[assignment]") {
  CentroidMatrix centroids(4, 2);
  centroids << 0, 0, 10, 10, 0, 0, 10, 10;
  FeatureMatrix features(2, 2);
  features << 1, 1, 9, 9;
  const NearestTwo result = nearest_two(features, centroids);
  CHECK(result.nearest[0] == 0);
  CHECK(result.second[0] == 2);
  CHECK(result.second_distance[0] == result.nearest_distance[0]);
  CHECK(result.nearest[1] == 1);
  CHECK(result.second[1] == 3);
}
