#include "microseg/io/csv_transactions.hpp"

#include <sys/mman.h>

#include <algorithm>
#include <cstdint>
#include <memory>
#include <new>
#include <optional>
#include <utility>

#include "microseg/io/csv_values.hpp"

namespace microseg::io {
namespace {

std::uint64_t mix(std::uint64_t hash) {
  hash ^= hash >> 33;
  hash *= 0xff51afd7ed558ccdull;
  hash ^= hash >> 33;
  return hash;
}

std::uint64_t hash_integer(std::int64_t key) {
  return mix(static_cast<std::uint64_t>(key) * 0x9e3779b97f4a7c15ull);
}

std::uint64_t hash_text(std::string_view key) {
  // FNV-1a, then a finaliser so the low bits (the slot) depend on every byte.
  std::uint64_t hash = 0xcbf29ce484222325ull;
  for (char c : key) {
    hash ^= static_cast<unsigned char>(c);
    hash *= 0x100000001b3ull;
  }
  return mix(hash);
}

}  // namespace

std::optional<std::int64_t> canonical_integer_key(std::string_view key) {
  if (key.empty() || key[0] == '+') return std::nullopt;
  const std::size_t digits = key[0] == '-' ? 1 : 0;
  if (key.size() == digits || (key[digits] == '0' && key.size() > digits + 1) ||
      (digits == 1 && key[1] == '0')) {
    return std::nullopt;  // "-", leading zeros, "-0"
  }
  return parse_int64(key);
}

CustomerActivity& CustomerActivityTable::find_or_insert(std::string_view key) {
  if (const auto integer = canonical_integer_key(key)) return find_or_insert_integer(*integer);
  return find_or_insert_text(key);
}

HugePageBuffer::HugePageBuffer(std::size_t bytes) {
  constexpr std::size_t huge_page = std::size_t{2} << 20;
  mapped_bytes_ = (bytes + 2 * huge_page - 1) / huge_page * huge_page;
  mapping_ =
      ::mmap(nullptr, mapped_bytes_, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (mapping_ == MAP_FAILED) {
    mapping_ = nullptr;
    throw std::bad_alloc();
  }
  // Huge pages need a 2 MiB-aligned start; the mapping has a spare huge page for that.
  const auto address = reinterpret_cast<std::uintptr_t>(mapping_);
  const std::uintptr_t aligned = (address + huge_page - 1) / huge_page * huge_page;
  data_ = reinterpret_cast<void*>(aligned);
  ::madvise(data_, mapped_bytes_ - (aligned - address), MADV_HUGEPAGE);  // a hint only
}

HugePageBuffer::~HugePageBuffer() {
  if (mapping_ != nullptr) ::munmap(mapping_, mapped_bytes_);
}

HugePageBuffer::HugePageBuffer(HugePageBuffer&& other) noexcept
    : mapping_(std::exchange(other.mapping_, nullptr)),
      mapped_bytes_(std::exchange(other.mapped_bytes_, 0)),
      data_(std::exchange(other.data_, nullptr)) {}

HugePageBuffer& HugePageBuffer::operator=(HugePageBuffer&& other) noexcept {
  if (this != &other) {
    if (mapping_ != nullptr) ::munmap(mapping_, mapped_bytes_);
    mapping_ = std::exchange(other.mapping_, nullptr);
    mapped_bytes_ = std::exchange(other.mapped_bytes_, 0);
    data_ = std::exchange(other.data_, nullptr);
  }
  return *this;
}

void CustomerActivityTable::grow_integer_slots() {
  const std::size_t old_capacity = integer_capacity_;
  const IntegerSlot* old_slots = integer_slots_;
  HugePageBuffer old_memory = std::move(integer_memory_);
  integer_capacity_ = std::max<std::size_t>(1024, old_capacity * 2);
  integer_memory_ = HugePageBuffer(integer_capacity_ * sizeof(IntegerSlot));
  integer_slots_ = static_cast<IntegerSlot*>(integer_memory_.data());
  std::uninitialized_value_construct_n(integer_slots_, integer_capacity_);
  const std::size_t mask = integer_capacity_ - 1;
  for (std::size_t i = 0; i < old_capacity; ++i) {
    const IntegerSlot& slot = old_slots[i];
    if (slot.activity.transactions == 0) continue;
    std::size_t at = hash_integer(slot.key) & mask;
    while (integer_slots_[at].activity.transactions != 0) at = (at + 1) & mask;
    integer_slots_[at] = slot;
  }
}

CustomerActivity& CustomerActivityTable::find_or_insert_integer(std::int64_t key) {
  // Load factor ≤ 5/8. A new customer gets its first transaction at once (scan_transactions),
  // so an empty activity marks an empty slot.
  if ((integer_count_ + 1) * 8 > integer_capacity_ * 5) grow_integer_slots();
  const std::size_t mask = integer_capacity_ - 1;
  std::size_t at = hash_integer(key) & mask;
  while (integer_slots_[at].activity.transactions != 0) {
    if (integer_slots_[at].key == key) return integer_slots_[at].activity;
    at = (at + 1) & mask;
  }
  ++integer_count_;
  integer_slots_[at].key = key;
  return integer_slots_[at].activity;
}

void CustomerActivityTable::add_integer_batch(const IntegerKeyedTransaction* transactions,
                                              std::size_t count) {
  // Room for the whole batch first, so the prefetched slots stay where they are.
  while ((integer_count_ + count) * 8 > integer_capacity_ * 5) grow_integer_slots();
  const std::size_t mask = integer_capacity_ - 1;
  for (std::size_t i = 0; i < count; ++i) {
    __builtin_prefetch(&integer_slots_[hash_integer(transactions[i].key) & mask], 1);
  }
  for (std::size_t i = 0; i < count; ++i) {
    find_or_insert_integer(transactions[i].key)
        .add(transactions[i].day, transactions[i].amount, transactions[i].units);
  }
}

void CustomerActivityTable::grow_text_slots() {
  std::vector<TextSlot> old;
  old.swap(text_slots_);
  text_slots_.assign(std::max<std::size_t>(1024, old.size() * 2), TextSlot{});
  const std::size_t mask = text_slots_.size() - 1;
  for (const TextSlot& slot : old) {
    if (slot.entry_plus_one == 0) continue;
    std::size_t at = slot.hash & mask;
    while (text_slots_[at].entry_plus_one != 0) at = (at + 1) & mask;
    text_slots_[at] = slot;
  }
}

CustomerActivity& CustomerActivityTable::find_or_insert_text(std::string_view key) {
  if ((text_activity_.size() + 1) * 2 > text_slots_.size()) grow_text_slots();
  const std::uint64_t hash = hash_text(key);
  const std::size_t mask = text_slots_.size() - 1;
  std::size_t at = hash & mask;
  while (text_slots_[at].entry_plus_one != 0) {
    const TextSlot& slot = text_slots_[at];
    if (slot.hash == hash && text_key(slot.entry_plus_one - 1) == key) {
      return text_activity_[slot.entry_plus_one - 1];
    }
    at = (at + 1) & mask;
  }
  text_slots_[at] = TextSlot{hash, static_cast<std::uint32_t>(text_activity_.size() + 1)};
  key_bytes_.append(key);
  key_offsets_.push_back(key_bytes_.size());
  text_activity_.emplace_back();
  return text_activity_.back();
}

std::vector<std::string> csv_column_labels(const std::vector<std::string>& header,
                                           std::size_t field_count, bool has_header) {
  std::vector<std::string> labels;
  for (std::size_t i = 0; i < field_count; ++i) {
    std::string label = std::to_string(i + 1);
    if (has_header && i < header.size()) label += " ('" + header[i] + "')";
    labels.push_back(label);
  }
  return labels;
}

std::string quote_field(std::string_view text) {
  if (text.size() > 40) return "'" + std::string(text.substr(0, 37)) + "...'";
  return "'" + std::string(text) + "'";
}

void record_bad_row(std::int64_t& bad_rows, std::vector<BadRow>& reported,
                    const std::vector<std::string>& column_labels, std::int64_t line_index,
                    int column, const std::string& what) {
  ++bad_rows;
  if (reported.size() >= max_reported_bad_rows) return;
  std::string where;
  if (column >= 0 && static_cast<std::size_t>(column) < column_labels.size()) {
    where = "column " + column_labels[column] + ": ";
  } else if (column >= 0) {
    where = "column " + std::to_string(column + 1) + ": ";
  }
  reported.push_back({line_index, where + what});
}

namespace {

// Adds transactions to a scan's customers: those with integer keys in batches, which the
// table inserts faster than one by one.
class CustomerBatcher {
 public:
  explicit CustomerBatcher(CustomerActivityTable& customers) : customers_(customers) {}
  void add(std::string_view customer, std::int32_t day, double value, double units) {
    if (const auto key = canonical_integer_key(customer)) {
      batch_[batched_++] = {*key, day, value, units};
      if (batched_ == batch_capacity) flush();
    } else {
      customers_.find_or_insert(customer).add(day, value, units);
    }
  }
  void flush() {
    customers_.add_integer_batch(batch_, batched_);
    batched_ = 0;
  }

 private:
  static constexpr std::size_t batch_capacity = 32;
  CustomerActivityTable& customers_;
  CustomerActivityTable::IntegerKeyedTransaction batch_[batch_capacity];
  std::size_t batched_ = 0;
};

// A well-formed row: its day range, and within the window its customer's activity.
void count_transaction(TransactionScan& scan, const TransactionScanSpec& spec,
                       CustomerBatcher& customers, std::string_view customer, std::int32_t day,
                       std::pair<double, double> value_and_units) {
  ++scan.rows;
  scan.earliest_day = std::min(scan.earliest_day, day);
  scan.latest_day = std::max(scan.latest_day, day);
  const std::int64_t age = std::int64_t{spec.as_of_day} - day;
  if (age < 0) {
    ++scan.rows_after_as_of;
  } else if (spec.window_days > 0 && age >= spec.window_days) {
    ++scan.rows_before_window;
  } else {
    ++scan.counted_rows;
    customers.add(customer, day, value_and_units.first, value_and_units.second);
  }
}

}  // namespace

TransactionScan scan_transactions(std::string_view text, ByteRange part,
                                  const TransactionScanSpec& spec) {
  TransactionScan scan;
  CsvLineCursor cursor(text, part);
  std::int64_t line_index = -1;
  CustomerBatcher customers(scan.customers);
  CsvLineSplitter splitter(spec.delimiter);
  const TransactionColumns& columns = spec.columns;
  const auto bad = [&](int column, const std::string& what) {
    record_bad_row(scan.bad_rows, scan.reported_bad_rows, spec.column_labels, line_index, column,
                   what);
  };
  while (auto line = cursor.next()) {
    ++line_index;
    if (spec.on_progress && line_index > 0 && line_index % spec.progress_every_lines == 0) {
      spec.on_progress(line_index, cursor.position() - part.begin);
    }
    // The header (and blank lines before it) is numbered but not read.
    if (cursor.line_offset() < spec.data_begin) continue;
    if (cursor.line_offset() == 0) line->remove_prefix(byte_order_mark_length(*line));
    if (is_blank_line(*line)) continue;
    if (const auto problem = splitter.split(*line)) {
      bad(problem->field - 1, problem->what);
    } else if (splitter.fields().size() != spec.field_count) {
      bad(-1, "expected " + std::to_string(spec.field_count) + " fields, found " +
                  std::to_string(splitter.fields().size()));
    } else {
      const auto& fields = splitter.fields();
      const std::string_view customer = fields[columns.customer];
      const std::optional<std::int32_t> day = parse_date(fields[columns.date]);
      std::optional<double> amount = parse_finite_number(fields[columns.amount]);
      std::optional<double> quantity =
          columns.quantity >= 0 ? parse_finite_number(fields[columns.quantity]) : 1.0;
      if (customer.empty()) {
        bad(columns.customer, "the customer id is empty");
      } else if (!day) {
        bad(columns.date, quote_field(fields[columns.date]) +
                              " is not a date (expected YYYY-MM-DD, ISO 8601 or YYYYMMDD)");
      } else if (!amount) {
        bad(columns.amount, quote_field(fields[columns.amount]) + " is not a finite number");
      } else if (!quantity) {
        bad(columns.quantity, quote_field(fields[columns.quantity]) + " is not a finite number");
      } else {
        // The money column is the row's total, or with --unit-price-column a price per unit;
        // the quantity is always counted as units.
        const double value = columns.unit_price ? *amount * *quantity : *amount;
        const double units = columns.quantity >= 0 ? *quantity : 0.0;
        count_transaction(scan, spec, customers, customer, *day, {value, units});
        continue;
      }
    }
    if (!spec.skip_bad_rows) break;
  }
  customers.flush();
  // Lines after a stop still count, for the numbering of the ranks after this one.
  scan.lines = line_index + 1 + count_lines(text, {cursor.position(), part.end});
  return scan;
}

}  // namespace microseg::io
