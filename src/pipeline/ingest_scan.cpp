#include "ingest_scan.hpp"

#include <sstream>

namespace microseg::pipeline {

bool is_csv_delimiter(std::string_view name) {
  return io::parse_csv_delimiter(name).has_value();
}

std::optional<std::int32_t> day_of_date(std::string_view text) {
  return io::parse_date(text);
}

namespace detail {
namespace {

// "'file' line N, column …" or "'file' line N: …" from a BadRow found on this rank.
std::string describe_bad_row(const std::string& path, const io::BadRow& row,
                             std::int64_t first_line) {
  const bool names_column = row.what.rfind("column ", 0) == 0;
  return in_file(path) + " line " + std::to_string(first_line + row.line_index) +
         (names_column ? ", " : ": ") + row.what;
}

}  // namespace

std::string in_file(const std::string& path) {
  return "'" + path + "'";
}

CsvInput open_csv(const std::string& path, const std::string& delimiter_name, bool has_header) {
  CsvInput input;
  input.delimiter = *io::parse_csv_delimiter(delimiter_name);
  input.file = std::make_unique<io::MappedCsvFile>(path);
  input.head = io::read_csv_head(input.file->text(), input.delimiter);
  if (!input.head.found) {
    throw InputError("input file " + in_file(path) + " is empty" +
                     (input.file->text().empty() ? "" : " (it holds only blank lines)"));
  }
  if (input.head.error) {
    throw InputError(in_file(path) + " line " + std::to_string(input.head.line) + ", " +
                     (has_header ? "the header" : "the first row") + ": field " +
                     std::to_string(input.head.error->field) + ": " + input.head.error->what);
  }
  return input;
}

BadRowReport agree_on_bad_rows(const distributed::Communicator& comm, const ScanSettings& settings,
                               const std::vector<io::BadRow>& reported, std::int64_t local_count,
                               std::int64_t first_line) {
  if (!settings.skip_bad_rows) {
    std::optional<std::string> error;
    if (!reported.empty()) {
      error = describe_bad_row(settings.path, reported.front(), first_line) +
              "; pass --skip-bad-rows to skip and count malformed rows";
    }
    comm.agree(error);
    return {};
  }
  BadRowReport report;
  report.count = comm.sum(local_count);
  std::string text;
  for (const auto& row : reported) text += describe_bad_row(settings.path, row, first_line) + "\n";
  // Ranks hold consecutive parts, so rank order is file order.
  const std::vector<char> all = comm.all_gather(std::vector<char>(text.begin(), text.end()));
  std::istringstream lines(std::string(all.begin(), all.end()));
  std::string line;
  while (report.first.size() < io::max_reported_bad_rows && std::getline(lines, line)) {
    report.first.push_back(line);
  }
  return report;
}

io::IngestedColumn real_column(const std::string& name, const std::string& description) {
  io::IngestedColumn column;
  column.name = name;
  column.type = io::IngestedColumn::Type::float64;
  column.description = description;
  return column;
}

io::IngestedColumn integer_column(const std::string& name, const std::string& description) {
  io::IngestedColumn column = real_column(name, description);
  column.type = io::IngestedColumn::Type::int64;
  return column;
}

}  // namespace detail
}  // namespace microseg::pipeline
