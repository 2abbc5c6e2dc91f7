// The pieces of choosing k that need no data: restart seeds, stratified sample quotas, the knee
// of the inertia curve and the recommendation rule.
#include <catch2/catch.hpp>
#include <cmath>
#include <limits>
#include <vector>

#include "microseg/core/k_selection.hpp"
#include "microseg/core/random.hpp"

using namespace microseg;

namespace {

const double not_measured = std::numeric_limits<double>::quiet_NaN();

SweepRow row(std::int64_t k, double inertia, double ch, double db, double silhouette,
             double stability) {
  SweepRow r;
  r.k = k;
  r.inertia = inertia;
  r.calinski_harabasz = ch;
  r.davies_bouldin = db;
  r.silhouette_simplified = silhouette;
  r.silhouette_sampled = silhouette;
  r.min_segment_size = 100;
  r.min_segment_share = 0.01;
  r.stability = stability;
  return r;
}

}  // namespace

TEST_CASE("restart 0 keeps the seed and later restarts use the seeds of segment --restarts") {
  CHECK(restart_seed(77, 0) == 77);
  CHECK(restart_seed(77, 1) == keyed_hash(77, RandomStream::restart, 1));
  CHECK(restart_seed(77, 2) == keyed_hash(77, RandomStream::restart, 2));
  CHECK(restart_seed(77, 1) != restart_seed(77, 2));
  CHECK(restart_seed(77, 1) != restart_seed(78, 1));
}

TEST_CASE("stratified quotas give small segments all their customers and share the rest") {
  // q = 17 fits exactly: 17 + 10 + 3 = 30.
  CHECK(stratified_quotas({1000, 10, 3}, 30) == std::vector<std::int64_t>{17, 10, 3});
  // q = 9 takes 30 of 31; the one left over goes to the first segment larger than 9.
  CHECK(stratified_quotas({1000, 10, 3, 1000}, 31) == std::vector<std::int64_t>{10, 9, 3, 9});
  // A sample of everyone, or more, takes every customer.
  CHECK(stratified_quotas({5, 7}, 12) == std::vector<std::int64_t>{5, 7});
  CHECK(stratified_quotas({5, 7}, 1000) == std::vector<std::int64_t>{5, 7});
  CHECK(stratified_quotas({5, 7}, 0) == std::vector<std::int64_t>{0, 0});
  // Fewer sampled customers than segments: one each, in segment order.
  CHECK(stratified_quotas({5, 7, 9}, 2) == std::vector<std::int64_t>{1, 1, 0});
}

TEST_CASE("the knee of the inertia curve is the k farthest below the chord") {
  // Normalised: x = (k − 2)/6, y = (inertia − 19)/81; the chord is y = 1 − x. The gap 1 − x − y
  // is 0.327 at k = 3, 0.531 at k = 4 and 0.426 at k = 5.
  const std::vector<double> inertia{100, 60, 30, 25, 22, 20, 19};
  std::vector<SweepRow> rows;
  for (std::size_t i = 0; i < inertia.size(); ++i) {
    rows.push_back(row(static_cast<std::int64_t>(i) + 2, inertia[i], 1, 1, 0, 1));
  }
  REQUIRE(inertia_knee(rows).has_value());
  CHECK(*inertia_knee(rows) == 4);
  // Two points have no knee; neither has a flat curve.
  CHECK_FALSE(inertia_knee({rows[0], rows[1]}).has_value());
  for (auto& r : rows) r.inertia = 5;
  CHECK_FALSE(inertia_knee(rows).has_value());
}

TEST_CASE("the k that wins every criterion is recommended, with its reasons") {
  const std::vector<SweepRow> rows{
      row(2, 100, 50, 1.5, 0.30, 0.99), row(3, 60, 70, 1.2, 0.40, 0.99),
      row(4, 30, 90, 0.6, 0.60, 0.98),  row(5, 25, 80, 0.9, 0.50, 0.95),
      row(6, 22, 60, 1.1, 0.45, 0.90),
  };
  // Knee at k = 4 (gaps below the chord: 0.263, 0.397, 0.212 at k = 3, 4, 5).
  const KRecommendation r = recommend_k(rows);
  CHECK(r.k == 4);
  CHECK_THAT(r.reason, Catch::Contains("ranks first on 3 of 3 criteria"));
  CHECK_THAT(r.reason, Catch::Contains("closest to the knee of the inertia curve at k = 4"));
  CHECK_THAT(r.reason, Catch::Contains("lowest Davies-Bouldin (0.6)"));
  CHECK_THAT(r.reason, Catch::Contains("highest sampled silhouette (0.6)"));
  CHECK_THAT(r.reason, Catch::Contains("Cross-check: highest Calinski-Harabasz (90)"));
  // Runner-up: k = 5 has ranks 2, 2, 2 (sum 6); k = 3 has 2, 4, 4 and k = 6 has 4, 3, 3.
  CHECK(r.runner_up_k == 5);
  CHECK_THAT(r.runner_up_reason,
             Catch::Contains("ranks first on 0 of 3 criteria (sum of ranks 6)"));
}

TEST_CASE("unstable k are not candidates, unless no k is stable") {
  std::vector<SweepRow> rows{
      row(2, 100, 50, 1.5, 0.30, 0.95), row(3, 60, 70, 1.2, 0.40, 0.90),
      row(4, 30, 90, 0.6, 0.60, 0.40),  // best on every criterion, but the restarts disagree
      row(5, 25, 80, 0.9, 0.50, 0.55),  row(6, 22, 60, 1.1, 0.45, 0.85),
  };
  KRecommendation r = recommend_k(rows);
  CHECK(r.k == 5);  // first on Davies-Bouldin and silhouette, tied first on the knee distance
  CHECK(r.runner_up_k != 4);
  CHECK_THAT(r.reason, Catch::Contains("Not candidates (stability below 0.5): k = 4."));
  for (auto& each : rows) each.stability = 0.3;
  r = recommend_k(rows);
  CHECK(r.k == 4);
  CHECK_THAT(r.reason, Catch::Contains("none reached stability 0.5"));
  for (auto& each : rows) each.stability = not_measured;
  r = recommend_k(rows);
  CHECK(r.k == 4);
  CHECK_THAT(r.reason, Catch::Contains("not measured with one restart"));
}

TEST_CASE("with a single stable k the runner-up comes from the others") {
  const std::vector<SweepRow> rows{
      row(2, 100, 50, 1.5, 0.30, 0.3),
      row(3, 60, 70, 1.2, 0.40, 0.95),
      row(4, 30, 90, 0.6, 0.60, 0.3),
  };
  const KRecommendation r = recommend_k(rows);
  CHECK(r.k == 3);
  // Among every k, k = 4 wins Davies-Bouldin and the silhouette.
  CHECK(r.runner_up_k == 4);
  CHECK_THAT(r.runner_up_reason, Catch::Contains("below stability 0.5"));
}

TEST_CASE("ties go to the lower sum of ranks, then Calinski-Harabasz, then the smaller k") {
  // Two k, so no knee: k = 3 wins Davies-Bouldin and the silhouette.
  KRecommendation r = recommend_k({row(2, 10, 90, 1.0, 0.2, 1), row(3, 5, 80, 0.5, 0.3, 1)});
  CHECK(r.k == 3);
  CHECK(r.runner_up_k == 2);
  // One vote each and equal rank sums: the higher Calinski-Harabasz decides.
  r = recommend_k({row(2, 10, 50, 0.5, 0.2, 1), row(3, 5, 70, 1.0, 0.3, 1)});
  CHECK(r.k == 3);
  r = recommend_k({row(2, 10, 70, 0.5, 0.2, 1), row(3, 5, 50, 1.0, 0.3, 1)});
  CHECK(r.k == 2);
  // Identical metrics: the smaller k.
  r = recommend_k({row(3, 10, 90, 1.0, 0.2, 1), row(5, 5, 90, 1.0, 0.2, 1)});
  CHECK(r.k == 3);
  // A silhouette never measured (sample 0) is left out rather than counted as a win for all.
  r = recommend_k({row(2, 10, 90, 1.0, not_measured, 1), row(3, 5, 80, 0.5, not_measured, 1)});
  CHECK_THAT(r.reason, Catch::Contains("ranks first on 1 of 1 criterion"));
  // A single k is recommended with no runner-up.
  r = recommend_k({row(7, 10, 90, 1.0, 0.2, 1)});
  CHECK(r.k == 7);
  CHECK(r.runner_up_k == 0);
}
