#pragma once
/// \file The customers' own text keys, carried from the input into a run's outputs.
#include <cstddef>
#include <string>
#include <vector>

namespace microseg {

/// The customers' own text keys (the input's /customers/external_id) of the rows one rank
/// holds, in input order, and the width in bytes of the input's fixed-length strings (the same
/// on every rank).
struct ExternalIds {
  std::size_t width = 0;
  std::vector<std::string> values;
};

}  // namespace microseg
