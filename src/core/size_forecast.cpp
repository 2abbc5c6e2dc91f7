// GCC 12 reports -Wmaybe-uninitialized inside Eigen's AVX-512 reductions and products (a half
// extracted from a fully written register, as in avx512_tile.hpp); it is a false positive.
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"

#include "microseg/core/size_forecast.hpp"

#include <algorithm>
#include <cmath>
#include <random>
#include <vector>

#include "microseg/core/types.hpp"

namespace microseg {
namespace {

// std::mt19937_64 and libstdc++'s distributions are fixed algorithms: the same seed gives the
// same draws on every rank and every run of the same build.
using Engine = std::mt19937_64;

std::int64_t binomial(Engine& engine, std::int64_t trials, double p) {
  if (trials <= 0 || p <= 0) return 0;
  if (p >= 1) return trials;
  return std::binomial_distribution<std::int64_t>(trials, p)(engine);
}

std::int64_t poisson(Engine& engine, double mean) {
  return mean > 0 ? std::poisson_distribution<std::int64_t>(mean)(engine) : 0;
}

// `trials` spread over the cells of `p` (summing to 1) by successive binomials, added to `into`.
void add_multinomial(Engine& engine, std::int64_t trials, const Eigen::RowVectorXd& p,
                     Eigen::RowVectorXd& into) {
  double rest = 1.0;
  for (Eigen::Index j = 0; j < p.size() && trials > 0; ++j) {
    const std::int64_t drawn = binomial(engine, trials, rest > 0 ? p(j) / rest : 1.0);
    into(j) += static_cast<double>(drawn);
    trials -= drawn;
    rest -= p(j);
  }
}

// One bootstrap of the estimate: each counted row redrawn multinomially with its own total, the
// inflow's split likewise, and its per-quarter mean from a Poisson draw of the pooled total.
struct DrawnChain {
  Eigen::MatrixXd probabilities;
  Eigen::RowVectorXd inflow_share;
  double inflow_mean = 0;
};

DrawnChain bootstrap(Engine& engine, const TransitionModel& model) {
  const Eigen::Index states = model.probabilities.rows();
  DrawnChain drawn{model.probabilities, model.inflow_share.transpose(), 0.0};
  for (Eigen::Index s = 0; s < states; ++s) {
    const double total = model.counts.row(s).sum();
    if (total <= 0) continue;
    Eigen::RowVectorXd row = Eigen::RowVectorXd::Zero(states + 1);
    add_multinomial(engine, static_cast<std::int64_t>(std::llround(total)),
                    model.probabilities.row(s), row);
    drawn.probabilities.row(s) = row / total;
  }
  const double inflow_total = model.inflow_counts.sum();
  if (inflow_total > 0) {
    Eigen::RowVectorXd split = Eigen::RowVectorXd::Zero(states);
    add_multinomial(engine, static_cast<std::int64_t>(std::llround(inflow_total)),
                    model.inflow_share.transpose(), split);
    drawn.inflow_share = split / inflow_total;
  }
  double pooled = 0;
  for (std::int64_t count : model.inflow_per_link) pooled += static_cast<double>(count);
  drawn.inflow_mean = static_cast<double>(poisson(engine, pooled)) / model.links;
  return drawn;
}

double quantile(std::vector<double> values, double q) {
  std::sort(values.begin(), values.end());
  const double position = q * static_cast<double>(values.size() - 1);
  const auto below = static_cast<std::size_t>(std::floor(position));
  const std::size_t above = std::min(below + 1, values.size() - 1);
  const double weight = position - static_cast<double>(below);
  return values[below] + weight * (values[above] - values[below]);
}

}  // namespace

SizeForecast forecast_sizes(const TransitionModel& model, const Eigen::VectorXd& sizes_now,
                            const SizeForecastSettings& settings) {
  if (settings.horizon < 1) throw InputError("the forecast horizon must be at least 1 quarter");
  if (settings.draws < 2) throw InputError("the forecast interval needs at least 2 draws");
  const Eigen::Index states = model.probabilities.rows();
  const int horizon = settings.horizon;
  SizeForecast forecast;
  forecast.expected.resize(horizon, states);
  Eigen::RowVectorXd expected = sizes_now.transpose();
  for (int t = 0; t < horizon; ++t) {
    expected = expected * model.probabilities.leftCols(states) +
               model.inflow_mean * model.inflow_share.transpose();
    forecast.expected.row(t) = expected;
  }
  // draws[t][s or states (the total)][b]
  std::vector<std::vector<std::vector<double>>> draws(
      horizon, std::vector<std::vector<double>>(states + 1, std::vector<double>(settings.draws)));
  Engine engine(settings.seed);
  for (int b = 0; b < settings.draws; ++b) {
    const DrawnChain chain = bootstrap(engine, model);
    Eigen::RowVectorXd sizes = sizes_now.transpose();
    for (int t = 0; t < horizon; ++t) {
      Eigen::RowVectorXd next = Eigen::RowVectorXd::Zero(states + 1);
      for (Eigen::Index s = 0; s < states; ++s) {
        add_multinomial(engine, static_cast<std::int64_t>(std::llround(sizes(s))),
                        chain.probabilities.row(s), next);
      }
      Eigen::RowVectorXd arrivals = Eigen::RowVectorXd::Zero(states);
      add_multinomial(engine, poisson(engine, chain.inflow_mean), chain.inflow_share, arrivals);
      sizes = next.head(states) + arrivals;
      for (Eigen::Index s = 0; s < states; ++s) draws[t][s][b] = sizes(s);
      draws[t][states][b] = sizes.sum();
    }
  }
  const double low = (1.0 - settings.level) / 2, high = (1.0 + settings.level) / 2;
  forecast.low.resize(horizon, states);
  forecast.high.resize(horizon, states);
  forecast.low_total.resize(horizon);
  forecast.high_total.resize(horizon);
  forecast.expected_total = forecast.expected.rowwise().sum();
  for (int t = 0; t < horizon; ++t) {
    for (Eigen::Index s = 0; s < states; ++s) {
      forecast.low(t, s) = quantile(draws[t][s], low);
      forecast.high(t, s) = quantile(draws[t][s], high);
    }
    forecast.low_total(t) = quantile(draws[t][states], low);
    forecast.high_total(t) = quantile(draws[t][states], high);
  }
  return forecast;
}

}  // namespace microseg
