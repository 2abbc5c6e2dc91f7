#pragma once
/// \file `microseg generate` as a pipeline: a synthetic customer base with planted segments,
/// each rank generating and writing its own block of rows (core/synthetic.hpp), so the file is
/// the same for any rank count.
#include <boost/serialization/string.hpp>
#include <cstdint>
#include <string>
#include <vector>

#include "microseg/distributed/communicator.hpp"

namespace microseg::pipeline {

struct GeneratePlan {
  std::int64_t customers = 0;
  int segments = 8;
  double separation = 3.0;
  std::uint64_t seed = 1;
  std::string output;
  int macro_segments = 0;  ///< > 0: a two-level base (core SyntheticSpec)
  double macro_separation = 12.0;
  /// ≥ 2: successive quarters (core QuartersSpec) written as output/q1.h5 … ; 0: one file.
  int quarters = 0;
  double migration_rate = 0, churn_rate = 0;
  std::int64_t new_customers = 0;
  double mover_churn_factor = 2.0;

  template <class Archive>
  void serialize(Archive& archive, unsigned /*version*/) {
    archive& customers& segments& separation& seed& output;
    archive& macro_segments& macro_separation;
    archive& quarters& migration_rate& churn_rate& new_customers& mover_churn_factor;
  }
};

/// Collective: writes the table to plan.output; the number of features written is returned.
int generate(const distributed::Communicator& comm, const GeneratePlan& plan);

/// Collective, for plan.quarters ≥ 2: creates the directory plan.output, writes q1.h5 … qQ.h5
/// (io/quarter_files.hpp) and the manifest; returns the customer count of each quarter.
std::vector<std::int64_t> generate_quarters(const distributed::Communicator& comm,
                                            const GeneratePlan& plan);

}  // namespace microseg::pipeline
