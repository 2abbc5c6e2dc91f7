#pragma once
// Private to src/io: what the per-customer outputs of `segment`, `promote` and `assign` share:
// DIR/assignments.csv (--assignments-csv), text written by every rank at its byte offset (also
// at_risk.csv), and the customers' external ids as a dataset of /assignments.
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "microseg/core/external_ids.hpp"
#include "microseg/core/publication.hpp"
#include "output_file.hpp"

namespace microseg::io::detail {

/// This rank's rows of the CSV's columns, parallel to `ids`. Null columns are left out; each
/// must be given on every rank or on none.
struct AssignmentColumns {
  const std::vector<std::int64_t>* ids = nullptr;
  const ExternalIds* external_ids = nullptr;
  const std::vector<std::int32_t>* segments = nullptr;
  const std::vector<std::int32_t>* macro_segments = nullptr;
  const std::vector<double>* distances = nullptr;
  const std::vector<double>* margins = nullptr;
  /// With a pseudonym key: the id column becomes `pseudonym` and external ids are left out.
  const PublicationRules* publication = nullptr;
};

/// /GROUP/external_id: fixed-length UTF-8 strings `ids.width` bytes wide (the input's), each
/// rank writing its rows, with a description attribute. Collective.
void write_external_ids(const OutputGroup& group, const RowBlock& rows, const ExternalIds& ids);

/// Collective: id[,external_id] (or pseudonym),segment[,macro_segment],distance[,margin], numbers
/// in the shortest round-trip form, each rank's rows at its byte offset (never gathered). A failure
/// is noted in `error` unless one came first.
void write_assignments_csv(const PendingFile& file, const PendingOutputs& pending,
                           const AssignmentColumns& columns, std::optional<std::string>& error);

}  // namespace microseg::io::detail
