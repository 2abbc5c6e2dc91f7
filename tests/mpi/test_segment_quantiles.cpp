// Per-segment percentiles across ranks (distributed::segment_quantiles, the p05/p95 of the shared
// profiles): equal, bit for bit, to the serial numpy-rule quantile of each segment's values,
// whatever the number of ranks holding the rows.
#include <mpi.h>

#include <catch2/catch.hpp>
#include <cmath>
#include <cstdint>
#include <vector>

#include "microseg/core/feature_transform.hpp"
#include "microseg/distributed/profiles.hpp"

namespace {

using microseg::FeatureMatrix;

// Every rank makes the same table: ties, a constant column, a segment of one customer, an empty
// segment (3) and NaN values, which are left out.
void make_table(std::int64_t n, FeatureMatrix& values, std::vector<std::int32_t>& labels) {
  values.resize(n, 3);
  labels.resize(static_cast<std::size_t>(n));
  for (std::int64_t i = 0; i < n; ++i) {
    labels[i] = i == 0 ? 4 : static_cast<std::int32_t>((i * 7) % 3);
    values(i, 0) = static_cast<float>((i * 37) % 101) * 0.25f - 3.0f;
    values(i, 1) = static_cast<float>((i * 13) % 5);  // many ties
    values(i, 2) = i % 11 == 0 ? std::nanf("") : 2.5f;
  }
}

}  // namespace

TEST_CASE("segment_quantiles equals the serial quantile of each segment on any rank count",
          "[profiles]") {
  int rank = 0, size = 1;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  MPI_Comm_size(MPI_COMM_WORLD, &size);
  const std::int64_t n = 503;
  const int k = 5;
  FeatureMatrix all;
  std::vector<std::int32_t> all_labels;
  make_table(n, all, all_labels);
  const std::int64_t begin = n * rank / size, end = n * (rank + 1) / size;
  const FeatureMatrix mine = all.middleRows(begin, end - begin);
  const std::vector<std::int32_t> my_labels(all_labels.begin() + begin, all_labels.begin() + end);
  const std::vector<double> levels{0.05, 0.95, 0.5};
  const microseg::distributed::Communicator comm(MPI_COMM_WORLD);
  const std::vector<double> found =
      microseg::distributed::segment_quantiles(comm, mine, my_labels, k, levels);
  REQUIRE(found.size() == static_cast<std::size_t>(k) * 3 * levels.size());
  for (int s = 0; s < k; ++s) {
    for (int j = 0; j < 3; ++j) {
      std::vector<float> members;
      for (std::int64_t i = 0; i < n; ++i) {
        if (all_labels[i] == s) members.push_back(all(i, j));
      }
      for (std::size_t l = 0; l < levels.size(); ++l) {
        const double expected = microseg::linear_quantile(members, levels[l]);
        const double value = found[(static_cast<std::size_t>(s) * 3 + j) * levels.size() + l];
        INFO("segment " << s << ", feature " << j << ", level " << levels[l]);
        if (std::isnan(expected)) {
          CHECK(std::isnan(value));  // the empty segment 3
        } else {
          CHECK(value == expected);
        }
      }
    }
  }
  // The segment of one customer: every percentile is that customer's value.
  CHECK(found[(4 * 3 + 0) * levels.size()] == static_cast<double>(all(0, 0)));
}
