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

}  // namespace microseg::io
