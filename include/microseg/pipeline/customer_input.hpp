#pragma once
/// \file The read and transform stages every modelling command shares: check the selection
/// against the table's metadata, read each rank's block of customers once (with the columns
/// marketers' profiles need beside the features), check it, and prepare it (one-hot, missing
/// values, clipping, log1p, scaling, weights); later, read the same columns again in original
/// units for the profiles.
///
/// Split so a command can make its own checks (its output directory, a resumed sweep's settings)
/// after the metadata is known and before any customer is read.
#include <boost/serialization/string.hpp>
#include <boost/serialization/vector.hpp>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "microseg/core/feature_transform.hpp"
#include "microseg/core/scaling.hpp"
#include "microseg/core/types.hpp"
#include "microseg/distributed/communicator.hpp"
#include "microseg/distributed/feature_preparation.hpp"
#include "microseg/distributed/rank_rows.hpp"
#include "microseg/io/customer_table.hpp"

namespace microseg::pipeline {

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
/// `key = value` lines, as a job file would hold them.
std::string describe(const TransformOptions& options);

/// Which customers and features a command models, and how they are transformed.
struct CustomerSelection {
  std::string input;
  std::vector<std::string> features;  ///< empty: every feature of the input
  std::vector<std::string> log1p_features;
  ScaleKind scale = ScaleKind::zscore;
  TransformOptions transform;
  /// --sample-weight: the /customers dataset holding each customer's weight ("" for none); it
  /// is never a feature.
  std::string sample_weight;
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

/// Collective: reads the metadata on every rank and checks the features, the --one-hot and
/// --log1p names and that `largest_k` does not exceed the number of customers; the
/// --sample-weight column is left out of the features. Throws AgreedError (every rank alike)
/// naming the file, the feature or the option.
InspectedInput inspect_customer_input(const distributed::Communicator& comm,
                                      const CustomerSelection& selection, std::int64_t largest_k);

/// Throws InputError "option --k: k = K is larger than the N customers in 'FILE'" when k
/// exceeds `customers`.
void check_k_fits(std::int64_t k, std::int64_t customers, const std::string& input);

/// Each rank's customers, prepared, with what the later stages need to know about them.
struct PreparedCustomers {
  distributed::RankRows rows;  ///< the scaled features; global rows number the kept customers
  distributed::FittedTransform transform;
  FeatureTransform features;   ///< fitted one-hot, fill, clipping and weights
  std::int64_t customers = 0;  ///< kept over all ranks
  std::int64_t dropped = 0;    ///< dropped for missing values over all ranks
  std::vector<char> kept;      ///< per row this rank read: 1 unless dropped
  std::string content_digest;  ///< of the rows as read (core/content_digest.hpp), every rank
  std::string weight_digest;   ///< of the --sample-weight column as read ("" without one)
  double seconds_read = 0, seconds_transform = 0;
  /// The columns asked for beside the features (`extra_columns` of read_and_prepare), raw as
  /// read, one value per kept customer: the value feature and RFM columns.
  std::vector<std::vector<double>> extra;
};

/// Collective: reads each rank's rows once (the selected columns, the --sample-weight column
/// into the block's weights, and `extra_columns` by name: those among the features are taken
/// from the same read), checks ids are unique, digests the rows as read, then fits and applies
/// the transform. Throws AgreedError naming the file, feature or customer.
PreparedCustomers read_and_prepare(const distributed::Communicator& comm,
                                   const InspectedInput& input,
                                   const std::vector<std::string>& extra_columns = {});

/// Collective: this rank's features in original units — the source columns read again, with the
/// fitted one-hot, missing-value and clipping steps and no log1p or scaling — for the profiles.
/// Call after `prepared.rows.release_features()` so the two never coexist. Fails on every rank
/// when the input's content changed since read_and_prepare.
FeatureMatrix read_original_features(const distributed::Communicator& comm,
                                     const InspectedInput& input,
                                     const PreparedCustomers& prepared);

/// Collective: the input's /customers/external_id of the customers this rank read and kept
/// (`kept`: per row read, 1 unless dropped; empty: all kept), in input order; nullopt on every
/// rank when the input has none. Throws AgreedError naming the file when it cannot be read.
std::optional<ExternalIds> read_kept_external_ids(const distributed::Communicator& comm,
                                                  const io::CustomerTableSchema& schema,
                                                  const std::vector<char>& kept);

}  // namespace microseg::pipeline
