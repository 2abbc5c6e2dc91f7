#pragma once
/// \file `microseg forecast` as a pipeline: from a chain of runs made with `--previous`, the
/// segment-to-segment Markov chain with an absorbing "lost" state, the segment sizes and values
/// H quarters ahead with 90 % intervals, the absorbing-chain quantities, and each customer's
/// probability of being lost within H quarters (docs/file-format.md, "microseg forecast").
#include <boost/serialization/string.hpp>
#include <boost/serialization/vector.hpp>
#include <cstdint>
#include <string>
#include <vector>

#include "microseg/distributed/communicator.hpp"
#include "microseg/pipeline/publication.hpp"

namespace microseg::pipeline {

struct ForecastPlan {
  std::vector<std::string>
      runs;         ///< run directories, oldest first; each the --previous of the next
  int horizon = 1;  ///< quarters ahead
  std::string estimate = "pooled";  ///< pooled (every link) or last (the last link only)
  std::int64_t top = 100;           ///< customers in at_risk_forecast.csv
  std::uint64_t intervals_seed = 1;
  int draws = 1000;  ///< Monte Carlo draws behind the intervals
  std::string output;
  std::string job_file;
  /// --privacy-min-count (segments_forecast.csv and the printed table), --pseudonymise-ids
  /// (at_risk_forecast.csv).
  PublicationOptions publication;

  template <class Archive>
  void serialize(Archive& archive, unsigned /*version*/) {
    archive& runs& horizon& estimate& top& intervals_seed& draws& output& job_file;
    archive& publication;
  }
};

/// What `microseg forecast` prints.
struct ForecastResult {
  std::vector<std::int64_t> segment_ids;
  std::vector<double> size_now, expected, low, high;  ///< sizes at the horizon, per segment
  std::vector<double> loss_within_1, expected_quarters, lifetime_value;
  int links = 0;
  std::int64_t left_out = 0;     ///< customers of the links on ids the last run does not have
  double hazard_multiplier = 1;  ///< the moved-down customers' loss multiplier applied
  bool hazard_estimated = false;
  std::string hazard_note;  ///< why the multiplier could not be estimated, when it could not
  std::int64_t customers = 0, moved_down = 0;
  std::vector<std::string> outputs;
};

/// Collective. Checks the chain (every run after the first has /migration and its previous run
/// is the run before), then estimates, forecasts and writes DIR/forecast.h5, the CSV files and
/// the manifest. Errors name the run and are agreed between ranks before anything is written.
ForecastResult forecast(const distributed::Communicator& comm, const ForecastPlan& plan);

}  // namespace microseg::pipeline
