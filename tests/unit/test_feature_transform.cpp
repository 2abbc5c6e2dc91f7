#include <catch2/catch.hpp>
#include <cmath>
#include <functional>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include "microseg/core/feature_transform.hpp"
#include "microseg/core/scaling.hpp"

using namespace microseg;
using Catch::Matchers::Contains;

namespace {

std::string error_of(const std::function<void()>& work) {
  try {
    work();
  } catch (const InputError& e) {
    return e.what();
  }
  return "(no error)";
}

FeatureMatrix column(const std::vector<float>& values) {
  FeatureMatrix m(static_cast<Eigen::Index>(values.size()), 1);
  for (std::size_t i = 0; i < values.size(); ++i) m(static_cast<Eigen::Index>(i), 0) = values[i];
  return m;
}

}  // namespace

TEST_CASE("linear_quantile follows numpy's default rule and ignores NaN", "[transform]") {
  const float nan = std::nanf("");
  // numpy.quantile([1, 2, 3, 4], q): 0 → 1, 0.25 → 1.75, 0.5 → 2.5, 0.9 → 3.7, 1 → 4.
  CHECK(linear_quantile({4, 2, nan, 1, 3}, 0.0) == 1.0);
  CHECK(linear_quantile({4, 2, nan, 1, 3}, 0.25) == 1.75);
  CHECK(linear_quantile({4, 2, nan, 1, 3}, 0.5) == 2.5);
  CHECK(linear_quantile({4, 2, nan, 1, 3}, 0.9) == Approx(3.7).epsilon(1e-15));
  CHECK(linear_quantile({4, 2, nan, 1, 3}, 1.0) == 4.0);
  CHECK(linear_quantile({7}, 0.3) == 7.0);
  CHECK(std::isnan(linear_quantile({nan, nan}, 0.5)));
  const QuantilePosition at = quantile_position(5, 0.6);  // h = 2.4
  CHECK(at.lower == 2);
  CHECK(at.upper == 3);
  CHECK(at.fraction == Approx(0.4));
  CHECK(quantile_position(5, 1.0).upper == 4);
}

TEST_CASE("ordered_key32 orders floats as numbers and round-trips", "[transform]") {
  const float inf = std::numeric_limits<float>::infinity();
  std::vector<float> values{-inf,   -3e38f, -2.5f,      -1e-40f, 0.0f,
                            1e-45f, 1.0f,   1.0000001f, 3e38f,   inf};
  for (std::size_t i = 0; i + 1 < values.size(); ++i) {
    CHECK(ordered_key32(values[i]) < ordered_key32(values[i + 1]));
  }
  for (float v : values) CHECK(from_ordered_key32(ordered_key32(v)) == v);
  CHECK(ordered_key32(-0.0f) == ordered_key32(0.0f));
}

TEST_CASE("a plan expands categorical sources into named indicators", "[transform]") {
  FeatureTransform plan = FeatureTransform::plan(MissingPolicy::mean, {"age", "region", "spend"},
                                                 {{}, {"north", "south", "west"}, {}});
  CHECK(plan.names() ==
        std::vector<std::string>{"age", "region=north", "region=south", "region=west", "spend"});
  CHECK(plan.is_indicator(2));
  CHECK_FALSE(plan.is_indicator(4));

  const float nan = std::nanf("");
  FeatureMatrix source(3, 3);
  source << 30, 2, 1.5f,  //
      nan, nan, 2.5f,     //
      50, 0, nan;
  const FeatureMatrix expanded = expand_features(source, plan, {}, {11, 12, 13});
  REQUIRE(expanded.cols() == 5);
  CHECK(expanded(0, 0) == 30);
  CHECK((expanded(0, 1) == 0 && expanded(0, 2) == 0 && expanded(0, 3) == 1));
  CHECK((std::isnan(expanded(1, 1)) && std::isnan(expanded(1, 3)) && std::isnan(expanded(1, 0))));
  CHECK((expanded(2, 1) == 1 && expanded(2, 2) == 0 && std::isnan(expanded(2, 4))));

  // Another file's dictionary [south, east, north]: mapped by name, east unknown → all zero.
  FeatureMatrix other(2, 3);
  other << 1, 1, 1,  //
      1, 0, 1;
  std::int64_t unknown = 0;
  const FeatureMatrix mapped = expand_features(other, plan, {{}, {1, -1, 0}, {}}, {1, 2}, &unknown);
  CHECK(unknown == 1);
  CHECK((mapped(0, 1) == 0 && mapped(0, 2) == 0 && mapped(0, 3) == 0));
  CHECK((mapped(1, 1) == 0 && mapped(1, 2) == 1 && mapped(1, 3) == 0));

  source(0, 1) = 3;  // no fourth region
  CHECK_THAT(error_of([&] {
               expand_features(source, plan, {}, {11, 12, 13});
             }),
             Contains("column 'region'") && Contains("customer id 11") && Contains("code 3"));
  source(0, 1) = 0.5f;
  CHECK_THAT(error_of([&] {
               expand_features(source, plan, {}, {11, 12, 13});
             }),
             Contains("code 0.5"));
}

TEST_CASE("weights apply to every column of a source and reject bad values", "[transform]") {
  FeatureTransform plan =
      FeatureTransform::plan(MissingPolicy::reject, {"age", "region"}, {{}, {"a", "b"}});
  set_weights(plan, {"region=0.5", "age=2"});
  CHECK(plan.weight == std::vector<double>{2, 0.5, 0.5});
  CHECK_THAT(error_of([&] { set_weights(plan, {"income=2"}); }),
             Contains("--weights") && Contains("'income'") && Contains("age, region"));
  CHECK_THAT(error_of([&] { set_weights(plan, {"age=0"}); }), Contains("finite number > 0"));
  CHECK_THAT(error_of([&] { set_weights(plan, {"age=x"}); }), Contains("weight 'x'"));
  CHECK_THAT(error_of([&] { set_weights(plan, {"age"}); }), Contains("feature=weight"));
  CHECK_THAT(error_of([&] { parse_missing_policy("zero"); }),
             Contains("reject, mean, median, drop"));
}

TEST_CASE("fill, clip and keep_rows change only what they should", "[transform]") {
  const float nan = std::nanf("");
  FeatureMatrix m = column({1, nan, 5, 100, -7});
  fill_missing(m, {2.25});
  CHECK(m(1, 0) == 2.25f);
  // 4.3 is no float: values inside keep their value, the clipped get the float just outside.
  clip_features(m, {0.1}, {4.3});
  CHECK(m(0, 0) == 1);
  CHECK(m(4, 0) == std::nextafter(0.1f, -1.0f) + 0.0f);
  CHECK(static_cast<double>(m(3, 0)) >= 4.3);
  CHECK(static_cast<double>(std::nextafter(m(3, 0), 0.0f)) < 4.3);

  CustomerBlock block{{0, 4}, {10, 11, 12, 13}, column({1, nan, 3, nan}), {"x"}, {}};
  const std::vector<char> keep = rows_without_missing(block.features);
  CHECK(keep == std::vector<char>{1, 0, 1, 0});
  keep_rows(block, keep);
  CHECK(block.ids == std::vector<std::int64_t>{10, 12});
  CHECK((block.features.rows() == 2 && block.features(1, 0) == 3));
  CHECK(count_missing(column({nan, 1, nan})) == std::vector<std::int64_t>{2});
}

TEST_CASE("robust scaling centres on the median and divides by the interquartile range",
          "[transform]") {
  FeatureStatistics stats;
  stats.median = {10, 3};
  stats.lower_quartile = {6, 3};
  stats.upper_quartile = {14, 3};  // zero IQR → scale 1
  const ScalingModel model = ScalingModel::from_statistics(ScaleKind::robust, {0, 0}, stats);
  CHECK(model.offset == std::vector<double>{10, 3});
  CHECK(model.scale == std::vector<double>{8, 1});
  CHECK(parse_scale_kind("robust") == ScaleKind::robust);
  CHECK(to_string(ScaleKind::robust) == "robust");
}
