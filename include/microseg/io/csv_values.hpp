#pragma once
/// \file Values in CSV fields: numbers, dates and customer ids. Parsers return nothing for text
/// that is not exactly one value of the kind (no silent partial reads). Standard library only.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace microseg::io {

/// A decimal integer (optional sign) that fits int64.
std::optional<std::int64_t> parse_int64(std::string_view text);

/// A finite decimal number: optional sign, digits with an optional '.', optional exponent
/// ("12", "-0.5", "1e3", ".25"). "nan", "inf", hexadecimal and thousands separators are rejected.
std::optional<double> parse_finite_number(std::string_view text);

/// A calendar date as days since 1970-01-01: YYYYMMDD or ISO 8601 YYYY-MM-DD, optionally followed
/// by a time ('T' or one space, then hh:mm[:ss[.fraction]] and an optional zone Z, ±hh, ±hh:mm or
/// ±hhmm). The time is checked and then ignored: the date counts as written. Years 1000–9999.
std::optional<std::int32_t> parse_date(std::string_view text);

/// Days since 1970-01-01 as YYYY-MM-DD.
std::string format_date(std::int32_t days);

/// The int64 id of a non-integer customer key: the 64-bit FNV-1a hash of its bytes with the top
/// bit cleared (so ids are ≥ 0). Stable across files, ranks and runs, so the same key gets the same
/// id in a customer table and a transaction log.
std::int64_t mapped_customer_id(std::string_view key);

}  // namespace microseg::io
