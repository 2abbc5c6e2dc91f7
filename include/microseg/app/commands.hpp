#pragma once
/// \file The subcommands: each takes a parsed configuration and runs one pipeline.
#include <iosfwd>

#include "microseg/app/options.hpp"
#include "microseg/distributed/communicator.hpp"

namespace microseg::app {

/// Writes a synthetic customer base (see core/synthetic.hpp); each rank writes its rows.
void run_generate(const distributed::Communicator& comm, const GenerateConfig& config,
                  std::ostream& log);

/// read → transform → initialise → iterate → measure → profile → write. Rank 0 logs progress to
/// `log`; errors are agreed between ranks and thrown as AgreedError before anything is written.
void run_segment(const distributed::Communicator& comm, const SegmentConfig& config,
                 std::ostream& log);

}  // namespace microseg::app
