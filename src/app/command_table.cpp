#include "microseg/app/assign.hpp"
#include "microseg/app/command.hpp"
#include "microseg/app/evaluate.hpp"
#include "microseg/app/forecast.hpp"
#include "microseg/app/generate.hpp"
#include "microseg/app/ingest.hpp"
#include "microseg/app/reproduce.hpp"
#include "microseg/app/segment.hpp"
#include "microseg/app/sweep.hpp"
#include "microseg/app/version.hpp"

namespace microseg::app {

const std::vector<Command>& commands() {
  static const std::vector<Command> table{
      {"generate", "write a synthetic customer base with planted segments", generate_usage,
       generate_command},
      {"segment", "segment customers with distributed k-means", segment_usage, segment_command},
      {"assign", "score customers against a saved run (its scaling, centroids and segment ids)",
       assign_usage, assign_command},
      {"ingest", "turn a customer CSV or a transaction log (RFM) into a customer table",
       ingest_usage, ingest_command},
      {"sweep", "fit every k of a list, measure each and recommend one", sweep_usage,
       sweep_command},
      {"sweep-merge", "join the shares of a sweep run as a Slurm job array", sweep_merge_usage,
       sweep_merge_command},
      {"promote", "write a full run's outputs for one k of a sweep, without refitting",
       promote_usage, promote_command},
      {"forecast", "forecast segment sizes, value and churn from a chain of --previous runs",
       forecast_usage, forecast_command},
      {"evaluate", "measure a campaign per segment: uplift against control, intervals, ROI",
       evaluate_usage, evaluate_command},
      {"reproduce", "rerun a run from its manifest and compare every output's content digest",
       reproduce_usage, reproduce_command},
      {"version", "print the version, the git commit and the MPI, HDF5, Eigen, Boost versions",
       version_usage, version_command},
  };
  return table;
}

}  // namespace microseg::app
