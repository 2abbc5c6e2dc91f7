#pragma once
/// \file Segment sizes H quarters ahead from an estimated chain: the expected sizes and a
/// seeded Monte Carlo interval that carries both the estimation uncertainty of the transitions
/// (each row's counts redrawn multinomially, the inflow's total and split redrawn) and the
/// process noise (each customer's own move, each quarter's new customers). No MPI: every rank
/// computes the same draws from the same seed.
#include <Eigen/Dense>
#include <cstdint>

#include "microseg/core/markov_chain.hpp"

namespace microseg {

struct SizeForecastSettings {
  int horizon = 1;
  int draws = 1000;
  std::uint64_t seed = 1;
  double level = 0.90;  ///< the interval holds this central share of the draws
};

/// Rows are the quarters 1 … horizon ahead, columns the model's states.
struct SizeForecast {
  Eigen::MatrixXd expected;   ///< n_t+1 = n_t · Q + inflow_mean · inflow_share
  Eigen::MatrixXd low, high;  ///< the (1 − level)/2 and (1 + level)/2 quantiles of the draws
  Eigen::VectorXd expected_total, low_total, high_total;  ///< the same for the sum over states
};

/// Throws InputError when horizon < 1 or draws < 2.
SizeForecast forecast_sizes(const TransitionModel& model, const Eigen::VectorXd& sizes_now,
                            const SizeForecastSettings& settings);

}  // namespace microseg
