#pragma once
/// \file Writing the customer tables that `microseg ingest` makes from CSV files.
///
/// The layout is the columnar input of `microseg segment` (docs/file-format.md):
/// - /customers/id (int64) and one 1-D dataset per feature (float64 or int64), listed in
///   creation order, so the reader takes the features in the CSV's (or RFM's) column order;
/// - a categorical feature holds codes 0..m−1 and a string attribute `categories` naming the
///   dataset of its m names, /categories/<feature>;
/// - /customers/external_id (strings, one per row) when customer keys were not integers;
/// - /ingest: attributes recording the source and the counts of the run.
/// Only /customers/id and the features live in /customers, because the reader takes every
/// dataset there as a numeric feature.
#include <mpi.h>

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "microseg/core/types.hpp"

namespace microseg::io {

/// One feature column: this rank's block of values.
struct IngestedColumn {
  enum class Type { float64, int64 };
  std::string name;
  Type type = Type::float64;
  std::vector<double> reals;            ///< float64 columns; NaN marks a missing value
  std::vector<std::int64_t> integers;   ///< int64 columns
  std::vector<std::string> categories;  ///< non-empty: values are codes into these names
  std::int64_t missing = 0;             ///< NaN values over all ranks (attribute `missing`)
  std::string description;              ///< attribute `description`
};

/// A whole table as one rank holds it: rows [rows.begin, rows.end) of total_rows.
struct IngestedTable {
  std::int64_t total_rows = 0;
  RowRange rows;
  std::vector<std::int64_t> ids;
  std::vector<IngestedColumn> columns;
  bool has_external_ids = false;          ///< the same on every rank
  std::vector<std::string> external_ids;  ///< per row, the customer key as written
  std::vector<std::pair<std::string, std::string>> text_attributes;    ///< on /ingest
  std::vector<std::pair<std::string, std::int64_t>> count_attributes;  ///< on /ingest
};

/// Why `path` cannot be written as an output file, if so: checked before a long run starts.
std::optional<std::string> ingested_table_output_problem(const std::string& path);

/// Writes the table collectively: every rank passes its block, and the column names, types,
/// categories and attributes identically. The file is written under a temporary name and renamed
/// into place only when complete. Throws InputError (the same on every rank) on failure.
void write_ingested_table(const std::string& path, MPI_Comm comm, const IngestedTable& table);

}  // namespace microseg::io
