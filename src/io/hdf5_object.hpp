#pragma once
// Private to src/io: the small HDF5 object layer every reader and writer stands on, and the only
// code besides hdf5_rows.* that calls HDF5. Each raw call is wrapped once, in a few lines that
// check its status and keep HDF5's innermost message of a failure (see with_hdf5_detail()).
//
// - Opening and reading report a failure as an empty optional or `false`: each reader words its
//   own messages (naming the run, the file, the dataset), so it decides what to throw.
// - Creating groups and datasets and writing attributes are collective metadata calls: every
//   rank makes them alike, so a failure strikes every rank alike and they throw InputError
//   naming the output file.
// - Raw-data writes return `false`, since a failure may strike one rank alone while the others
//   wait in the collective that follows; OutputFile (output_file.hpp) notes the first one.
#include <hdf5.h>
#include <mpi.h>

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "hdf5_handle.hpp"

namespace microseg::io::detail {

/// " (HDF5: <message>)" with HDF5's innermost (most specific) message about the last call of
/// this layer on this thread, when that call failed; "" otherwise. Appended to our messages.
std::string with_hdf5_detail();

/// "major.minor.release" of the HDF5 library in use.
std::string linked_hdf5_version();

/// The HDF5 types of a C++ value: little-endian in files (so files read alike on every
/// machine), native in memory.
template <class T>
struct Stored;
template <>
struct Stored<double> {
  static hid_t file() { return H5T_IEEE_F64LE; }
  static hid_t memory() { return H5T_NATIVE_DOUBLE; }
};
template <>
struct Stored<float> {
  static hid_t file() { return H5T_IEEE_F32LE; }
  static hid_t memory() { return H5T_NATIVE_FLOAT; }
};
template <>
struct Stored<std::int64_t> {
  static hid_t file() { return H5T_STD_I64LE; }
  static hid_t memory() { return H5T_NATIVE_INT64; }
};
template <>
struct Stored<std::int32_t> {
  static hid_t file() { return H5T_STD_I32LE; }
  static hid_t memory() { return H5T_NATIVE_INT32; }
};
template <>
struct Stored<std::int8_t> {
  static hid_t file() { return H5T_STD_I8LE; }
  static hid_t memory() { return H5T_NATIVE_INT8; }
};

/// The class of a dataset's or attribute's values and its extents ({} for a scalar).
struct Shape {
  H5T_class_t type_class = H5T_NO_CLASS;
  std::vector<hsize_t> dims;
  std::size_t type_size = 0;  ///< bytes per value as stored
  bool type_signed = false;   ///< an integer type with a sign
  hsize_t elements() const;
};

/// Where a dataset's values lie in its file, for the checks made before reading them.
struct Storage {
  H5D_layout_t layout = H5D_LAYOUT_ERROR;
  haddr_t address = HADDR_UNDEF;  ///< contiguous: the values' first byte (undefined: none)
  std::vector<hsize_t> chunk;     ///< chunked: the extent of a chunk, one per dimension
  hsize_t stored_chunks = 0;      ///< chunked: the entries of the chunk index
  int filters = 0;                ///< filters (compression, checksums) every chunk passes
  hsize_t file_bytes = 0;         ///< the file's size
};

/// A chunk's place in the file, as its index entry says.
struct StoredChunk {
  haddr_t address = HADDR_UNDEF;
  hsize_t bytes = 0;
};

/// One member of a compound type: its name, its byte offset and its HDF5 type.
struct CompoundMember {
  const char* name;
  std::size_t offset;
  hid_t type;
};

/// A datatype made here (strings, compounds), closed with its owner.
class Datatype {
 public:
  /// Fixed-length UTF-8 strings of `width` bytes (at least 1), NUL-padded: parallel HDF5
  /// cannot write variable-length data, and h5py reads them as bytes.
  static Datatype fixed_utf8(std::size_t width);
  /// A compound of `size` bytes with the given members.
  static Datatype compound(std::size_t size, const std::vector<CompoundMember>& members);
  hid_t id() const { return handle_.get(); }
  std::size_t size() const;

 private:
  explicit Datatype(hid_t id) : handle_(id) {}
  DatatypeHandle handle_;
};

/// The longest of `texts` in bytes (0 when none).
std::size_t longest(const std::vector<std::string>& texts);
/// `texts` as fixed-length strings of `width` bytes, NUL-padded (one empty slot when none).
std::vector<char> pack_fixed(const std::vector<std::string>& texts, std::size_t width);

/// An attribute opened for reading.
class Attribute {
 public:
  explicit Attribute(hid_t id) : handle_(id) {}
  /// nullopt when HDF5 cannot tell its type or dataspace.
  std::optional<Shape> shape() const;
  /// A numeric scalar, converted by HDF5 to T.
  template <class T>
  std::optional<T> read() const {
    T value{};
    if (!read_raw(Stored<T>::memory(), &value)) return std::nullopt;
    return value;
  }
  /// Every string of a string attribute (scalar or array; fixed- or variable-length, ASCII or
  /// UTF-8, as h5py or microseg stored it). Space padding is trimmed. nullopt when unreadable.
  std::optional<std::vector<std::string>> read_strings() const;
  /// Every value, converted by HDF5 to `memory_type` (an array attribute too).
  bool read_raw(hid_t memory_type, void* value) const;
  /// Every value of a numeric attribute (scalar or array), converted by HDF5 to T.
  template <class T>
  std::optional<std::vector<T>> read_all() const {
    const std::optional<Shape> found = shape();
    if (!found) return std::nullopt;
    std::vector<T> values(found->elements());
    if (!values.empty() && !read_raw(Stored<T>::memory(), values.data())) return std::nullopt;
    return values;
  }

 private:
  AttributeHandle handle_;
};

/// Anything that holds attributes: a file (its root group), a group or a dataset. Owns its
/// identifier; `file_name` names the file in messages.
class Object {
 public:
  using Close = herr_t (*)(hid_t);
  /// Takes `id`, closed with `close` (none: a view that does not own it).
  Object(hid_t id, Close close, std::shared_ptr<const std::string> file_name);
  Object(Object&& other) noexcept;
  Object& operator=(Object&& other) noexcept;
  Object(const Object&) = delete;
  Object& operator=(const Object&) = delete;
  ~Object();

  hid_t id() const { return id_; }
  const std::shared_ptr<const std::string>& file_name() const { return file_name_; }

  bool has_attribute(const std::string& name) const;
  /// Whether the attribute exists; nullopt when HDF5 cannot tell (a damaged object header),
  /// which an input reader must not take for "absent".
  std::optional<bool> attribute_exists(const std::string& name) const;
  std::optional<Attribute> open_attribute(const std::string& name) const;
  /// The names of every attribute, in name order.
  std::vector<std::string> attribute_names() const;

  /// Collective (every rank writes the same value). Strings are variable-length UTF-8, what h5py
  /// reads back as str. Throws InputError naming the attribute and the file.
  void write_attribute(const std::string& name, double value) const;
  void write_attribute(const std::string& name, std::int64_t value) const;
  void write_attribute(const std::string& name, const std::string& value) const;
  void write_attribute(const std::string& name, const std::vector<std::string>& values) const;
  void write_attribute(const std::string& name, const std::vector<std::int64_t>& values) const;

 protected:
  /// Closes now and reports HDF5's status (a file close is where buffered writes fail).
  bool close_now();

 private:
  void write_attribute(const std::string& name, hid_t file_type, hid_t memory_type, hid_t space,
                       const void* data) const;
  hid_t id_ = H5I_INVALID_HID;
  Close close_ = nullptr;
  std::shared_ptr<const std::string> file_name_;
};

/// A dataset. Whole-dataset reads and writes are made by this process alone; the collective
/// writes are named so.
class Dataset : public Object {
 public:
  using Object::Object;
  /// nullopt when HDF5 cannot tell its type or dataspace.
  std::optional<Shape> shape() const;
  /// The whole dataset, converted by HDF5 to `memory_type`.
  bool read(hid_t memory_type, void* values) const;
  template <class T>
  bool read(T* values) const {
    return read(Stored<T>::memory(), values);
  }
  /// Every value of a dataset of any shape; an empty one is not read.
  template <class T>
  std::optional<std::vector<T>> read_all() const {
    const std::optional<Shape> found = shape();
    if (!found) return std::nullopt;
    std::vector<T> values(found->elements());
    if (!values.empty() && !read(values.data())) return std::nullopt;
    return values;
  }
  /// Every string of a string dataset, as Attribute::read_strings.
  std::optional<std::vector<std::string>> read_strings() const;
  /// Where the values are stored, as the layout and the chunk index say; nullopt when HDF5
  /// cannot tell.
  std::optional<Storage> storage() const;
  /// The chunk whose first element is at `offset`; nullopt when it is not stored or its index
  /// entry cannot be read.
  std::optional<StoredChunk> chunk_at(const std::vector<hsize_t>& offset) const;
  /// Every value's bytes as stored in the file (its own type, e.g. a compound's packed members).
  std::optional<std::vector<unsigned char>> read_stored_bytes() const;
  /// Part of the dataset (hdf5_rows.cpp makes the selections).
  struct Selection {
    hid_t memory_type, memory_space, file_space, transfer;
  };
  bool read_selection(const Selection& selection, void* values) const;

  /// The whole dataset from this process alone (a file without MPI-IO).
  bool write(hid_t memory_type, const void* data) const;
  /// Collective: the whole dataset from the root's `data`; the other ranks take part with empty
  /// selections (raw data of any layout may be written by one rank, unlike metadata).
  bool write_from_root(hid_t memory_type, bool is_root, const void* data) const;
  /// Collective: rows [begin, begin + count) of a 1-D dataset, or of every column of a 2-D one,
  /// from `data` (row-major). A rank with count 0 takes part with an empty selection.
  bool write_rows(hid_t memory_type, std::int64_t begin, std::int64_t count,
                  const void* data) const;
};

class Group;

/// What a link of a group leads to.
enum class ObjectKind { unopenable, group, dataset, other };
/// The order in which a group lists its links: by name (HDF5's default) or, as h5py's
/// track_order=True, by creation.
enum class LinkOrder { by_name, by_creation };
/// Row datasets are chunked (a chunk holds up to 65536 rows and about 4 MiB) and never filled,
/// since every row is written once; small ones are contiguous.
enum class Layout { row_chunks, contiguous };

/// A file's root or a group: what holds links.
class Location : public Object {
 public:
  using Object::Object;
  /// Whether a link `name` (a name or a path, relative or absolute) exists.
  bool has_link(const std::string& name) const;
  /// Whether every link along `path` exists (a missing parent group is no error).
  bool has_path(const std::string& path) const;
  ObjectKind kind_of(const std::string& name) const;
  std::optional<Group> open_group(const std::string& name) const;
  std::optional<Dataset> open_dataset(const std::string& name) const;
  /// Link names in the order h5py lists them: creation order where the group tracks it,
  /// otherwise alphabetical. nullopt when HDF5 cannot list them all (a damaged group).
  std::optional<std::vector<std::string>> link_names() const;

  /// Collective metadata: every rank calls them with the same arguments. Throw InputError naming
  /// the object and the file.
  Group create_group(const std::string& name, LinkOrder order = LinkOrder::by_name) const;
  /// A dataset of `dims` (1-D or more) of `file_type`.
  Dataset create_dataset(const std::string& name, hid_t file_type, const std::vector<hsize_t>& dims,
                         Layout layout) const;
};

class Group : public Location {
 public:
  using Location::Location;
};

/// How a file is opened: plain HDF5 (as HDF5's defaults), plain with shared read locks (small
/// files every rank reads on its own), or MPI-IO over `comm` (collective).
struct FileAccess {
  enum class Driver { plain, shared_lock, mpi_io };
  Driver driver = Driver::plain;
  MPI_Comm comm = MPI_COMM_NULL;
  static FileAccess plain() { return {Driver::plain, MPI_COMM_NULL}; }
  static FileAccess shared_lock() { return {Driver::shared_lock, MPI_COMM_NULL}; }
  static FileAccess mpi_io(MPI_Comm comm) { return {Driver::mpi_io, comm}; }
};

/// An HDF5 file; as a Location, its root group. Opening or creating with MPI-IO is collective,
/// and so is closing.
class File : public Location {
 public:
  using Location::Location;
  /// Opens `path` read-only; nullopt when HDF5 cannot.
  static std::optional<File> open(const std::string& path, const FileAccess& access);
  /// Creates `path`, truncating a stale one; `name` names the file in messages (an output's
  /// final name). nullopt when HDF5 cannot.
  static std::optional<File> create(const std::string& path, const std::string& name,
                                    const FileAccess& access);
  /// The root group as a group (not owned: the file closes it).
  Group root() const;
  /// Closes now; false when HDF5 reports a failure (where buffered writes fail).
  bool close() { return close_now(); }
};

}  // namespace microseg::io::detail
