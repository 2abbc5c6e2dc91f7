#include <catch2/catch.hpp>
#include <cmath>
#include <set>

#include "microseg/core/synthetic_quarters.hpp"

using microseg::InputError;
using microseg::QuarterCustomer;
using microseg::QuartersSpec;
using microseg::RowRange;

namespace {

QuartersSpec spec_of(int segments) {
  QuartersSpec spec;
  spec.base.customers = 500;
  spec.base.segments = segments;
  spec.base.seed = 11;
  spec.quarters = 3;
  spec.migration_rate = 0.2;
  spec.churn_rate = 0.1;
  spec.new_customers = 40;
  spec.mover_churn_factor = 2;
  return spec;
}

}  // namespace

TEST_CASE("planted transition rows are probabilities with churn falling as value rises") {
  const QuartersSpec spec = spec_of(6);
  const auto movement = microseg::plant_movement(spec);
  REQUIRE(movement.transition.size() == 6 * 7);
  for (int s = 0; s < 6; ++s) {
    double total = 0;
    for (int t = 0; t <= 6; ++t) {
      const double p = movement.transition[static_cast<std::size_t>(s * 7 + t)];
      CHECK(p >= 0);
      total += p;
    }
    CHECK(total == Approx(1).epsilon(1e-12));
    CHECK(movement.transition[static_cast<std::size_t>(s * 7 + s)] ==
          Approx((1 - movement.churn[s]) * (1 - spec.migration_rate)));
    // Churn 1.5 C for the lowest value, 0.5 C for the highest.
    const double position = movement.value_rank[s] / 5.0;
    CHECK(movement.churn[s] == Approx(spec.churn_rate * (1.5 - position)));
  }
  double share = 0;
  for (double x : movement.new_customer_share) share += x;
  CHECK(share == Approx(1));
}

TEST_CASE("one planted segment: every survivor stays") {
  const auto movement = microseg::plant_movement(spec_of(1));
  CHECK(movement.transition[0] == Approx(0.9));
  CHECK(movement.transition[1] == Approx(0.1));
}

TEST_CASE("quarter 1 features equal the single-file generator's") {
  const QuartersSpec spec = spec_of(5);
  const RowRange rows{100, 180};
  const auto block = microseg::generate_synthetic_block(spec.base, rows);
  const auto customers = microseg::first_quarter_customers(spec, rows);
  const auto features = microseg::synthetic_quarter_features(spec.base, customers, 1);
  CHECK((features.array() == block.features.array()).all());
}

TEST_CASE("a staying customer looks similar, not identical, in the next quarter") {
  QuartersSpec spec = spec_of(4);
  spec.base.customers = 4000;
  auto customers = microseg::first_quarter_customers(spec, RowRange{0, 4000});
  const auto q1 = microseg::synthetic_quarter_features(spec.base, customers, 1);
  const auto q2 = microseg::synthetic_quarter_features(spec.base, customers, 2);
  const auto& names = microseg::synthetic_feature_names();
  const auto age =
      static_cast<Eigen::Index>(std::find(names.begin(), names.end(), "age") - names.begin());
  // Same segments in both quarters: the correlation within a segment is the AR(1) ρ, rounding
  // of age aside.
  double same = 0, sx = 0, sy = 0, sxx = 0, syy = 0, sxy = 0;
  const double n = static_cast<double>(customers.size());
  for (Eigen::Index i = 0; i < q1.rows(); ++i) {
    const double x = q1(i, age), y = q2(i, age);
    same += x == y ? 1 : 0;
    sx += x, sy += y, sxx += x * x, syy += y * y, sxy += x * y;
  }
  const double correlation = (sxy / n - sx / n * sy / n) /
                             std::sqrt((sxx / n - sx / n * sx / n) * (syy / n - sy / n * sy / n));
  CHECK(same < 0.2 * n);
  CHECK(correlation > 0.7);
  CHECK(correlation < 0.99);
}

TEST_CASE("new customers get ids never used by earlier rows") {
  const QuartersSpec spec = spec_of(3);
  const auto movement = microseg::plant_movement(spec);
  std::set<std::int64_t> ids;
  for (std::int64_t row = 0; row < spec.base.customers; ++row) {
    ids.insert(microseg::synthetic_customer_id(row));
  }
  for (int quarter = 2; quarter <= spec.quarters; ++quarter) {
    const std::int64_t first = microseg::first_birth_row(spec, quarter);
    for (std::int64_t j = 0; j < spec.new_customers; ++j) {
      const QuarterCustomer customer = microseg::new_customer(spec, movement, quarter, first + j);
      CHECK(customer.first_quarter == quarter);
      CHECK(customer.moved_down == 0);
      CHECK(ids.insert(customer.id).second);
    }
  }
}

TEST_CASE("a mover down is lost at least as often, and a fate depends only on its key") {
  QuartersSpec spec = spec_of(6);
  spec.churn_rate = 0.2;
  spec.mover_churn_factor = 3;
  const auto movement = microseg::plant_movement(spec);
  int lost_plain = 0, lost_mover = 0;
  for (std::int64_t row = 0; row < 20000; ++row) {
    QuarterCustomer plain;
    plain.id = microseg::synthetic_customer_id(row);
    plain.segment = static_cast<std::int32_t>(row % 6);
    QuarterCustomer mover = plain;
    mover.moved_down = 1;
    QuarterCustomer again = plain;
    const bool kept = microseg::advance_customer(spec, movement, 2, plain);
    lost_plain += kept ? 0 : 1;
    lost_mover += microseg::advance_customer(spec, movement, 2, mover) ? 0 : 1;
    CHECK(microseg::advance_customer(spec, movement, 2, again) == kept);
    CHECK(again.segment == plain.segment);
  }
  // Mean churn 0.2 and 0.6: far apart for 20,000 draws.
  CHECK(lost_plain == Approx(4000).margin(300));
  CHECK(lost_mover == Approx(12000).margin(400));
}

TEST_CASE("quarters settings out of range are refused") {
  QuartersSpec spec = spec_of(3);
  spec.quarters = 1;
  CHECK_THROWS_AS(microseg::check_quarters_spec(spec), InputError);
  spec = spec_of(3);
  spec.churn_rate = 1.5;
  CHECK_THROWS_AS(microseg::check_quarters_spec(spec), InputError);
  spec = spec_of(3);
  spec.migration_rate = -0.1;
  CHECK_THROWS_AS(microseg::check_quarters_spec(spec), InputError);
  spec = spec_of(3);
  spec.base.macro_segments = 2;
  CHECK_THROWS_AS(microseg::check_quarters_spec(spec), InputError);
  spec = spec_of(3);
  spec.new_customers = std::int64_t{1} << 39;
  spec.quarters = 4;
  CHECK_THROWS_AS(microseg::check_quarters_spec(spec), InputError);
}
