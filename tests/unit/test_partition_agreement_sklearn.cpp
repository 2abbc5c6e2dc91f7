// Adjusted Rand index and adjusted mutual information against values scikit-learn 1.2.1 gives on
// the labels each table stands for (the stability metrics of /migration rest on these).
#include <catch2/catch.hpp>
#include <cstdint>
#include <vector>

#include "microseg/core/partition_agreement.hpp"

using namespace microseg;

namespace {

struct ReferenceTable {
  std::vector<std::int64_t> counts;
  int rows, cols;
  double ari, ami;  // sklearn.metrics.adjusted_rand_score, adjusted_mutual_info_score
};

const std::vector<ReferenceTable>& reference_tables() {
  static const std::vector<ReferenceTable> tables{
      {{5, 1, 0, 1, 4, 1, 0, 2, 6}, 3, 3, 0.3640897755610973, 0.36443066444201017},
      {{10, 0, 3, 0, 2, 7, 0, 1, 0, 0, 0, 0, 1, 1, 8, 9},
       4,
       4,
       0.3543307086614173,
       0.41127750105894356},
      {{25, 25, 25, 25}, 2, 2, -0.01020408163265306, -0.007377684541408083},
      {{1, 1, 1, 1, 0, 0}, 3, 2, -0.5, -0.49999999999999944},
      {{4000, 120, 7,  0,    0, 95, 3100, 40, 3,  0,   0,   33, 2500, 60, 8,
        12,   0,   71, 1800, 2, 0,  4,    0,  25, 900, 300, 0,  0,    0,  1200},
       6,
       5,
       0.8392702892314625,
       0.8292181080969083},
  };
  return tables;
}

}  // namespace

TEST_CASE("ARI and AMI equal scikit-learn's on reference tables of up to 6 x 5 segments") {
  for (const ReferenceTable& t : reference_tables()) {
    INFO(t.rows << " x " << t.cols << " table");
    CHECK(adjusted_rand_index(t.counts, t.rows, t.cols) == Approx(t.ari).epsilon(1e-14));
    CHECK(adjusted_mutual_information(t.counts, t.rows, t.cols) ==
          Approx(t.ami).epsilon(1e-12).margin(1e-15));
  }
}

TEST_CASE("a relabelled partition agrees perfectly under both indices") {
  const std::vector<std::int64_t> permuted{0, 7, 0, 0, 0, 3, 9, 0, 0};
  CHECK(adjusted_rand_index(permuted, 3, 3) == 1.0);
  CHECK(adjusted_mutual_information(permuted, 3, 3) == Approx(1.0).epsilon(1e-14));
}
