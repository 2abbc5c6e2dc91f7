#pragma once
/// \file Writing the outputs of `microseg forecast`: DIR/forecast.h5 (the chain, the forecast
/// and each customer's churn probability, written in parallel), DIR/segments_forecast.csv and
/// DIR/at_risk_forecast.csv, atomically (docs/file-format.md).
#include <mpi.h>

#include <Eigen/Dense>
#include <cstdint>
#include <string>
#include <vector>

#include "microseg/core/markov_chain.hpp"
#include "microseg/core/publication.hpp"
#include "microseg/core/result.hpp"
#include "microseg/core/size_forecast.hpp"
#include "microseg/distributed/top_customers.hpp"

namespace microseg::io {

/// This rank's rows of /customers: the last run's /assignments block (vectors parallel).
struct ForecastCustomers {
  RowRange rows;
  std::int64_t total_rows = 0;
  const std::vector<std::int64_t>* ids = nullptr;
  const std::vector<std::int32_t>* segments = nullptr;
  const std::vector<double>* churn_probability = nullptr;
  const std::vector<std::int8_t>* moved_down = nullptr;
};

/// Everything the forecast writes; the chain and forecast are the same on every rank.
struct ForecastContent {
  const TransitionModel* model = nullptr;
  const AbsorbingChain* chain = nullptr;
  const SizeForecast* sizes = nullptr;
  const ChurnProbabilities* churn = nullptr;
  Eigen::VectorXd sizes_now, value_per_quarter;  ///< per state, the last run's
  std::vector<std::string> runs;                 ///< the chain, oldest first
  Eigen::MatrixXd history;  ///< runs × states: each state's size in each run (NaN: not there)
  ForecastCustomers customers;
  std::vector<distributed::RankedCustomer> top;  ///< the same on every rank
  RunAttributes run;
  /// segments_forecast.csv: a segment of fewer customers now is suppressed; at_risk_forecast.csv:
  /// pseudonyms with a key.
  PublicationRules publication;
};

/// Collective: writes DIR/forecast.h5, DIR/segments_forecast.csv and DIR/at_risk_forecast.csv
/// under temporary names and renames them into place when every rank has finished.
void write_forecast(const std::string& directory, MPI_Comm comm, const ForecastContent& content);

/// The files write_forecast writes, in DIR.
std::vector<std::string> forecast_files(const std::string& directory);

}  // namespace microseg::io
