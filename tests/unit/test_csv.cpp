#include <catch2/catch.hpp>
#include <cmath>
#include <cstdlib>
#include <random>
#include <string>
#include <vector>

#include "microseg/io/csv_features.hpp"
#include "microseg/io/csv_reader.hpp"
#include "microseg/io/csv_transactions.hpp"
#include "microseg/io/csv_values.hpp"

using namespace microseg;
using namespace microseg::io;

namespace {

std::vector<std::string> split(const std::string& line, CsvDelimiter delimiter) {
  CsvLineSplitter splitter(delimiter);
  const auto error = splitter.split(line);
  REQUIRE_FALSE(error);
  return {splitter.fields().begin(), splitter.fields().end()};
}

using Fields = std::vector<std::string>;

TransactionScanSpec transaction_spec(std::size_t data_begin) {
  TransactionScanSpec spec;
  spec.data_begin = data_begin;
  spec.field_count = 3;
  spec.column_labels = csv_column_labels({"customer", "date", "amount"}, 3, true);
  spec.columns = {0, 1, 2, -1};
  spec.as_of_day = *parse_date("2024-12-31");
  return spec;
}

}  // namespace

TEST_CASE("the splitter reads each delimiter, trims unquoted fields and keeps empty ones",
          "[csv]") {
  CHECK(split("a,b,c", CsvDelimiter::comma) == Fields{"a", "b", "c"});
  CHECK(split(" a , b ,c ", CsvDelimiter::comma) == Fields{"a", "b", "c"});
  CHECK(split("a,,c,", CsvDelimiter::comma) == Fields{"a", "", "c", ""});
  CHECK(split("", CsvDelimiter::comma) == Fields{""});
  CHECK(split("1;2,5;x", CsvDelimiter::semicolon) == Fields{"1", "2,5", "x"});
  CHECK(split("a\t b\t\tc", CsvDelimiter::tab) == Fields{"a", "b", "", "c"});
  CHECK(split("  a   b\t c  ", CsvDelimiter::whitespace) == Fields{"a", "b", "c"});
  CHECK(split("   ", CsvDelimiter::whitespace) == Fields{});
}

TEST_CASE("the splitter unquotes fields, with doubled quotes and delimiters inside", "[csv]") {
  CHECK(split(R"("a,b",c)", CsvDelimiter::comma) == Fields{"a,b", "c"});
  CHECK(split(R"("say ""hi""", "")", CsvDelimiter::comma) == Fields{"say \"hi\"", ""});
  CHECK(split(R"(" padded " , x)", CsvDelimiter::comma) == Fields{" padded ", "x"});
  CHECK(split(R"(x,"")", CsvDelimiter::comma) == Fields{"x", ""});
  CHECK(split(R"("New York" 12)", CsvDelimiter::whitespace) == Fields{"New York", "12"});
  CHECK(split(R"(ab"c,d)", CsvDelimiter::comma) == Fields{"ab\"c", "d"});  // quote mid-field
}

TEST_CASE("the splitter reports unclosed quotes and text after a closing quote", "[csv]") {
  CsvLineSplitter splitter(CsvDelimiter::comma);
  auto error = splitter.split(R"(a,"open)");
  REQUIRE(error);
  CHECK(error->field == 2);
  CHECK_THAT(error->what, Catch::Contains("not closed"));
  error = splitter.split(R"("a"b,c)");
  REQUIRE(error);
  CHECK(error->field == 1);
  CHECK_THAT(error->what, Catch::Contains("after the closing quote"));
}

TEST_CASE("line-aligned parts cover every line exactly once for any part count", "[csv]") {
  std::mt19937_64 engine(11);
  std::uniform_int_distribution<int> length(0, 12), pick(0, 9);
  for (int trial = 0; trial < 200; ++trial) {
    std::string text;
    const int lines = trial % 17;
    for (int i = 0; i < lines; ++i) {
      text += std::string(static_cast<std::size_t>(length(engine)), 'x');
      if (i + 1 < lines || pick(engine) < 5) text += pick(engine) < 2 ? "\r\n" : "\n";
    }
    for (int parts = 1; parts <= 6; ++parts) {
      std::size_t expected_begin = 0;
      std::int64_t counted = 0;
      for (int p = 0; p < parts; ++p) {
        const ByteRange range = line_aligned_part(text, p, parts);
        CHECK(range.begin == expected_begin);
        CHECK(range.end >= range.begin);
        CHECK((range.begin == 0 || range.begin == text.size() || text[range.begin - 1] == '\n'));
        counted += count_lines(text, range);
        expected_begin = range.end;
      }
      CHECK(expected_begin == text.size());
      CHECK(counted == count_lines(text, {0, text.size()}));
    }
  }
}

TEST_CASE("the line cursor drops CR before LF and returns a last line without LF", "[csv]") {
  const std::string text = "a,b\r\n\nlast";
  CsvLineCursor cursor(text, {0, text.size()});
  CHECK(*cursor.next() == "a,b");
  CHECK(*cursor.next() == "");
  CHECK(*cursor.next() == "last");
  CHECK_FALSE(cursor.next());
  CHECK(count_lines(text, {0, text.size()}) == 3);
}

TEST_CASE("the head is the first non-blank line, after a byte-order mark", "[csv]") {
  const std::string text = "\xEF\xBB\xBF\n  \ncustomer,date\n1,2\n";
  const CsvHead head = read_csv_head(text, CsvDelimiter::comma);
  REQUIRE(head.found);
  CHECK(head.fields == Fields{"customer", "date"});
  CHECK(head.line == 3);
  CHECK(text.substr(head.end) == "1,2\n");
  CHECK_FALSE(read_csv_head("\n \t\n", CsvDelimiter::comma).found);
  CHECK_FALSE(read_csv_head("", CsvDelimiter::comma).found);
}

TEST_CASE("numbers parse only when the whole field is one finite number", "[csv]") {
  CHECK(parse_finite_number("12") == 12.0);
  CHECK(parse_finite_number("-0.5") == -0.5);
  CHECK(parse_finite_number("+3.25") == 3.25);
  CHECK(parse_finite_number(".5") == 0.5);
  CHECK(parse_finite_number("1e3") == 1000.0);
  for (const char* bad :
       {"", "abc", "1,5", "12x", "nan", "inf", "-inf", "+-1", "-", "1e400", "0x10", " 1"}) {
    INFO(bad);
    CHECK_FALSE(parse_finite_number(bad));
  }
  CHECK(parse_int64("-42") == -42);
  CHECK(parse_int64("+7") == 7);
  CHECK(parse_int64("007") == 7);
  CHECK_FALSE(parse_int64("7.0"));
  CHECK_FALSE(parse_int64("99999999999999999999"));
  CHECK_FALSE(parse_int64("C001"));
}

TEST_CASE("plain decimals parse to the correctly rounded double, as strtod does", "[csv]") {
  std::mt19937_64 engine(19);
  std::uniform_int_distribution<long long> digits(0, 999999999999999LL);
  std::uniform_int_distribution<int> point(0, 15);
  for (int i = 0; i < 20000; ++i) {
    std::string text = std::to_string(digits(engine));
    const auto at = static_cast<std::size_t>(point(engine)) % (text.size() + 1);
    text.insert(at, ".");
    if (i % 3 == 0) text = "-" + text;
    if (text == "." || text == "-.") continue;
    INFO(text);
    const auto parsed = parse_finite_number(text);
    REQUIRE(parsed);
    CHECK(*parsed == std::strtod(text.c_str(), nullptr));
  }
}

TEST_CASE("dates parse as ISO 8601 or YYYYMMDD and are checked against the calendar", "[csv]") {
  CHECK(parse_date("1970-01-01") == 0);
  CHECK(parse_date("19700102") == 1);
  CHECK(parse_date("2024-02-29") == parse_date("20240229"));
  CHECK(*parse_date("2024-03-01") - *parse_date("2024-02-28") == 2);
  CHECK(*parse_date("2023-03-01") - *parse_date("2023-02-28") == 1);
  CHECK(parse_date("2024-12-31T23:59:59Z") == parse_date("2024-12-31"));
  CHECK(parse_date("2024-12-31 08:15") == parse_date("2024-12-31"));
  CHECK(parse_date("2024-12-31T08:15:00.123+01:00") == parse_date("2024-12-31"));
  CHECK(parse_date("2024-12-31T08:15:00-0500") == parse_date("2024-12-31"));
  for (const char* bad : {"", "2024-02-30", "2023-02-29", "2024-13-01", "2024-1-5", "20241301",
                          "2024/01/05", "05.01.2024", "2024-12-31T25:00", "2024-12-31Tx",
                          "2024-12-31 ", "0999-01-01", "2024-12-31T10:00+1"}) {
    INFO(bad);
    CHECK_FALSE(parse_date(bad));
  }
  CHECK(format_date(*parse_date("2024-02-29")) == "2024-02-29");
  CHECK(format_date(0) == "1970-01-01");
  CHECK(format_date(-1) == "1969-12-31");
}

TEST_CASE("mapped customer ids are the documented FNV-1a hash with the top bit cleared", "[csv]") {
  // FNV-1a 64 of "a" is 0xaf63dc4c8601ec8c.
  CHECK(mapped_customer_id("a") ==
        static_cast<std::int64_t>(0xaf63dc4c8601ec8cull & ~(1ull << 63)));
  CHECK(mapped_customer_id("C001") != mapped_customer_id("C002"));
  CHECK(mapped_customer_id("C001") >= 0);
}

TEST_CASE("scan_transactions aggregates a hand-checked log and filters by the as-of date",
          "[csv]") {
  const std::string text =
      "customer,date,amount\n"
      "A,2024-12-01,10\n"
      "\n"
      "B,20241230,2.5\n"
      "A,2024-12-31,5\n"
      "A,2025-01-02,100\n";  // after the as-of date
  const TransactionScanSpec spec = transaction_spec(text.find('\n') + 1);
  const TransactionScan scan = scan_transactions(text, {0, text.size()}, spec);
  CHECK(scan.lines == 6);
  CHECK(scan.rows == 4);
  CHECK(scan.counted_rows == 3);
  CHECK(scan.rows_after_as_of == 1);
  CHECK(scan.bad_rows == 0);
  REQUIRE(scan.customers.size() == 2);
  REQUIRE(scan.customers.text_key_count() == 2);
  CHECK(scan.customers.text_key(0) == "A");
  CHECK(scan.customers.text_key_activity(0).transactions == 2);
  CHECK(scan.customers.text_key_activity(0).money_total() == 15.0);
  CHECK(scan.customers.text_key_activity(1).money_total() == 2.5);
}

TEST_CASE("scan_transactions applies the window of days ending on the as-of date", "[csv]") {
  const std::string text = "A,2024-12-31,1\nA,2024-12-02,2\nA,2024-12-01,4\n";
  TransactionScanSpec spec = transaction_spec(0);
  spec.window_days = 30;  // 2024-12-02 .. 2024-12-31
  const TransactionScan scan = scan_transactions(text, {0, text.size()}, spec);
  CHECK(scan.counted_rows == 2);
  CHECK(scan.rows_before_window == 1);
  CHECK(scan.customers.text_key_activity(0).money_total() == 3.0);
}

TEST_CASE("scan_transactions stops at the first malformed row, naming line and column", "[csv]") {
  const std::string text = "A,2024-12-01,10\nB,2024-12-01,ten\nC,2024-13-01,1\nD,1\n";
  TransactionScanSpec spec = transaction_spec(0);
  TransactionScan scan = scan_transactions(text, {0, text.size()}, spec);
  REQUIRE(scan.reported_bad_rows.size() == 1);
  CHECK(scan.reported_bad_rows[0].line_index == 1);
  CHECK(scan.reported_bad_rows[0].what == "column 3 ('amount'): 'ten' is not a finite number");
  CHECK(scan.rows == 1);
  CHECK(scan.lines == 4);

  spec.skip_bad_rows = true;
  scan = scan_transactions(text, {0, text.size()}, spec);
  CHECK(scan.bad_rows == 3);
  CHECK(scan.rows == 1);
  REQUIRE(scan.reported_bad_rows.size() == 3);
  CHECK_THAT(scan.reported_bad_rows[1].what, Catch::StartsWith("column 2 ('date'): '2024-13-01'"));
  CHECK(scan.reported_bad_rows[2].what == "expected 3 fields, found 2");
}

TEST_CASE("canonical integer keys go to the integer table, every other key by its text", "[csv]") {
  CHECK(canonical_integer_key("42") == 42);
  CHECK(canonical_integer_key("-7") == -7);
  CHECK(canonical_integer_key("0") == 0);
  for (const char* text : {"007", "+7", "-0", "-", "", "7.0", "x7", "99999999999999999999"}) {
    INFO(text);
    CHECK_FALSE(canonical_integer_key(text));
  }
  CustomerActivityTable table;
  for (int round = 0; round < 3; ++round) {
    for (int i = 0; i < 5000; ++i) table.find_or_insert(std::to_string(i * 7919)).add(round, 1.0);
    table.find_or_insert("007").add(round, 2.0);
    table.find_or_insert("7").add(round, 4.0);
  }
  CHECK(table.size() == 5002);
  REQUIRE(table.text_key_count() == 1);
  CHECK(table.text_key(0) == "007");
  CHECK(table.text_key_activity(0).money_total() == 6.0);
  std::int64_t integers = 0;
  table.for_each_integer_key([&](std::int64_t key, const CustomerActivity& activity) {
    ++integers;
    CHECK(activity.transactions == 3);
    if (key == 7) CHECK(activity.money_total() == 12.0);
  });
  CHECK(integers == 5001);
}

TEST_CASE("scan_features stores numbers, NaN for empty cells and first-seen category codes",
          "[csv]") {
  const std::string text = "id,age,region\nx1,30,north\nx2,,south\nx3,41,\nx4,50,north\n";
  FeatureScanSpec spec;
  spec.data_begin = text.find('\n') + 1;
  spec.field_count = 3;
  spec.column_labels = csv_column_labels({"id", "age", "region"}, 3, true);
  spec.id_column = 0;
  spec.categorical = {false, false, true};
  const FeatureScan scan = scan_features(text, {0, text.size()}, spec);
  REQUIRE(scan.rows == 4);
  CHECK(scan.id(1) == "x2");
  CHECK(scan.row_line_index == std::vector<std::int64_t>{1, 2, 3, 4});
  REQUIRE(scan.columns.size() == 2);
  CHECK(scan.columns[0].numbers[0] == 30.0);
  CHECK(std::isnan(scan.columns[0].numbers[1]));
  CHECK(scan.columns[0].missing == 1);
  CHECK(scan.columns[1].categories == Fields{"north", "south"});
  CHECK(scan.columns[1].codes == std::vector<std::int32_t>{0, 1, -1, 0});
  CHECK(scan.columns[1].missing == 1);
}

TEST_CASE("scan_features leaves no trace of a skipped row", "[csv]") {
  const std::string text = "id,v,c\n1,2,a\n2,bad,zzz\n3,4,b\n";
  FeatureScanSpec spec;
  spec.data_begin = text.find('\n') + 1;
  spec.field_count = 3;
  spec.column_labels = csv_column_labels({"id", "v", "c"}, 3, true);
  spec.categorical = {false, false, true};
  spec.skip_bad_rows = true;
  const FeatureScan scan = scan_features(text, {0, text.size()}, spec);
  CHECK(scan.rows == 2);
  CHECK(scan.bad_rows == 1);
  CHECK(scan.columns[1].categories == Fields{"a", "b"});
  REQUIRE(scan.reported_bad_rows.size() == 1);
  CHECK_THAT(scan.reported_bad_rows[0].what, Catch::StartsWith("column 2 ('v'): 'bad'"));
}
