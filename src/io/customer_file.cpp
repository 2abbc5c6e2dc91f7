#include "customer_file.hpp"

#include <algorithm>
#include <filesystem>
#include <limits>
#include <system_error>

#include "microseg/core/types.hpp"

namespace microseg::io::detail {
namespace {

// a × b, or nullopt when the product overflows.
std::optional<hsize_t> times(hsize_t a, hsize_t b) {
  if (b != 0 && a > std::numeric_limits<hsize_t>::max() / b) return std::nullopt;
  return a * b;
}

// Whether [address, address + bytes) lies inside a file of `file_bytes` bytes.
bool inside(haddr_t address, hsize_t bytes, hsize_t file_bytes) {
  return address <= file_bytes && bytes <= file_bytes - address;
}

std::string at_element(const std::vector<hsize_t>& offset) {
  std::string text;
  for (hsize_t index : offset) text += (text.empty() ? "" : ", ") + std::to_string(index);
  return "at element (" + text + ")";
}

// Every chunk of the grid a chunked dataset of `dims` needs, in the index and inside the file.
void check_chunks(const Dataset& dataset, const Shape& shape, const Storage& storage,
                  const std::string& damaged) {
  const std::vector<hsize_t>& dims = shape.dims;
  if (storage.chunk.size() != dims.size()) {
    throw InputError(damaged + "its chunks have " + std::to_string(storage.chunk.size()) +
                     " dimensions, the dataset " + std::to_string(dims.size()));
  }
  std::optional<hsize_t> grid = 1, chunk_bytes = shape.type_size;
  for (std::size_t d = 0; d < dims.size() && grid && chunk_bytes; ++d) {
    if (storage.chunk[d] == 0) throw InputError(damaged + "a chunk dimension is 0");
    grid = times(*grid, dims[d] / storage.chunk[d] + (dims[d] % storage.chunk[d] != 0));
    chunk_bytes = times(*chunk_bytes, storage.chunk[d]);
  }
  if (!grid || !chunk_bytes || *grid != storage.stored_chunks) {
    throw InputError(damaged + "its chunk index lists " + std::to_string(storage.stored_chunks) +
                     " chunks, but its extent " + describe_dims(dims) + " needs " +
                     (grid ? std::to_string(*grid) : std::string("more than 2^64")));
  }
  std::vector<hsize_t> offset(dims.size(), 0);
  std::vector<std::pair<haddr_t, hsize_t>> extents;  // (address, bytes) of every chunk
  for (hsize_t c = 0; c < *grid; ++c) {
    hsize_t rest = c;
    for (std::size_t d = dims.size(); d-- > 0;) {
      const hsize_t across = dims[d] / storage.chunk[d] + (dims[d] % storage.chunk[d] != 0);
      offset[d] = rest % across * storage.chunk[d];
      rest /= across;
    }
    const std::optional<StoredChunk> chunk = dataset.chunk_at(offset);
    if (!chunk) {
      throw InputError(damaged + "its chunk " + at_element(offset) +
                       " is missing from the chunk index" + with_hdf5_detail());
    }
    // Uncompressed numbers fill their chunk exactly; compressed or variable-length values
    // take what they take.
    const bool exact = storage.filters == 0 && is_numeric(shape.type_class);
    if (!inside(chunk->address, chunk->bytes, storage.file_bytes) ||
        (exact && chunk->bytes != *chunk_bytes)) {
      throw InputError(
          damaged + "its chunk " + at_element(offset) + " of " + std::to_string(chunk->bytes) +
          " bytes at byte " + std::to_string(chunk->address) + " does not fit " +
          (exact ? std::to_string(*chunk_bytes) + " bytes of values" : std::string("the values")) +
          " into the file's " + std::to_string(storage.file_bytes) + " bytes");
    }
    extents.emplace_back(chunk->address, chunk->bytes);
  }
  // Two entries naming the same bytes make the rows of one chunk another's; HDF5's collective
  // read also refuses chunks out of file order on one rank while another rank's part succeeds.
  std::sort(extents.begin(), extents.end());
  for (std::size_t i = 1; i < extents.size(); ++i) {
    if (extents[i - 1].first + extents[i - 1].second > extents[i].first) {
      throw InputError(damaged + "two entries of its chunk index overlap at byte " +
                       std::to_string(extents[i].first));
    }
  }
}

}  // namespace

std::string describe_class(H5T_class_t type_class) {
  switch (type_class) {
    case H5T_INTEGER:
      return "integers";
    case H5T_FLOAT:
      return "floating-point numbers";
    case H5T_STRING:
      return "strings";
    case H5T_ENUM:
      return "an enumeration (h5py stores booleans this way)";
    case H5T_COMPOUND:
      return "a compound type";
    case H5T_BITFIELD:
      return "a bit field";
    case H5T_OPAQUE:
      return "opaque data";
    case H5T_REFERENCE:
      return "object references";
    case H5T_VLEN:
      return "variable-length sequences";
    case H5T_ARRAY:
      return "fixed-size arrays";
    default:
      return "an unknown type";
  }
}

std::string describe_dims(const std::vector<hsize_t>& dims) {
  if (dims.empty()) return "a scalar";
  std::string text = std::to_string(dims.size()) + "-D (";
  for (std::size_t i = 0; i < dims.size(); ++i) {
    text += (i > 0 ? " × " : "") + std::to_string(dims[i]);
  }
  return text + ")";
}

bool is_numeric(H5T_class_t type_class) {
  return type_class == H5T_INTEGER || type_class == H5T_FLOAT;
}

std::string in_file(const std::string& object, const std::string& path) {
  return object + " in '" + path + "'";
}

std::string customers_path(const std::string& name) {
  return "/customers/" + name;
}

File open_input_file(const std::string& path, MPI_Comm comm) {
  std::error_code code;
  if (!std::filesystem::exists(path, code)) {
    throw InputError("input file '" + path + "' does not exist");
  }
  if (std::filesystem::is_directory(path, code)) {
    throw InputError("input file '" + path + "' is a directory, not an HDF5 file");
  }
  std::optional<File> file = File::open(path, FileAccess::mpi_io(comm));
  if (!file) {
    throw InputError("input file '" + path + "' is not a readable HDF5 file" + with_hdf5_detail());
  }
  return std::move(*file);
}

Group open_customers_group(const File& file, const std::string& path) {
  if (!file.has_link("customers")) {
    throw InputError("input file '" + path +
                     "' has no group /customers (expected /customers/id and the features)");
  }
  std::optional<Group> group = file.open_group("customers");
  if (!group) throw InputError(in_file("/customers", path) + " is not a group");
  return std::move(*group);
}

Dataset open_customers_dataset(const Group& customers, const std::string& name,
                               const std::string& path) {
  std::optional<Dataset> dataset = customers.open_dataset(name);
  if (!dataset) {
    throw InputError(in_file(customers_path(name), path) + " cannot be opened as a dataset" +
                     with_hdf5_detail());
  }
  return std::move(*dataset);
}

Shape shape_of(const Dataset& dataset, const std::string& object, const std::string& path) {
  std::optional<Shape> shape = dataset.shape();
  if (!shape) {
    throw InputError("cannot read the type and shape of " + in_file(object, path) +
                     with_hdf5_detail());
  }
  return std::move(*shape);
}

void check_stored_values(const Dataset& dataset, const Shape& shape, const std::string& object,
                         const std::string& path) {
  const std::optional<Storage> storage = dataset.storage();
  if (!storage) {
    throw InputError("cannot read the storage layout of " + in_file(object, path) +
                     with_hdf5_detail());
  }
  const std::string damaged = in_file(object, path) + " is damaged: ";
  std::optional<hsize_t> bytes = shape.type_size;
  for (hsize_t extent : shape.dims) bytes = bytes ? times(*bytes, extent) : std::nullopt;
  if (storage->layout == H5D_CHUNKED) {
    check_chunks(dataset, shape, *storage, damaged);
  } else if (storage->layout == H5D_CONTIGUOUS && is_numeric(shape.type_class) &&
             bytes != hsize_t{0}) {
    // No address: never written, so HDF5 would hand out fill values as customers' data.
    if (storage->address == HADDR_UNDEF) {
      throw InputError(damaged + "its values were never written (no storage is allocated)");
    }
    if (!bytes || !inside(storage->address, *bytes, storage->file_bytes)) {
      throw InputError(damaged + "its values (" + describe_dims(shape.dims) + " of " +
                       std::to_string(shape.type_size) + " bytes) at byte " +
                       std::to_string(storage->address) + " run past the end of the file (" +
                       std::to_string(storage->file_bytes) + " bytes)");
    }
  }
}

}  // namespace microseg::io::detail
