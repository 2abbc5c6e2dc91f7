#include <catch2/catch.hpp>
#include <cmath>

#include "microseg/core/uplift.hpp"

using namespace microseg;

TEST_CASE("an arm with no customers makes a group insufficient, with no uplift", "[uplift]") {
  const UpliftMeasure m = measure_uplift({120, 12, 300.0}, {0, 0, 0.0}, 0.5);
  CHECK(m.label == UpliftLabel::insufficient);
  CHECK(uplift_label_name(m.label) == "insufficient");
  CHECK(std::isnan(m.uplift));
  CHECK(std::isnan(m.uplift_interval.low));
  CHECK(std::isnan(m.p_value));
  CHECK(m.treated_rate == Approx(0.1));
  CHECK(m.cost == Approx(60.0));
}

TEST_CASE("labels follow the interval: target above 0, avoid below 0", "[uplift]") {
  CHECK(measure_uplift({1000, 300, 0}, {1000, 100, 0}, 1).label == UpliftLabel::target);
  CHECK(measure_uplift({1000, 100, 0}, {1000, 300, 0}, 1).label == UpliftLabel::avoid);
  CHECK(measure_uplift({1000, 101, 0}, {1000, 100, 0}, 1).label == UpliftLabel::uncertain);
}

TEST_CASE("the Newcombe interval holds the difference and stays within [-1, 1]", "[uplift]") {
  const Interval interval = newcombe_difference_interval(0, 10, 10, 10, normal_quantile_975);
  CHECK(interval.low >= -1.0);
  CHECK(interval.high < 0);
  const Interval middle = newcombe_difference_interval(30, 100, 20, 100, normal_quantile_975);
  CHECK(middle.low < 0.1);
  CHECK(middle.high > 0.1);
}

TEST_CASE("the z-test is undefined when every customer converted alike", "[uplift]") {
  CHECK(std::isnan(pooled_z_test_p_value(0, 50, 0, 60)));
  CHECK(std::isnan(pooled_z_test_p_value(50, 50, 60, 60)));
  CHECK(pooled_z_test_p_value(10, 50, 10, 50) == Approx(1.0));
}

TEST_CASE("ROI is undefined without a cost", "[uplift]") {
  const UpliftMeasure m = measure_uplift({100, 20, 500}, {100, 10, 200}, 0);
  CHECK(m.incremental_revenue == Approx(300.0));
  CHECK(std::isnan(m.roi));
}
