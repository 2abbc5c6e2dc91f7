#pragma once
/// \file `microseg evaluate` as a pipeline: a campaign's outcome table joined to a run's
/// assignments by customer id, measured per segment and overall (core/uplift.hpp), with the
/// retention of a previous run's segments, written as DIR/evaluation.h5, DIR/uplift.csv and the
/// manifest.
#include <boost/serialization/string.hpp>
#include <cstdint>
#include <string>
#include <vector>

#include "microseg/core/uplift.hpp"
#include "microseg/distributed/communicator.hpp"
#include "microseg/pipeline/publication.hpp"

namespace microseg::pipeline {

struct EvaluatePlan {
  std::string run;       ///< output directory of a `microseg segment` run
  std::string outcomes;  ///< the campaign's outcome table (CSV)
  std::string id_column = "customer_id";
  std::string group_column = "group";
  std::string treatment = "treated";  ///< the group value of treated customers
  std::string control = "control";    ///< the group value of control customers
  std::string converted_column = "converted";
  std::string revenue_column;  ///< "" without revenue
  double cost_per_contact = 0;
  std::string previous;  ///< a previous run for retention, or ""
  std::string output;    ///< directory for evaluation.h5, uplift.csv, manifest.json
  std::string job_file;
  /// --privacy-min-count (no key: evaluate exports no customer id)
  PublicationOptions publication;

  template <class Archive>
  void serialize(Archive& archive, unsigned /*version*/) {
    archive& run& outcomes& id_column& group_column& treatment& control& converted_column;
    archive& revenue_column& cost_per_contact& previous& output& job_file& publication;
  }
};

/// Data problems found in the outcome table: counted, reported and stored, not fatal.
struct OutcomeProblems {
  std::int64_t rows = 0;                       ///< data rows of the outcome table
  std::int64_t unmatched_ids = 0;              ///< outcome ids that are no customer of the run
  std::int64_t customers_without_outcome = 0;  ///< run customers with no outcome row
  std::int64_t other_group_rows = 0;           ///< rows whose group is neither value
  std::int64_t first_other_group_line = 0;     ///< its first file line (0 when none)
  std::string first_other_group_value;         ///< the group value on that line
};

/// The campaign measured in one segment of the run (segment_id −1: every customer).
struct SegmentUplift {
  std::int64_t segment_id = -1;
  UpliftMeasure measure;
};

/// Retention of one segment of the previous run in this run.
struct SegmentRetentionShare {
  std::int64_t segment_id = 0;
  std::int64_t customers = 0;  ///< in the previous run
  std::int64_t retained = 0;   ///< of those, customers of this run
  double share = 0;            ///< retained / customers (NaN for an empty segment)
};

struct EvaluateResult {
  std::vector<SegmentUplift> segments;  ///< in ascending segment id
  SegmentUplift overall;
  OutcomeProblems problems;
  bool has_revenue = false;
  std::vector<SegmentRetentionShare> retention;  ///< empty without a previous run
  std::vector<std::string> outputs;
  PublicationRules publication;  ///< what uplift.csv and the printed table may show
};

/// Collective. Errors (a missing run or column, a converted value other than 0/1, a bad revenue,
/// a duplicate outcome id, an empty treatment or control group, an unwritable output) are
/// agreed between ranks before anything is written.
EvaluateResult evaluate(const distributed::Communicator& comm, const EvaluatePlan& plan);

}  // namespace microseg::pipeline
