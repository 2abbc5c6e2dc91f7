#include <algorithm>
#include <catch2/catch.hpp>
#include <cmath>
#include <limits>
#include <random>
#include <set>
#include <vector>

#include "microseg/core/assignment.hpp"
#include "microseg/core/initialisation.hpp"

using namespace microseg;

namespace {

FeatureMatrix random_features(Eigen::Index rows, Eigen::Index cols, std::uint64_t seed) {
  std::mt19937_64 engine(seed);
  std::normal_distribution<float> value(0.0f, 3.0f);
  FeatureMatrix features(rows, cols);
  for (Eigen::Index i = 0; i < rows; ++i) {
    for (Eigen::Index j = 0; j < cols; ++j) features(i, j) = value(engine);
  }
  return features;
}

CentroidMatrix random_centers(Eigen::Index k, Eigen::Index d, std::uint64_t seed) {
  return random_features(k, d, seed).cast<double>();
}

bool is_row_of(const CentroidMatrix& rows, const Eigen::RowVectorXd& row) {
  for (Eigen::Index i = 0; i < rows.rows(); ++i) {
    if (rows.row(i) == row) return true;
  }
  return false;
}

// Four tight blobs of candidates around the corners of a large square, with weights.
struct Blobs {
  CentroidMatrix candidates;
  std::vector<double> weights;
  CentroidMatrix weighted_means;  // per blob
};

Blobs four_blobs() {
  const double corners[4][2] = {{0, 0}, {100, 0}, {0, 100}, {100, 100}};
  std::mt19937_64 engine(99);
  std::uniform_real_distribution<double> jitter(-0.1, 0.1), weight(0.5, 3.0);
  Blobs blobs{CentroidMatrix(40, 2), std::vector<double>(40), CentroidMatrix::Zero(4, 2)};
  std::vector<double> totals(4, 0.0);
  for (int i = 0; i < 40; ++i) {
    const int blob = i % 4;
    blobs.candidates(i, 0) = corners[blob][0] + jitter(engine);
    blobs.candidates(i, 1) = corners[blob][1] + jitter(engine);
    blobs.weights[i] = weight(engine);
    blobs.weighted_means.row(blob) += blobs.weights[i] * blobs.candidates.row(i);
    totals[blob] += blobs.weights[i];
  }
  for (int b = 0; b < 4; ++b) blobs.weighted_means.row(b) /= totals[b];
  return blobs;
}

int nearest_corner(const Eigen::RowVectorXd& point) {
  return (point(0) > 50 ? 1 : 0) + (point(1) > 50 ? 2 : 0);
}

}  // namespace

TEST_CASE("parse_init_kind accepts kmeans-parallel, kmeans||, kmeans++ and file", "[init]") {
  CHECK(parse_init_kind("kmeans-parallel") == InitKind::kmeans_parallel);
  CHECK(parse_init_kind("kmeans||") == InitKind::kmeans_parallel);
  CHECK(parse_init_kind("kmeans++") == InitKind::kmeans_plus_plus);
  CHECK(parse_init_kind("file") == InitKind::file);
  for (InitKind kind : {InitKind::kmeans_parallel, InitKind::kmeans_plus_plus, InitKind::file}) {
    CHECK(parse_init_kind(to_string(kind)) == kind);
  }
  CHECK(to_string(InitKind::kmeans_parallel) == "kmeans-parallel");
}

TEST_CASE("parse_init_kind rejects unknown text with an InputError naming it", "[init]") {
  CHECK_THROWS_AS(parse_init_kind("random"), InputError);
  try {
    parse_init_kind("kmeans+");
    FAIL("no exception");
  } catch (const InputError& error) {
    const std::string message = error.what();
    CHECK(message.find("'kmeans+'") != std::string::npos);
    CHECK(message.find("kmeans++") != std::string::npos);
    CHECK(message.find("kmeans-parallel") != std::string::npos);
  }
}

TEST_CASE("update_min_squared_distances lowers each value to the nearest centre bit for bit",
          "[init]") {
  // Every vector variant the CPU runs (the seeding picks one at run time), with centre counts
  // below, at and across the 8-lane blocks.
  for (KernelIsa isa : supported_kernels()) {
    for (Eigen::Index k : {1, 8, 9, 19}) {
      INFO(to_string(isa) << ", k = " << k);
      const FeatureMatrix features = random_features(203, 13, 1);
      const CentroidMatrix centers = random_centers(k, 13, 2);
      std::vector<double> minima(203, std::numeric_limits<double>::infinity());
      minima[5] = 0.5;  // already smaller than any centre: must stay
      update_min_squared_distances(features, centers, minima, isa);
      for (Eigen::Index i = 0; i < 203; ++i) {
        double expected = i == 5 ? 0.5 : std::numeric_limits<double>::infinity();
        for (Eigen::Index c = 0; c < k; ++c) {
          expected = std::min(expected,
                              squared_distance(features.row(i).data(), centers.row(c).data(), 13));
        }
        REQUIRE(minima[i] == expected);
      }
      // Against plain double arithmetic (not the library's).
      for (Eigen::Index i = 0; i < 203; ++i) {
        if (i == 5) continue;
        double brute = std::numeric_limits<double>::infinity();
        for (Eigen::Index c = 0; c < k; ++c) {
          brute = std::min(brute, (features.row(i).cast<double>() - centers.row(c)).squaredNorm());
        }
        CHECK(minima[i] == Approx(brute).epsilon(1e-12));
      }
    }
  }
}

TEST_CASE("update_min_squared_distances is the same for a row whatever block it is in", "[init]") {
  const FeatureMatrix features = random_features(57, 5, 3);
  const CentroidMatrix centers = random_centers(11, 5, 4);
  std::vector<double> whole(57, std::numeric_limits<double>::infinity());
  update_min_squared_distances(features, centers, whole);
  for (Eigen::Index first = 0; first < 57; first += 5) {
    const Eigen::Index count = std::min<Eigen::Index>(3, 57 - first);
    std::vector<double> part(count, std::numeric_limits<double>::infinity());
    update_min_squared_distances(features.middleRows(first, count), centers, part);
    for (Eigen::Index i = 0; i < count; ++i) REQUIRE(part[i] == whole[first + i]);
  }
}

TEST_CASE("nearest_center matches brute force and breaks ties towards the lowest index", "[init]") {
  const FeatureMatrix features = random_features(150, 4, 5);
  CentroidMatrix centers = random_centers(8, 4, 6);
  centers.row(6) = centers.row(2);
  const std::vector<std::int32_t> nearest = nearest_center(features, centers);
  REQUIRE(nearest.size() == 150);
  for (Eigen::Index i = 0; i < 150; ++i) {
    int best = 0;
    for (int c = 1; c < 8; ++c) {
      if (squared_distance(features.row(i).data(), centers.row(c).data(), 4) <
          squared_distance(features.row(i).data(), centers.row(best).data(), 4)) {
        best = c;
      }
    }
    CHECK(nearest[i] == best);
    CHECK(nearest[i] != 6);
  }
}

TEST_CASE("weighted_kmeans_plus_plus is deterministic for a seed and depends on it", "[init]") {
  const CentroidMatrix candidates = random_centers(500, 6, 7);
  std::vector<double> weights(500);
  for (int i = 0; i < 500; ++i) weights[i] = 1 + i % 5;
  const CentroidMatrix a = weighted_kmeans_plus_plus(candidates, weights, 20, 42, 5);
  const CentroidMatrix b = weighted_kmeans_plus_plus(candidates, weights, 20, 42, 5);
  const CentroidMatrix other_seed = weighted_kmeans_plus_plus(candidates, weights, 20, 43, 0);
  const CentroidMatrix same_seed = weighted_kmeans_plus_plus(candidates, weights, 20, 42, 0);
  CHECK(a == b);
  CHECK(other_seed != same_seed);
}

TEST_CASE("weighted_kmeans_plus_plus without Lloyd picks distinct candidates, never weight 0",
          "[init]") {
  const CentroidMatrix candidates = random_centers(300, 3, 8);
  std::vector<double> weights(300, 1.0);
  for (int i = 0; i < 300; i += 2) weights[i] = 0.0;
  for (std::uint64_t seed = 0; seed < 5; ++seed) {
    const CentroidMatrix centers = weighted_kmeans_plus_plus(candidates, weights, 25, seed, 0);
    REQUIRE(centers.rows() == 25);
    std::set<Eigen::Index> picked;
    for (Eigen::Index c = 0; c < 25; ++c) {
      Eigen::Index found = -1;
      for (Eigen::Index i = 0; i < 300; ++i) {
        if (candidates.row(i) == centers.row(c)) found = i;
      }
      REQUIRE(found >= 0);
      CHECK(weights[found] > 0);
      picked.insert(found);
    }
    CHECK(picked.size() == 25);
  }
}

TEST_CASE(
    "weighted_kmeans_plus_plus draws the first centre with probability proportional to "
    "weight",
    "[init]") {
  CentroidMatrix candidates(3, 1);
  candidates << 0.0, 1.0, 2.0;
  const std::vector<double> weights = {1.0, 2.0, 7.0};
  std::vector<int> hits(3, 0);
  constexpr int kSeeds = 20'000;
  for (int seed = 0; seed < kSeeds; ++seed) {
    const CentroidMatrix center = weighted_kmeans_plus_plus(candidates, weights, 1, seed, 0);
    ++hits[static_cast<int>(center(0, 0))];
  }
  CHECK(hits[0] / double(kSeeds) == Approx(0.1).margin(0.01));
  CHECK(hits[1] / double(kSeeds) == Approx(0.2).margin(0.01));
  CHECK(hits[2] / double(kSeeds) == Approx(0.7).margin(0.01));
}

TEST_CASE("weighted_kmeans_plus_plus keeps the best of its weight times D^2 draws", "[init]") {
  // The heavy candidate at 0 is almost always drawn first; then w·D² is 1 for the candidate at 1
  // and 9 for the one at 3, so each draw picks 3 with P = 0.9. Greedy k-means++ makes
  // 2 + ⌊ln 2⌋ = 2 draws and keeps the one of lower potential (3 leaves 1, 1 leaves 4), so
  // P(3) = 1 − 0.1² = 0.99.
  CentroidMatrix candidates(3, 1);
  candidates << 0.0, 1.0, 3.0;
  const std::vector<double> weights = {1e6, 1.0, 1.0};
  int first_at_zero = 0, second_at_three = 0;
  constexpr int kSeeds = 20'000;
  for (int seed = 0; seed < kSeeds; ++seed) {
    const CentroidMatrix centers = weighted_kmeans_plus_plus(candidates, weights, 2, seed, 0);
    if (centers(0, 0) != 0.0) continue;
    ++first_at_zero;
    second_at_three += centers(1, 0) == 3.0;
  }
  CHECK(first_at_zero > kSeeds - 10);
  CHECK(second_at_three / double(first_at_zero) == Approx(0.99).margin(0.004));
}

TEST_CASE("weighted_kmeans_plus_plus with fewer distinct candidates than k repeats candidates",
          "[init]") {
  CentroidMatrix candidates(6, 2);
  candidates << 1, 1, 5, 5, 1, 1, 9, 0, 5, 5, 9, 0;
  const std::vector<double> weights(6, 1.0);
  const CentroidMatrix centers = weighted_kmeans_plus_plus(candidates, weights, 5, 3, 10);
  REQUIRE(centers.rows() == 5);
  std::set<std::pair<double, double>> distinct;
  for (Eigen::Index c = 0; c < 5; ++c) {
    CHECK(is_row_of(candidates, centers.row(c)));
    distinct.insert({centers(c, 0), centers(c, 1)});
  }
  CHECK(distinct.size() == 3);
  CHECK(centers.allFinite());
}

TEST_CASE("weighted_kmeans_plus_plus with all weights zero still returns k finite candidates",
          "[init]") {
  const CentroidMatrix candidates = random_centers(10, 2, 9);
  const CentroidMatrix centers =
      weighted_kmeans_plus_plus(candidates, std::vector<double>(10, 0.0), 4, 1, 3);
  REQUIRE(centers.rows() == 4);
  for (Eigen::Index c = 0; c < 4; ++c) CHECK(is_row_of(candidates, centers.row(c)));
}

TEST_CASE(
    "weighted_kmeans_plus_plus seeds one centre per well-separated blob and Lloyd moves "
    "it to the blob's weighted mean",
    "[init]") {
  const Blobs blobs = four_blobs();
  for (std::uint64_t seed = 0; seed < 10; ++seed) {
    const CentroidMatrix seeded =
        weighted_kmeans_plus_plus(blobs.candidates, blobs.weights, 4, seed, 0);
    std::set<int> corners;
    for (Eigen::Index c = 0; c < 4; ++c) corners.insert(nearest_corner(seeded.row(c)));
    CHECK(corners.size() == 4);

    const CentroidMatrix refined =
        weighted_kmeans_plus_plus(blobs.candidates, blobs.weights, 4, seed, 5);
    for (Eigen::Index c = 0; c < 4; ++c) {
      const int corner = nearest_corner(refined.row(c));
      CHECK(nearest_corner(seeded.row(c)) == corner);
      CHECK(refined(c, 0) == Approx(blobs.weighted_means(corner, 0)).epsilon(1e-12));
      CHECK(refined(c, 1) == Approx(blobs.weighted_means(corner, 1)).epsilon(1e-12));
    }
  }
}

TEST_CASE("weighted_kmeans_plus_plus rejects k < 1, no candidates and negative weights", "[init]") {
  const CentroidMatrix candidates = random_centers(3, 2, 10);
  CHECK_THROWS_AS(weighted_kmeans_plus_plus(candidates, {1, 1, 1}, 0, 1, 1), std::invalid_argument);
  CHECK_THROWS_AS(weighted_kmeans_plus_plus(CentroidMatrix(0, 2), {}, 2, 1, 1),
                  std::invalid_argument);
  CHECK_THROWS_AS(weighted_kmeans_plus_plus(candidates, {1, -1, 1}, 2, 1, 1),
                  std::invalid_argument);
}

TEST_CASE("weighted_potential is the weighted sum of squared distances to the nearest centre",
          "[init]") {
  const CentroidMatrix candidates = random_centers(37, 5, 11);
  std::vector<double> weights(37);
  for (int i = 0; i < 37; ++i) weights[i] = 1 + i % 4;
  const CentroidMatrix centers = random_centers(6, 5, 12);
  double expected = 0;
  for (int i = 0; i < 37; ++i) {
    double nearest = std::numeric_limits<double>::infinity();
    for (int c = 0; c < 6; ++c) {
      double squared = 0;
      for (int j = 0; j < 5; ++j) {
        squared += (candidates(i, j) - centers(c, j)) * (candidates(i, j) - centers(c, j));
      }
      nearest = std::min(nearest, squared);
    }
    expected += weights[i] * nearest;
  }
  CHECK(weighted_potential(candidates, weights, centers) == Approx(expected).epsilon(1e-12));
}

TEST_CASE("best_weighted_kmeans_plus_plus keeps the restart of lowest potential", "[init]") {
  const CentroidMatrix candidates = random_centers(400, 4, 21);
  const std::vector<double> weights(400, 1.0);
  const int k = 12;
  // One restart is exactly the single reduction.
  const WeightedSeeding one = best_weighted_kmeans_plus_plus(candidates, weights, k, 5, 3, {1});
  CHECK(one.centers == weighted_kmeans_plus_plus(candidates, weights, k, 5, 3));
  CHECK(one.restart == 0);
  CHECK(one.potential == weighted_potential(candidates, weights, one.centers));
  const WeightedSeeding all = best_weighted_kmeans_plus_plus(candidates, weights, k, 5, 3, {8});
  CHECK(all.potential <= one.potential);
  CHECK(all.potential == weighted_potential(candidates, weights, all.centers));
  // Shared out as three ranks would (every third restart), the best of the bests is the best.
  WeightedSeeding best_of_parts;
  for (int first = 0; first < 3; ++first) {
    const WeightedSeeding part =
        best_weighted_kmeans_plus_plus(candidates, weights, k, 5, 3, {8, first, 3});
    if (best_of_parts.restart < 0 || part.potential < best_of_parts.potential ||
        (part.potential == best_of_parts.potential && part.restart < best_of_parts.restart)) {
      best_of_parts = part;
    }
  }
  CHECK(best_of_parts.restart == all.restart);
  CHECK(best_of_parts.centers == all.centers);
}
