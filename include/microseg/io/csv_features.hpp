#pragma once
/// \file Scanning a rank's part of a customer table (one row per customer, a header row) into
/// columns. Like scan_transactions, the scan is local and returns malformed rows as BadRow
/// instead of throwing. Standard library only (the fuzz target builds it alone).
#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "microseg/io/csv_reader.hpp"
#include "microseg/io/csv_transactions.hpp"

namespace microseg::io {

/// What a scan needs to know about the table and the options.
struct FeatureScanSpec {
  CsvDelimiter delimiter = CsvDelimiter::comma;
  std::size_t data_begin = 0;              ///< offset of the first line after the header
  std::size_t field_count = 0;             ///< fields every row must have
  std::vector<std::string> column_labels;  ///< per field, for messages
  int id_column = 0;                       ///< 0-based
  std::vector<bool> categorical;           ///< per field
  bool skip_bad_rows = false;
};

/// The values of one non-id column in a rank's rows.
struct ScannedColumn {
  bool categorical = false;
  std::vector<double> numbers;      ///< numeric columns: NaN where the cell is empty
  std::vector<std::int32_t> codes;  ///< categorical columns: into `categories`, −1 if empty
  std::vector<std::string>
      categories;  ///< categorical: the rank's distinct values, first seen first
  std::unordered_map<std::string, std::int32_t> category_codes;
  std::int64_t missing = 0;  ///< empty cells
};

/// The outcome of scanning one part: the rows in file order.
struct FeatureScan {
  std::string id_bytes;  ///< the id fields as written, concatenated
  std::vector<std::size_t> id_offsets{0};
  std::vector<std::int64_t> row_line_index;  ///< per row, 0-based inside the part
  std::vector<ScannedColumn> columns;        ///< one per field except the id, in file order
  std::int64_t lines = 0;
  std::int64_t rows = 0;
  std::int64_t bad_rows = 0;
  std::vector<BadRow> reported_bad_rows;

  std::string_view id(std::size_t row) const {
    return std::string_view(id_bytes).substr(id_offsets[row],
                                             id_offsets[row + 1] - id_offsets[row]);
  }
};

/// Scans the lines of `part` (line-aligned) of `text`.
FeatureScan scan_features(std::string_view text, ByteRange part, const FeatureScanSpec& spec);

}  // namespace microseg::io
