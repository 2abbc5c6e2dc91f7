#pragma once
/// \file Writing the output of `microseg assign`: DIR/assignments.h5 with each customer's
/// segment under a saved model, the runner-up and the margin between the two.
#include <mpi.h>

#include <cstdint>
#include <string>
#include <vector>

#include "microseg/core/external_ids.hpp"
#include "microseg/core/publication.hpp"
#include "microseg/core/result.hpp"

namespace microseg::io {

/// The rows of the scored customers one rank holds, in input order (all vectors parallel).
struct ScoredBlock {
  RowRange rows;
  std::int64_t total_rows = 0;
  const std::vector<std::int64_t>* ids = nullptr;
  const std::vector<std::int32_t>* segments = nullptr;         ///< stable ids
  const std::vector<double>* distances = nullptr;              ///< to that centroid, scaled space
  const std::vector<std::int32_t>* second_segments = nullptr;  ///< -1 when the model has k = 1
  const std::vector<double>* second_distances = nullptr;       ///< +inf when k = 1
  const std::vector<double>* margins = nullptr;                ///< second − nearest distance
  /// A two-level model's macro segment of each customer (stable ids); null for one level.
  const std::vector<std::int32_t>* macro_segments = nullptr;
  /// The input's /customers/external_id of these rows (on every rank or none); null without.
  const ExternalIds* external_ids = nullptr;
  /// With a pseudonym key, assignments.csv carries pseudonyms instead of the ids (null: ids).
  const PublicationRules* publication = nullptr;
};

/// Writes DIR/assignments.h5 (/assignments/{id, segment, distance, second_segment,
/// second_distance, margin}, macro_segment and external_id when given, and /run attributes)
/// and, `with_csv`, DIR/assignments.csv, atomically; without it an assignments.csv left by an
/// earlier run is removed. Collective over `comm`. Returns the files written, in manifest order.
std::vector<std::string> write_assignment_scores(const std::string& directory, MPI_Comm comm,
                                                 const ScoredBlock& block, const RunAttributes& run,
                                                 bool with_csv);

}  // namespace microseg::io
