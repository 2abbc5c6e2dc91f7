#include <algorithm>
#include <catch2/catch.hpp>
#include <cmath>
#include <limits>
#include <random>
#include <vector>

#include "microseg/core/profile.hpp"

using namespace microseg;

namespace {

constexpr int kSegments = 4, kFeatures = 3, kRows = 200;

// Original-unit values: feature 0 spends, feature 1 ordinary, feature 2 constant.
struct ProfileData {
  Eigen::MatrixXd original;
  FeatureMatrix values;
  std::vector<std::int32_t> labels;  // segment 2 stays empty
};

ProfileData profile_data() {
  std::mt19937_64 engine(5);
  std::uniform_real_distribution<double> spend(0.0, 500.0), age(18.0, 90.0);
  ProfileData data;
  data.original.resize(kRows, kFeatures);
  data.values.resize(kRows, kFeatures);
  for (int i = 0; i < kRows; ++i) {
    data.labels.push_back(i % 5 == 0 ? 3 : i % 2);
    const double raw[kFeatures] = {spend(engine), age(engine), 7.0};
    for (int j = 0; j < kFeatures; ++j) {
      // The profile sees the values as read, in float.
      data.values(i, j) = static_cast<float>(raw[j]);
      data.original(i, j) = data.values(i, j);
    }
  }
  return data;
}

std::vector<FixedPointFormat> formats_for(double bound) {
  return std::vector<FixedPointFormat>(kFeatures, FixedPointFormat::for_bound(bound, kRows));
}

// Both passes over rows [begin, end), with the group means the global first pass gives.
ProfileSums first_pass(const ProfileData& data, int begin, int end) {
  ProfileSums sums(kSegments, kFeatures);
  accumulate_profile_sums(data.values.middleRows(begin, end - begin),
                          {data.labels.begin() + begin, data.labels.begin() + end},
                          formats_for(1000.0), sums);
  return sums;
}

std::vector<double> group_means(const ProfileSums& sums) {
  const auto formats = formats_for(1000.0);
  std::vector<double> means((kSegments + 1) * kFeatures, std::nan(""));
  for (int g = 0; g <= kSegments; ++g) {
    for (int j = 0; j < kFeatures; ++j) {
      if (sums.counts[g] > 0) {
        means[g * kFeatures + j] =
            formats[j].to_double(sums.sums[g * kFeatures + j]) / sums.counts[g];
      }
    }
  }
  return means;
}

void second_pass(const ProfileData& data, int begin, int end, const std::vector<double>& means,
                 ProfileSums& sums) {
  accumulate_profile_deviations(data.values.middleRows(begin, end - begin),
                                {data.labels.begin() + begin, data.labels.begin() + end}, means,
                                formats_for(1e6), sums);
}

void add_into(ProfileSums& total, const ProfileSums& part) {
  for (std::size_t g = 0; g < total.counts.size(); ++g) total.counts[g] += part.counts[g];
  for (std::size_t s = 0; s < total.sums.size(); ++s) {
    total.sums[s] += part.sums[s];
    total.deviations[s] += part.deviations[s];
    total.min[s] = std::min(total.min[s], part.min[s]);
    total.max[s] = std::max(total.max[s], part.max[s]);
  }
}

}  // namespace

TEST_CASE("ProfileSums starts with zero sums and min/max at +inf/-inf for k + 1 groups",
          "[profile]") {
  const ProfileSums sums(3, 2);
  CHECK(sums.k == 3);
  CHECK(sums.d == 2);
  CHECK(sums.counts == std::vector<std::int64_t>(4, 0));
  CHECK(sums.sums == std::vector<ExactSum>(8, 0));
  CHECK(sums.deviations == std::vector<ExactSum>(8, 0));
  CHECK(sums.min == std::vector<double>(8, std::numeric_limits<double>::infinity()));
  CHECK(sums.max == std::vector<double>(8, -std::numeric_limits<double>::infinity()));
}

TEST_CASE("segment profiles match brute-force statistics in original units", "[profile]") {
  const ProfileData data = profile_data();
  ProfileSums sums = first_pass(data, 0, kRows);
  second_pass(data, 0, kRows, group_means(sums), sums);
  const SegmentProfiles profiles = profiles_from_sums(sums, formats_for(1000.0), formats_for(1e6));
  REQUIRE(profiles.k == kSegments);
  REQUIRE(profiles.d == kFeatures);

  // Brute force over the original values; group kSegments is everyone.
  auto in_group = [&](int i, int g) { return g == kSegments || data.labels[i] == g; };
  std::vector<double> pop_mean(kFeatures), pop_std(kFeatures);
  for (int g = kSegments; g >= 0; --g) {
    if (g == 2) continue;
    int size = 0;
    for (int i = 0; i < kRows; ++i) size += in_group(i, g);
    if (g < kSegments) {
      CHECK(profiles.size[g] == size);
      CHECK(profiles.share[g] == Approx(static_cast<double>(size) / kRows));
    }
    for (int j = 0; j < kFeatures; ++j) {
      double sum = 0, lo = std::numeric_limits<double>::infinity(), hi = -lo;
      for (int i = 0; i < kRows; ++i) {
        if (!in_group(i, g)) continue;
        sum += data.original(i, j);
        lo = std::min(lo, data.original(i, j));
        hi = std::max(hi, data.original(i, j));
      }
      const double mean = sum / size;
      double squares = 0;
      for (int i = 0; i < kRows; ++i) {
        if (in_group(i, g)) squares += (data.original(i, j) - mean) * (data.original(i, j) - mean);
      }
      const double std = std::sqrt(squares / size);
      if (g == kSegments) {
        pop_mean[j] = mean;
        pop_std[j] = std;
        CHECK(profiles.population_mean[j] == Approx(mean).epsilon(1e-12));
        CHECK(profiles.population_std[j] == Approx(std).epsilon(1e-9).margin(1e-9));
        continue;
      }
      const int at = g * kFeatures + j;
      CHECK(profiles.mean[at] == Approx(mean).epsilon(1e-12));
      CHECK(profiles.std[at] == Approx(std).epsilon(1e-9).margin(1e-9));
      CHECK(profiles.min[at] == lo);
      CHECK(profiles.max[at] == hi);
      const double lift = pop_std[j] == 0 ? 0.0 : (mean - pop_mean[j]) / pop_std[j];
      CHECK(profiles.lift[at] == Approx(lift).epsilon(1e-9).margin(1e-9));
    }
  }
}

TEST_CASE("a constant feature has std 0 and lift 0", "[profile]") {
  const ProfileData data = profile_data();
  ProfileSums sums = first_pass(data, 0, kRows);
  second_pass(data, 0, kRows, group_means(sums), sums);
  const SegmentProfiles profiles = profiles_from_sums(sums, formats_for(1000.0), formats_for(1e6));
  CHECK(profiles.population_std[2] == 0.0);
  for (int c : {0, 1, 3}) {
    CHECK(profiles.mean[c * kFeatures + 2] == 7.0);
    CHECK(profiles.std[c * kFeatures + 2] == 0.0);
    CHECK(profiles.lift[c * kFeatures + 2] == 0.0);
  }
}

TEST_CASE("an empty segment has size 0 and NaN statistics", "[profile]") {
  const ProfileData data = profile_data();
  ProfileSums sums = first_pass(data, 0, kRows);
  second_pass(data, 0, kRows, group_means(sums), sums);
  const SegmentProfiles profiles = profiles_from_sums(sums, formats_for(1000.0), formats_for(1e6));
  CHECK(profiles.size[2] == 0);
  CHECK(profiles.share[2] == 0.0);
  for (int j = 0; j < kFeatures; ++j) {
    const int at = 2 * kFeatures + j;
    CHECK(std::isnan(profiles.mean[at]));
    CHECK(std::isnan(profiles.std[at]));
    CHECK(std::isnan(profiles.min[at]));
    CHECK(std::isnan(profiles.max[at]));
    CHECK(std::isnan(profiles.lift[at]));
  }
}

TEST_CASE("profiles are bit-identical when the rows are split across blocks and reduced",
          "[profile]") {
  const ProfileData data = profile_data();
  ProfileSums whole = first_pass(data, 0, kRows);
  const std::vector<double> means = group_means(whole);
  second_pass(data, 0, kRows, means, whole);

  ProfileSums reduced(kSegments, kFeatures);
  const int cuts[4] = {0, 1, 77, kRows};
  for (int b = 0; b < 3; ++b) {
    ProfileSums part = first_pass(data, cuts[b], cuts[b + 1]);
    second_pass(data, cuts[b], cuts[b + 1], means, part);
    add_into(reduced, part);
  }
  CHECK(reduced.counts == whole.counts);
  CHECK(reduced.sums == whole.sums);
  CHECK(reduced.deviations == whole.deviations);
  CHECK(reduced.min == whole.min);
  CHECK(reduced.max == whole.max);
}
