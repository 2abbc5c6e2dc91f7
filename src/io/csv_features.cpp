#include "microseg/io/csv_features.hpp"

#include <cmath>
#include <optional>

#include "microseg/io/csv_values.hpp"

namespace microseg::io {

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
  const auto bad = [&](int column, const std::string& what) {
    record_bad_row(scan.bad_rows, scan.reported_bad_rows, spec.column_labels, line_index, column,
                   what);
  };
  while (auto line = cursor.next()) {
    ++line_index;
    if (cursor.line_offset() < spec.data_begin) continue;  // the header
    if (cursor.line_offset() == 0) line->remove_prefix(byte_order_mark_length(*line));
    if (is_blank_line(*line)) continue;
    bool well_formed = true;
    if (const auto problem = splitter.split(*line)) {
      bad(problem->field - 1, problem->what);
      well_formed = false;
    } else if (splitter.fields().size() != spec.field_count) {
      bad(-1, "expected " + std::to_string(spec.field_count) + " fields, found " +
                  std::to_string(splitter.fields().size()));
      well_formed = false;
    } else if (splitter.fields()[spec.id_column].empty()) {
      bad(spec.id_column, "the customer id is empty");
      well_formed = false;
    }
    // Numbers are checked before anything is stored, so a bad row leaves no trace.
    const auto& fields = splitter.fields();
    for (std::size_t field = 0, column = 0; well_formed && field < spec.field_count; ++field) {
      if (static_cast<int>(field) == spec.id_column) continue;
      const ScannedColumn& target = scan.columns[column];
      if (!target.categorical && !fields[field].empty()) {
        const std::optional<double> value = parse_finite_number(fields[field]);
        if (!value) {
          bad(static_cast<int>(field),
              quote_field(fields[field]) +
                  " is not a finite number (an empty cell means missing; list columns of "
                  "categories with --categorical)");
          well_formed = false;
        } else {
          row_numbers[column] = *value;
        }
      }
      ++column;
    }
    if (!well_formed) {
      if (!spec.skip_bad_rows) break;
      continue;
    }
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
        target.numbers.push_back(cell.empty() ? std::nan("") : row_numbers[column]);
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
  return scan;
}

}  // namespace microseg::io
