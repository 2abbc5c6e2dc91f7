// The sweep's distributed measures on sub-communicators of 1 .. P ranks: the contingency table and
// segment sizes equal a serial count, and the stratified silhouette is bit-identical for every
// rank count and, with a sample of everyone, equals the silhouette computed pair by pair.
#include <mpi.h>

#include <catch2/catch.hpp>
#include <cmath>
#include <cstring>
#include <limits>

#include "microseg/core/k_selection.hpp"
#include "microseg/core/synthetic.hpp"
#include "microseg/distributed/partition_measures.hpp"

using namespace microseg;
using distributed::Communicator;

namespace {

const SyntheticSpec spec{601, 4, 2.5, 21};
constexpr int k_planted = 4;
constexpr int k_other = 5;

// A second partition of the same customers, unrelated to the planted one.
std::int32_t other_label(std::int64_t global_row) {
  return static_cast<std::int32_t>((global_row * 7 + global_row / 3) % k_other);
}

struct GroupResult {
  std::vector<std::int64_t> table, sizes;
  distributed::StratifiedSilhouette full, sampled;
};

GroupResult measure_on(MPI_Comm group) {
  const Communicator comm(group);
  const RowRange rows = distributed::block_of_rows(spec.customers, comm.rank(), comm.size());
  const SyntheticBlock block = generate_synthetic_block(spec, rows);
  std::vector<std::int32_t> other(static_cast<std::size_t>(rows.size()));
  for (std::int64_t i = 0; i < rows.size(); ++i) other[i] = other_label(rows.begin + i);
  GroupResult result;
  result.table =
      distributed::contingency_table(comm, block.planted_segment, other, k_planted, k_other);
  result.sizes = distributed::segment_sizes(comm, block.planted_segment, k_planted);
  const distributed::RankRows rank_rows(comm, {rows, block.ids, block.features, {}, {}});
  result.full =
      distributed::stratified_silhouette(rank_rows, block.planted_segment, result.sizes, {1000, 3});
  result.sampled =
      distributed::stratified_silhouette(rank_rows, block.planted_segment, result.sizes, {90, 3});
  return result;
}

std::vector<GroupResult> on_every_group_size() {
  int world_rank = 0, world_size = 0;
  MPI_Comm_rank(MPI_COMM_WORLD, &world_rank);
  MPI_Comm_size(MPI_COMM_WORLD, &world_size);
  std::vector<GroupResult> results;
  for (int group_size = 1; group_size <= world_size; ++group_size) {
    MPI_Comm group;
    MPI_Comm_split(MPI_COMM_WORLD, world_rank < group_size ? 0 : MPI_UNDEFINED, world_rank, &group);
    if (group != MPI_COMM_NULL) {
      results.push_back(measure_on(group));
      MPI_Comm_free(&group);
    }
  }
  return results;  // complete on world rank 0, which is in every group
}

bool same_bits(double a, double b) {
  return std::memcmp(&a, &b, sizeof a) == 0;
}

// The silhouette of every customer, pair by pair in double (scikit-learn's definition).
double silhouette_by_pairs(const FeatureMatrix& x, const std::vector<std::int32_t>& labels, int k) {
  const Eigen::Index n = x.rows();
  std::vector<std::int64_t> sizes(k, 0);
  for (auto l : labels) ++sizes[l];
  double total = 0;
  for (Eigen::Index a = 0; a < n; ++a) {
    std::vector<double> sums(k, 0.0);
    for (Eigen::Index b = 0; b < n; ++b) {
      double squared = 0;
      for (Eigen::Index j = 0; j < x.cols(); ++j) {
        const double diff = static_cast<double>(x(a, j)) - static_cast<double>(x(b, j));
        squared += diff * diff;
      }
      sums[labels[b]] += std::sqrt(squared);
    }
    const int own = labels[a];
    if (sizes[own] <= 1) continue;
    const double intra = sums[own] / static_cast<double>(sizes[own] - 1);
    double inter = std::numeric_limits<double>::infinity();
    for (int c = 0; c < k; ++c) {
      if (c != own && sizes[c] > 0)
        inter = std::min(inter, sums[c] / static_cast<double>(sizes[c]));
    }
    total += (inter - intra) / std::max(intra, inter);
  }
  return total / static_cast<double>(n);
}

}  // namespace

TEST_CASE("contingency table and segment sizes equal a serial count on 1 to P ranks") {
  const std::vector<GroupResult> results = on_every_group_size();
  int world_rank = 0;
  MPI_Comm_rank(MPI_COMM_WORLD, &world_rank);
  if (world_rank != 0) return;
  const SyntheticBlock all = generate_synthetic_block(spec, {0, spec.customers});
  std::vector<std::int64_t> table(k_planted * k_other, 0), sizes(k_planted, 0);
  for (std::int64_t i = 0; i < spec.customers; ++i) {
    ++table[all.planted_segment[i] * k_other + other_label(i)];
    ++sizes[all.planted_segment[i]];
  }
  for (std::size_t p = 0; p < results.size(); ++p) {
    INFO("ranks: " << p + 1);
    CHECK(results[p].table == table);
    CHECK(results[p].sizes == sizes);
  }
}

TEST_CASE("stratified silhouette is bit-identical on 1 to P ranks and exact with everyone") {
  const std::vector<GroupResult> results = on_every_group_size();
  int world_rank = 0;
  MPI_Comm_rank(MPI_COMM_WORLD, &world_rank);
  if (world_rank != 0) return;
  const SyntheticBlock all = generate_synthetic_block(spec, {0, spec.customers});
  const GroupResult& one = results.front();
  // A sample of 1000 ≥ 601 customers is everyone: the exact silhouette.
  CHECK(one.full.sample_sizes == one.sizes);
  CHECK(one.full.value ==
        Approx(silhouette_by_pairs(all.features, all.planted_segment, k_planted)).epsilon(1e-10));
  // 90 customers: every segment gets its stratified quota, whatever its size.
  CHECK(one.sampled.sample_sizes == stratified_quotas(one.sizes, 90));
  CHECK(std::isfinite(one.sampled.value));
  CHECK(std::abs(one.sampled.value - one.full.value) < 0.15);
  for (std::size_t p = 1; p < results.size(); ++p) {
    INFO("ranks: " << p + 1);
    CHECK(same_bits(results[p].full.value, one.full.value));
    CHECK(same_bits(results[p].sampled.value, one.sampled.value));
    CHECK(results[p].sampled.sample_sizes == one.sampled.sample_sizes);
  }
}

TEST_CASE("mismatched label vectors are an error every rank agrees on") {
  const Communicator comm;
  std::vector<std::int32_t> first(3, 0), second(comm.rank() == comm.size() - 1 ? 2 : 3, 0);
  CHECK_THROWS_AS(distributed::contingency_table(comm, first, second, 1, 1),
                  distributed::AgreedError);
  std::vector<std::int32_t> out_of_range(2, comm.rank() == 0 ? 7 : 0);
  CHECK_THROWS_AS(distributed::contingency_table(comm, out_of_range, out_of_range, 2, 2),
                  distributed::AgreedError);
}
