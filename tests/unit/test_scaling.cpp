#include <catch2/catch.hpp>
#include <cmath>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include "microseg/core/scaling.hpp"

using namespace microseg;

namespace {

FeatureMatrix random_features(Eigen::Index rows, Eigen::Index cols, std::uint64_t seed) {
  std::mt19937_64 engine(seed);
  std::uniform_real_distribution<float> value(-0.5f, 40.0f);
  FeatureMatrix features(rows, cols);
  for (Eigen::Index i = 0; i < rows; ++i) {
    for (Eigen::Index j = 0; j < cols; ++j) features(i, j) = value(engine);
  }
  return features;
}

std::vector<FixedPointFormat> formats_for(double bound, std::int64_t terms, std::size_t d) {
  return std::vector<FixedPointFormat>(d, FixedPointFormat::for_bound(bound, terms));
}

}  // namespace

TEST_CASE("parse_scale_kind accepts zscore, minmax and none and to_string inverts it",
          "[scaling]") {
  for (ScaleKind kind : {ScaleKind::zscore, ScaleKind::minmax, ScaleKind::none}) {
    CHECK(parse_scale_kind(to_string(kind)) == kind);
  }
  CHECK(to_string(ScaleKind::zscore) == "zscore");
  CHECK(to_string(ScaleKind::minmax) == "minmax");
  CHECK(to_string(ScaleKind::none) == "none");
}

TEST_CASE("parse_scale_kind rejects unknown text with an InputError listing the valid values",
          "[scaling]") {
  try {
    parse_scale_kind("z-score");
    FAIL("no exception");
  } catch (const InputError& error) {
    const std::string message = error.what();
    CHECK(message.find("'z-score'") != std::string::npos);
    CHECK(message.find("zscore") != std::string::npos);
    CHECK(message.find("minmax") != std::string::npos);
    CHECK(message.find("none") != std::string::npos);
  }
  CHECK_THROWS_AS(parse_scale_kind(""), InputError);
}

TEST_CASE("from_statistics: zscore uses mean and std, a zero std becomes 1", "[scaling]") {
  FeatureStatistics stats;
  stats.count = 10;
  stats.mean = {1.5, -2.0, 7.0};
  stats.std = {2.0, 0.0, 0.25};
  stats.min = {0, 0, 0};
  stats.max = {1, 1, 1};
  const ScalingModel model = ScalingModel::from_statistics(ScaleKind::zscore, {0, 1, 0}, stats);
  CHECK(model.kind == ScaleKind::zscore);
  CHECK(model.offset == std::vector<double>{1.5, -2.0, 7.0});
  CHECK(model.scale == std::vector<double>{2.0, 1.0, 0.25});
  CHECK(model.log1p == std::vector<char>{0, 1, 0});
}

TEST_CASE("from_statistics: minmax uses min and range, a zero range becomes 1", "[scaling]") {
  FeatureStatistics stats;
  stats.count = 4;
  stats.mean = {0, 0};
  stats.std = {1, 1};
  stats.min = {-3.0, 5.0};
  stats.max = {1.0, 5.0};
  const ScalingModel model = ScalingModel::from_statistics(ScaleKind::minmax, {0, 0}, stats);
  CHECK(model.offset == std::vector<double>{-3.0, 5.0});
  CHECK(model.scale == std::vector<double>{4.0, 1.0});
}

TEST_CASE("from_statistics: none is the identity", "[scaling]") {
  FeatureStatistics stats;
  stats.mean = {4.0, 5.0};
  stats.std = {2.0, 3.0};
  stats.min = {0.0, 1.0};
  stats.max = {9.0, 9.0};
  const ScalingModel model = ScalingModel::from_statistics(ScaleKind::none, {1, 0}, stats);
  CHECK(model.offset == std::vector<double>{0.0, 0.0});
  CHECK(model.scale == std::vector<double>{1.0, 1.0});
  CHECK(model.inverse(1, 2.5) == 2.5);
  CHECK(model.inverse(0, 2.5) == std::expm1(2.5));
}

TEST_CASE("apply_log1p transforms only the flagged columns", "[scaling]") {
  FeatureMatrix features(3, 3);
  features << 0.0f, 1.0f, -0.5f,  //
      9.0f, 2.0f, 3.0f,           //
      -0.25f, 5.0f, 1e6f;
  const FeatureMatrix before = features;
  apply_log1p(features, {1, 0, 1}, {"a", "b", "c"}, {10, 11, 12});
  for (Eigen::Index i = 0; i < 3; ++i) {
    CHECK(features(i, 0) == static_cast<float>(std::log1p(static_cast<double>(before(i, 0)))));
    CHECK(features(i, 1) == before(i, 1));
    CHECK(features(i, 2) == static_cast<float>(std::log1p(static_cast<double>(before(i, 2)))));
  }
}

TEST_CASE(
    "apply_log1p names the feature and customer id of the first value <= -1 and leaves "
    "the data unchanged",
    "[scaling]") {
  FeatureMatrix features(3, 2);
  features << 1.0f, 2.0f,  //
      3.0f, -5.0f,         //
      -1.0f, -7.0f;
  const FeatureMatrix before = features;
  try {
    apply_log1p(features, {1, 1}, {"recency", "monetary"}, {100, 123, 124});
    FAIL("no exception");
  } catch (const InputError& error) {
    CHECK(std::string(error.what()) ==
          "feature 'monetary': log1p needs values > -1, but customer id 123 has -5");
  }
  CHECK(features == before);

  FeatureMatrix boundary(1, 1);
  boundary << -1.0f;
  CHECK_THROWS_WITH(apply_log1p(boundary, {1}, {"tenure"}, {7}),
                    "feature 'tenure': log1p needs values > -1, but customer id 7 has -1");
  CHECK_NOTHROW(apply_log1p(boundary, {0}, {"tenure"}, {7}));
}

TEST_CASE("local_min_max gives per-feature extremes and +-inf for no rows", "[scaling]") {
  FeatureMatrix features(3, 2);
  features << 1.0f, -2.0f,  //
      -4.0f, 8.0f,          //
      2.5f, 0.0f;
  std::vector<double> min, max;
  local_min_max(features, min, max);
  CHECK(min == std::vector<double>{-4.0, -2.0});
  CHECK(max == std::vector<double>{2.5, 8.0});

  local_min_max(FeatureMatrix(0, 2), min, max);
  CHECK(min == std::vector<double>(2, std::numeric_limits<double>::infinity()));
  CHECK(max == std::vector<double>(2, -std::numeric_limits<double>::infinity()));
}

TEST_CASE("local_column_sums and local_squared_deviations match hand sums and add across blocks",
          "[scaling]") {
  const FeatureMatrix features = random_features(101, 3, 1);
  const auto sum_formats = formats_for(40.0, 101, 3);
  const auto square_formats = formats_for(41.0 * 41.0, 101, 3);

  const std::vector<ExactSum> sums = local_column_sums(features, sum_formats);
  std::vector<double> mean(3);
  for (int j = 0; j < 3; ++j) {
    double hand = 0;
    for (Eigen::Index i = 0; i < features.rows(); ++i) hand += features(i, j);
    CHECK(sum_formats[j].to_double(sums[j]) == Approx(hand).epsilon(1e-12));
    mean[j] = sum_formats[j].to_double(sums[j]) / 101;
  }
  const std::vector<ExactSum> deviations = local_squared_deviations(features, mean, square_formats);
  for (int j = 0; j < 3; ++j) {
    double hand = 0;
    for (Eigen::Index i = 0; i < features.rows(); ++i) {
      hand += (features(i, j) - mean[j]) * (features(i, j) - mean[j]);
    }
    CHECK(square_formats[j].to_double(deviations[j]) == Approx(hand).epsilon(1e-12));
  }

  const FeatureMatrix top = features.topRows(37), bottom = features.bottomRows(64);
  const auto top_sums = local_column_sums(top, sum_formats);
  const auto bottom_sums = local_column_sums(bottom, sum_formats);
  const auto top_dev = local_squared_deviations(top, mean, square_formats);
  const auto bottom_dev = local_squared_deviations(bottom, mean, square_formats);
  for (int j = 0; j < 3; ++j) {
    CHECK(top_sums[j] + bottom_sums[j] == sums[j]);
    CHECK(top_dev[j] + bottom_dev[j] == deviations[j]);
  }
}

TEST_CASE("a constant column has exactly zero squared deviation from its exact mean", "[scaling]") {
  FeatureMatrix features = FeatureMatrix::Constant(1000, 1, 0.1f);
  const auto formats = formats_for(1.0, 1000, 1);
  const double mean = formats[0].to_double(local_column_sums(features, formats)[0]) / 1000;
  CHECK(mean == static_cast<double>(0.1f));
  CHECK(local_squared_deviations(features, {mean}, formats)[0] == 0);
}

TEST_CASE("apply_scaling computes (x - offset) / scale in double and inverse maps back",
          "[scaling]") {
  FeatureMatrix features = random_features(50, 3, 2);
  std::vector<char> log1p = {0, 1, 0};
  apply_log1p(features, log1p, {"a", "b", "c"}, std::vector<std::int64_t>(50, 0));
  const FeatureMatrix transformed = features;
  FeatureStatistics stats;
  stats.count = 50;
  stats.mean = {3.0, 1.5, -1.0};
  stats.std = {2.0, 0.5, 7.0};
  const ScalingModel model = ScalingModel::from_statistics(ScaleKind::zscore, log1p, stats);
  const FeatureMatrix original = random_features(50, 3, 2);
  apply_scaling(features, model);
  for (Eigen::Index i = 0; i < 50; ++i) {
    for (int j = 0; j < 3; ++j) {
      const double expected =
          (static_cast<double>(transformed(i, j)) - stats.mean[j]) / stats.std[j];
      CHECK(features(i, j) == static_cast<float>(expected));
      CHECK(model.inverse(j, features(i, j)) ==
            Approx(static_cast<double>(original(i, j))).epsilon(1e-5).margin(1e-5));
    }
  }
}

TEST_CASE("zscore fitted from exact statistics gives columns of mean 0 and std 1", "[scaling]") {
  FeatureMatrix features = random_features(500, 2, 3);
  const auto formats = formats_for(40.0, 500, 2);
  const auto square_formats = formats_for(41.0 * 41.0, 500, 2);
  FeatureStatistics stats;
  stats.count = 500;
  const auto sums = local_column_sums(features, formats);
  for (int j = 0; j < 2; ++j) stats.mean.push_back(formats[j].to_double(sums[j]) / 500);
  const auto deviations = local_squared_deviations(features, stats.mean, square_formats);
  for (int j = 0; j < 2; ++j) {
    stats.std.push_back(std::sqrt(square_formats[j].to_double(deviations[j]) / 500));
  }
  local_min_max(features, stats.min, stats.max);
  apply_scaling(features, ScalingModel::from_statistics(ScaleKind::zscore, {0, 0}, stats));
  for (int j = 0; j < 2; ++j) {
    const double mean = features.col(j).cast<double>().mean();
    const double variance = (features.col(j).cast<double>().array() - mean).square().mean();
    CHECK(mean == Approx(0.0).margin(1e-6));
    CHECK(variance == Approx(1.0).epsilon(1e-5));
  }
}
