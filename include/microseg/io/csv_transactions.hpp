#pragma once
/// \file Scanning a rank's part of a transaction log (one row per purchase) into per-customer
/// activity. The scan is local to one rank and never throws on bad input: malformed rows come
/// back as BadRow with their line inside the part, so the caller can agree on them across ranks
/// after numbering lines globally. Standard library only (the fuzz target builds it alone).
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "microseg/core/rfm.hpp"
#include "microseg/io/csv_reader.hpp"

namespace microseg::io {

/// Memory for a large open-addressing table, backed by transparent huge pages where the kernel
/// allows: random probes into a table of hundreds of MB otherwise pay a page fault per 4 KiB on
/// first touch and a TLB miss on most probes.
class HugePageBuffer {
 public:
  HugePageBuffer() = default;
  explicit HugePageBuffer(std::size_t bytes);
  ~HugePageBuffer();
  HugePageBuffer(HugePageBuffer&& other) noexcept;
  HugePageBuffer& operator=(HugePageBuffer&& other) noexcept;
  HugePageBuffer(const HugePageBuffer&) = delete;
  HugePageBuffer& operator=(const HugePageBuffer&) = delete;
  void* data() const { return data_; }

 private:
  void* mapping_ = nullptr;
  std::size_t mapped_bytes_ = 0;
  void* data_ = nullptr;
};

/// Per-customer activity keyed by the customer field as written. Keys written as canonical
/// integers ("42", "-7"; no sign '+', no leading zero) are kept in a table keyed by the integer
/// with the activity inline, one cache line per customer, since that is the hot path of a large
/// log; any other key is kept by its text. The two sets are disjoint and a canonical integer
/// key's text is std::to_string of it, so no key is lost.
class CustomerActivityTable {
 public:
  CustomerActivityTable() = default;
  // The slots live in integer_memory_: a moved-from table must not keep pointing at them.
  CustomerActivityTable(CustomerActivityTable&& other) noexcept { *this = std::move(other); }
  CustomerActivityTable& operator=(CustomerActivityTable&& other) noexcept {
    integer_memory_ = std::move(other.integer_memory_);
    integer_slots_ = std::exchange(other.integer_slots_, nullptr);
    integer_capacity_ = std::exchange(other.integer_capacity_, 0);
    integer_count_ = std::exchange(other.integer_count_, 0);
    text_slots_ = std::move(other.text_slots_);
    text_activity_ = std::move(other.text_activity_);
    key_bytes_ = std::move(other.key_bytes_);
    key_offsets_ = std::exchange(other.key_offsets_, {0});
    return *this;
  }

  /// The activity of `key`, inserted empty when new; the caller adds a transaction to it at
  /// once (an integer-keyed slot with no transactions counts as free).
  CustomerActivity& find_or_insert(std::string_view key);
  std::size_t size() const { return integer_count_ + text_activity_.size(); }

  /// One transaction of a customer keyed by a canonical integer.
  struct IntegerKeyedTransaction {
    std::int64_t key = 0;
    std::int32_t day = 0;
    double amount = 0;
    double units = 0;
  };
  /// Adds a batch of transactions with integer keys. Their slots are prefetched first, so the
  /// cache misses of a large table overlap instead of stalling one row at a time.
  void add_integer_batch(const IntegerKeyedTransaction* transactions, std::size_t count);

  /// Customers whose key is a canonical integer: (key, activity), in no particular order.
  template <class Visit>
  void for_each_integer_key(Visit visit) const {
    for (std::size_t i = 0; i < integer_capacity_; ++i) {
      const IntegerSlot& slot = integer_slots_[i];
      if (slot.activity.transactions > 0) visit(slot.key, slot.activity);
    }
  }
  /// The other customers, by index.
  std::size_t text_key_count() const { return text_activity_.size(); }
  std::string_view text_key(std::size_t index) const {
    return std::string_view(key_bytes_)
        .substr(key_offsets_[index], key_offsets_[index + 1] - key_offsets_[index]);
  }
  const CustomerActivity& text_key_activity(std::size_t index) const {
    return text_activity_[index];
  }

 private:
  struct IntegerSlot {
    std::int64_t key = 0;
    CustomerActivity activity;  // transactions == 0: the slot is empty
  };
  struct TextSlot {
    std::uint64_t hash = 0;
    std::uint32_t entry_plus_one = 0;  // 0: empty
  };
  CustomerActivity& find_or_insert_integer(std::int64_t key);
  CustomerActivity& find_or_insert_text(std::string_view key);
  void grow_integer_slots();
  void grow_text_slots();

  HugePageBuffer integer_memory_;
  IntegerSlot* integer_slots_ = nullptr;  // integer_capacity_ slots in integer_memory_
  std::size_t integer_capacity_ = 0;
  std::size_t integer_count_ = 0;
  std::vector<TextSlot> text_slots_;
  std::vector<CustomerActivity> text_activity_;
  std::string key_bytes_;
  std::vector<std::size_t> key_offsets_{0};
};

/// The int64 of a key written as a canonical integer, else nothing.
std::optional<std::int64_t> canonical_integer_key(std::string_view key);

/// Where the fields of a transaction row are (0-based; quantity −1 when absent).
struct TransactionColumns {
  int customer = -1;
  int date = -1;
  int amount = -1;    ///< the row's money: its total, or with unit_price its price per unit
  int quantity = -1;  ///< counted as units; multiplies the amount only with unit_price
  bool unit_price = false;
};

/// What a scan needs to know about the file and the options.
struct TransactionScanSpec {
  CsvDelimiter delimiter = CsvDelimiter::comma;
  std::size_t data_begin = 0;   ///< offset of the first data line (past the header, if any)
  std::size_t field_count = 0;  ///< fields every row must have (those of the first line)
  std::vector<std::string> column_labels;  ///< per field, for messages: "3 ('amount')"
  TransactionColumns columns;
  std::int32_t as_of_day = 0;    ///< rows dated later are ignored
  std::int32_t window_days = 0;  ///< > 0: only rows with 0 ≤ as-of − date < window_days count
  bool skip_bad_rows = false;
  /// Called every `progress_every_lines` lines with the lines read so far and the bytes of
  /// the part read so far (progress of a long scan; empty: never).
  std::function<void(std::int64_t lines, std::size_t bytes_read)> on_progress;
  std::int64_t progress_every_lines = std::int64_t{1} << 16;
};

/// A malformed row: its 0-based line index inside the scanned part and what is wrong, starting
/// with the column ("column 3 ('amount'): 'x' is not a number").
struct BadRow {
  std::int64_t line_index = 0;
  std::string what;
};

/// At most this many bad rows are kept per rank for the report.
inline constexpr std::size_t max_reported_bad_rows = 5;

/// Counts a malformed row in `bad_rows` and keeps it in `reported` while there is room, naming
/// the column by its label when `column_labels` has one, else by its 1-based position (column
/// −1: the row as a whole).
void record_bad_row(std::int64_t& bad_rows, std::vector<BadRow>& reported,
                    const std::vector<std::string>& column_labels, std::int64_t line_index,
                    int column, const std::string& what);

/// The outcome of scanning one part.
struct TransactionScan {
  CustomerActivityTable customers;
  std::int64_t lines = 0;         ///< lines in the part, blank and header included
  std::int64_t rows = 0;          ///< well-formed data rows
  std::int64_t counted_rows = 0;  ///< of those, the rows that count (in the window, not later)
  std::int64_t rows_after_as_of = 0;
  std::int64_t rows_before_window = 0;
  std::int64_t bad_rows = 0;
  std::int32_t earliest_day = INT32_MAX;  ///< over well-formed rows
  std::int32_t latest_day = INT32_MIN;
  /// The first bad rows; without skip_bad_rows the scan stops at the first one.
  std::vector<BadRow> reported_bad_rows;
};

/// Scans the lines of `part` (line-aligned, see line_aligned_part) of `text`.
TransactionScan scan_transactions(std::string_view text, ByteRange part,
                                  const TransactionScanSpec& spec);

/// "N ('name')" for a header, "N" without one (N 1-based).
std::vector<std::string> csv_column_labels(const std::vector<std::string>& header,
                                           std::size_t field_count, bool has_header);

/// Describes a field value for a message: quoted, shortened past 40 characters.
std::string quote_field(std::string_view text);

}  // namespace microseg::io
