#include <catch2/catch.hpp>
#include <cmath>
#include <limits>
#include <vector>

#include "microseg/core/migration.hpp"
#include "microseg/core/partition_agreement.hpp"

using namespace microseg;

namespace {

constexpr double nan_value = std::numeric_limits<double>::quiet_NaN();

// Previous ids {1, 2, 4}, new ids {2, 1, 7}: id 4 was retired, id 7 is fresh.
MigrationMatrix example_matrix() {
  MigrationMatrix m;
  m.previous_ids = {1, 2, 4};
  m.current_ids = {2, 1, 7};
  //              new: 2   1   7  lost
  m.counts = {/*1*/ 3,   40, 2, 5,
              /*2*/ 30,  1,  0, 4,
              /*4*/ 6,   0,  9, 2,
              /*new*/ 7, 8,  1, 0};
  m.value.assign(m.counts.size(), 0.0);
  for (std::size_t i = 0; i < m.counts.size(); ++i) m.value[i] = 10.0 * m.counts[i];
  return m;
}

}  // namespace

TEST_CASE("flows of every id of either run follow from the matrix") {
  const MigrationReport report = summarise_migration(example_matrix(), {0.5, 0.25, nan_value}, 3);
  const SegmentFlows& f = report.flows;
  REQUIRE(f.segment_id == std::vector<std::int64_t>{1, 2, 4, 7});
  // Id 1: was row 0 (50 customers), is column 1 (49 customers).
  CHECK(f.previous_size[0] == 50);
  CHECK(f.current_size[0] == 49);
  CHECK(f.stayed[0] == 40);
  CHECK(f.left[0] == 5);
  CHECK(f.moved_out[0] == 5);
  CHECK(f.joined[0] == 8);
  CHECK(f.moved_in[0] == 1);
  CHECK(f.inflow[0] == 9);
  CHECK(f.outflow[0] == 10);
  CHECK(f.net[0] == -1);
  CHECK(f.retention[0] == Approx(0.8));
  CHECK(f.value_inflow[0] == Approx(90.0));
  CHECK(f.value_outflow[0] == Approx(100.0));
  CHECK(f.value_net[0] == Approx(-10.0));
  CHECK(f.drift[0] == 0.25);
  // Id 4 is retired: everyone left it.
  CHECK(f.in_previous[2] == 1);
  CHECK(f.in_current[2] == 0);
  CHECK(f.current_size[2] == 0);
  CHECK(f.outflow[2] == 17);
  CHECK(f.retention[2] == 0.0);
  CHECK(std::isnan(f.drift[2]));
  // Id 7 is fresh: no history.
  CHECK(f.in_previous[3] == 0);
  CHECK(f.current_size[3] == 12);
  CHECK(f.joined[3] == 1);
  CHECK(f.moved_in[3] == 11);
  CHECK(std::isnan(f.retention[3]));
}

TEST_CASE("stability counts and indices use the customers common to both runs") {
  const MigrationReport report = summarise_migration(example_matrix(), {0.5, 0.25, nan_value}, 3);
  const MigrationStability& s = report.stability;
  CHECK(s.common == 91);
  CHECK(s.joined == 16);
  CHECK(s.left == 11);
  CHECK(s.stayed == 70);  // id 1 → 1 (40) and id 2 → 2 (30)
  CHECK(s.moved == 21);
  CHECK(s.at_risk == 3);
  CHECK(s.share_stayed == Approx(70.0 / 91.0));
  const std::vector<std::int64_t> common{3, 40, 2, 30, 1, 0, 6, 0, 9};
  CHECK(s.adjusted_rand_index == adjusted_rand_index(common, 3, 3));
  CHECK(s.adjusted_mutual_information == adjusted_mutual_information(common, 3, 3));
}

TEST_CASE("without a value feature no value flows are reported") {
  MigrationMatrix m = example_matrix();
  m.value.clear();
  const MigrationReport report = summarise_migration(m, {0, 0, 0}, 0);
  CHECK(report.flows.value_inflow.empty());
  CHECK_THROWS_AS(summarise_migration(example_matrix(), {0.5}, 0), std::invalid_argument);
}

TEST_CASE("a move is judged against the previous segment's current value, or its last one") {
  const std::vector<double> reference = previous_segment_reference_values(
      {1, 2, 4}, {100.0, 200.0, 400.0}, {2, 1, 7}, {250.0, 150.0, 50.0});
  CHECK(reference == std::vector<double>{150.0, 250.0, 400.0});
  const std::vector<double> unknown = previous_segment_reference_values({1, 4}, {}, {1}, {150.0});
  CHECK(unknown[0] == 150.0);
  CHECK(std::isnan(unknown[1]));
  CHECK(moved_to_lower_value(250.0, 50.0));
  CHECK_FALSE(moved_to_lower_value(50.0, 250.0));
  CHECK_FALSE(moved_to_lower_value(nan_value, 10.0));
}
