#pragma once
/// \file A CSV file mapped into memory, and the columns the options name in it.
#include <string>
#include <string_view>

#include "microseg/core/types.hpp"
#include "microseg/io/csv_reader.hpp"

namespace microseg::io {

/// A whole file mapped read-only into memory. Each rank maps the file and reads only its part,
/// so pages outside the part are never touched.
class MappedCsvFile {
 public:
  /// Throws InputError naming the file when it is missing, a directory or unreadable.
  explicit MappedCsvFile(const std::string& path);
  ~MappedCsvFile();
  MappedCsvFile(const MappedCsvFile&) = delete;
  MappedCsvFile& operator=(const MappedCsvFile&) = delete;

  std::string_view text() const { return {data_, size_}; }
  const std::string& path() const { return path_; }
  /// Asks the kernel to read `range` ahead, sequentially.
  void will_read(ByteRange range) const;

 private:
  std::string path_;
  const char* data_ = "";
  std::size_t size_ = 0;
  void* mapping_ = nullptr;
};

/// The 0-based field named by an option: by header name when the file has a header, else by
/// 1-based position. Throws InputError naming the option, the file and the columns there are.
int resolve_csv_column(const CsvHead& head, bool has_header, const std::string& option,
                       const std::string& value, const std::string& path);

}  // namespace microseg::io
