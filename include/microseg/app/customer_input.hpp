#pragma once
/// \file The read and transform stages every modelling subcommand shares: check the selection
/// against the table's metadata, read each rank's block of customers, check it, and scale it.
///
/// Split in two so a command can make its own checks (its output directory, a resumed sweep's
/// settings) after the metadata is known and before any customer is read.
#include <cstdint>
#include <string>
#include <vector>

#include <boost/program_options/options_description.hpp>
#include <boost/serialization/string.hpp>
#include <boost/serialization/vector.hpp>

#include "microseg/core/feature_transform.hpp"
#include "microseg/core/scaling.hpp"
#include "microseg/core/types.hpp"
#include "microseg/distributed/communicator.hpp"
#include "microseg/distributed/feature_preparation.hpp"
#include "microseg/distributed/segmentation.hpp"
#include "microseg/io/customer_table.hpp"

namespace microseg::app {

class OptionReader;

/// The transform options segment and sweep share (--missing, --one-hot, --clip-quantiles,
/// --weights), as given.
struct TransformOptions {
  MissingPolicy missing = MissingPolicy::reject;
  std::vector<std::string> one_hot;    ///< source columns to expand
  std::vector<std::string> weights;    ///< "feature=weight"
  std::vector<double> clip_quantiles;  ///< empty, or the low and high quantile levels

  template <class Archive>
  void serialize(Archive& archive, unsigned /*version*/) {
    archive& missing& one_hot& weights& clip_quantiles;
  }
};
/// Adds the options above to a subcommand's options.
void add_transform_options(boost::program_options::options_description& options);
/// Reads them; throws InputError naming the option and the bad value.
TransformOptions parse_transform_options(const OptionReader& options);
/// `key = value` lines, as a job file would hold them.
std::string describe(const TransformOptions& options);

/// Which customers and features a command models, and how they are transformed.
struct CustomerSelection {
  std::string input;
  std::vector<std::string> features;  ///< empty: every feature of the input
  std::vector<std::string> log1p_features;
  ScaleKind scale = ScaleKind::zscore;
  TransformOptions transform;
};

/// The table's metadata and the selection resolved against it.
struct InspectedInput {
  CustomerSelection selection;
  io::CustomerTableSchema schema;
  std::vector<int> columns;                ///< selected source columns of the file
  FeatureTransform plan;                   ///< how the features are made from them (unfitted)
  std::vector<std::string> feature_names;  ///< the features k-means sees (one-hot expanded)
  std::vector<char> log1p;                 ///< per feature
  std::int64_t largest_k = 0;
};

/// Reads the metadata on every rank and checks the features, the --log1p names and that
/// `largest_k` does not exceed the number of customers. Throws AgreedError (every rank alike)
/// with a message naming the file, the feature or the option.
InspectedInput inspect_customer_input(const distributed::Communicator& comm,
                                      const CustomerSelection& selection, std::int64_t largest_k);

/// Each rank's block of customers, scaled in place, and the transform fitted across ranks.
struct ScaledCustomers {
  RowRange rows;  ///< global rows among the kept customers (all of them unless --missing drop)
  CustomerBlock block;
  distributed::FittedTransform transform;
  FeatureTransform features;     ///< fitted one-hot, fill, clipping and weights
  std::int64_t customers = 0;    ///< kept over all ranks
  std::int64_t dropped = 0;      ///< dropped for missing values over all ranks
  std::vector<char> kept;        ///< per row this rank read: 1 unless dropped
  double seconds_transform = 0;  ///< of the whole read_and_scale, the transform's share
  std::string content_digest;    ///< of the rows as read (core/content_digest.hpp), every rank
};

/// Collective: reads each rank's rows, checks ids are unique, digests the rows as read, then fits
/// and applies the transform
/// (one-hot, missing values, clipping, log1p, scaling, weights). Throws AgreedError naming the
/// file, feature or customer.
ScaledCustomers read_and_scale(const distributed::Communicator& comm, const InspectedInput& input);

}  // namespace microseg::app
