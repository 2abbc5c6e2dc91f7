#include "microseg/io/csv_file.hpp"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "microseg/io/csv_values.hpp"

namespace microseg::io {

MappedCsvFile::MappedCsvFile(const std::string& path) : path_(path) {
  const int descriptor = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (descriptor < 0) {
    const int error = errno;
    if (error == ENOENT) throw InputError("input file '" + path + "' does not exist");
    throw InputError("cannot open input file '" + path + "': " + std::strerror(error));
  }
  struct stat status {};
  if (::fstat(descriptor, &status) != 0 || !S_ISREG(status.st_mode)) {
    ::close(descriptor);
    throw InputError("input file '" + path + "' is not a regular file");
  }
  size_ = static_cast<std::size_t>(status.st_size);
  if (size_ > 0) {
    mapping_ = ::mmap(nullptr, size_, PROT_READ, MAP_PRIVATE, descriptor, 0);
    if (mapping_ == MAP_FAILED) {
      const int error = errno;
      ::close(descriptor);
      mapping_ = nullptr;
      throw InputError("cannot read input file '" + path + "': " + std::strerror(error));
    }
    data_ = static_cast<const char*>(mapping_);
  }
  ::close(descriptor);  // the mapping stays valid
}

MappedCsvFile::~MappedCsvFile() {
  if (mapping_ != nullptr) ::munmap(mapping_, size_);
}

void MappedCsvFile::will_read(ByteRange range) const {
  if (mapping_ == nullptr || range.size() == 0) return;
  // madvise wants a page-aligned start.
  const auto page = static_cast<std::size_t>(::sysconf(_SC_PAGESIZE));
  const std::size_t begin = range.begin / page * page;
  ::madvise(static_cast<char*>(mapping_) + begin, range.end - begin, MADV_SEQUENTIAL);
  ::madvise(static_cast<char*>(mapping_) + begin, range.end - begin, MADV_WILLNEED);
}

int resolve_csv_column(const CsvHead& head, bool has_header, const std::string& option,
                       const std::string& value, const std::string& path) {
  const int count = static_cast<int>(head.fields.size());
  if (has_header) {
    for (int i = 0; i < count; ++i) {
      if (head.fields[i] == value) return i;
    }
    std::string names;
    for (const auto& name : head.fields) names += (names.empty() ? "'" : ", '") + name + "'";
    throw InputError("option --" + option + ": column '" + value + "' is not in the header of '" +
                     path + "' (line " + std::to_string(head.line) + ": " + names +
                     "); for a file without a header use --no-header and name columns by "
                     "position");
  }
  const auto position = parse_int64(value);
  if (!position || *position < 1 || *position > count) {
    throw InputError("option --" + option + ": '" + value + "' is not a column position of '" +
                     path +
                     "' (with --no-header, columns "
                     "are named by position 1 to " +
                     std::to_string(count) + ")");
  }
  return static_cast<int>(*position - 1);
}

}  // namespace microseg::io
