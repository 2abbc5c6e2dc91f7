#include <algorithm>
#include <catch2/catch.hpp>
#include <cmath>
#include <set>

#include "microseg/core/synthetic.hpp"

using microseg::generate_synthetic_block;
using microseg::InputError;
using microseg::RowRange;
using microseg::SyntheticBlock;
using microseg::SyntheticSpec;

namespace {

int column(const std::string& name) {
  const auto& names = microseg::synthetic_feature_names();
  return static_cast<int>(std::find(names.begin(), names.end(), name) - names.begin());
}

// Share of customers nearest (in z-scored features) to their own planted segment's mean: how
// well an ideal k-means could recover the planted segments.
double nearest_planted_mean_accuracy(const SyntheticBlock& block, int segments) {
  // Plain loops: GCC 12 reports false maybe-uninitialized warnings in Eigen's AVX-512 column
  // reductions.
  const Eigen::MatrixXd x = block.features.cast<double>();
  const Eigen::Index n = x.rows(), d = x.cols();
  std::vector<double> mean(d, 0.0), std(d, 0.0);
  for (Eigen::Index i = 0; i < n; ++i) {
    for (Eigen::Index j = 0; j < d; ++j) mean[j] += x(i, j) / double(n);
  }
  for (Eigen::Index i = 0; i < n; ++i) {
    for (Eigen::Index j = 0; j < d; ++j) std[j] += (x(i, j) - mean[j]) * (x(i, j) - mean[j]);
  }
  for (auto& s : std) s = std::sqrt(s / double(n));
  Eigen::MatrixXd z(n, d);
  for (Eigen::Index i = 0; i < n; ++i) {
    for (Eigen::Index j = 0; j < d; ++j) z(i, j) = (x(i, j) - mean[j]) / std[j];
  }
  Eigen::MatrixXd centres = Eigen::MatrixXd::Zero(segments, z.cols());
  Eigen::VectorXd counts = Eigen::VectorXd::Zero(segments);
  for (Eigen::Index i = 0; i < z.rows(); ++i) {
    centres.row(block.planted_segment[i]) += z.row(i);
    counts(block.planted_segment[i]) += 1;
  }
  for (int s = 0; s < segments; ++s) centres.row(s) /= counts(s);
  std::int64_t correct = 0;
  for (Eigen::Index i = 0; i < z.rows(); ++i) {
    Eigen::Index nearest = 0;
    (centres.rowwise() - z.row(i)).rowwise().squaredNorm().minCoeff(&nearest);
    correct += nearest == block.planted_segment[i];
  }
  return double(correct) / double(z.rows());
}

}  // namespace

TEST_CASE("synthetic feature names are the documented columns in order", "[synthetic]") {
  const std::vector<std::string> expected{
      "age",         "income",           "household_size", "region_code",        "recency_days",
      "frequency",   "monetary",         "avg_basket",     "sessions_per_month", "email_share",
      "app_share",   "web_share",        "discount_share", "price_sensitivity",  "novelty_seeking",
      "tenure_days", "seasonality_index"};
  CHECK(microseg::synthetic_feature_names() == expected);
  const SyntheticBlock block = generate_synthetic_block({10, 4, 3.0, 1}, {0, 10});
  CHECK(block.features.rows() == 10);
  CHECK(block.features.cols() == static_cast<Eigen::Index>(expected.size()));
  CHECK(block.ids.size() == 10);
  CHECK(block.planted_segment.size() == 10);
}

TEST_CASE("synthetic blocks do not depend on how the rows are split", "[synthetic]") {
  const SyntheticSpec spec{1000, 8, 3.0, 42};
  const SyntheticBlock whole = generate_synthetic_block(spec, {0, 1000});
  const SyntheticBlock first = generate_synthetic_block(spec, {0, 400});
  const SyntheticBlock second = generate_synthetic_block(spec, {400, 1000});
  const SyntheticBlock middle = generate_synthetic_block(spec, {123, 124});

  CHECK(whole.features.topRows(400) == first.features);
  CHECK(whole.features.bottomRows(600) == second.features);
  CHECK(whole.features.row(123) == middle.features.row(0));
  std::vector<std::int64_t> ids(first.ids);
  ids.insert(ids.end(), second.ids.begin(), second.ids.end());
  CHECK(ids == whole.ids);
  std::vector<std::int32_t> planted(first.planted_segment);
  planted.insert(planted.end(), second.planted_segment.begin(), second.planted_segment.end());
  CHECK(planted == whole.planted_segment);
}

TEST_CASE("synthetic blocks may be empty", "[synthetic]") {
  const SyntheticBlock block = generate_synthetic_block({100, 8, 3.0, 1}, {100, 100});
  CHECK(block.features.rows() == 0);
  CHECK(block.ids.empty());
  CHECK(block.planted_segment.empty());
}

TEST_CASE("synthetic ids are unique and are not row numbers", "[synthetic]") {
  const std::int64_t n = 200000;
  const SyntheticBlock block = generate_synthetic_block({n, 8, 3.0, 7}, {0, n});
  std::vector<std::int64_t> ids(block.ids);
  std::sort(ids.begin(), ids.end());
  CHECK(std::adjacent_find(ids.begin(), ids.end()) == ids.end());
  CHECK(ids.front() > n);
  CHECK_FALSE(std::is_sorted(block.ids.begin(), block.ids.end()));
  // Far rows too: ids stay unique up to 2^40 customers.
  const std::int64_t far = std::int64_t{1} << 39;
  const SyntheticBlock late = generate_synthetic_block({far + 10, 8, 3.0, 7}, {far, far + 10});
  for (std::int64_t id : late.ids) CHECK_FALSE(std::binary_search(ids.begin(), ids.end(), id));
}

TEST_CASE("synthetic features have the documented shapes and ranges", "[synthetic]") {
  const int segments = 8;
  const std::int64_t n = 50000;
  const SyntheticBlock block = generate_synthetic_block({n, segments, 6.0, 3}, {0, n});
  const auto& f = block.features;
  const auto is_integer = [](float v) { return v == std::round(v); };
  bool ok_age = true, ok_region = true, ok_counts = true, ok_money = true, ok_shares = true,
       ok_days = true, ok_scores = true, ok_planted = true;
  for (Eigen::Index i = 0; i < f.rows(); ++i) {
    const float age = f(i, column("age"));
    ok_age = ok_age && age >= 18 && age <= 90 && is_integer(age);
    const float region = f(i, column("region_code"));
    ok_region = ok_region && region >= 0 && region <= 9 && is_integer(region);
    for (const char* name : {"frequency", "sessions_per_month"}) {
      ok_counts = ok_counts && f(i, column(name)) >= 0 && is_integer(f(i, column(name)));
    }
    ok_counts = ok_counts && f(i, column("household_size")) >= 1 &&
                is_integer(f(i, column("household_size")));
    for (const char* name : {"income", "monetary", "avg_basket"}) {
      ok_money = ok_money && f(i, column(name)) > 0 && std::isfinite(f(i, column(name)));
    }
    const float email = f(i, column("email_share")), app = f(i, column("app_share")),
                web = f(i, column("web_share"));
    ok_shares = ok_shares && email >= 0 && app >= 0 && web >= 0 &&
                std::abs(email + app + web - 1.0f) < 1e-5f;
    const float recency = f(i, column("recency_days")), tenure = f(i, column("tenure_days"));
    ok_days =
        ok_days && recency >= 0 && tenure >= recency && is_integer(recency) && is_integer(tenure);
    for (const char* name :
         {"discount_share", "price_sensitivity", "novelty_seeking", "seasonality_index"}) {
      ok_scores = ok_scores && f(i, column(name)) >= 0 && f(i, column(name)) <= 1;
    }
    ok_planted = ok_planted && block.planted_segment[i] >= 0 && block.planted_segment[i] < segments;
  }
  CHECK(ok_age);
  CHECK(ok_region);
  CHECK(ok_counts);
  CHECK(ok_money);
  CHECK(ok_shares);
  CHECK(ok_days);
  CHECK(ok_scores);
  CHECK(ok_planted);
  // Money is right-skewed, as log-normal amounts are: the mean lies above the median.
  for (const char* name : {"income", "monetary"}) {
    Eigen::VectorXf c = f.col(column(name));
    std::vector<float> sorted(c.data(), c.data() + c.size());
    std::nth_element(sorted.begin(), sorted.begin() + sorted.size() / 2, sorted.end());
    CHECK(c.mean() > sorted[sorted.size() / 2]);
  }
}

TEST_CASE("planted segments differ in size but none is tiny", "[synthetic]") {
  const int segments = 8;
  const std::int64_t n = 100000;
  const SyntheticBlock block = generate_synthetic_block({n, segments, 3.0, 11}, {0, n});
  std::vector<std::int64_t> sizes(segments, 0);
  for (std::int32_t s : block.planted_segment) ++sizes[s];
  const auto [smallest, largest] = std::minmax_element(sizes.begin(), sizes.end());
  // Weights lie in [0.5, 1.5): no segment below a third of the average share.
  CHECK(*smallest > n / segments / 3);
  CHECK(*largest > *smallest * 11 / 10);
}

TEST_CASE("the same seed gives the same customers, another seed different ones", "[synthetic]") {
  const SyntheticBlock a = generate_synthetic_block({500, 8, 3.0, 5}, {0, 500});
  const SyntheticBlock b = generate_synthetic_block({500, 8, 3.0, 5}, {0, 500});
  const SyntheticBlock c = generate_synthetic_block({500, 8, 3.0, 6}, {0, 500});
  CHECK(a.features == b.features);
  CHECK(a.planted_segment == b.planted_segment);
  CHECK(a.ids == b.ids);
  CHECK(a.features != c.features);
  CHECK(a.planted_segment != c.planted_segment);
}

TEST_CASE("separation controls how recoverable the planted segments are", "[synthetic]") {
  const std::int64_t n = 20000;
  const double well_separated =
      nearest_planted_mean_accuracy(generate_synthetic_block({n, 8, 6.0, 1}, {0, n}), 8);
  const double overlapping =
      nearest_planted_mean_accuracy(generate_synthetic_block({n, 8, 1.0, 1}, {0, n}), 8);
  CHECK(well_separated > 0.97);
  CHECK(overlapping < 0.6);
}

TEST_CASE("invalid synthetic specs are rejected with a message", "[synthetic]") {
  using Catch::Matchers::Contains;
  CHECK_THROWS_WITH(generate_synthetic_block({10, 8, 3.0, 1}, {5, 11}), Contains("rows [5, 11)"));
  CHECK_THROWS_WITH(generate_synthetic_block({10, 0, 3.0, 1}, {0, 10}),
                    Contains("planted segments"));
  CHECK_THROWS_WITH(generate_synthetic_block({10, 8, -1.0, 1}, {0, 10}), Contains("separation"));
  CHECK_THROWS_AS(generate_synthetic_block({10, 8, NAN, 1}, {0, 10}), InputError);
}
