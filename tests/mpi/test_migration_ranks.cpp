// Comparison with a previous run at 1 … P ranks: the join by customer id, the migration matrix
// and moves, value and RFM summaries and the merge of small segments must be the same for every
// rank count and agree with a serial computation; a run written with its model reads back as
// that model. Groups of 1 … P ranks are sub-communicators of one mpiexec run.
#include <mpi.h>

#include <algorithm>
#include <catch2/catch.hpp>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <functional>
#include <map>
#include <set>

#include "microseg/core/random.hpp"
#include "microseg/core/rfm.hpp"
#include "microseg/core/synthetic.hpp"
#include "microseg/distributed/migration.hpp"
#include "microseg/distributed/seeding.hpp"
#include "microseg/distributed/segment_value.hpp"
#include "microseg/distributed/small_segments.hpp"
#include "microseg/io/run_model.hpp"
#include "microseg/io/segments_file.hpp"
#include "scaled_synthetic.hpp"
#include "shared_temp_dir.hpp"

using namespace microseg;
using distributed::Communicator;
using distributed::PreviousAssignment;

namespace {

int world_rank() {
  int rank = 0;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  return rank;
}

int world_size() {
  int size = 1;
  MPI_Comm_size(MPI_COMM_WORLD, &size);
  return size;
}

// Runs `work` on groups of 1 … P ranks (the lowest ranks of the world); returns on world rank 0
// (a member of every group) what each group's rank 0 produced.
template <class Result>
std::vector<Result> on_every_group_size(const std::function<Result(const Communicator&)>& work) {
  std::vector<Result> results;
  for (int group_size = 1; group_size <= world_size(); ++group_size) {
    MPI_Comm group;
    MPI_Comm_split(MPI_COMM_WORLD, world_rank() < group_size ? 0 : MPI_UNDEFINED, world_rank(),
                   &group);
    if (group != MPI_COMM_NULL) {
      Communicator comm(group);
      Result result = work(comm);
      if (comm.is_root()) results.push_back(std::move(result));
      MPI_Comm_free(&group);
    }
  }
  return results;
}

// The previous run: 1000 customers with ids 7 + 3i, segment (stable id) i % 5, distance i / 2,
// value i. The current run: customers 100 … 999 in a scrambled order, then 150 new ones.
constexpr int previous_customers = 1000, dropped = 100, joined = 150;

std::int64_t previous_id(int i) {
  return 7 + 3 * static_cast<std::int64_t>(i);
}

std::vector<std::int64_t> current_ids() {
  std::vector<std::int64_t> ids;
  for (int i = dropped; i < previous_customers; ++i) ids.push_back(previous_id(i));
  std::sort(ids.begin(), ids.end(), [](std::int64_t a, std::int64_t b) {
    return keyed_hash(3, RandomStream::id_partition, static_cast<std::uint64_t>(a)) <
           keyed_hash(3, RandomStream::id_partition, static_cast<std::uint64_t>(b));
  });
  for (int j = 0; j < joined; ++j) ids.push_back(1'000'000 + j);
  return ids;
}

// Each rank holds an interleaved share of the previous records (a split unlike the current one).
std::vector<PreviousAssignment> previous_share(const Communicator& comm) {
  std::vector<PreviousAssignment> share;
  for (int i = comm.rank(); i < previous_customers; i += comm.size()) {
    PreviousAssignment record;
    record.id = previous_id(i);
    record.segment = i % 5;
    record.distance = 0.5 * i;
    record.value = i;
    share.push_back(record);
  }
  return share;
}

// The current segment of a customer: ids 0 … 3 kept, id 4 retired, id 5 fresh.
std::int32_t current_segment(std::int64_t id) {
  static const std::int32_t ids[] = {0, 1, 2, 3, 5};
  return ids[keyed_hash(8, RandomStream::id_partition, static_cast<std::uint64_t>(id)) % 5];
}

// Bit-for-bit equality, under which NaN equals NaN.
bool same_bits(const std::vector<double>& a, const std::vector<double>& b) {
  return a.size() == b.size() && std::memcmp(a.data(), b.data(), a.size() * sizeof(double)) == 0;
}

template <class T>
std::vector<T> gather_on_root(const Communicator& comm, const std::vector<T>& local) {
  return comm.all_gather(local);  // small test data: every rank may hold it
}

}  // namespace

TEST_CASE("join by id finds each customer's previous record on any rank count") {
  const std::vector<std::int64_t> ids = current_ids();
  struct Joined {
    std::vector<PreviousAssignment> previous;  // per current row, in row order
    std::vector<std::int64_t> missing_ids;
  };
  const auto results = on_every_group_size<Joined>([&](const Communicator& comm) {
    const RowRange rows =
        distributed::block_of_rows(static_cast<std::int64_t>(ids.size()), comm.rank(), comm.size());
    const std::vector<std::int64_t> local(ids.begin() + rows.begin, ids.begin() + rows.end);
    const distributed::JoinedCustomers joined_customers =
        distributed::join_by_id(comm, rows, local, previous_share(comm));
    std::vector<std::int64_t> missing;
    for (const auto& record : joined_customers.missing_now) missing.push_back(record.id);
    return Joined{gather_on_root(comm, joined_customers.previous), gather_on_root(comm, missing)};
  });
  if (world_rank() != 0) return;
  REQUIRE(results.size() == static_cast<std::size_t>(world_size()));
  for (std::size_t g = 0; g < results.size(); ++g) {
    INFO("ranks: " << g + 1);
    const Joined& r = results[g];
    REQUIRE(r.previous.size() == ids.size());
    for (std::size_t row = 0; row < ids.size(); ++row) {
      const PreviousAssignment& found = r.previous[row];
      if (ids[row] >= 1'000'000) {
        CHECK(found.segment == -1);
        continue;
      }
      const int i = static_cast<int>((ids[row] - 7) / 3);
      CHECK(found.id == ids[row]);
      CHECK(found.segment == i % 5);
      CHECK(found.distance == 0.5 * i);
      CHECK(found.value == i);
    }
    std::set<std::int64_t> missing(r.missing_ids.begin(), r.missing_ids.end());
    CHECK(missing.size() == r.missing_ids.size());
    std::set<std::int64_t> expected;
    for (int i = 0; i < dropped; ++i) expected.insert(previous_id(i));
    CHECK(missing == expected);
  }
}

TEST_CASE("the migration is identical on any rank count and matches a serial count") {
  const std::vector<std::int64_t> ids = current_ids();
  distributed::MigrationSegments segments;
  segments.previous_ids = {0, 1, 2, 3, 4};
  segments.current_ids = {0, 1, 2, 3, 5};
  segments.drift = {0.1, 0.2, 0.3, 0.4, std::nan("")};
  segments.current_value_mean = {500.0, 400.0, 300.0, 200.0, 600.0};
  segments.previous_reference_value = {500.0, 400.0, 300.0, 200.0, 450.0};
  segments.previous_values_recorded = true;
  struct Outcome {
    MigrationReport report;
    std::vector<std::int64_t> move_ids;
    std::vector<std::int8_t> at_risk;
  };
  const auto results = on_every_group_size<Outcome>([&](const Communicator& comm) {
    const RowRange rows =
        distributed::block_of_rows(static_cast<std::int64_t>(ids.size()), comm.rank(), comm.size());
    const std::vector<std::int64_t> local(ids.begin() + rows.begin, ids.begin() + rows.end);
    std::vector<std::int32_t> labels;
    std::vector<double> distances, values;
    for (std::int64_t id : local) {
      labels.push_back(current_segment(id));
      distances.push_back(static_cast<double>(id % 17));
      values.push_back(0.25 * static_cast<double>(id % 1000));
    }
    const distributed::CurrentCustomers current{rows, &local, &labels, &distances, &values};
    const distributed::MigrationResult result =
        distributed::compare_with_previous(comm, current, previous_share(comm), segments);
    // The blocks of moves tile the global list in row order.
    const std::int64_t next =
        comm.exclusive_prefix_sum(static_cast<std::int64_t>(result.moves.id.size()));
    CHECK(result.moves.offset == next);
    return Outcome{result.report, gather_on_root(comm, result.moves.id),
                   gather_on_root(comm, result.moves.at_risk)};
  });
  if (world_rank() != 0) return;

  // Serial reference.
  std::map<std::pair<int, int>, std::int64_t> cells;
  std::map<std::pair<int, int>, double> values;
  std::vector<std::int64_t> moves;
  std::vector<std::int8_t> at_risk;
  const auto column_of = [](std::int32_t id) { return id == 5 ? 4 : id; };
  for (std::int64_t id : ids) {
    const int c = column_of(current_segment(id));
    const double value = 0.25 * static_cast<double>(id % 1000);
    const int p = id >= 1'000'000 ? 5 : static_cast<int>((id - 7) / 3) % 5;
    ++cells[{p, c}];
    values[{p, c}] += value;
    if (p < 5 && segments.previous_ids[p] != segments.current_ids[c]) {
      moves.push_back(id);
      at_risk.push_back(segments.current_value_mean[c] < segments.previous_reference_value[p]);
    }
  }
  for (int i = 0; i < dropped; ++i) {
    ++cells[{i % 5, 5}];
    values[{i % 5, 5}] += i;
  }
  const Outcome& one = results.front();
  for (int p = 0; p <= 5; ++p) {
    for (int c = 0; c <= 5; ++c) {
      INFO("cell " << p << ", " << c);
      const auto at = one.report.matrix.at(p, c);
      CHECK(one.report.matrix.counts[at] == cells[{p, c}]);
      CHECK(one.report.matrix.value[at] == Approx(values[{p, c}]).epsilon(1e-14));
    }
  }
  CHECK(one.move_ids == moves);
  CHECK(one.at_risk == at_risk);
  CHECK(one.report.stability.joined == joined);
  CHECK(one.report.stability.left == dropped);
  CHECK(one.report.stability.at_risk == std::count(at_risk.begin(), at_risk.end(), std::int8_t{1}));

  for (std::size_t g = 1; g < results.size(); ++g) {
    INFO("ranks: " << g + 1);
    const Outcome& other = results[g];
    CHECK(other.report.matrix.counts == one.report.matrix.counts);
    CHECK(same_bits(other.report.matrix.value, one.report.matrix.value));
    CHECK(same_bits(other.report.flows.value_inflow, one.report.flows.value_inflow));
    CHECK(same_bits(other.report.flows.retention, one.report.flows.retention));
    CHECK(same_bits(other.report.flows.drift, one.report.flows.drift));
    CHECK(other.report.stability.adjusted_rand_index == one.report.stability.adjusted_rand_index);
    CHECK(other.report.stability.adjusted_mutual_information ==
          one.report.stability.adjusted_mutual_information);
    CHECK(other.move_ids == one.move_ids);
    CHECK(other.at_risk == one.at_risk);
  }
}

TEST_CASE("a two-level comparison groups and flags moves alike on any rank count") {
  // Previous segments 0 … 4 lie in previous macro segments 10, 10, 11, 11, 12; the current
  // customers' macro segment (row 0, 1, 2 with ids 10, 11, 13) is a hash of their id.
  const std::vector<std::int64_t> ids = current_ids();
  const std::vector<std::int64_t> previous_macro = {10, 10, 11, 11, 12};
  const std::vector<std::int64_t> macro_ids = {10, 11, 13};
  const auto macro_row = [](std::int64_t id) {
    return static_cast<std::int32_t>(
        keyed_hash(21, RandomStream::id_partition, static_cast<std::uint64_t>(id)) % 3);
  };
  distributed::MigrationSegments segments;
  segments.previous_ids = {0, 1, 2, 3, 4};
  segments.current_ids = {0, 1, 2, 3, 5};
  segments.drift = std::vector<double>(5, 0.0);
  segments.previous_macro_of_segment = previous_macro;
  struct Outcome {
    std::vector<std::int64_t> by_group;
    std::vector<std::int64_t> move_ids;
    std::vector<std::int8_t> across;
    MigrationStability micro;
    std::vector<std::int64_t> macro_counts;
  };
  const auto results = on_every_group_size<Outcome>([&](const Communicator& comm) {
    const RowRange rows =
        distributed::block_of_rows(static_cast<std::int64_t>(ids.size()), comm.rank(), comm.size());
    const std::vector<std::int64_t> local(ids.begin() + rows.begin, ids.begin() + rows.end);
    std::vector<std::int32_t> labels, macro_rows, macro_labels;
    std::vector<double> distances;
    for (std::int64_t id : local) {
      labels.push_back(current_segment(id));
      macro_rows.push_back(macro_row(id));
      macro_labels.push_back(static_cast<std::int32_t>(macro_ids[macro_row(id)]));
      distances.push_back(1.0);
    }
    distributed::CurrentCustomers current{rows, &local, &labels, &distances, nullptr};
    current.macro_segments = &macro_labels;
    const distributed::JoinedCustomers joined =
        distributed::join_with_previous(comm, current, previous_share(comm), segments.previous_ids);
    Outcome outcome;
    outcome.by_group =
        distributed::previous_by_group(comm, joined, segments.previous_ids, macro_rows, 3);
    const distributed::MigrationResult micro =
        distributed::migration_from_join(comm, current, joined, segments);
    distributed::MigrationSegments macro_segments;
    macro_segments.previous_ids = {10, 11, 12};
    macro_segments.current_ids = macro_ids;
    macro_segments.drift = std::vector<double>(3, 0.0);
    macro_segments.list_moves = false;
    distributed::CurrentCustomers macro_current{rows, &local, &macro_labels, &distances, nullptr};
    const distributed::MigrationResult macro = distributed::migration_from_join(
        comm, macro_current,
        distributed::previous_at_macro_level(joined, segments.previous_ids, previous_macro),
        macro_segments);
    CHECK(macro.moves.id.empty());
    outcome.move_ids = gather_on_root(comm, micro.moves.id);
    outcome.across = gather_on_root(comm, micro.moves.across_macro);
    outcome.micro = micro.report.stability;
    outcome.macro_counts = macro.report.matrix.counts;
    return outcome;
  });
  if (world_rank() != 0) return;

  // Serial reference.
  std::vector<std::int64_t> by_group(5 * 3, 0), macro_counts(4 * 4, 0), move_ids;
  std::vector<std::int8_t> across;
  for (std::int64_t id : ids) {
    const int g = macro_row(id);
    if (id >= 1'000'000) {
      ++macro_counts[3 * 4 + g];
      continue;
    }
    const int p = static_cast<int>((id - 7) / 3) % 5;
    ++by_group[static_cast<std::size_t>(p) * 3 + g];
    ++macro_counts[static_cast<std::size_t>(previous_macro[p] - 10) * 4 + g];
    if (segments.previous_ids[p] != current_segment(id)) {
      move_ids.push_back(id);
      across.push_back(previous_macro[p] != macro_ids[g]);
    }
  }
  for (int i = 0; i < dropped; ++i) ++macro_counts[(previous_macro[i % 5] - 10) * 4 + 3];
  const Outcome& one = results.front();
  CHECK(one.by_group == by_group);
  CHECK(one.move_ids == move_ids);
  CHECK(one.across == across);
  const auto across_total = std::count(across.begin(), across.end(), std::int8_t{1});
  CHECK(one.micro.moved_across_macro == across_total);
  CHECK(one.micro.moved_within_macro == static_cast<std::int64_t>(across.size()) - across_total);
  CHECK(one.macro_counts == macro_counts);
  for (std::size_t g = 1; g < results.size(); ++g) {
    INFO("ranks: " << g + 1);
    CHECK(results[g].by_group == one.by_group);
    CHECK(results[g].move_ids == one.move_ids);
    CHECK(results[g].across == one.across);
    CHECK(results[g].macro_counts == one.macro_counts);
    CHECK(results[g].micro.moved_across_macro == one.micro.moved_across_macro);
  }
}

TEST_CASE("a previous record naming an unknown segment fails on every rank") {
  Communicator comm;
  std::vector<PreviousAssignment> records;
  if (comm.rank() == comm.size() - 1) {
    PreviousAssignment record;
    record.id = 42;
    record.segment = 9;
    records.push_back(record);
  }
  const std::vector<std::int64_t> ids;
  const std::vector<std::int32_t> labels;
  const std::vector<double> distances;
  const distributed::CurrentCustomers current{RowRange{0, 0}, &ids, &labels, &distances, nullptr};
  distributed::MigrationSegments segments;
  segments.previous_ids = {0, 1};
  segments.current_ids = {0};
  segments.drift = {0.0};
  CHECK_THROWS_WITH(distributed::compare_with_previous(comm, current, records, segments),
                    Catch::Contains("customer id 42") && Catch::Contains("segment 9"));
}

TEST_CASE("value and RFM summaries are identical on any rank count and match serial sums") {
  const SyntheticSpec spec{2500, 4, 3.0, 17};
  const auto& names = synthetic_feature_names();
  const auto column = [&](const char* name) {
    return static_cast<Eigen::Index>(std::find(names.begin(), names.end(), name) - names.begin());
  };
  struct Summaries {
    SegmentValue value;
    RfmQuintileSummary rfm;
  };
  const auto results = on_every_group_size<Summaries>([&](const Communicator& comm) {
    const RowRange rows = distributed::block_of_rows(spec.customers, comm.rank(), comm.size());
    const SyntheticBlock block = generate_synthetic_block(spec, rows);
    std::vector<double> recency, frequency, monetary;
    for (Eigen::Index i = 0; i < block.features.rows(); ++i) {
      recency.push_back(block.features(i, column("recency_days")));
      frequency.push_back(block.features(i, column("frequency")));
      monetary.push_back(block.features(i, column("monetary")));
    }
    return Summaries{
        distributed::value_by_segment(comm, "monetary", monetary, block.planted_segment, 4),
        distributed::rfm_quintile_summary(comm, {"recency_days", "frequency", "monetary"},
                                          {&recency, &frequency, &monetary}, block.planted_segment,
                                          4)};
  });
  if (world_rank() != 0) return;
  const SyntheticBlock all = generate_synthetic_block(spec, {0, spec.customers});
  std::vector<double> totals(4, 0.0), counts(4, 0.0);
  std::vector<std::vector<double>> scored(3);
  for (Eigen::Index i = 0; i < all.features.rows(); ++i) {
    totals[all.planted_segment[i]] += all.features(i, column("monetary"));
    ++counts[all.planted_segment[i]];
    scored[0].push_back(-all.features(i, column("recency_days")));
    scored[1].push_back(all.features(i, column("frequency")));
    scored[2].push_back(all.features(i, column("monetary")));
  }
  std::vector<double> score_sums(12, 0.0);
  for (int c = 0; c < 3; ++c) {
    const QuintileThresholds thresholds = quintile_thresholds(scored[c]);
    for (std::size_t i = 0; i < scored[c].size(); ++i) {
      score_sums[all.planted_segment[i] * 3 + c] += quintile_score(scored[c][i], thresholds);
    }
  }
  const Summaries& one = results.front();
  for (int s = 0; s < 4; ++s) {
    CHECK(one.value.total[s] == Approx(totals[s]).epsilon(1e-12));
    CHECK(one.value.mean[s] == Approx(totals[s] / counts[s]).epsilon(1e-12));
    for (int c = 0; c < 3; ++c) {
      CHECK(one.rfm.score_mean[s * 3 + c] == score_sums[s * 3 + c] / counts[s]);
    }
  }
  for (std::size_t g = 1; g < results.size(); ++g) {
    INFO("ranks: " << g + 1);
    CHECK(same_bits(results[g].value.total, one.value.total));
    CHECK(same_bits(results[g].value.share, one.value.share));
    CHECK(results[g].rfm.thresholds == one.rfm.thresholds);
    CHECK(results[g].rfm.score_mean == one.rfm.score_mean);
    CHECK(results[g].rfm.quintile_share == one.rfm.quintile_share);
  }
}

TEST_CASE("small segments merge the same way on any rank count") {
  const SyntheticSpec spec{1800, 3, 6.0, 23};
  struct Merged {
    CentroidMatrix centroids;
    std::vector<std::int64_t> sizes;
    std::size_t merges = 0;
  };
  const auto results = on_every_group_size<Merged>([&](const Communicator& comm) {
    const test_support::ScaledSynthetic scaled = test_support::scaled_synthetic(comm, spec);
    // Six centres for three planted segments: some come out small and are merged.
    const CentroidMatrix initial = distributed::KMeansPlusPlusSeeding().seed(scaled.rows, 6, 5);
    const auto merged = distributed::merge_small_segments(scaled.rows, initial, 400);
    return Merged{merged.centroids, merged.sizes, merged.merges.size()};
  });
  if (world_rank() != 0) return;
  const Merged& one = results.front();
  CHECK(one.merges > 0);
  for (std::int64_t size : one.sizes) CHECK(size >= 400);
  for (std::size_t g = 1; g < results.size(); ++g) {
    INFO("ranks: " << g + 1);
    CHECK(results[g].centroids == one.centroids);
    CHECK(results[g].sizes == one.sizes);
  }
}

TEST_CASE("a run written with its model reads back as that model on any rank split") {
  Communicator comm;
  const test_support::SharedTempDir temp("microseg-migration-test");
  const std::string directory = temp.file("run");
  if (comm.is_root()) io::ensure_writable_directory(directory);
  comm.barrier();

  const int k = 3, d = 2;
  const std::int64_t n = 13;
  SegmentationSummary summary;
  summary.feature_names = {"spend", "age"};
  summary.centroids_scaled = CentroidMatrix(k, d);
  summary.centroids_scaled << 0.5, -1.0, 1.5, 2.0, -0.25, 0.75;
  summary.centroids_original = summary.centroids_scaled;
  SegmentProfiles& p = summary.profiles;
  p.k = k;
  p.d = d;
  p.size = {4, 5, 4};
  p.share = {4 / 13.0, 5 / 13.0, 4 / 13.0};
  p.mean = p.std = p.min = p.max = p.p05 = p.p95 = p.lift = std::vector<double>(k * d, 0.5);
  p.population_mean = p.population_std = {1.0, 2.0};
  ScalingModel scaling;
  scaling.kind = ScaleKind::minmax;
  scaling.log1p = {1, 0};
  scaling.offset = {0.125, 18.0};
  scaling.scale = {3.5, 60.0};
  SegmentIdentity identity;
  identity.ids = {7, 2, 9};
  identity.next_id = 11;
  identity.retired_ids = {0, 4};
  ActionableProfiles actionable;
  actionable.description = {"spend +1.0σ", "close to the population average", "age −2.0σ"};
  actionable.undersized = {0, 0, 0};
  actionable.value = SegmentValue{"spend", {40.0, 50.0, 60.0}, {10.0, 10.0, 15.0}, {0.2, 0.3, 0.5}};
  actionable.priority = prioritise_segments(identity.ids, p.size, &*actionable.value, nullptr);
  const RowRange rows = distributed::block_of_rows(n, comm.rank(), comm.size());
  std::vector<std::int64_t> ids;
  std::vector<std::int32_t> segments;
  std::vector<double> distances, values;
  for (std::int64_t i = rows.begin; i < rows.end; ++i) {
    ids.push_back(100 + 5 * i);
    segments.push_back(static_cast<std::int32_t>(identity.ids[i % k]));
    distances.push_back(0.25 * i);
    values.push_back(10.0 * i);
  }
  io::RunOutputs outputs;
  outputs.scaling = &scaling;
  outputs.identity = &identity;
  outputs.actionable = &actionable;
  outputs.values = &values;
  io::write_segmentation(directory, comm.native(), summary,
                         AssignmentBlock{rows, n, &ids, &segments, &distances}, outputs);

  const io::RunModel model = io::read_run_model(directory);
  CHECK(model.feature_names == summary.feature_names);
  CHECK(model.scaling.kind == ScaleKind::minmax);
  CHECK(model.scaling.log1p == scaling.log1p);
  CHECK(model.scaling.offset == scaling.offset);
  CHECK(model.scaling.scale == scaling.scale);
  CHECK(model.centroids == summary.centroids_scaled);
  CHECK(model.identity.ids == identity.ids);
  CHECK(model.identity.next_id == 11);
  CHECK(model.identity.retired_ids == identity.retired_ids);
  CHECK(model.sizes == p.size);
  CHECK(model.value_feature == "spend");
  CHECK(model.value_total == actionable.value->total);
  CHECK(model.customers == n);
  CHECK(model.assignments_have_value);
  const io::RunModel reordered = model.with_feature_order({"age", "spend"});
  CHECK(reordered.scaling.offset == std::vector<double>{18.0, 0.125});
  CHECK(reordered.centroids(1, 0) == 2.0);
  CHECK_THROWS_WITH(model.with_feature_order({"age"}), Catch::Contains("only in that run: spend"));

  // Read back in a split unlike the one written: ranks in reverse order.
  const RowRange reversed =
      distributed::block_of_rows(n, comm.size() - 1 - comm.rank(), comm.size());
  const auto records = io::read_run_assignments(model, reversed, comm.native());
  REQUIRE(records.size() == static_cast<std::size_t>(reversed.size()));
  for (std::int64_t i = reversed.begin; i < reversed.end; ++i) {
    const PreviousAssignment& record = records[static_cast<std::size_t>(i - reversed.begin)];
    CHECK(record.id == 100 + 5 * i);
    CHECK(record.segment == identity.ids[i % k]);
    CHECK(record.distance == 0.25 * i);
    CHECK(record.value == 10.0 * i);
  }
}
