// Sample weights (--sample-weight) in the core kernels: an integer weight w gives the sums of the
// row repeated w times, a weight of 0 removes the row from every sum but its count, the pruned
// Lloyd step keeps giving the plain step's weighted sums bit for bit, and the weighted
// statistics, dispersion, Calinski–Harabasz and profiles match their definitions.
#include <omp.h>

#include <catch2/catch.hpp>
#include <cmath>
#include <random>
#include <vector>

#include "microseg/core/assignment.hpp"
#include "microseg/core/feature_transform.hpp"
#include "microseg/core/profile.hpp"
#include "microseg/core/pruned_assignment.hpp"
#include "microseg/core/quality.hpp"
#include "microseg/core/scaling.hpp"

using namespace microseg;

namespace {

FeatureMatrix random_rows(Eigen::Index n, int d, std::uint64_t seed) {
  std::mt19937_64 engine(seed);
  std::normal_distribution<float> value(0.0f, 2.0f);
  FeatureMatrix rows(n, d);
  for (Eigen::Index i = 0; i < n; ++i) {
    for (int j = 0; j < d; ++j) rows(i, j) = value(engine) + static_cast<float>((i % 4) * 5);
  }
  return rows;
}

// Small integer weights 0 … 3 (every fourth row weighs 0).
std::vector<float> integer_weights(Eigen::Index n) {
  std::vector<float> weights(static_cast<std::size_t>(n));
  for (Eigen::Index i = 0; i < n; ++i) weights[i] = static_cast<float>(i % 4 == 3 ? 0 : 1 + i % 3);
  return weights;
}

// The rows repeated as often as their integer weight says.
FeatureMatrix repeated_rows(const FeatureMatrix& rows, const std::vector<float>& weights) {
  std::vector<Eigen::Index> order;
  for (Eigen::Index i = 0; i < rows.rows(); ++i) {
    for (int r = 0; r < static_cast<int>(weights[i]); ++r) order.push_back(i);
  }
  FeatureMatrix repeated(static_cast<Eigen::Index>(order.size()), rows.cols());
  for (std::size_t r = 0; r < order.size(); ++r) repeated.row(r) = rows.row(order[r]);
  return repeated;
}

CentroidMatrix first_rows(const FeatureMatrix& rows, int k) {
  CentroidMatrix centroids(k, rows.cols());
  for (int c = 0; c < k; ++c) centroids.row(c) = rows.row(c * 7).cast<double>();
  return centroids;
}

LloydSums weighted_step(const FeatureMatrix& rows, const std::vector<float>& weights,
                        const CentroidMatrix& centroids,
                        const std::vector<FixedPointFormat64>& grids,
                        const FixedPointFormat64& weight_grid) {
  const std::vector<float> norms = row_squared_norms(rows);
  std::vector<std::int32_t> labels(static_cast<std::size_t>(rows.rows()), -1);
  std::vector<float> squared;
  LloydSums sums(static_cast<int>(centroids.rows()), static_cast<int>(rows.cols()), true);
  assign_and_accumulate({rows, norms, grids, &weights, weight_grid}, AssignmentCentroids(centroids),
                        labels, squared, sums);
  return sums;
}

// Totals on their grids, as doubles.
std::vector<double> totals(const std::vector<ExactSum>& sums, const FixedPointFormat& grid) {
  std::vector<double> out;
  for (ExactSum s : sums) out.push_back(grid.to_double(s));
  return out;
}

}  // namespace

TEST_CASE("a weighted fixed-point term is the product of the float and its weight, rounded once") {
  const FixedPointFormat64 grid = FixedPointFormat64::for_bound(1000.0, 100);
  for (float x : {0.1f, -3.75f, 123.456f}) {
    for (float w : {0.0f, 0.3f, 2.0f, 7.5f}) {
      CHECK(grid.to_fixed_product(x, w) ==
            grid.to_fixed(static_cast<double>(x) * static_cast<double>(w)));
    }
  }
  CHECK(grid.to_fixed_product(1.5f, 2.0f) == 2 * grid.to_fixed(1.5));
}

TEST_CASE("weighted Lloyd sums equal the sums of rows repeated as often as their weight") {
  const int d = 5, k = 4;
  const FeatureMatrix rows = random_rows(600, d, 3);
  const std::vector<float> weights = integer_weights(rows.rows());
  const FeatureMatrix repeated = repeated_rows(rows, weights);
  const CentroidMatrix centroids = first_rows(rows, k);
  // One grid for both: bounds of |w·x| on the weighted side cover the repeated rows' |x| too.
  const std::vector<FixedPointFormat64> grids(d, FixedPointFormat64::for_bound(100.0, 2000));
  const FixedPointFormat64 weight_grid = FixedPointFormat64::for_bound(1.0, 2000);
  const LloydSums weighted = weighted_step(rows, weights, centroids, grids, weight_grid);

  const std::vector<float> norms = row_squared_norms(repeated);
  std::vector<std::int32_t> labels(static_cast<std::size_t>(repeated.rows()), -1);
  std::vector<float> squared;
  LloydSums plain(k, d);
  assign_and_accumulate({repeated, norms, grids}, AssignmentCentroids(centroids), labels, squared,
                        plain);
  CHECK(weighted.sums == plain.sums);
  for (int c = 0; c < k; ++c) CHECK(weighted.weights[c] == weight_grid.to_fixed(plain.counts[c]));
  // The counts stay counts of rows: zero-weight rows are counted, repeated rows once.
  std::int64_t rows_counted = 0;
  for (std::int64_t count : weighted.counts) rows_counted += count;
  CHECK(rows_counted == rows.rows());

  const CentroidMatrix weighted_means =
      centroids_from_sums(weighted, grids, centroids, weight_grid);
  const CentroidMatrix plain_means = centroids_from_sums(plain, grids, centroids);
  for (Eigen::Index c = 0; c < k; ++c) {
    for (Eigen::Index j = 0; j < d; ++j) CHECK(weighted_means(c, j) == Approx(plain_means(c, j)));
  }
}

TEST_CASE("a segment whose rows all weigh 0 is empty and keeps its previous centroid") {
  LloydSums sums(2, 1, true);
  sums.sums = {0, 40};
  sums.counts = {3, 2};  // segment 0 has rows, but none of positive weight
  sums.weights = {0, 4};
  const std::vector<FixedPointFormat64> grids(1, FixedPointFormat64::for_bound(1.0, 1));
  const FixedPointFormat64 weight_grid = grids[0];
  CentroidMatrix previous(2, 1);
  previous << 7.0, 0.0;
  const CentroidMatrix next = centroids_from_sums(sums, grids, previous, weight_grid);
  CHECK(segment_is_empty(sums, 0));
  CHECK_FALSE(segment_is_empty(sums, 1));
  CHECK(next(0, 0) == 7.0);
  CHECK(next(1, 0) == 10.0);
}

TEST_CASE("the pruned step keeps the plain step's weighted sums bit for bit, any thread count") {
  const int d = 8, k = 70;
  const FeatureMatrix rows = random_rows(5000, d, 11);
  std::vector<float> weights(static_cast<std::size_t>(rows.rows()));
  std::mt19937_64 engine(2);
  std::uniform_real_distribution<float> weight(0.0f, 3.0f);
  for (float& w : weights) w = weight(engine);
  for (std::size_t i = 0; i < weights.size(); i += 9) weights[i] = 0.0f;
  const std::vector<float> norms = row_squared_norms(rows);
  const std::vector<FixedPointFormat64> grids(d, FixedPointFormat64::for_bound(3 * 40.0, 5000));
  const FixedPointFormat64 weight_grid = FixedPointFormat64::for_bound(3.0, 5000);
  const LloydRows lloyd_rows{rows, norms, grids, &weights, weight_grid};
  CentroidMatrix centroids = first_rows(rows, k);
  for (int threads = 1; threads <= 2; ++threads) {
    omp_set_num_threads(threads);
    const auto plain = make_lloyd_step(LloydStepKind::plain, lloyd_rows, k);
    PrunedLloydStep pruned(lloyd_rows, k, 2);
    CentroidMatrix current = centroids;
    for (int iteration = 0; iteration < 8; ++iteration) {
      INFO("threads " << threads << ", iteration " << iteration);
      LloydSums a(k, d, true), b(k, d, true);
      plain->step(current, a);
      pruned.step(current, b);
      REQUIRE(plain->labels() == pruned.labels());
      REQUIRE(plain->squared_distances() == pruned.squared_distances());
      REQUIRE(a.sums == b.sums);
      REQUIRE(a.weights == b.weights);
      REQUIRE(a.counts == b.counts);
      current = centroids_from_sums(a, grids, current, weight_grid);
    }
  }
  omp_set_num_threads(1);
}

TEST_CASE("weighted column sums and deviations equal those of repeated rows") {
  const FeatureMatrix rows = random_rows(300, 3, 5);
  const std::vector<float> weights = integer_weights(rows.rows());
  const FeatureMatrix repeated = repeated_rows(rows, weights);
  const std::vector<FixedPointFormat> grids = formats_for_bounds({200.0, 200.0, 200.0}, 2000);
  // w·x of floats is exact, so the sums are the repeated rows' bit for bit.
  CHECK(local_weighted_column_sums(rows, weights, grids) == local_column_sums(repeated, grids));
  // w·(x − mean)² rounds the double square times w once where the repeated rows add the rounded
  // square w times: equal to double precision.
  const std::vector<double> mean{1.0, -2.0, 3.5};
  const std::vector<double> weighted =
      totals(local_weighted_squared_deviations(rows, weights, mean, grids), grids[0]);
  const std::vector<double> repeated_total =
      totals(local_squared_deviations(repeated, mean, grids), grids[0]);
  for (std::size_t j = 0; j < weighted.size(); ++j) {
    CHECK(weighted[j] == Approx(repeated_total[j]).epsilon(1e-14));
  }
}

TEST_CASE("weighted dispersion and Calinski-Harabasz equal those of repeated rows") {
  const FeatureMatrix rows = random_rows(400, 4, 8);
  const std::vector<float> weights = integer_weights(rows.rows());
  const FeatureMatrix repeated = repeated_rows(rows, weights);
  std::vector<std::int32_t> labels, repeated_labels;
  for (Eigen::Index i = 0; i < rows.rows(); ++i) {
    labels.push_back(static_cast<std::int32_t>(i % 3));
    for (int r = 0; r < static_cast<int>(weights[i]); ++r) repeated_labels.push_back(labels.back());
  }
  const CentroidMatrix means = first_rows(rows, 3);
  const FixedPointFormat distance = FixedPointFormat::for_bound(3 * 100.0, 2000);
  const FixedPointFormat squared = FixedPointFormat::for_bound(3 * 1e4, 2000);
  DispersionSums weighted(3), plain(3);
  accumulate_weighted_dispersion(rows, weights, labels, means, {distance, squared}, weighted);
  accumulate_dispersion(repeated, repeated_labels, means, distance, squared, plain);
  // Each weighted term is a double product rounded once: equal to double precision.
  const std::vector<double> a = totals(weighted.distance_sums, distance);
  const std::vector<double> b = totals(plain.distance_sums, distance);
  for (std::size_t c = 0; c < a.size(); ++c) CHECK(a[c] == Approx(b[c]).epsilon(1e-14));
  CHECK(squared.to_double(weighted.squared_distance_sum) ==
        Approx(squared.to_double(plain.squared_distance_sum)).epsilon(1e-14));
  // Weights of 1 are the unweighted sums bit for bit.
  DispersionSums ones(3), unweighted(3);
  accumulate_weighted_dispersion(rows, std::vector<float>(labels.size(), 1.0f), labels, means,
                                 {distance, squared}, ones);
  accumulate_dispersion(rows, labels, means, distance, squared, unweighted);
  CHECK(ones.distance_sums == unweighted.distance_sums);
  CHECK(ones.squared_distance_sum == unweighted.squared_distance_sum);

  const std::vector<double> overall{1.0, 2.0, 3.0, 4.0};
  const std::vector<std::int64_t> counts{10, 20, 30};
  CHECK(weighted_calinski_harabasz(60.0, {10.0, 20.0, 30.0}, means, overall, 123.0) ==
        calinski_harabasz(60, counts, means, overall, 123.0));
  // A segment of weight 0 does not count towards k.
  CHECK(weighted_calinski_harabasz(60.0, {30.0, 0.0, 30.0}, means, overall, 123.0) ==
        calinski_harabasz(60, {30, 0, 30}, means, overall, 123.0));
}

TEST_CASE("weighted profiles: shares and means by weight, sizes, min and max by customer") {
  // Two segments; segment 0 holds values 1 (weight 3) and 5 (weight 1) and 100 (weight 0).
  FeatureMatrix values(4, 1);
  values << 1.0f, 5.0f, 100.0f, 10.0f;
  const std::vector<std::int32_t> labels{0, 0, 0, 1};
  const std::vector<float> weights{3.0f, 1.0f, 0.0f, 4.0f};
  const FixedPointFormat weight_grid = FixedPointFormat::for_bound(4.0, 4);
  const std::vector<FixedPointFormat> sums_grid = formats_for_bounds({400.0}, 4);
  const std::vector<FixedPointFormat> deviation_grid = formats_for_bounds({4.0 * 1e4}, 4);
  ProfileSums sums(2, 1, weight_grid);
  accumulate_profile_sums(values, labels, sums_grid, sums, &weights);
  // Group means as profile_segments computes them: segment 0 is (3·1 + 5) / 4 = 2, segment 1
  // is 10, the population (3 + 5 + 40) / 8 = 6.
  const std::vector<double> means{2.0, 10.0, 6.0};
  accumulate_profile_deviations(values, labels, means, deviation_grid, sums, &weights);
  const SegmentProfiles p = profiles_from_sums(sums, sums_grid, deviation_grid);
  CHECK(p.size == std::vector<std::int64_t>{3, 1});
  CHECK(p.weight == std::vector<double>{4.0, 4.0});
  CHECK(p.total_weight == 8.0);
  CHECK(p.share == std::vector<double>{0.5, 0.5});
  CHECK(p.mean[0] == Approx(2.0));
  CHECK(p.mean[1] == Approx(10.0));
  CHECK(p.std[0] == Approx(std::sqrt((3 * 1.0 + 9.0) / 4)));  // Σ w (x − 2)² / Σ w
  CHECK(p.min[0] == 1.0);
  CHECK(p.max[0] == 100.0);  // a customer of weight 0 is still a customer
  CHECK(p.population_mean[0] == Approx(6.0));
  CHECK(p.lift[1] == Approx((10.0 - 6.0) / p.population_std[0]));
  // Without weights the same sums give the plain means.
  ProfileSums plain(2, 1);
  CHECK_THROWS_AS(accumulate_profile_sums(values, labels, sums_grid, plain, &weights),
                  std::invalid_argument);
}

TEST_CASE("dropping rows keeps each row's weight with it") {
  CustomerBlock block;
  block.ids = {10, 11, 12, 13};
  block.features = FeatureMatrix::Constant(4, 1, 1.0f);
  block.weights = {0.5f, 1.5f, 2.5f, 3.5f};
  keep_rows(block, {1, 0, 0, 1});
  CHECK(block.ids == std::vector<std::int64_t>{10, 13});
  CHECK(block.weights == std::vector<float>{0.5f, 3.5f});
}
