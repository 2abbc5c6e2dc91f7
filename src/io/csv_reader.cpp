#include "microseg/io/csv_reader.hpp"

#include <cstring>

namespace microseg::io {
namespace {

char separator_of(CsvDelimiter delimiter) {
  switch (delimiter) {
    case CsvDelimiter::comma:
      return ',';
    case CsvDelimiter::semicolon:
      return ';';
    case CsvDelimiter::tab:
      return '\t';
    case CsvDelimiter::whitespace:
      break;
  }
  return ' ';
}

bool is_blank(char c) {
  return c == ' ' || c == '\t';
}

// The nominal start of part `index` of `parts` over `size` bytes, without overflowing size·index.
std::size_t nominal_offset(std::size_t size, int index, int parts) {
  const auto p = static_cast<std::size_t>(parts);
  const auto i = static_cast<std::size_t>(index);
  return size / p * i + size % p * i / p;
}

}  // namespace

std::optional<CsvDelimiter> parse_csv_delimiter(std::string_view text) {
  if (text == "," || text == "comma") return CsvDelimiter::comma;
  if (text == ";" || text == "semicolon") return CsvDelimiter::semicolon;
  if (text == "tab" || text == "\t" || text == "\\t") return CsvDelimiter::tab;
  if (text == "whitespace" || text == "space") return CsvDelimiter::whitespace;
  return std::nullopt;
}

std::string csv_delimiter_name(CsvDelimiter delimiter) {
  switch (delimiter) {
    case CsvDelimiter::comma:
      return ",";
    case CsvDelimiter::semicolon:
      return ";";
    case CsvDelimiter::tab:
      return "tab";
    case CsvDelimiter::whitespace:
      break;
  }
  return "whitespace";
}

std::size_t line_start_at_or_after(std::string_view text, std::size_t offset) {
  if (offset == 0) return 0;
  if (offset >= text.size()) return text.size();
  if (text[offset - 1] == '\n') return offset;
  const void* newline = std::memchr(text.data() + offset, '\n', text.size() - offset);
  return newline == nullptr
             ? text.size()
             : static_cast<std::size_t>(static_cast<const char*>(newline) - text.data()) + 1;
}

ByteRange line_aligned_part(std::string_view text, int index, int parts) {
  ByteRange range;
  range.begin = line_start_at_or_after(text, nominal_offset(text.size(), index, parts));
  range.end = line_start_at_or_after(text, nominal_offset(text.size(), index + 1, parts));
  return range;
}

std::optional<std::string_view> CsvLineCursor::next() {
  if (position_ >= end_) return std::nullopt;
  line_offset_ = position_;
  const char* start = text_.data() + position_;
  const void* newline = std::memchr(start, '\n', end_ - position_);
  const std::size_t line_end =
      newline == nullptr
          ? end_
          : static_cast<std::size_t>(static_cast<const char*>(newline) - text_.data());
  position_ = newline == nullptr ? end_ : line_end + 1;
  std::string_view line(start, line_end - line_offset_);
  if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
  return line;
}

std::int64_t count_lines(std::string_view text, ByteRange range) {
  std::int64_t lines = 0;
  const char* position = text.data() + range.begin;
  const char* end = text.data() + range.end;
  while (position < end) {
    const void* newline = std::memchr(position, '\n', static_cast<std::size_t>(end - position));
    ++lines;
    if (newline == nullptr) break;
    position = static_cast<const char*>(newline) + 1;
  }
  return lines;
}

bool is_blank_line(std::string_view line) {
  for (char c : line) {
    if (!is_blank(c)) return false;
  }
  return true;
}

std::size_t byte_order_mark_length(std::string_view text) {
  return text.substr(0, 3) == "\xEF\xBB\xBF" ? 3 : 0;
}

std::optional<std::size_t> CsvLineSplitter::read_quoted(std::string_view line, std::size_t position,
                                                        CsvSyntaxError& error) {
  const std::size_t n = line.size();
  std::size_t chunk = ++position;  // after the opening quote
  const std::size_t unescaped_start = unescaped_.size();
  bool escaped = false;
  while (true) {
    const void* found =
        position < n ? std::memchr(line.data() + position, '"', n - position) : nullptr;
    if (found == nullptr) {
      error.what = "a quoted field is not closed on its line (quoted fields cannot span lines)";
      return std::nullopt;
    }
    const auto quote = static_cast<std::size_t>(static_cast<const char*>(found) - line.data());
    if (quote + 1 < n && line[quote + 1] == '"') {  // "" stands for one quote
      escaped = true;
      unescaped_.append(line.substr(chunk, quote + 1 - chunk));
      position = chunk = quote + 2;
      continue;
    }
    if (escaped) {
      unescaped_.append(line.substr(chunk, quote - chunk));
      fields_.push_back(std::string_view(unescaped_).substr(unescaped_start));
    } else {
      fields_.push_back(line.substr(chunk, quote - chunk));
    }
    return quote + 1;
  }
}

std::optional<CsvSyntaxError> CsvLineSplitter::split(std::string_view line) {
  fields_.clear();
  unescaped_.clear();
  // Unescaped text is never longer than the line, so views into the buffer stay valid.
  unescaped_.reserve(line.size());
  return delimiter_ == CsvDelimiter::whitespace
             ? split_on_blanks(line)
             : split_on_separator(line, separator_of(delimiter_));
}

CsvSyntaxError CsvLineSplitter::after_quote_problem(std::string_view line, std::size_t at) const {
  CsvSyntaxError error;
  error.field = static_cast<int>(fields_.size());
  error.what = std::string("unexpected character '") + line[at] +
               "' after the closing quote of a quoted field";
  return error;
}

std::optional<CsvSyntaxError> CsvLineSplitter::split_on_blanks(std::string_view line) {
  const std::size_t n = line.size();
  std::size_t position = 0;
  CsvSyntaxError error;
  while (true) {
    while (position < n && is_blank(line[position])) ++position;
    if (position == n) return std::nullopt;
    if (line[position] == '"') {
      error.field = static_cast<int>(fields_.size()) + 1;
      const auto after = read_quoted(line, position, error);
      if (!after) return error;
      position = *after;
      if (position < n && !is_blank(line[position])) return after_quote_problem(line, position);
    } else {
      const std::size_t start = position;
      while (position < n && !is_blank(line[position])) ++position;
      fields_.push_back(line.substr(start, position - start));
    }
  }
}

std::optional<CsvSyntaxError> CsvLineSplitter::split_on_separator(std::string_view line,
                                                                  char separator) {
  const std::size_t n = line.size();
  std::size_t position = 0;
  CsvSyntaxError error;
  // Tabs are trimmed too, except where they separate fields.
  const auto is_trimmed = [&](char c) { return c == ' ' || (c == '\t' && separator != '\t'); };
  while (true) {
    while (position < n && is_trimmed(line[position])) ++position;
    if (position < n && line[position] == '"') {
      error.field = static_cast<int>(fields_.size()) + 1;
      const auto after = read_quoted(line, position, error);
      if (!after) return error;
      position = *after;
      while (position < n && is_trimmed(line[position])) ++position;
      if (position == n) return std::nullopt;
      if (line[position] != separator) return after_quote_problem(line, position);
      ++position;
      continue;
    }
    const void* found =
        position < n ? std::memchr(line.data() + position, separator, n - position) : nullptr;
    const std::size_t end =
        found == nullptr ? n
                         : static_cast<std::size_t>(static_cast<const char*>(found) - line.data());
    std::size_t last = end;
    while (last > position && is_trimmed(line[last - 1])) --last;
    fields_.push_back(line.substr(position, last - position));
    if (found == nullptr) return std::nullopt;
    position = end + 1;
  }
}

CsvHead read_csv_head(std::string_view text, CsvDelimiter delimiter) {
  CsvHead head;
  const std::size_t start = byte_order_mark_length(text);
  CsvLineCursor cursor(text, {start, text.size()});
  std::int64_t line_number = 0;
  while (const auto line = cursor.next()) {
    ++line_number;
    if (is_blank_line(*line)) continue;
    CsvLineSplitter splitter(delimiter);
    head.found = true;
    head.error = splitter.split(*line);
    head.fields.assign(splitter.fields().begin(), splitter.fields().end());
    head.line = line_number;
    head.end = line_start_at_or_after(text, cursor.line_offset() + 1);
    break;
  }
  return head;
}

}  // namespace microseg::io
