#include <catch2/catch.hpp>
#include <cmath>
#include <cstdint>
#include <set>
#include <vector>

#include "microseg/core/random.hpp"

using microseg::keyed_hash;
using microseg::keyed_uniform;
using microseg::RandomStream;

TEST_CASE("keyed_hash is a pure function of its key", "[random]") {
  CHECK(keyed_hash(42, RandomStream::reseed, 7, 3) == keyed_hash(42, RandomStream::reseed, 7, 3));
  CHECK(keyed_hash(42, RandomStream::reseed, 7) == keyed_hash(42, RandomStream::reseed, 7, 0));
}

TEST_CASE("keyed_hash changes when any one part of the key changes", "[random]") {
  const std::uint64_t base = keyed_hash(1, RandomStream::init_kmeanspp, 100, 5);
  CHECK(keyed_hash(2, RandomStream::init_kmeanspp, 100, 5) != base);
  CHECK(keyed_hash(1, RandomStream::init_oversample, 100, 5) != base);
  CHECK(keyed_hash(1, RandomStream::init_kmeanspp, 101, 5) != base);
  CHECK(keyed_hash(1, RandomStream::init_kmeanspp, 100, 6) != base);
}

TEST_CASE("keyed_hash distinguishes swapped index and sub-index, and seed and index", "[random]") {
  for (std::uint64_t a = 0; a < 50; ++a) {
    for (std::uint64_t b = a + 1; b < 50; ++b) {
      CHECK(keyed_hash(9, RandomStream::silhouette_sample, a, b) !=
            keyed_hash(9, RandomStream::silhouette_sample, b, a));
      CHECK(keyed_hash(a, RandomStream::silhouette_sample, b) !=
            keyed_hash(b, RandomStream::silhouette_sample, a));
    }
  }
}

TEST_CASE("keyed_hash has no collisions over 200,000 consecutive indices", "[random]") {
  std::set<std::uint64_t> seen;
  for (std::uint64_t i = 0; i < 200'000; ++i) seen.insert(keyed_hash(5, RandomStream::reseed, i));
  CHECK(seen.size() == 200'000);
}

TEST_CASE("flipping one input bit flips about half of keyed_hash's output bits", "[random]") {
  double flipped = 0;
  int trials = 0;
  for (std::uint64_t i = 0; i < 2000; ++i) {
    const std::uint64_t base = keyed_hash(3, RandomStream::local_kmeans, i);
    for (int bit = 0; bit < 64; bit += 7) {
      flipped += __builtin_popcountll(
          base ^ keyed_hash(3, RandomStream::local_kmeans, i ^ (std::uint64_t{1} << bit)));
      ++trials;
    }
  }
  CHECK(flipped / trials == Approx(32.0).margin(0.5));
}

TEST_CASE("keyed_uniform lies in 0 <= u < 1 with uniform mean, variance and bin counts",
          "[random]") {
  constexpr int kDraws = 160'000, kBins = 16;
  std::vector<int> bins(kBins, 0);
  double sum = 0, sum_squares = 0;
  for (int i = 0; i < kDraws; ++i) {
    const double u = keyed_uniform(77, RandomStream::generate_feature, i, 2);
    REQUIRE(u >= 0.0);
    REQUIRE(u < 1.0);
    sum += u;
    sum_squares += u * u;
    ++bins[static_cast<int>(u * kBins)];
  }
  const double mean = sum / kDraws;
  CHECK(mean == Approx(0.5).margin(0.005));
  CHECK(sum_squares / kDraws - mean * mean == Approx(1.0 / 12).margin(0.002));
  double chi_square = 0;
  const double expected = static_cast<double>(kDraws) / kBins;
  for (int count : bins) chi_square += (count - expected) * (count - expected) / expected;
  CHECK(chi_square < 37.7);  // 99.9th percentile of chi-square with 15 degrees of freedom
}

TEST_CASE("different random streams of one seed give uncorrelated draws", "[random]") {
  constexpr int kDraws = 50'000;
  double sum_xy = 0, sum_x = 0, sum_y = 0;
  for (int i = 0; i < kDraws; ++i) {
    const double x = keyed_uniform(1, RandomStream::generate_segment, i);
    const double y = keyed_uniform(1, RandomStream::generate_feature, i);
    sum_xy += x * y;
    sum_x += x;
    sum_y += y;
  }
  const double covariance = sum_xy / kDraws - (sum_x / kDraws) * (sum_y / kDraws);
  CHECK(std::fabs(covariance * 12) < 0.02);  // correlation
}
