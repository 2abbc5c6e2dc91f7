#pragma once
/// \file `microseg ingest`: CSV files in, customer tables (the input of `microseg segment`) out.
///
/// - `ingest features`: a customer table with a header row, one row per customer; numeric
///   columns stay numeric (empty cells become NaN), listed categorical columns become codes with
///   their names.
/// - `ingest transactions`: a transaction log, one row per purchase, aggregated per customer into
///   RFM features, quintile scores and named RFM segments.
///
/// Both run on every rank: each rank reads its own byte range of the file (cut at line breaks),
/// rows are numbered across ranks for messages, customers are hash-partitioned to owning ranks
/// where needed, and the table is written with parallel HDF5. The output does not depend on the
/// rank count.
#include <boost/serialization/string.hpp>
#include <boost/serialization/vector.hpp>
#include <cstdint>
#include <iosfwd>
#include <string>
#include <vector>

#include "microseg/distributed/communicator.hpp"

namespace microseg::app {

/// Options of `microseg ingest features`.
struct IngestFeaturesConfig {
  std::string csv;
  std::string id_column;
  std::string output;
  std::string delimiter = ",";  ///< as io::parse_csv_delimiter reads it
  std::vector<std::string> categorical;
  bool skip_bad_rows = false;

  template <class Archive>
  void serialize(Archive& archive, unsigned /*version*/) {
    archive& csv& id_column& output& delimiter& categorical& skip_bad_rows;
  }
};

/// Options of `microseg ingest transactions`.
struct IngestTransactionsConfig {
  std::string csv;
  std::string customer_column;
  std::string date_column;
  std::string amount_column;
  std::string quantity_column;  ///< empty: every row counts once its amount
  std::string output;
  std::string as_of;             ///< as given, for the record
  std::int32_t as_of_day = 0;    ///< days since 1970-01-01
  std::int32_t window_days = 0;  ///< 0: no window
  bool has_header = true;
  std::string delimiter = ",";
  bool skip_bad_rows = false;

  template <class Archive>
  void serialize(Archive& archive, unsigned /*version*/) {
    archive& csv& customer_column& date_column& amount_column& quantity_column& output;
    archive& as_of& as_of_day& window_days& has_header& delimiter& skip_bad_rows;
  }
};

/// Which of the two an `ingest` command line asks for, with its options.
struct IngestConfig {
  std::string kind;  ///< "features" or "transactions"
  IngestFeaturesConfig features;
  IngestTransactionsConfig transactions;

  template <class Archive>
  void serialize(Archive& archive, unsigned /*version*/) {
    archive& kind& features& transactions;
  }
};

std::string ingest_usage();
/// Throws InputError naming the option and the value that is wrong.
IngestConfig parse_ingest_options(const std::vector<std::string>& arguments);

/// Errors are agreed between ranks and thrown as AgreedError before anything is written; rank 0
/// reports to `log`.
void run_ingest_features(const distributed::Communicator& comm, const IngestFeaturesConfig& config,
                         std::ostream& log);
void run_ingest_transactions(const distributed::Communicator& comm,
                             const IngestTransactionsConfig& config, std::ostream& log);
void ingest_command(const distributed::Communicator& comm,
                    const std::vector<std::string>& arguments);

}  // namespace microseg::app
