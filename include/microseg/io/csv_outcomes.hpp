#pragma once
/// \file Scanning a rank's part of a campaign's outcome table (one row per contacted or control
/// customer: id, group, converted, optionally revenue). Like scan_features, the scan is local and
/// stops at the first malformed row, returning it as a BadRow for the caller to agree on across
/// ranks. Standard library only.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "microseg/io/csv_reader.hpp"
#include "microseg/io/csv_transactions.hpp"

namespace microseg::io {

/// Where the fields of an outcome row are (0-based; revenue −1 when not read).
struct OutcomeColumns {
  int id = -1;
  int group = -1;
  int converted = -1;
  int revenue = -1;
};

struct OutcomeScanSpec {
  CsvDelimiter delimiter = CsvDelimiter::comma;
  std::size_t data_begin = 0;              ///< offset of the first line after the header
  std::size_t field_count = 0;             ///< fields every row must have
  std::vector<std::string> column_labels;  ///< per field, for messages
  OutcomeColumns columns;
  std::string treatment, control;  ///< the group values of the two arms
};

/// The arm of a row: 0 treatment, 1 control, 2 any other group value.
inline constexpr std::int8_t outcome_arm_other = 2;

/// A rank's outcome rows in file order.
struct OutcomeScan {
  std::string id_bytes;  ///< the id fields as written, concatenated
  std::vector<std::size_t> id_offsets{0};
  std::vector<std::int64_t> row_line_index;  ///< per row, 0-based inside the part
  std::vector<std::int8_t> arm;
  std::vector<std::int8_t> converted;  ///< 0 or 1
  std::vector<double> revenue;         ///< empty when not read
  std::int64_t lines = 0;
  std::int64_t rows = 0;
  std::int64_t other_group_rows = 0;
  std::int64_t first_other_group_line_index = -1;  ///< −1: none in this part
  std::string first_other_group_value;
  std::optional<BadRow> bad_row;  ///< the first malformed row; the scan stops there

  std::string_view id(std::size_t row) const {
    return std::string_view(id_bytes).substr(id_offsets[row],
                                             id_offsets[row + 1] - id_offsets[row]);
  }
};

/// Scans the lines of `part` (line-aligned) of `text`. A converted value must be a number equal
/// to 0 or 1; a revenue a finite number; neither may be empty.
OutcomeScan scan_outcomes(std::string_view text, ByteRange part, const OutcomeScanSpec& spec);

}  // namespace microseg::io
