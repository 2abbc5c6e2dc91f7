#pragma once
/// \file `microseg assign` as a pipeline: score customers against a saved run — its transform,
/// its centroids and its stable segment ids — and write each customer's segment, the runner-up
/// and the margin.
#include <boost/serialization/string.hpp>
#include <boost/serialization/utility.hpp>
#include <boost/serialization/vector.hpp>
#include <cstdint>
#include <string>
#include <vector>

#include "microseg/distributed/communicator.hpp"
#include "microseg/pipeline/publication.hpp"

namespace microseg::pipeline {

struct AssignPlan {
  std::string model;   ///< output directory of a `microseg segment` run
  std::string input;   ///< customer table to score
  std::string output;  ///< directory for assignments.h5
  std::string job_file;
  /// The options as given, for the manifest (SegmentPlan::recorded_options).
  std::vector<std::pair<std::string, std::string>> recorded_options;

  bool assignments_csv = false;  ///< --assignments-csv: also write DIR/assignments.csv
  /// --pseudonymise-ids (assignments.csv) and --privacy-min-count (the printed sizes).
  PublicationOptions publication;

  template <class Archive>
  void serialize(Archive& archive, unsigned /*version*/) {
    archive& model& input& output& job_file& recorded_options& assignments_csv;
    archive& publication;
  }
};

struct AssignResult {
  std::int64_t customers = 0;           ///< scored (kept)
  std::int64_t dropped = 0;             ///< for missing values (the model's --missing drop)
  std::int64_t unknown_categories = 0;  ///< category values the model does not know
  std::vector<std::int64_t> segment_ids;
  std::vector<std::int64_t> sizes;   ///< customers per segment, in segment_ids order
  std::string output;                ///< DIR/assignments.h5
  std::vector<std::string> outputs;  ///< every file written, in the manifest's order
};

/// Collective: reads the model on every rank and each rank's block of customers, applies the
/// model's transform exactly as the run applied its fitted one, assigns every customer to its
/// nearest centroid and writes DIR/assignments.h5 and the manifest. Errors (a feature the model
/// needs missing from the input, bad values, an unwritable output) are agreed between ranks
/// before anything is written.
AssignResult assign(const distributed::Communicator& comm, const AssignPlan& plan);

}  // namespace microseg::pipeline
