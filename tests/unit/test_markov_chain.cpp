#include <catch2/catch.hpp>
#include <vector>

#include "microseg/core/markov_chain.hpp"
#include "microseg/core/size_forecast.hpp"
#include "microseg/core/types.hpp"

using namespace microseg;

namespace {

// Previous ids {0, 1, 5}, new ids {0, 1, 7}: 5 retired, 7 fresh.
MigrationLink link_with_retired_and_fresh() {
  return {{0, 1, 5},
          {0, 1, 7},
          {80, 10, 2, 8,  //
           5, 85, 0, 10,  //
           3, 4, 20, 3,   //
           6, 4, 30, 0}};
}

}  // namespace

TEST_CASE("transitions leave out retired ids and give a fresh segment the fallback row") {
  const TransitionModel model =
      estimate_transitions({link_with_retired_and_fresh()}, {0, 1, 7}, TransitionEstimate::pooled);
  REQUIRE(model.counts(0, 0) == 80);
  REQUIRE(model.counts(0, 2) == 2);
  REQUIRE(model.counts(0, 3) == 8);
  REQUIRE(model.left_out == 3 + 4 + 20 + 3);
  REQUIRE(model.has_history == std::vector<std::int8_t>{1, 1, 0});
  const double loss_rate = 18.0 / 200.0;
  REQUIRE(model.probabilities(2, 2) == Approx(1 - loss_rate));
  REQUIRE(model.probabilities(2, 3) == Approx(loss_rate));
  REQUIRE(model.inflow_mean == 40);
  REQUIRE(model.inflow_share(2) == Approx(0.75));
  for (Eigen::Index s = 0; s < 3; ++s) REQUIRE(model.probabilities.row(s).sum() == Approx(1));
}

TEST_CASE("the absorbing chain gives the expected time to loss of a one-state chain") {
  const TransitionModel model =
      estimate_transitions({{{3}, {3}, {90, 10, 5, 0}}}, {3}, TransitionEstimate::last);
  const AbsorbingChain chain = absorbing_chain(model, Eigen::VectorXd::Constant(1, 2.0));
  REQUIRE(chain.expected_quarters(0) == Approx(10.0));
  REQUIRE(chain.lifetime_value(0) == Approx(20.0));
  REQUIRE(chain.loss_within(0, 1) == Approx(1 - 0.9 * 0.9));
}

TEST_CASE("a segment that never loses anyone is refused by name") {
  const TransitionModel model = estimate_transitions(
      {{{3, 4}, {3, 4}, {9, 0, 1, 0, 10, 0, 0, 0, 0}}}, {3, 4}, TransitionEstimate::pooled);
  REQUIRE_THROWS_WITH(absorbing_chain(model, Eigen::VectorXd::Zero(2)),
                      Catch::Contains("segment(s) 4"));
}

TEST_CASE("a multiplier of 1 leaves the churn of movers-down as everyone's; more raises it") {
  const TransitionModel model =
      estimate_transitions({link_with_retired_and_fresh()}, {0, 1, 7}, TransitionEstimate::pooled);
  const ChurnProbabilities same = churn_within(model.probabilities, 3, 1.0);
  const ChurnProbabilities more = churn_within(model.probabilities, 3, 2.5);
  for (Eigen::Index s = 0; s < 3; ++s) {
    REQUIRE(same.moved_down(s) == Approx(same.ordinary(s)));
    REQUIRE(more.moved_down(s) > more.ordinary(s));
  }
}

TEST_CASE("size forecast intervals are seeded and hold the expected sizes") {
  const TransitionModel model =
      estimate_transitions({link_with_retired_and_fresh()}, {0, 1, 7}, TransitionEstimate::pooled);
  const Eigen::VectorXd now = Eigen::Vector3d(900, 1100, 300);
  const SizeForecast a = forecast_sizes(model, now, {2, 400, 9, 0.9});
  const SizeForecast b = forecast_sizes(model, now, {2, 400, 9, 0.9});
  REQUIRE(a.low == b.low);
  REQUIRE(a.high == b.high);
  for (Eigen::Index s = 0; s < 3; ++s) {
    REQUIRE(a.low(1, s) <= a.expected(1, s));
    REQUIRE(a.expected(1, s) <= a.high(1, s));
  }
  REQUIRE_THROWS_AS(forecast_sizes(model, now, {0, 400, 9, 0.9}), InputError);
}
