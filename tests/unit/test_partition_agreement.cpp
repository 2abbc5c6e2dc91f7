// Adjusted Rand index and adjusted mutual information from contingency tables small enough to
// compute by hand; each expected value is written as the hand computation it comes from.
#include <catch2/catch.hpp>
#include <cmath>
#include <stdexcept>
#include <vector>

#include "microseg/core/partition_agreement.hpp"

using namespace microseg;

namespace {

// n choose 2.
double pairs(double n) {
  return n * (n - 1) / 2;
}

// Hubert–Arabie from pair counts: (index − expected) / (mean of the two pair sums − expected).
double ari_by_hand(double index, double row_pairs, double column_pairs, double n) {
  const double expected = row_pairs * column_pairs / pairs(n);
  return (index - expected) / ((row_pairs + column_pairs) / 2 - expected);
}

}  // namespace

TEST_CASE("adjusted Rand index of a split of one segment is 4/7") {
  // first = [0 0 1 1], second = [0 0 1 2]: table rows (2, 2), columns (2, 1, 1).
  const std::vector<std::int64_t> table{2, 0, 0,  //
                                        0, 1, 1};
  const double expected = ari_by_hand(pairs(2), 2 * pairs(2), pairs(2), 4);
  CHECK(expected == Approx(4.0 / 7).epsilon(1e-15));
  CHECK(adjusted_rand_index(table, 2, 3) == Approx(expected).epsilon(1e-14));
}

TEST_CASE("adjusted Rand index is negative when partitions cross and 8/33 for a shifted split") {
  // [0 0 1 1] against [0 1 0 1]: no pair agrees, every pair sum is 2 of 6 pairs.
  CHECK(adjusted_rand_index({1, 1, 1, 1}, 2, 2) == Approx(ari_by_hand(0, 2, 2, 4)).epsilon(1e-14));
  CHECK(adjusted_rand_index({1, 1, 1, 1}, 2, 2) == Approx(-0.5).epsilon(1e-14));
  // [0 0 0 1 1 1] against [0 0 1 1 2 2]: pairs together in both 2, rows 6, columns 3, of 15.
  const std::vector<std::int64_t> table{2, 1, 0,  //
                                        0, 1, 2};
  CHECK(adjusted_rand_index(table, 2, 3) == Approx(ari_by_hand(2, 6, 3, 6)).epsilon(1e-14));
  CHECK(adjusted_rand_index(table, 2, 3) == Approx(8.0 / 33).epsilon(1e-14));
}

TEST_CASE("adjusted Rand index ignores label names and empty labels") {
  // The same partition with its labels renamed, and a third, empty, label on each side.
  const std::vector<std::int64_t> renamed{0, 3, 0,  //
                                          2, 0, 0,  //
                                          0, 0, 0};
  CHECK(adjusted_rand_index(renamed, 3, 3) == 1.0);
  const std::vector<std::int64_t> with_empty_row{2, 0, 0,  //
                                                 0, 1, 1,  //
                                                 0, 0, 0};
  CHECK(adjusted_rand_index(with_empty_row, 3, 3) == Approx(4.0 / 7).epsilon(1e-14));
}

TEST_CASE("adjusted Rand index of degenerate partitions follows scikit-learn") {
  // Both partitions one customer per label: identical, so 1 (no pair to compare).
  CHECK(adjusted_rand_index({1, 0, 0, 0, 1, 0, 0, 0, 1}, 3, 3) == 1.0);
  // One label against one customer per label: 0.
  CHECK(adjusted_rand_index({1, 1}, 1, 2) == Approx(0.0).margin(1e-15));
}

TEST_CASE("adjusted Rand index is exact for counts whose pair products overflow 64 bits") {
  // Two identical halves of 4·10⁹ customers: n² alone is 6.4·10¹⁹ > 2⁶³.
  const std::int64_t half = 2'000'000'000;
  CHECK(adjusted_rand_index({half, 0, 0, half}, 2, 2) == 1.0);
  // One customer of each half swapped: just below 1.
  const double swapped = adjusted_rand_index({half - 1, 1, 1, half - 1}, 2, 2);
  CHECK(swapped < 1.0);
  CHECK(swapped > 1.0 - 1e-8);
}

TEST_CASE("a table that does not match its shape is refused") {
  CHECK_THROWS_AS(adjusted_rand_index({1, 2, 3}, 2, 2), std::invalid_argument);
  CHECK_THROWS_AS(adjusted_mutual_information({1, -2, 3, 4}, 2, 2), std::invalid_argument);
}

TEST_CASE("adjusted mutual information of a shifted split, by hand") {
  // [0 0 0 1 1 1] against [0 0 1 1 2 2]: rows (3, 3), columns (2, 2, 2), n = 6.
  const std::vector<std::int64_t> table{2, 1, 0,  //
                                        0, 1, 2};
  // MI = Σ n_ij/n · ln(n·n_ij / (a_i b_j)): the two cells of 2 give ln 2 each, the cells of 1 ln 1.
  const double mi = 2 * (2.0 / 6) * std::log(6.0 * 2 / (3 * 2));
  // E[MI]: every cell has a = 3, b = 2, n = 6, so n_ij is hypergeometric on {0, 1, 2} with
  // P(2) = C(2,2)·C(4,1)/C(6,3) = 4/20; n_ij = 1 adds ln 1 = 0, so each of the 6 cells adds
  // P(2) · (2/6) · ln(6·2/(3·2)).
  const double emi = 6 * (4.0 / 20) * (2.0 / 6) * std::log(2.0);
  const double mean_entropy = (std::log(2.0) + std::log(3.0)) / 2;
  const double expected = (mi - emi) / (mean_entropy - emi);
  CHECK(expected == Approx(0.2987924581708899).epsilon(1e-12));  // sklearn's value
  CHECK(adjusted_mutual_information(table, 2, 3) == Approx(expected).epsilon(1e-12));
}

TEST_CASE("adjusted mutual information is 1 for the same partition and 0 against one segment") {
  CHECK(adjusted_mutual_information({0, 3, 0, 2, 0, 0, 0, 0, 0}, 3, 3) ==
        Approx(1.0).epsilon(1e-12));
  // Everyone in one segment on both sides: scikit-learn's convention is 1.
  CHECK(adjusted_mutual_information({5}, 1, 1) == 1.0);
  // One segment against two: no information, 0.
  CHECK(adjusted_mutual_information({2, 2}, 1, 2) == Approx(0.0).margin(1e-15));
  // Margins (2, 2) and (3, 1) admit a single table up to renaming, so MI equals its expectation.
  CHECK(adjusted_mutual_information({2, 0, 1, 1}, 2, 2) == Approx(0.0).margin(1e-12));
}
