// Fits k-means with the installed microseg library on 30 rows split across the MPI ranks: three
// tight groups around (0, 0), (10, 0) and (0, 10). Prints the version and the centroids on rank
// 0, and exits non-zero unless every planted centre has a fitted centroid within 0.1 of it.
#include <mpi.h>

#include <cmath>
#include <cstdint>
#include <iostream>

#include "microseg/distributed/kmeans_fit.hpp"
#include "microseg/distributed/seeding.hpp"
#include "microseg/version.hpp"

namespace {

constexpr int rows = 30;
constexpr double centres[3][2] = {{0, 0}, {10, 0}, {0, 10}};

microseg::CustomerBlock rank_block(int rank, int ranks) {
  microseg::CustomerBlock block;
  block.rows = {std::int64_t{rows} * rank / ranks, std::int64_t{rows} * (rank + 1) / ranks};
  block.features.resize(block.rows.size(), 2);
  block.feature_names = {"x", "y"};
  for (std::int64_t row = block.rows.begin; row < block.rows.end; ++row) {
    const auto local = row - block.rows.begin;
    const double jitter = 0.01 * static_cast<double>(row % 5) - 0.02;
    block.ids.push_back(1000 + row);
    block.features(local, 0) = static_cast<float>(centres[row % 3][0] + jitter);
    block.features(local, 1) = static_cast<float>(centres[row % 3][1] - jitter);
  }
  return block;
}

}  // namespace

int main(int argc, char** argv) {
  MPI_Init(&argc, &argv);
  int failures = 0;
  {
    const microseg::distributed::Communicator comm(MPI_COMM_WORLD);
    const microseg::distributed::RankRows data(comm, rank_block(comm.rank(), comm.size()));
    microseg::distributed::FitSettings settings;
    settings.lloyd.k = 3;
    settings.seed = 7;
    const auto fit = microseg::distributed::fit_kmeans(
        data, microseg::distributed::KMeansPlusPlusSeeding(), settings);
    for (const auto& centre : centres) {
      double nearest = INFINITY;
      for (int s = 0; s < 3; ++s) {
        nearest = std::fmin(nearest, std::hypot(fit.model.centroids(s, 0) - centre[0],
                                                fit.model.centroids(s, 1) - centre[1]));
      }
      if (!(nearest < 0.1)) ++failures;
    }
    if (comm.is_root()) {
      std::cout << "microseg " << microseg::version_number << ": k-means on " << data.total()
                << " rows, " << comm.size() << " ranks, " << fit.model.iterations
                << " iterations\n";
      for (int s = 0; s < 3; ++s) {
        std::cout << "centroid " << fit.model.centroids(s, 0) << " " << fit.model.centroids(s, 1)
                  << "\n";
      }
    }
  }
  MPI_Finalize();
  return failures == 0 ? 0 : 1;
}
