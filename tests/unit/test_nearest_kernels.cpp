// Every instruction-set variant of the nearest-centroid kernel gives the same labels and values,
// including ties; and the Lloyd sums do not depend on the thread count.
#include <omp.h>

#include <catch2/catch.hpp>
#include <cmath>
#include <limits>
#include <random>

#include "microseg/core/assignment.hpp"

using namespace microseg;

namespace {

FeatureMatrix random_rows(Eigen::Index n, Eigen::Index d, std::uint64_t seed) {
  std::mt19937_64 engine(seed);
  std::normal_distribution<float> value(0.0f, 2.0f);
  FeatureMatrix rows(n, d);
  for (Eigen::Index i = 0; i < n; ++i) {
    for (Eigen::Index j = 0; j < d; ++j) rows(i, j) = value(engine);
  }
  return rows;
}

}  // namespace

TEST_CASE("every kernel variant gives the labels and partial distances of brute force") {
  const auto supported = supported_kernels();
  REQUIRE(supported.front() == KernelIsa::portable);
  // k values around the 16- and 32-lane block edges, and rows not a multiple of the tiles.
  for (int k : {1, 3, 16, 17, 31, 32, 33, 64, 100}) {
    for (int d : {1, 5, 24}) {
      const FeatureMatrix rows = random_rows(203, d, 10 * k + d);
      const CentroidMatrix centroids = random_rows(k, d, 7 * k + d).cast<double>();
      const AssignmentCentroids layout(centroids);
      std::vector<std::int32_t> reference_labels;
      std::vector<float> reference_values;
      nearest_centroids(rows, layout, KernelIsa::portable, reference_labels, reference_values);
      // Brute force in double: the float kernel may only differ on near-ties.
      int disagreements = 0;
      for (Eigen::Index i = 0; i < rows.rows(); ++i) {
        int best = 0;
        double best_distance = std::numeric_limits<double>::infinity();
        for (int c = 0; c < k; ++c) {
          const double dist = squared_distance(rows.row(i).data(), centroids.row(c).data(), d);
          if (dist < best_distance) {
            best_distance = dist;
            best = c;
          }
        }
        disagreements += best != reference_labels[i];
      }
      CHECK(disagreements == 0);
      for (KernelIsa isa : supported) {
        INFO("kernel " << to_string(isa) << ", k = " << k << ", d = " << d);
        std::vector<std::int32_t> labels;
        std::vector<float> values;
        nearest_centroids(rows, layout, isa, labels, values);
        CHECK(labels == reference_labels);
        CHECK(values == reference_values);
      }
    }
  }
}

TEST_CASE("every kernel variant agrees at widths and row counts around the 16 x 16 transpose") {
  // The AVX-512 tile transposes 32 rows in 16-column slabs: widths at and past the slab edges,
  // row counts around the 32-row tile (the last tile repeats a row to fill its lanes), and
  // widths past 64, where the tile buffer moves from the stack to the heap.
  for (int d : {15, 16, 17, 32, 33, 40, 64, 65, 70}) {
    for (Eigen::Index n : {1, 31, 32, 33, 65}) {
      const FeatureMatrix rows = random_rows(n, d, 100 * d + n);
      const CentroidMatrix centroids = random_rows(41, d, 3 * d).cast<double>();
      const AssignmentCentroids layout(centroids);
      std::vector<std::int32_t> reference_labels;
      std::vector<float> reference_values;
      nearest_centroids(rows, layout, KernelIsa::portable, reference_labels, reference_values);
      for (KernelIsa isa : supported_kernels()) {
        INFO("kernel " << to_string(isa) << ", n = " << n << ", d = " << d);
        std::vector<std::int32_t> labels;
        std::vector<float> values;
        nearest_centroids(rows, layout, isa, labels, values);
        CHECK(labels == reference_labels);
        CHECK(values == reference_values);
      }
    }
  }
}

TEST_CASE("every kernel variant breaks exact ties towards the lowest centroid index") {
  // Centroids repeated at several block positions: each row is equally near all copies.
  const int d = 4;
  const FeatureMatrix rows = random_rows(37, d, 3);
  CentroidMatrix centroids = random_rows(40, d, 4).cast<double>().array() + 50.0;  // far away
  const Eigen::RowVectorXd near = rows.row(5).cast<double>();
  for (int c : {7, 16, 23, 39}) centroids.row(c) = near;
  const AssignmentCentroids layout(centroids);
  for (KernelIsa isa : supported_kernels()) {
    INFO("kernel " << to_string(isa));
    std::vector<std::int32_t> labels;
    std::vector<float> values;
    nearest_centroids(rows, layout, isa, labels, values);
    CHECK(labels[5] == 7);
  }
}

TEST_CASE("Lloyd sums and labels are the same for any thread count") {
  const int d = 6, k = 40;
  const FeatureMatrix rows = random_rows(10007, d, 9);
  const CentroidMatrix centroids = random_rows(k, d, 10).cast<double>();
  const AssignmentCentroids layout(centroids);
  const std::vector<float> norms = row_squared_norms(rows);
  const std::vector<FixedPointFormat64> formats(d, FixedPointFormat64::for_bound(20.0, 10007));
  auto run_with = [&](int threads) {
    omp_set_num_threads(threads);
    std::vector<std::int32_t> labels;
    std::vector<float> distances;
    LloydSums sums(k, d);
    assign_and_accumulate(LloydRows{rows, norms, formats}, layout, labels, distances, sums);
    return std::make_tuple(labels, distances, sums.sums, sums.counts);
  };
  const auto one = run_with(1);
  for (int threads : {2, 3, 8}) {
    INFO("threads: " << threads);
    CHECK(run_with(threads) == one);
  }
  omp_set_num_threads(1);
}

namespace {

// assign_and_accumulate's sums and counts against the row-by-row sums of to_fixed.
void check_sums_are_row_by_row(const FeatureMatrix& rows, const CentroidMatrix& centroids,
                               const std::vector<FixedPointFormat64>& formats) {
  const int k = static_cast<int>(centroids.rows()), d = static_cast<int>(rows.cols());
  std::vector<std::int32_t> labels;
  std::vector<float> distances;
  LloydSums sums(k, d);
  const std::vector<float> norms = row_squared_norms(rows);
  assign_and_accumulate(LloydRows{rows, norms, formats}, AssignmentCentroids(centroids), labels,
                        distances, sums);
  LloydSums expected(k, d);
  for (Eigen::Index i = 0; i < rows.rows(); ++i) {
    for (int j = 0; j < d; ++j) {
      expected.sums[static_cast<std::size_t>(labels[i]) * d + j] += formats[j].to_fixed(rows(i, j));
    }
    ++expected.counts[labels[i]];
  }
  INFO("kernel " << to_string(active_kernel()));
  CHECK(sums.sums == expected.sums);
  CHECK(sums.counts == expected.counts);
}

}  // namespace

TEST_CASE("the Lloyd sums are the row-by-row sums of to_fixed, at widths around 8 features") {
  // The AVX-512 accumulation converts 8 features at a time with a masked last group.
  for (int d : {1, 7, 8, 9, 13, 24}) {
    INFO("d = " << d);
    const FeatureMatrix rows = random_rows(301, d, 50 + d);
    std::vector<FixedPointFormat64> formats;
    for (int j = 0; j < d; ++j) formats.push_back(FixedPointFormat64::for_bound(9.0 + j, 301));
    check_sums_are_row_by_row(rows, random_rows(5, d, 60 + d).cast<double>(), formats);
  }
}

TEST_CASE("the Lloyd sums stay exact when a scale is outside float's range") {
  // The AVX-512 accumulation multiplies in float when every scale fits a float, else in double:
  // features of magnitude 1e-32 need scales near 2^158. Both give the row-by-row to_fixed sums.
  for (double magnitude : {1e-32, 1e-3, 1e25}) {  // scales about 2^158, 2^62 and 2^-31
    INFO("magnitude " << magnitude);
    const int d = 11;
    FeatureMatrix rows = random_rows(203, d, 7);
    rows *= static_cast<float>(magnitude);
    const std::vector<FixedPointFormat64> formats(
        d, FixedPointFormat64::for_bound(10 * magnitude, 203));
    check_sums_are_row_by_row(rows, rows.topRows(4).cast<double>(), formats);
  }
}

TEST_CASE("nearest_two follows the scalar first/second scan of the kernel values") {
  // Oracle: every kernel value by the portable per-lane sequence, then nearest_two's documented
  // scan (a strictly smaller value takes the first place; otherwise the second place if strictly
  // smaller or still empty). Duplicated centroids make exact ties for both places.
  for (int k : {1, 2, 7, 8, 9, 17, 40}) {
    for (int d : {3, 24, 70}) {
      const FeatureMatrix rows = random_rows(97, d, 1000 + 10 * k + d);
      CentroidMatrix centroids = random_rows(k, d, 2000 + 10 * k + d).cast<double>();
      if (k >= 8) centroids.row(7) = centroids.row(2);
      if (k >= 9) centroids.row(8) = rows.row(4).cast<double>();
      const AssignmentCentroids layout(centroids);
      const NearestTwo result = nearest_two(rows, centroids);
      INFO("k = " << k << ", d = " << d << ", kernel " << to_string(active_kernel()));
      for (Eigen::Index i = 0; i < rows.rows(); ++i) {
        int first = 0, second = -1;
        float first_value = 0, second_value = std::numeric_limits<float>::infinity();
        for (int c = 0; c < k; ++c) {
          float value = layout.squared_norms()[c];
          for (int j = 0; j < d; ++j) {
            value = std::fma(rows(i, j), layout.minus_two_transposed()[j * layout.k_padded() + c],
                             value);
          }
          if (c == 0) {
            first_value = value;
          } else if (value < first_value) {
            second = first;
            second_value = first_value;
            first = c;
            first_value = value;
          } else if (second < 0 || value < second_value) {
            second = c;
            second_value = value;
          }
        }
        CHECK(result.nearest[i] == first);
        CHECK(result.second[i] == second);
      }
    }
  }
}
