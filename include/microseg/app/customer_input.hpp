#pragma once
/// \file The read and transform stages every modelling subcommand shares: check the selection
/// against the table's metadata, read each rank's block of customers, check it, and scale it.
///
/// Split in two so a command can make its own checks (its output directory, a resumed sweep's
/// settings) after the metadata is known and before any customer is read.
#include <cstdint>
#include <string>
#include <vector>

#include "microseg/core/scaling.hpp"
#include "microseg/core/types.hpp"
#include "microseg/distributed/communicator.hpp"
#include "microseg/distributed/segmentation.hpp"
#include "microseg/io/customer_table.hpp"

namespace microseg::app {

/// Which customers and features a command models, and how they are transformed.
struct CustomerSelection {
  std::string input;
  std::vector<std::string> features;  ///< empty: every feature of the input
  std::vector<std::string> log1p_features;
  ScaleKind scale = ScaleKind::zscore;
};

/// The table's metadata and the selection resolved against it.
struct InspectedInput {
  CustomerSelection selection;
  io::CustomerTableSchema schema;
  std::vector<int> columns;                ///< selected feature columns of the file
  std::vector<std::string> feature_names;  ///< their names, in selection order
  std::vector<char> log1p;                 ///< per selected feature
};

/// Reads the metadata on every rank and checks the features, the --log1p names and that
/// `largest_k` does not exceed the number of customers. Throws AgreedError (every rank alike)
/// with a message naming the file, the feature or the option.
InspectedInput inspect_customer_input(const distributed::Communicator& comm,
                                      const CustomerSelection& selection, std::int64_t largest_k);

/// Each rank's block of customers, scaled in place, and the transform fitted across ranks.
struct ScaledCustomers {
  RowRange rows;
  CustomerBlock block;
  distributed::FittedTransform transform;
  std::string content_digest;  ///< of the rows as read (core/content_digest.hpp), every rank
};

/// Collective: reads each rank's rows, checks that values are finite and ids unique, digests
/// them, then fits and applies log1p and the scaling. Throws AgreedError naming the file, feature
/// or customer.
ScaledCustomers read_and_scale(const distributed::Communicator& comm, const InspectedInput& input);

}  // namespace microseg::app
