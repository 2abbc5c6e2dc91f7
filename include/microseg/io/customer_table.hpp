#pragma once
/// \file Reading and writing customer feature tables (HDF5 group /customers).
///
/// Two layouts are read: a 2-D dataset /customers/features (n × d, float32 or float64, string
/// attribute feature_names) or one 1-D numeric dataset per feature. Reads are collective with
/// MPI-IO: every rank of `comm` must call, including ranks whose row range is empty. Metadata
/// errors are found identically on every rank, so every rank throws the same InputError.
#include <mpi.h>

#include <optional>
#include <string>
#include <vector>

#include "microseg/core/external_ids.hpp"
#include "microseg/core/types.hpp"

namespace microseg::io {

enum class FeatureLayout { matrix, columns };

/// The metadata of a customer table.
struct CustomerTableSchema {
  std::string path;
  std::int64_t rows = 0;
  FeatureLayout layout = FeatureLayout::matrix;
  std::vector<std::string> feature_names;  ///< all numeric features in the file, in file order
  /// Per feature: the names of its codes when the dataset has a `categories` attribute naming a
  /// string dataset (as `microseg ingest features --categorical` writes); empty otherwise.
  std::vector<std::vector<std::string>> categories;
  std::vector<std::string> text_columns;  ///< string datasets of /customers, skipped
};

/// Opens `path` and checks /customers/id and the features: throws InputError naming the file and
/// dataset when the file is missing or unreadable, /customers or /customers/id is absent, a
/// feature dataset is neither numeric nor text (text datasets such as external_id are skipped)
/// or has the wrong shape, a `categories` attribute does not name a string dataset, feature_names
/// has the wrong length, or row counts differ.
CustomerTableSchema inspect_customer_table(const std::string& path, MPI_Comm comm);

/// Column indices of the requested features (all when `requested` is empty). Throws InputError
/// naming an unknown feature and listing those available.
std::vector<int> select_features(const CustomerTableSchema& schema,
                                 const std::vector<std::string>& requested);

/// Reads ids and the selected features (as float32) of `rows`. Collective. Throws InputError
/// naming the dataset if a value does not fit float32.
CustomerBlock read_customer_block(const CustomerTableSchema& schema,
                                  const std::vector<int>& feature_columns, RowRange rows,
                                  MPI_Comm comm);

/// Reads rows `rows` of the 1-D numeric dataset /customers/NAME as float32, in either layout and
/// whether or not it is a feature (the --sample-weight column). Collective. Throws InputError
/// (every rank alike) naming the file and dataset when it is missing, not numeric, not one value
/// per customer, or holds a value outside float32's range.
std::vector<float> read_customer_column(const CustomerTableSchema& schema, const std::string& name,
                                        RowRange rows, MPI_Comm comm);

/// Reads rows `rows` of /customers/external_id (the customers' text keys, as `microseg ingest`
/// writes them) with the dataset's string width; nullopt on every rank when the file has none.
/// Collective. Throws InputError (every rank alike) naming the file and dataset when it is not
/// one fixed-length string per customer or cannot be read.
std::optional<ExternalIds> read_external_ids(const CustomerTableSchema& schema, RowRange rows,
                                             MPI_Comm comm);

/// The rows [rows.begin, rows.end) of a customer table one rank writes (all parallel). Every
/// rank passes the same total_rows and feature_names.
struct CustomerTableBlock {
  RowRange rows;
  std::int64_t total_rows = 0;  ///< the sum of all ranks' blocks
  const std::vector<std::string>* feature_names = nullptr;
  const std::vector<std::int64_t>* ids = nullptr;
  const FeatureMatrix* features = nullptr;  ///< rows × feature_names
  /// /customers/planted_segment when non-empty on some rank (null or empty: none).
  const std::vector<std::int32_t>* planted_segment = nullptr;
  /// /customers/planted_macro_segment of a two-level base, likewise.
  const std::vector<std::int32_t>* planted_macro_segment = nullptr;
};

/// Writes a customer table in the matrix layout (float32 features, chunked), plus
/// /customers/planted_segment when the blocks have planted segments. Collective: each rank
/// writes its block of rows.
void write_customer_table(const std::string& path, MPI_Comm comm, const CustomerTableBlock& block);

/// Reads /centroids (k × d, float or double) from an HDF5 file; every rank reads it. Throws
/// InputError naming the file when it is missing or its shape is not expected_k × expected_d.
CentroidMatrix read_centroids(const std::string& path, int expected_k, int expected_d);

}  // namespace microseg::io
