#include "output_file.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <system_error>
#include <variant>

#include "microseg/core/types.hpp"
#include "microseg/distributed/fault_injection.hpp"

namespace microseg::io::detail {
namespace fs = std::filesystem;

namespace {

// Customer data is personal: owner read/write, group read, nobody else (0640).
constexpr fs::perms output_permissions =
    fs::perms::owner_read | fs::perms::owner_write | fs::perms::group_read;

File create_file(const PendingOutputs& outputs, const std::string& temporary,
                 const std::string& final_path, OutputFile::Driver driver) {
  const FileAccess access = driver == OutputFile::Driver::mpi_io
                                ? FileAccess::mpi_io(outputs.comm().native())
                                : FileAccess::plain();
  std::optional<File> file = File::create(temporary, final_path, access);
  if (!file) {
    throw InputError("cannot create output file '" + final_path + "' (written first as '" +
                     temporary + "')" + with_hdf5_detail());
  }
  return std::move(*file);
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// PendingOutputs

PendingOutputs::~PendingOutputs() {
  if (committed_ || !comm_.is_root()) return;
  for (const auto& [temporary, final_path] : files_) {
    std::error_code ignored;
    fs::remove(temporary, ignored);
  }
}

std::string PendingOutputs::add(const std::string& final_path) {
  const fs::path target(final_path);
  fs::path temporary = target.parent_path() / ("." + target.filename().string() + ".partial");
  files_.emplace_back(temporary, target);
  return temporary.string();
}

void PendingOutputs::protect(const std::string& temporary) const {
  if (!comm_.is_root()) return;
  std::error_code ignored;  // commit() sets the mode again and reports failures there
  fs::permissions(temporary, output_permissions, fs::perm_options::replace, ignored);
}

void PendingOutputs::commit(const std::optional<std::string>& local_error, const char* stage) {
  // Tests fail one rank here, where every output is complete under its temporary name and
  // nothing is in place yet: the moment a failure must not leave a file that looks complete.
  distributed::maybe_inject_failure(comm_, stage);
  comm_.agree(local_error);
  // Rank 0 may finish that agreement without every rank being alive: a rank that gave up
  // waiting (its stall watchdog) may have sent its flag before it exited, and a stopped rank
  // that mpiexec wakes to end it sends the last one. Rank 0 renames only once every rank has
  // answered after hearing the verdict, which a rank that exited never does.
  comm_.barrier();
  std::optional<std::string> error;
  if (comm_.is_root()) {
    for (const auto& [temporary, final_path] : files_) {
      std::error_code code;
      fs::permissions(temporary, output_permissions, fs::perm_options::replace, code);
      if (!code) fs::rename(temporary, final_path, code);
      if (code) {
        error = "cannot move the finished output '" + temporary.string() + "' into place as '" +
                final_path.string() + "': " + code.message();
        break;
      }
    }
    committed_ = !error;
  }
  comm_.agree(error);
}

TextOutput::TextOutput(const PendingOutputs& outputs, const PendingFile& file)
    : final_path_(file.final_path), out_(file.temporary, std::ios::trunc) {
  outputs.protect(file.temporary);
}

void TextOutput::close() {
  out_.close();
  if (!out_) throw InputError("cannot write output file '" + final_path_ + "'");
}

void write_text_in_rank_order(const PendingFile& file, const PendingOutputs& pending,
                              const std::string& text, std::optional<std::string>& error) {
  const distributed::Communicator& comm = pending.comm();
  const std::int64_t offset = comm.exclusive_prefix_sum(static_cast<std::int64_t>(text.size()));
  bool created = true;
  if (comm.is_root()) {
    const int descriptor = ::open(file.temporary.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0640);
    created = descriptor >= 0;
    if (created) ::close(descriptor);
    pending.protect(file.temporary);
  }
  const std::string failure = "cannot write output file '" + file.final_path + "'";
  if (comm.any(!created)) {
    if (!error) error = failure;
    return;
  }
  const int descriptor = ::open(file.temporary.c_str(), O_WRONLY);
  bool written = descriptor >= 0;
  for (std::size_t done = 0; written && done < text.size();) {
    const ssize_t step = ::pwrite(descriptor, text.data() + done, text.size() - done,
                                  static_cast<off_t>(offset) + static_cast<off_t>(done));
    written = step > 0;
    if (written) done += static_cast<std::size_t>(step);
  }
  if (descriptor >= 0 && ::close(descriptor) != 0) written = false;
  if (!written && !error) error = failure;
}

std::optional<std::string> output_location_problem(const std::string& final_path) {
  const fs::path target(final_path);
  const fs::path directory = target.parent_path().empty() ? fs::path(".") : target.parent_path();
  std::error_code code;
  if (target.filename().empty()) {
    return "output path '" + final_path + "' names a directory, not a file";
  }
  if (!fs::is_directory(directory, code)) {
    return "cannot write output file '" + final_path + "': directory '" + directory.string() +
           "' does not exist";
  }
  if (fs::is_directory(target, code)) {
    return "cannot write output file '" + final_path + "': it is an existing directory";
  }
  return std::nullopt;
}

// ---------------------------------------------------------------------------------------------
// OutputFile

OutputFile::OutputFile(const PendingOutputs& outputs, const std::string& temporary,
                       const std::string& final_path, Driver driver)
    : final_path_(final_path),
      is_root_(outputs.comm().is_root()),
      driver_(driver),
      file_(create_file(outputs, temporary, final_path, driver)) {
  outputs.protect(temporary);
}

OutputGroup OutputFile::root() {
  return OutputGroup(*this, file_.root(), "");
}

void OutputFile::note(bool written, const std::string& object) {
  if (written || error_) return;
  error_detail_ = with_hdf5_detail();
  error_ = "cannot write " + object + " of output file '" + final_path_ + "'" + error_detail_;
}

std::optional<std::string> OutputFile::finish() {
  note(close(), "the end");
  return error_;
}

// ---------------------------------------------------------------------------------------------
// OutputGroup

OutputGroup::OutputGroup(OutputFile& file, Group group, std::string path)
    : file_(&file), group_(std::move(group)), path_(std::move(path)) {}

OutputGroup OutputGroup::create_group(const std::string& name, LinkOrder order) const {
  return OutputGroup(*file_, group_.create_group(name, order), path_of(name));
}

void OutputGroup::attributes(const RunAttributes& values) const {
  for (const auto& [name, value] : values) {
    std::visit([&, &name = name](const auto& v) { group_.write_attribute(name, v); }, value);
  }
}

Dataset OutputGroup::write(const std::string& name, ElementTypes types,
                           const std::vector<hsize_t>& dims, const void* data) const {
  Dataset dataset = group_.create_dataset(name, types.file, dims, Layout::contiguous);
  hsize_t elements = 1;
  for (hsize_t extent : dims) elements *= extent;
  // HDF5 refuses raw-data writes to an empty dataset; there is nothing to write anyway.
  if (elements == 0) return dataset;
  const bool written = file_->driver() == OutputFile::Driver::plain
                           ? dataset.write(types.memory, data)
                           : dataset.write_from_root(types.memory, file_->is_root(), data);
  file_->note(written, path_of(name));
  return dataset;
}

Dataset OutputGroup::write_strings(const std::string& name,
                                   const std::vector<std::string>& values) const {
  const Datatype type = Datatype::fixed_utf8(longest(values));
  const std::vector<char> packed = pack_fixed(values, type.size());
  return write(name, {type.id(), type.id()}, {values.size()}, packed.data());
}

Dataset OutputGroup::write_rows(const std::string& name, const RowBlock& rows, ElementTypes types,
                                const void* data) const {
  std::vector<hsize_t> dims{rows.total};
  if (rows.width > 0) dims.push_back(rows.width);
  Dataset dataset = group_.create_dataset(name, types.file, dims, Layout::row_chunks);
  if (rows.total == 0) return dataset;  // no rows: an empty dataset takes no raw-data write
  file_->note(dataset.write_rows(types.memory, rows.begin, rows.count, data), path_of(name));
  return dataset;
}

}  // namespace microseg::io::detail
