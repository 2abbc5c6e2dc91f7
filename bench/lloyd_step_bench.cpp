// Plain against pruned Lloyd on one thread, in one process: the measurements behind the
// automatic step rule (choose_lloyd_step, pruning_groups; docs/benchmarks.md). Runs Lloyd to
// convergence (tol 1e-4 × mean variance) from the same k rows and checks that every step kind
// ends with the same iterations and centroids bit for bit.
//   lloyd_step_bench N D K [blobs|noise] [groups,groups,...]
// blobs: rows around K true centres (as bench/make_data.py); noise: one Gaussian, no structure.
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "microseg/core/assignment.hpp"
#include "microseg/core/lloyd_step.hpp"
#include "microseg/core/pruned_assignment.hpp"

using namespace microseg;

namespace {

struct Fit {
  CentroidMatrix centroids;
  int iterations = 0;
  double seconds = 0, first_seconds = 0;
  double evaluated = 0;  // centroid evaluations after the first step, as a share of plain's
};

Fit lloyd(const FeatureMatrix& rows, const CentroidMatrix& initial, int groups, double tolerance) {
  const int k = static_cast<int>(initial.rows()), d = static_cast<int>(rows.cols());
  const std::vector<float> norms = row_squared_norms(rows);
  double bound = 0;
  for (Eigen::Index i = 0; i < rows.size(); ++i)
    bound = std::max<double>(bound, std::abs(rows.data()[i]));
  const std::vector<FixedPointFormat64> formats(d,
                                                FixedPointFormat64::for_bound(bound, rows.rows()));
  // groups 0: the plain step.
  const LloydRows lloyd_rows{rows, norms, formats};
  const std::unique_ptr<PrunedLloydStep> pruned =
      groups == 0 ? nullptr : std::make_unique<PrunedLloydStep>(lloyd_rows, k, groups);
  const std::unique_ptr<LloydStep> plain =
      groups == 0 ? make_lloyd_step(LloydStepKind::plain, lloyd_rows, k) : nullptr;
  LloydStep& step = pruned ? *pruned : *plain;
  Fit fit;
  fit.centroids = initial;
  std::int64_t evaluations = 0;
  const auto start = std::chrono::steady_clock::now();
  for (int iteration = 1; iteration <= 300; ++iteration) {
    LloydSums sums(k, d);
    step.step(fit.centroids, sums);
    if (pruned && iteration > 1) evaluations += pruned->last_evaluations();
    if (iteration == 1) {
      fit.first_seconds =
          std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    }
    CentroidMatrix updated = centroids_from_sums(sums, formats, fit.centroids);
    const double shift = total_squared_shift(fit.centroids, updated);
    fit.centroids = std::move(updated);
    fit.iterations = iteration;
    if (shift <= tolerance) break;
  }
  fit.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  if (fit.iterations > 1) {
    fit.evaluated = static_cast<double>(evaluations) /
                    (static_cast<double>(rows.rows()) * k * (fit.iterations - 1));
  }
  return fit;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 4) {
    std::fprintf(stderr, "usage: lloyd_step_bench N D K [blobs|noise] [groups,groups,...]\n");
    return 2;
  }
  const long n = std::atol(argv[1]);
  const int d = std::atoi(argv[2]), k = std::atoi(argv[3]);
  const std::string kind = argc > 4 ? argv[4] : "blobs";
  std::vector<int> group_counts{pruning_groups(k)};
  if (argc > 5) {
    group_counts.clear();
    std::stringstream list(argv[5]);
    for (std::string item; std::getline(list, item, ',');) group_counts.push_back(std::stoi(item));
  }
  std::mt19937_64 engine(1);
  std::normal_distribution<float> unit(0.0f, 1.0f);
  std::vector<float> centres(static_cast<std::size_t>(k) * d);
  for (float& v : centres) v = 3.0f * unit(engine);
  std::uniform_int_distribution<int> which(0, k - 1);
  FeatureMatrix rows(n, d);
  for (long i = 0; i < n; ++i) {
    const int c = kind == "blobs" ? which(engine) : -1;
    for (int j = 0; j < d; ++j) {
      rows(i, j) = (c >= 0 ? centres[static_cast<std::size_t>(c) * d + j] : 0.0f) + unit(engine);
    }
  }
  CentroidMatrix initial(k, d);
  for (int c = 0; c < k; ++c) initial.row(c) = rows.row(c * (n / k)).cast<double>();
  // Mean variance of the features, as the tolerance unit.
  double variance = 0;
  for (int j = 0; j < d; ++j) {
    double mean = 0, square = 0;
    for (long i = 0; i < n; ++i) {
      mean += rows(i, j);
      square += static_cast<double>(rows(i, j)) * rows(i, j);
    }
    mean /= n;
    variance += square / n - mean * mean;
  }
  const double tolerance = 1e-4 * variance / d;
  std::printf("n %ld d %d k %d data %s kernel %s (1 thread)\n", n, d, k, kind.c_str(),
              to_string(active_kernel()).c_str());
  const Fit plain = lloyd(rows, initial, 0, tolerance);
  std::printf("plain          iterations %3d  total %8.3f s  first %7.3f s  per later %8.2f ms\n",
              plain.iterations, plain.seconds, plain.first_seconds,
              1e3 * (plain.seconds - plain.first_seconds) / std::max(1, plain.iterations - 1));
  for (int groups : group_counts) {
    const Fit fit = lloyd(rows, initial, groups, tolerance);
    const bool same = fit.iterations == plain.iterations && fit.centroids == plain.centroids;
    std::printf(
        "pruned G=%-4d  iterations %3d  total %8.3f s  first %7.3f s  per later %8.2f ms  "
        "evaluated %5.1f%%  speed-up %5.2fx  bounds %.0f MiB  identical %s\n",
        groups, fit.iterations, fit.seconds, fit.first_seconds,
        1e3 * (fit.seconds - fit.first_seconds) / std::max(1, fit.iterations - 1),
        100 * fit.evaluated, plain.seconds / fit.seconds, n * groups * 4.0 / (1 << 20),
        same ? "yes" : "NO");
    if (!same) return 1;
  }
  return 0;
}
