// The pruned Lloyd step gives, bit for bit, the labels, squared distances and segment sums of the
// plain kernel (every instruction-set variant), on data built to defeat bounds: exact and near
// ties, duplicate rows and centroids, a large offset that makes the float rounding large, and
// centroid sequences that jump; for any thread count.
#include <omp.h>

#include <catch2/catch.hpp>
#include <memory>
#include <random>

#include "microseg/core/assignment.hpp"
#include "microseg/core/pruned_assignment.hpp"

using namespace microseg;

namespace {

// Rows on a small integer grid (many exact ties between centroids placed on the grid and at
// half-integers), a block of exact duplicates, everything shifted by `offset`.
FeatureMatrix adversarial_rows(Eigen::Index n, int d, float offset, std::uint64_t seed) {
  std::mt19937_64 engine(seed);
  std::uniform_int_distribution<int> grid(0, 3);
  std::normal_distribution<float> noise(0.0f, 1e-5f);
  FeatureMatrix rows(n, d);
  for (Eigen::Index i = 0; i < n; ++i) {
    for (int j = 0; j < d; ++j) {
      // A third of the rows sit a hair off the grid: near ties rather than exact ones.
      rows(i, j) = offset + static_cast<float>(grid(engine)) + (i % 3 == 0 ? noise(engine) : 0.0f);
    }
  }
  for (Eigen::Index i = n / 2; i < n / 2 + n / 10; ++i) rows.row(i) = rows.row(n / 2);
  return rows;
}

// Initial centroids: rows (so some coincide, and every duplicate row ties between them), a few
// exact copies of one centroid, and midpoints of row pairs (equidistant rows abound on a grid).
CentroidMatrix adversarial_centroids(const FeatureMatrix& rows, int k, std::uint64_t seed) {
  std::mt19937_64 engine(seed);
  std::uniform_int_distribution<Eigen::Index> pick(0, rows.rows() - 1);
  CentroidMatrix centroids(k, rows.cols());
  for (int c = 0; c < k; ++c) {
    if (c % 7 == 3) {
      centroids.row(c) =
          0.5 * (rows.row(pick(engine)).cast<double>() + rows.row(pick(engine)).cast<double>());
    } else {
      centroids.row(c) = rows.row(pick(engine)).cast<double>();
    }
  }
  for (int c = k - 3; c < k; ++c) centroids.row(c) = centroids.row(k / 2);
  return centroids;
}

struct StepResult {
  std::vector<std::int32_t> labels;
  std::vector<float> squared_distances;
  std::vector<std::int64_t> sums, counts;
  bool operator==(const StepResult& o) const {
    return labels == o.labels && squared_distances == o.squared_distances && sums == o.sums &&
           counts == o.counts;
  }
};

// The plain step with one kernel variant, written out: labels and values of nearest_centroids,
// squared distance ‖x‖² + value clamped at 0, integer sums.
StepResult plain_step(const FeatureMatrix& rows, const std::vector<float>& norms,
                      const CentroidMatrix& centroids,
                      const std::vector<FixedPointFormat64>& formats, KernelIsa isa) {
  const int k = static_cast<int>(centroids.rows()), d = static_cast<int>(rows.cols());
  StepResult result;
  std::vector<float> values;
  nearest_centroids(rows, AssignmentCentroids(centroids), isa, result.labels, values);
  result.sums.assign(static_cast<std::size_t>(k) * d, 0);
  result.counts.assign(k, 0);
  for (Eigen::Index i = 0; i < rows.rows(); ++i) {
    result.squared_distances.push_back(std::max(0.0f, norms[i] + values[i]));
    ++result.counts[result.labels[i]];
    for (int j = 0; j < d; ++j) {
      result.sums[static_cast<std::size_t>(result.labels[i]) * d + j] +=
          formats[j].to_fixed(rows(i, j));
    }
  }
  return result;
}

}  // namespace

TEST_CASE("pruned Lloyd equals plain Lloyd bit for bit on adversarial data, every kernel") {
  const int d = 24;
  for (const auto& [n, k, offset, groups] :
       {std::tuple<Eigen::Index, int, float, int>{3001, 64, 0.0f, 6},
        {3001, 257, 100.0f, 16},
        {4000, 1000, 0.0f, 16},
        {2500, 100, 1000.0f, 1}}) {
    INFO("n = " << n << ", k = " << k << ", offset = " << offset << ", groups = " << groups);
    const FeatureMatrix rows = adversarial_rows(n, d, offset, 17 + k);
    const std::vector<float> norms = row_squared_norms(rows);
    const std::vector<FixedPointFormat64> formats(
        d, FixedPointFormat64::for_bound(offset + 4.0, rows.rows()));
    CentroidMatrix centroids = adversarial_centroids(rows, k, 5 + k);
    const LloydRows lloyd_rows{rows, norms, formats};
    std::vector<std::unique_ptr<PrunedLloydStep>> pruned;  // one per thread count
    for (int t = 0; t < 2; ++t)
      pruned.push_back(std::make_unique<PrunedLloydStep>(lloyd_rows, k, groups));
    std::mt19937_64 engine(k);
    std::normal_distribution<double> jitter(0.0, 1.0);
    std::int64_t evaluations = 0;
    for (int iteration = 0; iteration < 12; ++iteration) {
      INFO("iteration " << iteration);
      const StepResult reference =
          plain_step(rows, norms, centroids, formats, supported_kernels().front());
      for (KernelIsa isa : supported_kernels()) {
        INFO("kernel " << to_string(isa));
        CHECK(plain_step(rows, norms, centroids, formats, isa) == reference);
      }
      for (int t = 0; t < 2; ++t) {
        omp_set_num_threads(t + 1);
        StepResult mine;
        LloydSums sums(k, d);
        pruned[t]->step(centroids, sums);
        mine.labels = pruned[t]->labels();
        mine.squared_distances = pruned[t]->squared_distances();
        mine.sums = sums.sums;
        mine.counts = sums.counts;
        INFO("threads " << t + 1);
        REQUIRE(mine == reference);
        if (t == 0 && iteration > 0) evaluations += pruned[t]->last_evaluations();
      }
      omp_set_num_threads(1);
      // The next centroids: the Lloyd update, and every third step a jolt: some centroids jump
      // onto rows or onto each other (new exact ties), the rest move by tiny amounts.
      LloydSums global(k, d);
      global.sums = reference.sums;
      global.counts = reference.counts;
      centroids = centroids_from_sums(global, formats, centroids);
      if (iteration % 3 == 2) {
        for (int c = 0; c < k; ++c) {
          if (c % 11 == 0) {
            centroids.row(c) = rows.row((c * 37 + iteration) % rows.rows()).cast<double>();
          } else if (c % 11 == 1) {
            centroids.row(c) = centroids.row(c - 1);
          } else {
            for (int j = 0; j < d; ++j) centroids(c, j) += 1e-6 * jitter(engine);
          }
        }
      }
    }
    // The bounds pruned: fewer evaluations than plain's rows × k over the later steps. Far from
    // the origin (offset 1000) the rounding margin exceeds the grid's distances and nothing can
    // be proven, so every row costs plain's k plus its own label, and no more.
    CHECK(evaluations <= 11 * rows.rows() * (k + 1));
    if (offset < 1000) CHECK(evaluations < 11 * rows.rows() * k);
  }
}

TEST_CASE("the rounding margin covers the kernel's error on large offsets") {
  // Kernel values against exact ones in long double for rows far from the origin.
  std::mt19937_64 engine(3);
  std::normal_distribution<float> value(0.0f, 1.0f);
  const int d = 32, k = 64;
  FeatureMatrix rows(500, d);
  for (Eigen::Index i = 0; i < rows.rows(); ++i) {
    for (int j = 0; j < d; ++j) rows(i, j) = 300.0f + value(engine);
  }
  CentroidMatrix centroids(k, d);
  for (int c = 0; c < k; ++c) {
    for (int j = 0; j < d; ++j) centroids(c, j) = 300.0 + value(engine);
  }
  const AssignmentCentroids layout(centroids);
  double worst_ratio = 0;
  for (Eigen::Index i = 0; i < rows.rows(); ++i) {
    double row_norm = 0;
    for (int j = 0; j < d; ++j) row_norm += static_cast<double>(rows(i, j)) * rows(i, j);
    for (int c = 0; c < k; ++c) {
      float acc = layout.squared_norms()[c];
      long double exact = 0;
      double centroid_norm = 0;
      for (int j = 0; j < d; ++j) {
        const float cj = static_cast<float>(centroids(c, j));
        acc = std::fma(rows(i, j), -2.0f * cj, acc);
        exact += static_cast<long double>(cj) * cj - 2.0L * rows(i, j) * cj;
        centroid_norm += static_cast<double>(cj) * cj;
      }
      const double bound = kernel_rounding_bound(d, std::sqrt(row_norm), std::sqrt(centroid_norm));
      const double error = std::abs(static_cast<double>(static_cast<long double>(acc) - exact));
      worst_ratio = std::max(worst_ratio, error / bound);
    }
  }
  CHECK(worst_ratio < 1.0);
  CHECK(worst_ratio > 1e-3);  // the bound is not vacuous either
}

TEST_CASE("the Lloyd step kind parses, prints and is chosen by k") {
  for (LloydStepKind kind :
       {LloydStepKind::automatic, LloydStepKind::plain, LloydStepKind::pruned}) {
    CHECK(parse_lloyd_step(to_string(kind)) == kind);
  }
  CHECK_THROWS_AS(parse_lloyd_step("elkan"), InputError);
  CHECK(choose_lloyd_step(8, 24) == LloydStepKind::plain);
  CHECK(choose_lloyd_step(1000, 24) == LloydStepKind::pruned);
  // The measured thresholds (docs/benchmarks.md): k·d >= 2048 and k >= 64.
  CHECK(choose_lloyd_step(64, 24) == LloydStepKind::plain);
  CHECK(choose_lloyd_step(96, 24) == LloydStepKind::pruned);
  CHECK(choose_lloyd_step(64, 32) == LloydStepKind::pruned);
  CHECK(choose_lloyd_step(128, 8) == LloydStepKind::plain);
  CHECK(choose_lloyd_step(256, 8) == LloydStepKind::pruned);
  CHECK(choose_lloyd_step(32, 128) == LloydStepKind::plain);
  CHECK(pruning_groups(128) == 1);
  CHECK(pruning_groups(256) == 2);
  CHECK(pruning_groups(1000) == 4);
  CHECK(pruning_groups(1000) >= 1);
}
