#pragma once
/// \file What `microseg generate campaign` reads and writes: the planted segment of a block of
/// a generated customer table, and the synthetic campaign as an outcome CSV (customer_id, group,
/// converted, revenue), written by every rank in rank order.
#include <mpi.h>

#include <cstdint>
#include <string>
#include <vector>

#include "microseg/core/types.hpp"

namespace microseg::io {

/// A block of a generated customer table: /customers/id and /customers/planted_segment.
struct PlantedBlock {
  std::vector<std::int64_t> ids;
  std::vector<std::int32_t> planted;
};

/// Collective: rows `rows` of the table at `path`, which must hold `total_rows` rows. Throws
/// InputError (every rank alike) naming the file when it or /customers/planted_segment is
/// missing or of another length.
PlantedBlock read_planted_block(const std::string& path, RowRange rows, std::int64_t total_rows,
                                MPI_Comm comm);

/// This rank's rows of a synthetic campaign, in the run's row order (parallel vectors).
struct CampaignRows {
  std::vector<std::int64_t> ids;
  std::vector<std::int8_t> treated;
  std::vector<std::int8_t> converted;
  std::vector<double> revenue;
};

/// Collective: writes `path` atomically (temporary name, mode 0640): a header, then every rank's
/// rows in rank order.
void write_campaign_csv(const std::string& path, MPI_Comm comm, const CampaignRows& rows);

/// A rank's block of an outcome table in HDF5, as `ingest features --categorical GROUP` writes
/// a CSV outcome table: /customers/id, /customers/GROUP (category codes, names in
/// /categories/GROUP, NaN for an empty cell), /customers/CONVERTED and optionally
/// /customers/REVENUE (any numeric type, read as float64).
struct OutcomeBlock {
  std::int64_t total_rows = 0;
  RowRange rows;
  std::vector<std::int64_t> ids;
  std::vector<double> group_codes;
  std::vector<std::string> group_names;  ///< /categories/GROUP
  std::vector<double> converted;
  std::vector<double> revenue;  ///< empty without a revenue column
};

/// The datasets of /customers an OutcomeBlock is read from.
struct OutcomeDatasets {
  std::string group, converted, revenue;  ///< revenue "" for none
};

/// Collective: this rank's block of rows (distributed::block_of_rows) of the table at `path`.
/// Throws InputError (every rank alike) naming the file and dataset when one is missing, of
/// another length than /customers/id, or the group column has no /categories.
OutcomeBlock read_outcome_block(const std::string& path, const OutcomeDatasets& names,
                                MPI_Comm comm);

}  // namespace microseg::io
