#pragma once
/// \file `microseg assign`: scores customers against a saved run — its scaling, its centroids and
/// its stable segment ids — and writes each customer's segment, the runner-up and the margin.
#include <boost/serialization/string.hpp>
#include <iosfwd>
#include <string>
#include <vector>

#include "microseg/distributed/communicator.hpp"

namespace microseg::app {

struct AssignConfig {
  std::string model;   ///< output directory of a `microseg segment` run
  std::string input;   ///< customer table to score
  std::string output;  ///< directory for assignments.h5
  std::string job_file;

  template <class Archive>
  void serialize(Archive& archive, unsigned /*version*/) {
    archive& model& input& output& job_file;
  }
};

std::string assign_usage();
/// Throws InputError naming the option that is missing or wrong.
AssignConfig parse_assign_options(const std::vector<std::string>& arguments);
/// Reads the model on every rank and each rank's block of customers, applies the model's
/// transform, assigns every customer to its nearest centroid and writes DIR/assignments.h5.
/// Errors (a feature the model needs missing from the input, bad values, an unwritable output)
/// are agreed between ranks before anything is written.
void run_assign(const distributed::Communicator& comm, const AssignConfig& config,
                std::ostream& log);
void assign_command(const distributed::Communicator& comm,
                    const std::vector<std::string>& arguments);

}  // namespace microseg::app
