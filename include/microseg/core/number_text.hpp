#pragma once
/// \file Numbers as text that reads back as the same value.
#include <cstdint>
#include <string>

namespace microseg {

/// The shortest decimal text that reads back as the same double ("nan", "inf" and "-inf" as
/// pandas and Python read them). For CSV outputs, fingerprints and messages that must tell every
/// value apart.
std::string round_trip_text(double value);

/// "1,234,567": a count as messages and reports write it.
std::string with_thousands(std::int64_t value);

}  // namespace microseg
