#pragma once
/// \file Reading the runs of a `microseg forecast` chain: each run's link to its previous run,
/// its migration counts, its segment sizes and values (small, read by every rank), and the
/// customer lists the forecast spreads over the ranks (/assignments, /migration/at_risk).
#include <mpi.h>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "microseg/core/markov_chain.hpp"
#include "microseg/core/types.hpp"

namespace microseg::io {

/// What the forecast needs of one run's segments.h5.
struct ChainRun {
  std::string directory;
  std::string file;                       ///< directory/segments.h5
  std::string previous_run;               ///< /run attribute previous_run ("" for a first run)
  std::optional<MigrationLink> link;      ///< /migration/counts, when the run has /migration
  std::vector<std::int64_t> segment_ids;  ///< /profiles/segment_id
  std::vector<std::int64_t> sizes;        ///< /profiles/size
  std::vector<double> value_mean;         ///< /profiles/value_mean; NaN without a value feature
  std::int64_t customers = 0;             ///< rows of /assignments
  std::int64_t at_risk_customers = 0;     ///< rows of /migration/at_risk (0 without)
};

/// Reads a run on the calling rank (plain HDF5 with shared locks). Throws InputError naming the
/// run directory, the file and the dataset when one is missing or malformed.
ChainRun read_chain_run(const std::string& directory);

/// The customer lists of a run: its assignments (id, segment) or the moves it flagged at risk
/// (id, new_segment).
enum class CustomerList { assignments, at_risk };

struct IdSegmentRows {
  std::vector<std::int64_t> ids;
  std::vector<std::int32_t> segments;
};

/// Collective: rows [rows.begin, rows.end) of the list. Throws InputError (every rank alike).
IdSegmentRows read_id_segment_rows(const ChainRun& run, CustomerList list, RowRange rows,
                                   MPI_Comm comm);

}  // namespace microseg::io
