#pragma once
/// \file `microseg ingest`: the options of `ingest features` and `ingest transactions` into their
/// plans, one pipeline call (pipeline/ingest.hpp), and the report rank 0 prints.
#include <boost/serialization/string.hpp>
#include <iosfwd>
#include <string>
#include <vector>

#include "microseg/distributed/communicator.hpp"
#include "microseg/pipeline/ingest.hpp"

namespace microseg::app {

/// Which of the two an `ingest` command line asks for, with its plan.
struct IngestCommandPlan {
  std::string kind;  ///< "features" or "transactions"
  pipeline::IngestFeaturesPlan features;
  pipeline::IngestTransactionsPlan transactions;

  template <class Archive>
  void serialize(Archive& archive, unsigned /*version*/) {
    archive& kind& features& transactions;
  }
};

std::string ingest_usage();
/// Throws InputError naming the option and the value that is wrong.
IngestCommandPlan parse_ingest_options(const std::vector<std::string>& arguments);

/// Collective: runs the pipeline; rank 0 reports to `log`. Errors are agreed between ranks and
/// thrown as AgreedError before anything is written.
void run_ingest_features(const distributed::Communicator& comm,
                         const pipeline::IngestFeaturesPlan& plan, std::ostream& log);
void run_ingest_transactions(const distributed::Communicator& comm,
                             const pipeline::IngestTransactionsPlan& plan, std::ostream& log);
void ingest_command(const distributed::Communicator& comm,
                    const std::vector<std::string>& arguments);

}  // namespace microseg::app
