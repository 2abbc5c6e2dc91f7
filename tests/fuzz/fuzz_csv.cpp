// libFuzzer target for the CSV layer (io/csv_*): splitting, line-aligned parts, values and the
// scans. Beyond "no crash, no sanitizer report", it checks what the distributed ingest relies
// on: the parts of a file cover every line once, and scanning the parts separately gives the
// same rows, bad rows and per-customer totals as scanning the whole file.
//
// Input: byte 0 chooses the dialect (delimiter, header, number of parts); the rest is the file.
#include <cstddef>
#include <cstdint>
#include <map>
#include <string>
#include <string_view>

#include "microseg/io/csv_features.hpp"
#include "microseg/io/csv_reader.hpp"
#include "microseg/io/csv_transactions.hpp"
#include "microseg/io/csv_values.hpp"

using namespace microseg;
using namespace microseg::io;

namespace {

void require(bool condition) {
  if (!condition) __builtin_trap();
}

// Totals wrap on overflow (modular sums are still independent of the grouping); signed
// overflow would be undefined behaviour.
__extension__ typedef unsigned __int128 WrappingSum;

struct Totals {
  std::int64_t transactions = 0;
  WrappingSum money = 0;
  std::int32_t first_day = 0, last_day = 0;
  bool operator==(const Totals& other) const {
    return transactions == other.transactions && money == other.money &&
           first_day == other.first_day && last_day == other.last_day;
  }
};

void add(Totals& t, const CustomerActivity& a) {
  t.first_day = t.transactions == 0 ? a.first_day : std::min(t.first_day, a.first_day);
  t.last_day = t.transactions == 0 ? a.last_day : std::max(t.last_day, a.last_day);
  t.transactions += a.transactions;
  t.money += static_cast<WrappingSum>(a.money);
}

void add(std::map<std::string, Totals>& totals, const TransactionScan& scan) {
  scan.customers.for_each_integer_key([&](std::int64_t key, const CustomerActivity& a) {
    require(canonical_integer_key(std::to_string(key)) == key);
    add(totals[std::to_string(key)], a);
  });
  for (std::size_t i = 0; i < scan.customers.text_key_count(); ++i) {
    require(!canonical_integer_key(scan.customers.text_key(i)));
    add(totals[std::string(scan.customers.text_key(i))], scan.customers.text_key_activity(i));
  }
}

void check_values(std::string_view field) {
  if (const auto day = parse_date(field)) {
    require(parse_date(format_date(*day)) == day);
  }
  if (const auto number = parse_finite_number(field)) require(*number == *number);
  (void)parse_int64(field);
  require(mapped_customer_id(field) >= 0);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  const std::uint8_t mode = data[0];
  const auto delimiter = static_cast<CsvDelimiter>(mode & 3);
  const bool has_header = (mode & 4) != 0;
  const int parts = 1 + ((mode >> 3) & 3);
  const std::string_view text(reinterpret_cast<const char*>(data + 1), size - 1);

  // Parts cover the text, in order, each starting at a line start.
  std::size_t expected_begin = 0;
  std::int64_t lines = 0;
  for (int p = 0; p < parts; ++p) {
    const ByteRange part = line_aligned_part(text, p, parts);
    require(part.begin == expected_begin && part.begin <= part.end && part.end <= text.size());
    require(part.begin == 0 || part.begin == text.size() || text[part.begin - 1] == '\n');
    lines += count_lines(text, part);
    expected_begin = part.end;
  }
  require(expected_begin == text.size());
  require(lines == count_lines(text, {0, text.size()}));

  const CsvHead head = read_csv_head(text, delimiter);
  CsvLineSplitter splitter(delimiter);
  CsvLineCursor cursor(text, {0, text.size()});
  while (const auto line = cursor.next()) {
    if (!splitter.split(*line)) {
      for (std::string_view field : splitter.fields()) check_values(field);
    }
  }
  if (!head.found || head.error || head.fields.empty()) return 0;

  const std::size_t field_count = head.fields.size();
  if (field_count >= 3) {
    TransactionScanSpec spec;
    spec.delimiter = delimiter;
    spec.data_begin = has_header ? head.end : 0;
    spec.field_count = field_count;
    spec.column_labels = csv_column_labels(head.fields, field_count, has_header);
    spec.columns = {0, 1, 2, field_count >= 4 ? 3 : -1};
    spec.as_of_day = 20000;
    spec.window_days = (mode & 32) != 0 ? 3650 : 0;
    spec.skip_bad_rows = true;
    const TransactionScan whole = scan_transactions(text, {0, text.size()}, spec);
    std::map<std::string, Totals> whole_totals, part_totals;
    add(whole_totals, whole);
    std::int64_t rows = 0, counted = 0, bad = 0;
    for (int p = 0; p < parts; ++p) {
      const TransactionScan scan = scan_transactions(text, line_aligned_part(text, p, parts), spec);
      rows += scan.rows;
      counted += scan.counted_rows;
      bad += scan.bad_rows;
      add(part_totals, scan);
    }
    require(rows == whole.rows && counted == whole.counted_rows && bad == whole.bad_rows);
    require(part_totals == whole_totals);
  }

  FeatureScanSpec features;
  features.delimiter = delimiter;
  features.data_begin = head.end;
  features.field_count = field_count;
  features.column_labels = csv_column_labels(head.fields, field_count, true);
  features.id_column = static_cast<int>(mode >> 6) % static_cast<int>(field_count);
  features.categorical.assign(field_count, false);
  for (std::size_t i = 0; i < field_count; ++i) features.categorical[i] = (i + mode) % 2 == 0;
  features.skip_bad_rows = true;
  const FeatureScan whole = scan_features(text, {0, text.size()}, features);
  std::int64_t rows = 0;
  for (int p = 0; p < parts; ++p) {
    rows += scan_features(text, line_aligned_part(text, p, parts), features).rows;
  }
  require(rows == whole.rows);
  for (const ScannedColumn& column : whole.columns) {
    const std::size_t values = column.categorical ? column.codes.size() : column.numbers.size();
    require(values == static_cast<std::size_t>(whole.rows));
  }
  return 0;
}
