// Pruned Lloyd gives plain Lloyd's fit bit for bit on 1 .. P ranks and 1 or 2 threads per rank:
// every iteration's inertia, shift and reassigned count, the iteration count and the centroids.
// The features are rounded to a coarse grid, so rows tie and repeat, and k is large for the row
// count, so segments empty and are re-seeded along the way.
#include <mpi.h>
#include <omp.h>

#include <catch2/catch.hpp>
#include <cmath>
#include <cstring>

#include "microseg/core/synthetic.hpp"
#include "microseg/distributed/kmeans_fit.hpp"
#include "scaled_synthetic.hpp"

using namespace microseg;
using distributed::Communicator;

namespace {

struct Fit {
  std::vector<distributed::IterationReport> reports;
  LloydOutcome outcome;
};

Fit fit_on(MPI_Comm group, LloydStepKind step, int threads, int k) {
  Communicator comm(group);
  const SyntheticSpec spec{2003, 6, 2.0, 21};
  // A grid of half units: ties and duplicates. (A plain loop: Eigen's AVX-512 round() trips
  // GCC 12's -Wmaybe-uninitialized.)
  const auto half_units = [](FeatureMatrix& features) {
    for (Eigen::Index i = 0; i < features.size(); ++i) {
      features.data()[i] = std::round(features.data()[i] * 2.0f) / 2.0f;
    }
  };
  auto [rows, transform, original] = test_support::scaled_synthetic(comm, spec, {}, half_units);
  const CentroidMatrix initial = distributed::KMeansPlusPlusSeeding().seed(rows, k, 5);
  distributed::LloydSettings settings;
  settings.k = k;
  settings.max_iterations = 30;
  settings.tolerance = 1e-6;
  settings.mean_variance = distributed::mean_scaled_variance(transform);
  settings.step = step;
  omp_set_num_threads(threads);
  Fit fit;
  fit.outcome = distributed::run_lloyd(
      rows, initial, settings,
      [&](const distributed::IterationReport& report) { fit.reports.push_back(report); });
  omp_set_num_threads(1);
  return fit;
}

bool same_bits(double a, double b) {
  return std::memcmp(&a, &b, sizeof a) == 0;
}

}  // namespace

TEST_CASE("pruned Lloyd equals plain Lloyd bit for bit on 1 to P ranks and 1 or 2 threads") {
  int world_rank = 0, world_size = 0;
  MPI_Comm_rank(MPI_COMM_WORLD, &world_rank);
  MPI_Comm_size(MPI_COMM_WORLD, &world_size);
  for (int k : {60, 300}) {
    std::vector<std::pair<std::string, Fit>> fits;
    for (int group_size = 1; group_size <= world_size; ++group_size) {
      MPI_Comm group;
      MPI_Comm_split(MPI_COMM_WORLD, world_rank < group_size ? 0 : MPI_UNDEFINED, world_rank,
                     &group);
      if (group == MPI_COMM_NULL) continue;
      // Plain once per rank count (its rank independence is shown elsewhere), pruned at 1 and 2
      // threads.
      const std::string ranks = std::to_string(group_size) + " rank(s)";
      fits.emplace_back(ranks + ", plain", fit_on(group, LloydStepKind::plain, 1, k));
      fits.emplace_back(ranks + ", pruned, 1 thread", fit_on(group, LloydStepKind::pruned, 1, k));
      fits.emplace_back(ranks + ", pruned, 2 threads", fit_on(group, LloydStepKind::pruned, 2, k));
      MPI_Comm_free(&group);
    }
    if (world_rank != 0) continue;
    const Fit& reference = fits.front().second;  // plain on one rank
    REQUIRE(reference.reports.size() >= 3);
    for (const auto& [name, fit] : fits) {
      INFO("k = " << k << ", " << name);
      CHECK(fit.outcome.iterations == reference.outcome.iterations);
      CHECK(fit.outcome.converged == reference.outcome.converged);
      CHECK(fit.outcome.centroids == reference.outcome.centroids);
      CHECK(same_bits(fit.outcome.inertia, reference.outcome.inertia));
      REQUIRE(fit.reports.size() == reference.reports.size());
      for (std::size_t i = 0; i < fit.reports.size(); ++i) {
        INFO("iteration " << fit.reports[i].iteration);
        CHECK(same_bits(fit.reports[i].inertia, reference.reports[i].inertia));
        CHECK(same_bits(fit.reports[i].relative_shift, reference.reports[i].relative_shift));
        CHECK(fit.reports[i].reassigned == reference.reports[i].reassigned);
      }
    }
  }
}
