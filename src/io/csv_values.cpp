#include "microseg/io/csv_values.hpp"

#include <charconv>
#include <cmath>
#include <cstdio>

namespace microseg::io {
namespace {

bool is_digit(char c) {
  return c >= '0' && c <= '9';
}

// Reads exactly `count` digits at text[at…] into `value`.
bool read_digits(std::string_view text, std::size_t at, std::size_t count, int& value) {
  if (at + count > text.size()) return false;
  value = 0;
  for (std::size_t i = at; i < at + count; ++i) {
    if (!is_digit(text[i])) return false;
    value = value * 10 + (text[i] - '0');
  }
  return true;
}

bool is_leap_year(int year) {
  return (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
}

int days_in_month(int year, int month) {
  static constexpr int days[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  return month == 2 && is_leap_year(year) ? 29 : days[month - 1];
}

// Days since 1970-01-01 of a valid proleptic Gregorian date (H. Hinnant's days_from_civil).
std::int32_t days_from_civil(int year, int month, int day) {
  year -= month <= 2 ? 1 : 0;
  const int era = year / 400;  // years here are positive
  const int year_of_era = year - era * 400;
  const int day_of_year = (153 * (month + (month > 2 ? -3 : 9)) + 2) / 5 + day - 1;
  const int day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
  return era * 146097 + day_of_era - 719468;
}

// hh:mm[:ss[.fraction]] then an optional zone, exactly filling `text`.
bool is_valid_time(std::string_view text) {
  int hour = 0, minute = 0, second = 0;
  if (!read_digits(text, 0, 2, hour) || text.size() < 5 || text[2] != ':' ||
      !read_digits(text, 3, 2, minute) || hour > 23 || minute > 59) {
    return false;
  }
  std::size_t at = 5;
  if (at < text.size() && text[at] == ':') {
    if (!read_digits(text, at + 1, 2, second) || second > 60) return false;  // 60: leap second
    at += 3;
    if (at < text.size() && text[at] == '.') {
      const std::size_t digits_start = ++at;
      while (at < text.size() && is_digit(text[at])) ++at;
      if (at == digits_start) return false;
    }
  }
  const std::string_view zone = text.substr(at);
  if (zone.empty() || zone == "Z") return true;
  if (zone[0] != '+' && zone[0] != '-') return false;
  int zone_hour = 0, zone_minute = 0;
  if (!read_digits(zone, 1, 2, zone_hour) || zone_hour > 23) return false;
  if (zone.size() == 3) return true;
  if (zone.size() == 5) return read_digits(zone, 3, 2, zone_minute) && zone_minute < 60;
  return zone.size() == 6 && zone[3] == ':' && read_digits(zone, 4, 2, zone_minute) &&
         zone_minute < 60;
}

}  // namespace

std::optional<std::int64_t> parse_int64(std::string_view text) {
  const bool plus = !text.empty() && text[0] == '+';
  if (plus) text.remove_prefix(1);
  if (text.empty() || (plus && text[0] == '-')) return std::nullopt;
  std::int64_t value = 0;
  const auto [end, status] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (status != std::errc() || end != text.data() + text.size()) return std::nullopt;
  return value;
}

namespace {

// The common case "123.45": at most 15 digits and no exponent. The digits as an integer and
// 10^decimals are then exact doubles, so one division gives the correctly rounded value, the
// same as from_chars (Clinger's fast path).
std::optional<double> parse_plain_decimal(std::string_view text) {
  static constexpr double powers_of_ten[] = {1e0, 1e1, 1e2,  1e3,  1e4,  1e5,  1e6,  1e7,
                                             1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15};
  const bool negative = !text.empty() && text[0] == '-';
  std::size_t at = negative ? 1 : 0;
  std::uint64_t digits = 0;
  int count = 0, decimals = 0;
  bool point = false;
  for (; at < text.size(); ++at) {
    const char c = text[at];
    if (is_digit(c)) {
      digits = digits * 10 + static_cast<std::uint64_t>(c - '0');
      ++count;
      decimals += point ? 1 : 0;
    } else if (c == '.' && !point) {
      point = true;
    } else {
      return std::nullopt;
    }
  }
  if (count == 0 || count > 15) return std::nullopt;
  const double value = static_cast<double>(digits) / powers_of_ten[decimals];
  return negative ? -value : value;
}

}  // namespace

std::optional<double> parse_finite_number(std::string_view text) {
  const bool plus = !text.empty() && text[0] == '+';
  if (plus) text.remove_prefix(1);
  if (plus && !text.empty() && text[0] == '-') return std::nullopt;
  // from_chars takes "inf", "nan" and the like; a number starts with a digit, '.' or '-'.
  if (text.empty() || !(is_digit(text[0]) || text[0] == '.' || text[0] == '-')) {
    return std::nullopt;
  }
  if (text[0] == '-' && (text.size() < 2 || !(is_digit(text[1]) || text[1] == '.'))) {
    return std::nullopt;
  }
  if (const auto plain = parse_plain_decimal(text)) return plain;
  double value = 0;
  const auto [end, status] =
      std::from_chars(text.data(), text.data() + text.size(), value, std::chars_format::general);
  if (status != std::errc() || end != text.data() + text.size() || !std::isfinite(value)) {
    return std::nullopt;
  }
  return value;
}

std::optional<std::int32_t> parse_date(std::string_view text) {
  int year = 0, month = 0, day = 0;
  if (text.size() == 8 && read_digits(text, 0, 4, year) && read_digits(text, 4, 2, month) &&
      read_digits(text, 6, 2, day)) {
    // YYYYMMDD
  } else if (text.size() >= 10 && read_digits(text, 0, 4, year) && text[4] == '-' &&
             read_digits(text, 5, 2, month) && text[7] == '-' && read_digits(text, 8, 2, day)) {
    if (text.size() > 10) {
      if ((text[10] != 'T' && text[10] != ' ') || !is_valid_time(text.substr(11))) {
        return std::nullopt;
      }
    }
  } else {
    return std::nullopt;
  }
  if (year < 1000 || month < 1 || month > 12 || day < 1 || day > days_in_month(year, month)) {
    return std::nullopt;
  }
  return days_from_civil(year, month, day);
}

std::string format_date(std::int32_t days) {
  // H. Hinnant's civil_from_days.
  const std::int64_t z = std::int64_t{days} + 719468;
  const std::int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  const std::int64_t day_of_era = z - era * 146097;
  const std::int64_t year_of_era =
      (day_of_era - day_of_era / 1460 + day_of_era / 36524 - day_of_era / 146096) / 365;
  const std::int64_t day_of_year =
      day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
  const std::int64_t shifted_month = (5 * day_of_year + 2) / 153;
  const std::int64_t day = day_of_year - (153 * shifted_month + 2) / 5 + 1;
  const std::int64_t month = shifted_month < 10 ? shifted_month + 3 : shifted_month - 9;
  const std::int64_t year = year_of_era + era * 400 + (month <= 2 ? 1 : 0);
  char text[64];
  std::snprintf(text, sizeof text, "%04lld-%02lld-%02lld", static_cast<long long>(year),
                static_cast<long long>(month), static_cast<long long>(day));
  return text;
}

std::int64_t mapped_customer_id(std::string_view key) {
  std::uint64_t hash = 0xcbf29ce484222325ull;  // FNV-1a offset basis
  for (char c : key) {
    hash ^= static_cast<unsigned char>(c);
    hash *= 0x100000001b3ull;  // FNV prime
  }
  return static_cast<std::int64_t>(hash & 0x7fffffffffffffffull);
}

}  // namespace microseg::io
