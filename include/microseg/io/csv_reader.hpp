#pragma once
/// \file Splitting delimited text (CSV and its relatives) into lines and fields.
///
/// The dialect microseg reads:
/// - one record per line; lines end in LF or CRLF; a UTF-8 byte-order mark before the first line
///   is ignored; blank lines (empty or only spaces and tabs) are skipped;
/// - fields are separated by a comma, a semicolon, a tab, or (whitespace) runs of spaces and tabs;
/// - a field may be quoted with "…" (a doubled "" inside stands for one "), so it may hold the
///   delimiter; a quoted field must close on its own line, since ranks split the file at line
///   breaks without reading what came before;
/// - unquoted fields are trimmed of surrounding spaces and tabs; quoted fields are taken as is.
///
/// Only the standard library is used here, so the fuzz target (tests/fuzz) builds it alone.
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace microseg::io {

enum class CsvDelimiter { comma, semicolon, tab, whitespace };

/// "," or "comma", ";" or "semicolon", "tab" (or a tab character), "whitespace" (or "space").
std::optional<CsvDelimiter> parse_csv_delimiter(std::string_view text);
/// The delimiter's name as the --delimiter option spells it.
std::string csv_delimiter_name(CsvDelimiter delimiter);

/// A byte range [begin, end) of a text.
struct ByteRange {
  std::size_t begin = 0;
  std::size_t end = 0;
  std::size_t size() const { return end - begin; }
};

/// The offset of the first line that starts at or after `offset` (text.size() if none). A line
/// starts at 0 or just after a '\n'.
std::size_t line_start_at_or_after(std::string_view text, std::size_t offset);

/// Part `index` of `parts` of `text`, cut at line starts: every line lies in exactly one part
/// (the one holding its first byte), the parts are contiguous and in order, and each part holds
/// about size/parts bytes.
ByteRange line_aligned_part(std::string_view text, int index, int parts);

/// Iterates over the lines of a byte range whose begin is a line start. Each line comes without
/// its '\n' and without a trailing '\r'.
class CsvLineCursor {
 public:
  CsvLineCursor(std::string_view text, ByteRange range)
      : text_(text), position_(range.begin), end_(range.end) {}
  /// The next line, or nothing at the end of the range.
  std::optional<std::string_view> next();
  /// Offset of the line most recently returned.
  std::size_t line_offset() const { return line_offset_; }
  /// Offset of the next line (the end of the range when done).
  std::size_t position() const { return position_; }

 private:
  std::string_view text_;
  std::size_t position_;
  std::size_t end_;
  std::size_t line_offset_ = 0;
};

/// Counts the lines of a range as CsvLineCursor would return them (a last line without '\n'
/// counts).
std::int64_t count_lines(std::string_view text, ByteRange range);

/// True for a line that is empty or holds only spaces and tabs.
bool is_blank_line(std::string_view line);

/// The byte-order mark's length at the start of `text` (3 for UTF-8's, else 0).
std::size_t byte_order_mark_length(std::string_view text);

/// A problem with the quoting of a line: the 1-based field it was found in, and what it is.
struct CsvSyntaxError {
  int field = 0;
  std::string what;
};

/// Splits lines into fields. It reuses its buffers: a field's text stays valid until the next
/// call to split().
class CsvLineSplitter {
 public:
  explicit CsvLineSplitter(CsvDelimiter delimiter) : delimiter_(delimiter) {}

  /// Splits `line` (without its line break). Returns the quoting problem, if any; the fields are
  /// then those found before it.
  std::optional<CsvSyntaxError> split(std::string_view line);
  const std::vector<std::string_view>& fields() const { return fields_; }

 private:
  // Reads the quoted field opening at line[position]; returns the position after it or nothing.
  std::optional<std::size_t> read_quoted(std::string_view line, std::size_t position,
                                         CsvSyntaxError& error);
  // The two ways a line splits: on runs of blanks (whitespace) or on one separator character.
  std::optional<CsvSyntaxError> split_on_blanks(std::string_view line);
  std::optional<CsvSyntaxError> split_on_separator(std::string_view line, char separator);
  // A character after a quoted field's closing quote, at line[at].
  CsvSyntaxError after_quote_problem(std::string_view line, std::size_t at) const;

  CsvDelimiter delimiter_;
  std::vector<std::string_view> fields_;
  std::string unescaped_;  // quoted fields with "" escapes, unescaped
};

/// The first non-blank line of a file: its header, or its first data row for header-less input.
struct CsvHead {
  bool found = false;  ///< false when the text holds no non-blank line
  std::vector<std::string> fields;
  std::int64_t line = 0;                ///< 1-based line number
  std::size_t end = 0;                  ///< offset of the line after it
  std::optional<CsvSyntaxError> error;  ///< a quoting problem in the line
};

/// Reads the head of `text` (a byte-order mark is skipped).
CsvHead read_csv_head(std::string_view text, CsvDelimiter delimiter);

}  // namespace microseg::io
