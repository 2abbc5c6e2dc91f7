#include "microseg/app/command.hpp"
#include "microseg/app/generate.hpp"
#include "microseg/app/segment.hpp"

namespace microseg::app {

const std::vector<Command>& commands() {
  static const std::vector<Command> table{
      {"generate", "write a synthetic customer base with planted segments", generate_usage,
       generate_command},
      {"segment", "segment customers with distributed k-means", segment_usage, segment_command},
  };
  return table;
}

}  // namespace microseg::app
