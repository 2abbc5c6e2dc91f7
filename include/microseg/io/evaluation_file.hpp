#pragma once
/// \file Writing the output of `microseg evaluate`: DIR/evaluation.h5 (per-segment and overall
/// datasets, the retention of a previous run's segments, the run's settings and data problems
/// as /run attributes) and DIR/uplift.csv (one row per segment and an `all` row, shared: rows
/// with a small arm suppressed, docs/file-format.md).
#include <mpi.h>

#include <cstdint>
#include <string>
#include <vector>

#include "microseg/core/publication.hpp"
#include "microseg/core/result.hpp"
#include "microseg/core/uplift.hpp"

namespace microseg::io {

/// The retention of a previous run's segments (parallel vectors; empty without a previous run).
struct RetentionColumns {
  std::vector<std::int64_t> segment_ids, customers, retained;
  std::vector<double> share;
};

/// What evaluate measured, the same on every rank.
struct EvaluationRecord {
  std::vector<std::int64_t> segment_ids;  ///< ascending
  std::vector<UpliftMeasure> segments;    ///< parallel to segment_ids
  UpliftMeasure overall;
  RetentionColumns retention;
  RunAttributes run;  ///< settings and problem counts, written as /run attributes
  /// uplift.csv's rules: a row with an arm of 1..min_count-1 customers shows those counts as
  /// "<N" and no measure (evaluation.h5 keeps every number)
  PublicationRules publication;
};

/// Collective over `comm`: writes DIR/evaluation.h5 and DIR/uplift.csv atomically (temporary
/// names, mode 0640, renamed when both are complete) and returns their paths.
std::vector<std::string> write_evaluation(const std::string& directory, MPI_Comm comm,
                                          const EvaluationRecord& record);

}  // namespace microseg::io
