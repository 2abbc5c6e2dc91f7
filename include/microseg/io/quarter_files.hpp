#pragma once
/// \file The files of `microseg generate --quarters Q --output DIR`: DIR/q1.h5 … DIR/qQ.h5, each
/// a customer table (as write_customer_table writes it) plus /customers/moved_down, the planted
/// movement (/planted) and root attributes (docs/file-format.md).
#include <mpi.h>

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "microseg/core/result.hpp"
#include "microseg/core/types.hpp"

namespace microseg::io {

/// A rank's rows of one quarter's table.
struct QuarterTable {
  RowRange rows;
  std::int64_t total_rows = 0;
  std::vector<std::int64_t> ids;
  FeatureMatrix features;  ///< rows × feature names
  std::vector<std::int32_t> planted_segment;
  std::vector<std::int8_t> moved_down;
};

/// What every quarter file holds alike: the planted movement and the root attributes (each file
/// adds `quarter` first).
struct PlantedQuarters {
  int quarters = 0;
  int segments = 0;
  std::vector<std::string> feature_names;
  std::vector<double> transition;  ///< segments × (segments + 1), row-major
  std::vector<double> new_customer_share;
  std::vector<double> segment_value;
  RunAttributes attributes;
};

/// Collective. Writes DIR/q1.h5 … DIR/qQ.h5 under temporary names, calling `table_of(T)` for
/// quarter T = 1 … Q in turn (every rank alike: it may run collectives), and renames them into
/// place (mode 0640) only when every rank has written every file; a failure leaves no file
/// behind. DIR must exist. Returns the paths written. Throws AgreedError naming the file.
std::vector<std::string> write_quarter_files(const std::string& directory, MPI_Comm comm,
                                             const PlantedQuarters& planted,
                                             const std::function<QuarterTable(int)>& table_of);

}  // namespace microseg::io
