// The distributed pipeline on sub-communicators of 1 .. P ranks inside one mpiexec run: the
// model, the labels and the metrics must be bit-identical whatever the number of ranks.
#include <mpi.h>

#include <catch2/catch.hpp>
#include <cstring>

#include "microseg/core/synthetic.hpp"
#include "microseg/distributed/kmeans_fit.hpp"
#include "microseg/distributed/profiles.hpp"
#include "microseg/distributed/quality.hpp"
#include "scaled_synthetic.hpp"

using namespace microseg;
using distributed::Communicator;

namespace {

struct GlobalResult {
  CentroidMatrix initial, centroids;
  std::vector<std::int32_t> labels;  // all rows, gathered on the group's rank 0
  std::vector<double> distances;
  QualityReport quality;
  std::vector<double> profile_mean;
  int iterations = 0;
};

template <class T>
std::vector<T> gather_to_root(MPI_Comm comm, const std::vector<T>& local) {
  int size = 0, rank = 0;
  MPI_Comm_size(comm, &size);
  MPI_Comm_rank(comm, &rank);
  int bytes = static_cast<int>(local.size() * sizeof(T));
  std::vector<int> counts(size), offsets(size);
  MPI_Gather(&bytes, 1, MPI_INT, counts.data(), 1, MPI_INT, 0, comm);
  int total = 0;
  for (int r = 0; r < size; ++r) {
    offsets[r] = total;
    total += counts[r];
  }
  std::vector<T> all(rank == 0 ? static_cast<std::size_t>(total) / sizeof(T) : 0);
  MPI_Gatherv(local.data(), bytes, MPI_BYTE, all.data(), counts.data(), offsets.data(), MPI_BYTE, 0,
              comm);
  return all;
}

GlobalResult segment_on(MPI_Comm group, const SyntheticSpec& spec, int k, InitKind init) {
  Communicator comm(group);
  std::vector<char> log1p(synthetic_feature_names().size(), 0);
  log1p[1] = 1;  // income
  auto [rows, transform, original] = test_support::scaled_synthetic(comm, spec, log1p);
  GlobalResult result;
  result.initial = distributed::make_seeding(init)->seed(rows, k, 99);
  distributed::LloydSettings settings;
  settings.k = k;
  settings.max_iterations = 50;
  settings.tolerance = 0;
  settings.mean_variance = distributed::mean_scaled_variance(transform);
  auto model = distributed::run_lloyd(rows, result.initial, settings);
  result.centroids = model.centroids;
  result.iterations = model.iterations;
  auto final_assignment = distributed::assign_and_measure(rows, model.centroids, {500, 7});
  result.quality = final_assignment.quality;
  auto profiles = distributed::profile_segments(comm, original, final_assignment.segments, k);
  result.profile_mean = profiles.mean;
  result.labels = gather_to_root(group, final_assignment.segments);
  result.distances = gather_to_root(group, final_assignment.distances);
  return result;
}

bool same_bits(double a, double b) {
  return std::memcmp(&a, &b, sizeof a) == 0;
}

void check_rank_independence(InitKind init) {
  int world_rank = 0, world_size = 0;
  MPI_Comm_rank(MPI_COMM_WORLD, &world_rank);
  MPI_Comm_size(MPI_COMM_WORLD, &world_size);
  const SyntheticSpec spec{2003, 5, 2.0, 11};
  const int k = 7;
  std::vector<GlobalResult> results;
  for (int group_size = 1; group_size <= world_size; ++group_size) {
    MPI_Comm group;
    MPI_Comm_split(MPI_COMM_WORLD, world_rank < group_size ? 0 : MPI_UNDEFINED, world_rank, &group);
    if (group != MPI_COMM_NULL) {
      results.push_back(segment_on(group, spec, k, init));
      MPI_Comm_free(&group);
    }
  }
  if (world_rank != 0) return;  // rank 0 was in every group and holds every gathered result
  REQUIRE(results.size() == static_cast<std::size_t>(world_size));
  const GlobalResult& one = results.front();
  REQUIRE(one.labels.size() == static_cast<std::size_t>(spec.customers));
  for (std::size_t p = 1; p < results.size(); ++p) {
    INFO("ranks: " << p + 1);
    const GlobalResult& other = results[p];
    CHECK(other.initial == one.initial);
    CHECK(other.centroids == one.centroids);
    CHECK(other.iterations == one.iterations);
    CHECK(other.labels == one.labels);
    CHECK(other.distances == one.distances);
    CHECK(same_bits(other.quality.inertia, one.quality.inertia));
    CHECK(same_bits(other.quality.calinski_harabasz, one.quality.calinski_harabasz));
    CHECK(same_bits(other.quality.davies_bouldin, one.quality.davies_bouldin));
    CHECK(same_bits(other.quality.silhouette_simplified, one.quality.silhouette_simplified));
    CHECK(same_bits(other.quality.silhouette_sampled, one.quality.silhouette_sampled));
    CHECK(other.profile_mean == one.profile_mean);
  }
}

}  // namespace

TEST_CASE("k-means|| segmentation is bit-identical on 1 to P ranks") {
  check_rank_independence(InitKind::kmeans_parallel);
}

TEST_CASE("k-means++ segmentation is bit-identical on 1 to P ranks") {
  check_rank_independence(InitKind::kmeans_plus_plus);
}

TEST_CASE("a rank with no rows takes part in every stage") {
  // Fewer customers than ranks: some ranks hold nothing, and the run still completes.
  Communicator comm;
  const SyntheticSpec spec{3, 2, 4.0, 5};
  auto [rows, transform, original] = test_support::scaled_synthetic(comm, spec);
  auto initial = distributed::KMeansParallelSeeding().seed(rows, 2, 1);
  distributed::LloydSettings settings;
  settings.k = 2;
  settings.mean_variance = distributed::mean_scaled_variance(transform);
  auto model = distributed::run_lloyd(rows, initial, settings);
  auto final_assignment = distributed::assign_and_measure(rows, model.centroids, {10, 1});
  std::int64_t assigned = comm.sum(static_cast<std::int64_t>(final_assignment.segments.size()));
  CHECK(assigned == 3);
  CHECK(model.centroids.allFinite());
  CHECK(final_assignment.quality.inertia >= 0);
}
