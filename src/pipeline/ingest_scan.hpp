#pragma once
// What the two ingest pipelines share: the CSV file mapped on every rank, each rank's scan of its
// part with the agreement on failures and malformed rows, and the choice of integer or mapped ids.
#include <cstdint>
#include <exception>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "microseg/distributed/communicator.hpp"
#include "microseg/distributed/stall_watchdog.hpp"
#include "microseg/io/csv_file.hpp"
#include "microseg/io/csv_reader.hpp"
#include "microseg/io/csv_transactions.hpp"
#include "microseg/io/csv_values.hpp"
#include "microseg/io/ingested_table.hpp"
#include "microseg/pipeline/ingest.hpp"

namespace microseg::pipeline::detail {

/// "'path'", as messages name a file.
std::string in_file(const std::string& path);

/// The file mapped on every rank and its first non-blank line, checked identically everywhere.
struct CsvInput {
  std::unique_ptr<io::MappedCsvFile> file;
  io::CsvHead head;
  io::CsvDelimiter delimiter = io::CsvDelimiter::comma;
};

/// Maps `path` and reads its head. Throws InputError for an empty file or a head that does not
/// split (naming it the header or the first row).
CsvInput open_csv(const std::string& path, const std::string& delimiter_name, bool has_header);

/// The file a scan reads and what it does with malformed rows.
struct ScanSettings {
  std::string path;
  bool skip_bad_rows = false;
};

/// Collective. Without skip_bad_rows the first malformed row in the file stops every rank (ranks
/// hold consecutive parts, so the lowest failing rank holds it); with it, the count and the first
/// few descriptions, identical on every rank.
BadRowReport agree_on_bad_rows(const distributed::Communicator& comm, const ScanSettings& settings,
                               const std::vector<io::BadRow>& reported, std::int64_t local_count,
                               std::int64_t first_line);

/// A rank's scan of its part, with what the ranks agreed on about all parts.
template <class Scan>
struct AgreedScan {
  Scan scan;                         ///< this rank's part
  std::int64_t first_line = 0;       ///< the 1-based file line of the part's first line
  std::vector<std::int64_t> totals;  ///< the scan's counts, summed over ranks
  BadRowReport bad_rows;
};

/// Collective. Scans this rank's part of the input with `scan_part(text, part)`, sums the counts
/// `counts(scan)` returns, then agrees on a failed scan and on malformed rows. A failure stays
/// local until the sum: that allreduce waits for the slowest part, so the agreements after it
/// meet every rank at once, however early one rank stopped at a bad row.
template <class Scan, class ScanPart, class Counts>
AgreedScan<Scan> scan_and_agree(const distributed::Communicator& comm, const CsvInput& input,
                                const ScanSettings& settings, ScanPart scan_part, Counts counts) {
  distributed::mark_phase("read");
  const std::string_view text = input.file->text();
  const io::ByteRange part = io::line_aligned_part(text, comm.rank(), comm.size());
  input.file->will_read(part);
  AgreedScan<Scan> agreed;
  std::optional<std::string> failure;
  try {
    agreed.scan = scan_part(text, part);
  } catch (const std::exception& e) {
    failure = "reading " + in_file(settings.path) + " on rank " + std::to_string(comm.rank()) +
              ": " + e.what();
  }
  agreed.first_line = 1 + comm.exclusive_prefix_sum(agreed.scan.lines);
  agreed.totals = counts(agreed.scan);
  comm.sum_in_place(agreed.totals);
  comm.agree(failure);
  agreed.bad_rows = agree_on_bad_rows(comm, settings, agreed.scan.reported_bad_rows,
                                      agreed.scan.bad_rows, agreed.first_line);
  return agreed;
}

/// Collective. Customer keys become int64 ids as integers when every key on every rank is one,
/// otherwise all mapped (io::mapped_customer_id) and kept as external ids. `key_at(i)` is this
/// rank's i-th key of `count`.
template <class KeyAt>
bool keys_are_integers_on_every_rank(const distributed::Communicator& comm, std::size_t count,
                                     KeyAt key_at) {
  bool integers = true;
  for (std::size_t i = 0; i < count && integers; ++i)
    integers = io::parse_int64(key_at(i)).has_value();
  return comm.all(integers);
}

/// An empty float64 feature column.
io::IngestedColumn real_column(const std::string& name, const std::string& description);
/// An empty int64 feature column.
io::IngestedColumn integer_column(const std::string& name, const std::string& description);

}  // namespace microseg::pipeline::detail
