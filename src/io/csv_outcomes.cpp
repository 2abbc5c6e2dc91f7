#include "microseg/io/csv_outcomes.hpp"

#include "microseg/io/csv_values.hpp"

namespace microseg::io {
namespace {

// A malformed row: the 0-based field it names (−1: the row as a whole) and what is wrong.
struct BadCell {
  int field;
  std::string what;
};

// The row's problem, if any; otherwise its converted flag and revenue in `converted`, `revenue`.
std::optional<BadCell> check_row(CsvLineSplitter& splitter, std::string_view line,
                                 const OutcomeScanSpec& spec, std::int8_t& converted,
                                 double& revenue) {
  if (const auto problem = splitter.split(line)) return BadCell{problem->field - 1, problem->what};
  const auto& fields = splitter.fields();
  if (fields.size() != spec.field_count) {
    return BadCell{-1, "expected " + std::to_string(spec.field_count) + " fields, found " +
                           std::to_string(fields.size())};
  }
  const OutcomeColumns& columns = spec.columns;
  if (fields[columns.id].empty()) return BadCell{columns.id, "the customer id is empty"};
  const std::optional<double> flag = parse_finite_number(fields[columns.converted]);
  if (!flag || (*flag != 0 && *flag != 1)) {
    return BadCell{columns.converted,
                   quote_field(fields[columns.converted]) + " is not 0 or 1 (converted or not)"};
  }
  converted = static_cast<std::int8_t>(*flag);
  if (columns.revenue >= 0) {
    const std::optional<double> value = parse_finite_number(fields[columns.revenue]);
    if (!value) {
      return BadCell{columns.revenue,
                     quote_field(fields[columns.revenue]) + " is not a finite number (revenue)"};
    }
    revenue = *value;
  }
  return std::nullopt;
}

}  // namespace

OutcomeScan scan_outcomes(std::string_view text, ByteRange part, const OutcomeScanSpec& spec) {
  OutcomeScan scan;
  scan.lines = count_lines(text, part);
  CsvLineCursor cursor(text, part);
  CsvLineSplitter splitter(spec.delimiter);
  std::int64_t line_index = -1;
  while (auto line = cursor.next()) {
    ++line_index;
    if (cursor.line_offset() < spec.data_begin) continue;  // the header
    if (cursor.line_offset() == 0) line->remove_prefix(byte_order_mark_length(*line));
    if (is_blank_line(*line)) continue;
    std::int8_t converted = 0;
    double revenue = 0;
    if (const auto problem = check_row(splitter, *line, spec, converted, revenue)) {
      std::int64_t count = 0;
      std::vector<BadRow> reported;
      record_bad_row(count, reported, spec.column_labels, line_index, problem->field,
                     problem->what);
      scan.bad_row = reported.front();
      break;
    }
    const auto& fields = splitter.fields();
    const std::string_view group = fields[spec.columns.group];
    std::int8_t arm = outcome_arm_other;
    if (group == spec.treatment) {
      arm = 0;
    } else if (group == spec.control) {
      arm = 1;
    } else if (scan.other_group_rows++ == 0) {
      scan.first_other_group_line_index = line_index;
      scan.first_other_group_value = std::string(group);
    }
    ++scan.rows;
    scan.id_bytes.append(fields[spec.columns.id]);
    scan.id_offsets.push_back(scan.id_bytes.size());
    scan.row_line_index.push_back(line_index);
    scan.arm.push_back(arm);
    scan.converted.push_back(converted);
    if (spec.columns.revenue >= 0) scan.revenue.push_back(revenue);
  }
  return scan;
}

}  // namespace microseg::io
