// The transform stage on sub-communicators of 1 … P ranks: exact quantiles and means of columns
// with missing values agree with a serial reference, and the fitted transform (one-hot, missing
// values, clipping, robust scaling, weights) and the transformed rows are bit-identical for any
// rank count.
#include <mpi.h>

#include <catch2/catch.hpp>
#include <cmath>
#include <cstring>
#include <vector>

#include "microseg/core/random.hpp"
#include "microseg/distributed/feature_preparation.hpp"

using namespace microseg;
using distributed::Communicator;

namespace {

constexpr std::int64_t rows_total = 1003;

// Column 0: skewed values with ties and ~7% NaN; 1: category codes 0..3 with NaN; 2: a few
// distinct values, negative too, NaN in some rows.
float cell(std::int64_t row, int column) {
  const std::uint64_t h =
      keyed_hash(7, RandomStream::generate_feature, static_cast<std::uint64_t>(row * 3 + column));
  const double u = static_cast<double>(h >> 11) / 9007199254740992.0;
  if (u < 0.07) return std::nanf("");
  switch (column) {
    case 0:
      return static_cast<float>(std::round(std::exp(6 * u) * 4) / 4);
    case 1:
      return static_cast<float>((h >> 3) % 4);
    default:
      return static_cast<float>(static_cast<int>((h >> 5) % 9) - 3) * 0.5f;
  }
}

CustomerBlock block_of(RowRange rows) {
  CustomerBlock block;
  block.rows = rows;
  block.features.resize(rows.size(), 3);
  for (std::int64_t i = 0; i < rows.size(); ++i) {
    block.ids.push_back(1000 + rows.begin + i);
    for (int j = 0; j < 3; ++j) block.features(i, j) = cell(rows.begin + i, j);
  }
  block.feature_names = {"spend", "region", "score"};
  return block;
}

std::vector<float> gather_floats(MPI_Comm comm, const FeatureMatrix& local) {
  int size = 0;
  MPI_Comm_size(comm, &size);
  int count = static_cast<int>(local.size());
  std::vector<int> counts(size), offsets(size);
  MPI_Allgather(&count, 1, MPI_INT, counts.data(), 1, MPI_INT, comm);
  int total = 0;
  for (int r = 0; r < size; ++r) offsets[r] = total, total += counts[r];
  std::vector<float> all(static_cast<std::size_t>(total));
  MPI_Allgatherv(local.data(), count, MPI_FLOAT, all.data(), counts.data(), offsets.data(),
                 MPI_FLOAT, comm);
  return all;
}

struct Outcome {
  std::vector<std::vector<double>> quantiles;
  std::vector<double> means;
  std::vector<FeatureTransform> transforms;
  std::vector<ScalingModel> scalings;
  std::vector<std::vector<float>> rows;
  std::vector<std::int64_t> dropped;
};

template <class Work>
void on_every_group_size(Work work) {
  int world_rank = 0, world_size = 1;
  MPI_Comm_rank(MPI_COMM_WORLD, &world_rank);
  MPI_Comm_size(MPI_COMM_WORLD, &world_size);
  for (int group_size = 1; group_size <= world_size; ++group_size) {
    MPI_Comm group;
    MPI_Comm_split(MPI_COMM_WORLD, world_rank < group_size ? 0 : MPI_UNDEFINED, world_rank, &group);
    if (group != MPI_COMM_NULL) {
      work(group);
      MPI_Comm_free(&group);
    }
    MPI_Barrier(MPI_COMM_WORLD);
  }
}

}  // namespace

TEST_CASE("quantiles and means of columns with missing values are exact for any rank count",
          "[transform][mpi]") {
  const std::vector<double> levels{0, 0.01, 0.25, 0.5, 0.9, 0.99, 1};
  const CustomerBlock all = block_of({0, rows_total});
  std::vector<Outcome> outcomes;
  on_every_group_size([&](MPI_Comm group) {
    Communicator comm(group);
    const CustomerBlock block =
        block_of(distributed::block_of_rows(rows_total, comm.rank(), comm.size()));
    Outcome outcome;
    outcome.quantiles = distributed::column_quantiles(comm, block.features, levels);
    outcome.means = distributed::column_means_ignoring_missing(comm, block.features);
    outcomes.push_back(outcome);
  });
  if (outcomes.empty()) return;  // ranks outside every group but the largest do nothing
  for (int j = 0; j < 3; ++j) {
    std::vector<float> values;
    double sum = 0;
    std::int64_t count = 0;
    for (Eigen::Index i = 0; i < all.features.rows(); ++i) {
      values.push_back(all.features(i, j));
      if (!std::isnan(all.features(i, j))) sum += all.features(i, j), ++count;
    }
    for (std::size_t l = 0; l < levels.size(); ++l) {
      CHECK(outcomes.front().quantiles[j][l] == linear_quantile(values, levels[l]));
    }
    CHECK(outcomes.front().means[j] == Approx(sum / static_cast<double>(count)).epsilon(1e-14));
  }
  for (const Outcome& outcome : outcomes) {
    CHECK(outcome.quantiles == outcomes.front().quantiles);
    CHECK(std::memcmp(outcome.means.data(), outcomes.front().means.data(), 3 * sizeof(double)) ==
          0);
  }
}

TEST_CASE("the fitted transform and the transformed rows do not depend on the rank count",
          "[transform][mpi]") {
  for (MissingPolicy policy : {MissingPolicy::mean, MissingPolicy::median, MissingPolicy::drop}) {
    std::vector<Outcome> outcomes(1);
    on_every_group_size([&](MPI_Comm group) {
      Communicator comm(group);
      CustomerBlock block =
          block_of(distributed::block_of_rows(rows_total, comm.rank(), comm.size()));
      FeatureTransform plan = FeatureTransform::plan(policy, {"spend", "region", "score"},
                                                     {{}, {"e", "n", "s", "w"}, {}});
      set_weights(plan, {"spend=2", "region=0.5"});
      distributed::TransformSettings settings;
      settings.scale = ScaleKind::robust;
      settings.log1p = {1, 0, 0, 0, 0, 0};
      settings.clip_low = 0.02;
      settings.clip_high = 0.95;
      const auto prepared =
          distributed::fit_and_apply_preparation(comm, block, plan, settings, "generated");
      outcomes[0].transforms.push_back(prepared.features);
      outcomes[0].scalings.push_back(prepared.scaling.model);
      outcomes[0].rows.push_back(gather_floats(group, block.features));
      outcomes[0].dropped.push_back(prepared.dropped);
    });
    const Outcome& o = outcomes[0];
    if (o.rows.empty()) continue;
    for (std::size_t g = 0; g < o.rows.size(); ++g) {
      INFO("policy " << to_string(policy) << ", group of " << g + 1 << " ranks");
      CHECK(o.rows[g].size() == o.rows[0].size());
      CHECK(std::memcmp(o.rows[g].data(), o.rows[0].data(), o.rows[0].size() * sizeof(float)) == 0);
      CHECK(o.transforms[g].fill.size() == 6);
      for (std::size_t j = 0; j < 6; ++j) {
        CHECK(std::memcmp(&o.transforms[g].fill[j], &o.transforms[0].fill[j], sizeof(double)) == 0);
        CHECK(o.transforms[g].clip_low[j] == o.transforms[0].clip_low[j]);
        CHECK(o.transforms[g].clip_high[j] == o.transforms[0].clip_high[j]);
        CHECK(o.scalings[g].offset[j] == o.scalings[0].offset[j]);
        CHECK(o.scalings[g].scale[j] == o.scalings[0].scale[j]);
      }
      CHECK(o.dropped[g] == o.dropped[0]);
    }
    // Weights fold into the scale; indicators are unscaled; dropping leaves no NaN.
    CHECK(o.scalings[0].scale[1] == 2.0);  // region=e: 1 / 0.5
    CHECK(o.scalings[0].offset[1] == 0.0);
    if (policy == MissingPolicy::drop) {
      CHECK(o.dropped[0] > 100);
      CHECK(std::isnan(o.transforms[0].fill[0]));
    } else {
      CHECK(o.dropped[0] == 0);
    }
    std::size_t non_finite = 0;
    for (float x : o.rows[0]) non_finite += !std::isfinite(x);
    CHECK(non_finite == 0);
  }
}
