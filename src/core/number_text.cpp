#include "microseg/core/number_text.hpp"

#include <charconv>

namespace microseg {

std::string round_trip_text(double value) {
  char buffer[64];
  const auto result = std::to_chars(buffer, buffer + sizeof buffer, value);
  return std::string(buffer, result.ptr);
}

}  // namespace microseg
