#pragma once
/// \file The ingest pipelines: CSV files in, customer tables (the input of `microseg segment`)
/// out.
///
/// - ingest_features: a customer table with a header row, one row per customer; numeric columns
///   stay numeric (empty cells become NaN), listed categorical columns become codes with their
///   names.
/// - ingest_transactions: a transaction log, one row per purchase, aggregated per customer into
///   RFM features, quintile scores and named RFM segments.
///
/// Both are collective: each rank reads its own byte range of the file (cut at line breaks),
/// rows are numbered across ranks for messages, customers are hash-partitioned to owning ranks
/// where needed, and the table is written with parallel HDF5. The output does not depend on the
/// rank count. They print nothing: the result holds what the command reports.
#include <boost/serialization/string.hpp>
#include <boost/serialization/vector.hpp>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "microseg/core/number_text.hpp"
#include "microseg/distributed/communicator.hpp"

namespace microseg::pipeline {

/// What `ingest features` reads and writes.
struct IngestFeaturesPlan {
  std::string csv;
  std::string id_column;
  std::string output;
  std::string delimiter = ",";  ///< a name is_csv_delimiter accepts
  std::vector<std::string> categorical;
  bool skip_bad_rows = false;

  template <class Archive>
  void serialize(Archive& archive, unsigned /*version*/) {
    archive& csv& id_column& output& delimiter& categorical& skip_bad_rows;
  }
};

/// What `ingest transactions` reads, counts and writes.
struct IngestTransactionsPlan {
  std::string csv;
  std::string customer_column;  ///< header name, or 1-based position without a header
  std::string date_column;
  /// The money column: `amount_column` holds each row's total; `unit_price_column` (exclusive
  /// with it) a price per unit, multiplied by the quantity.
  std::string amount_column;
  std::string unit_price_column;
  std::string quantity_column;  ///< counted as `units`; multiplies only a unit price
  std::string output;
  std::string as_of;             ///< as given, for the record
  std::int32_t as_of_day = 0;    ///< days since 1970-01-01
  std::int32_t window_days = 0;  ///< 0: no window
  bool has_header = true;
  std::string delimiter = ",";  ///< a name is_csv_delimiter accepts
  bool skip_bad_rows = false;

  template <class Archive>
  void serialize(Archive& archive, unsigned /*version*/) {
    archive& csv& customer_column& date_column& amount_column& quantity_column& output;
    archive& as_of& as_of_day& window_days& has_header& delimiter& skip_bad_rows;
    archive& unit_price_column;
  }
};

/// True for a --delimiter value the CSV reader knows: , ; tab whitespace (or their names).
bool is_csv_delimiter(std::string_view name);
/// Days since 1970-01-01 of a date written YYYY-MM-DD or YYYYMMDD, as the scan reads dates.
std::optional<std::int32_t> day_of_date(std::string_view text);

/// Malformed rows skipped (with skip_bad_rows), identical on every rank.
struct BadRowReport {
  std::int64_t count = 0;
  /// The first few, in file order: "'file' line N, column …" or "'file' line N: …".
  std::vector<std::string> first;
};

/// A column of a features table, as the report names it.
struct IngestedColumnSummary {
  std::string name;
  std::size_t categories = 0;  ///< category names (0 for a numeric column)
  std::int64_t missing = 0;    ///< empty cells, stored as NaN
};

/// What `ingest features` did, the same on every rank.
struct IngestFeaturesResult {
  std::int64_t customers = 0;
  bool integer_ids = true;  ///< false: ids mapped from text keys, kept in /customers/external_id
  std::vector<IngestedColumnSummary> columns;  ///< every feature column, in file order
  BadRowReport bad_rows;
};

/// Transaction rows over all ranks, by what became of them.
struct TransactionRowCounts {
  std::int64_t rows = 0;     ///< well-formed data rows
  std::int64_t counted = 0;  ///< dated in the window, not after the as-of date
  std::int64_t after_as_of = 0;
  std::int64_t before_window = 0;
};

/// How many customers fell in one named RFM segment.
struct RfmSegmentSize {
  std::string name;
  std::int64_t customers = 0;
};

/// Seconds of the phases of `ingest transactions`, as this rank timed them.
struct IngestTransactionsSeconds {
  double parse = 0;     ///< mapping, scanning and agreeing on the file
  double exchange = 0;  ///< customers to their owning ranks
  double score = 0;     ///< features, quintile scores, segments
  double write = 0;
  double total() const { return parse + exchange + score + write; }
};

/// What `ingest transactions` did, the same on every rank (but the seconds).
struct IngestTransactionsResult {
  std::int64_t input_bytes = 0;
  int ranks = 0;
  std::string as_of_date;  ///< YYYY-MM-DD
  TransactionRowCounts rows;
  BadRowReport bad_rows;
  std::int64_t customers = 0;
  std::int64_t single_purchase_customers = 0;  ///< whose mean_interpurchase_days is NaN
  std::vector<RfmSegmentSize> segments;        ///< every segment, in code order
  IngestTransactionsSeconds seconds;
};

/// Collective. Reads the customer table `plan.csv` and writes `plan.output`. Every error (bad
/// input, options that do not fit the file, unwritable output) is agreed between ranks and
/// thrown as AgreedError before anything is written.
IngestFeaturesResult ingest_features(const distributed::Communicator& comm,
                                     const IngestFeaturesPlan& plan);

/// Progress of a long ingest, reported by rank 0 for its own part of the file (every rank
/// scans a part of about the same size, so rank 0's share done is the whole scan's).
struct IngestProgress {
  std::function<void(std::int64_t lines, std::int64_t bytes_read, std::int64_t part_bytes,
                     double seconds)>
      scanning;
};

/// Collective. Reads the transaction log `plan.csv`, computes RFM per customer as of
/// `plan.as_of_day` and writes `plan.output`, sorted by customer id. Errors as ingest_features.
IngestTransactionsResult ingest_transactions(const distributed::Communicator& comm,
                                             const IngestTransactionsPlan& plan,
                                             const IngestProgress& progress = {});

using microseg::with_thousands;

}  // namespace microseg::pipeline
