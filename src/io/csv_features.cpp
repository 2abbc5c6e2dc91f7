#include "microseg/io/csv_features.hpp"

#include <cmath>
#include <optional>

#include "microseg/io/csv_values.hpp"

namespace microseg::io {

namespace {

// A bad row: the 0-based field it names (-1: the row as a whole) and what is wrong.
struct BadCell {
  int field;
  std::string what;
};

// Splits `line`; the problem when it does not hold the spec's fields and a customer id.
std::optional<BadCell> split_problem(CsvLineSplitter& splitter, std::string_view line,
                                     const FeatureScanSpec& spec) {
  if (const auto problem = splitter.split(line)) return BadCell{problem->field - 1, problem->what};
  if (splitter.fields().size() != spec.field_count) {
    return BadCell{-1, "expected " + std::to_string(spec.field_count) + " fields, found " +
                           std::to_string(splitter.fields().size())};
  }
  if (splitter.fields()[spec.id_column].empty()) {
    return BadCell{spec.id_column, "the customer id is empty"};
  }
  return std::nullopt;
}

// Parses the row's numeric cells into `numbers` (one per scanned column); the first that is not
// a finite number is the problem. Numbers are checked before anything is stored, so a bad row
// leaves no trace.
std::optional<BadCell> parse_numbers(const std::vector<std::string_view>& fields,
                                     const FeatureScanSpec& spec,
                                     const std::vector<ScannedColumn>& columns,
                                     std::vector<double>& numbers) {
  for (std::size_t field = 0, column = 0; field < spec.field_count; ++field) {
    if (static_cast<int>(field) == spec.id_column) continue;
    if (!columns[column].categorical && !fields[field].empty()) {
      const std::optional<double> value = parse_finite_number(fields[field]);
      if (!value) {
        return BadCell{static_cast<int>(field),
                       quote_field(fields[field]) +
                           " is not a finite number (an empty cell means missing; list columns "
                           "of categories with --categorical)"};
      }
      numbers[column] = *value;
    }
    ++column;
  }
  return std::nullopt;
}

// Appends a checked row: its id, its line and each column's number or category code.
void store_row(FeatureScan& scan, const std::vector<std::string_view>& fields,
               const FeatureScanSpec& spec, const std::vector<double>& numbers,
               std::int64_t line_index) {
  ++scan.rows;
  scan.id_bytes.append(fields[spec.id_column]);
  scan.id_offsets.push_back(scan.id_bytes.size());
  scan.row_line_index.push_back(line_index);
  for (std::size_t field = 0, column = 0; field < spec.field_count; ++field) {
    if (static_cast<int>(field) == spec.id_column) continue;
    ScannedColumn& target = scan.columns[column];
    const std::string_view cell = fields[field];
    if (cell.empty()) ++target.missing;
    if (!target.categorical) {
      target.numbers.push_back(cell.empty() ? std::nan("") : numbers[column]);
    } else if (cell.empty()) {
      target.codes.push_back(-1);
    } else {
      const auto [found, inserted] = target.category_codes.try_emplace(
          std::string(cell), static_cast<std::int32_t>(target.categories.size()));
      if (inserted) target.categories.emplace_back(cell);
      target.codes.push_back(found->second);
    }
    ++column;
  }
}

}  // namespace

FeatureScan scan_features(std::string_view text, ByteRange part, const FeatureScanSpec& spec) {
  FeatureScan scan;
  scan.lines = count_lines(text, part);
  for (std::size_t field = 0; field < spec.field_count; ++field) {
    if (static_cast<int>(field) == spec.id_column) continue;
    scan.columns.emplace_back();
    scan.columns.back().categorical = field < spec.categorical.size() && spec.categorical[field];
  }

  CsvLineCursor cursor(text, part);
  CsvLineSplitter splitter(spec.delimiter);
  std::vector<double> row_numbers(scan.columns.size());
  std::int64_t line_index = -1;
  while (auto line = cursor.next()) {
    ++line_index;
    if (cursor.line_offset() < spec.data_begin) continue;  // the header
    if (cursor.line_offset() == 0) line->remove_prefix(byte_order_mark_length(*line));
    if (is_blank_line(*line)) continue;
    std::optional<BadCell> problem = split_problem(splitter, *line, spec);
    if (!problem) problem = parse_numbers(splitter.fields(), spec, scan.columns, row_numbers);
    if (problem) {
      record_bad_row(scan.bad_rows, scan.reported_bad_rows, spec.column_labels, line_index,
                     problem->field, problem->what);
      if (!spec.skip_bad_rows) break;
      continue;
    }
    store_row(scan, splitter.fields(), spec, row_numbers, line_index);
  }
  return scan;
}

}  // namespace microseg::io
