#include "hdf5_object.hpp"

#include <algorithm>
#include <utility>

#include "microseg/core/types.hpp"
#include "microseg/distributed/stall_watchdog.hpp"

namespace microseg::io::detail {
namespace {

constexpr hsize_t max_chunk_rows = 65536;
constexpr hsize_t max_chunk_bytes = hsize_t{4} << 20;

// HDF5's innermost message about the last checked call on this thread, when it failed.
thread_local std::string last_failure;

std::string innermost_message() {
  std::string detail;
  H5Ewalk2(
      H5E_DEFAULT, H5E_WALK_UPWARD,
      [](unsigned, const H5E_error2_t* error, void* text) -> herr_t {
        auto& out = *static_cast<std::string*>(text);
        if (out.empty() && error->desc != nullptr) out = error->desc;
        return 0;
      },
      &detail);
  return detail;
}

// Every fallible raw call passes its status through here: HDF5 clears its error stack at the next
// call, so the message of a failure is kept now. A success clears it, as HDF5 does.
template <class Status>
Status checked(Status status) {
  last_failure = status < 0 ? innermost_message() : std::string();
  return status;
}

DataspaceHandle simple_dataspace(const std::vector<hsize_t>& dims) {
  return DataspaceHandle(H5Screate_simple(static_cast<int>(dims.size()), dims.data(), nullptr));
}

// Variable-length UTF-8 strings: what h5py reads back as Python str.
DatatypeHandle variable_utf8() {
  DatatypeHandle type(H5Tcopy(H5T_C_S1));
  H5Tset_size(type.get(), H5T_VARIABLE);
  H5Tset_cset(type.get(), H5T_CSET_UTF8);
  return type;
}

// The datatype and dataspace of an attribute or a dataset; the dataspace is invalid when either
// cannot be had (with_hdf5_detail() then names the failure).
struct TypeAndSpace {
  DatatypeHandle type;
  DataspaceHandle space;
};

TypeAndSpace type_and_space(hid_t object, hid_t (*get_type)(hid_t), hid_t (*get_space)(hid_t)) {
  TypeAndSpace parts;
  parts.type = DatatypeHandle(checked(get_type(object)));
  if (parts.type.valid()) parts.space = DataspaceHandle(checked(get_space(object)));
  return parts;
}

// Whether a numeric type's bits, and a float's sign, exponent and mantissa, fit apart in its size:
// HDF5 1.10 converts a damaged float type by reading bits of the neighbouring values.
bool numeric_fields_fit(hid_t type) {
  const H5T_class_t type_class = H5Tget_class(type);
  if (type_class != H5T_INTEGER && type_class != H5T_FLOAT) return true;
  const std::size_t precision = H5Tget_precision(type);
  const int offset = H5Tget_offset(type);
  if (precision == 0 || offset < 0 || precision + offset > 8 * H5Tget_size(type)) return false;
  if (type_class == H5T_INTEGER) return true;
  std::size_t sign = 0, exponent = 0, exponent_bits = 0, mantissa = 0, mantissa_bits = 0;
  if (H5Tget_fields(type, &sign, &exponent, &exponent_bits, &mantissa, &mantissa_bits) < 0) {
    return false;
  }
  const auto apart = [](std::size_t a, std::size_t a_bits, std::size_t b, std::size_t b_bits) {
    return a + a_bits <= b || b + b_bits <= a;
  };
  return sign < precision && exponent + exponent_bits <= precision &&
         mantissa + mantissa_bits <= precision && apart(sign, 1, exponent, exponent_bits) &&
         apart(sign, 1, mantissa, mantissa_bits) &&
         apart(exponent, exponent_bits, mantissa, mantissa_bits);
}

std::optional<Shape> shape_of(hid_t type, hid_t space) {
  const int rank = checked(H5Sget_simple_extent_ndims(space));
  if (rank < 0) return std::nullopt;
  if (!numeric_fields_fit(type)) {
    last_failure = "its numeric type's bit fields overlap or lie outside its size";
    return std::nullopt;
  }
  Shape shape;
  shape.type_class = H5Tget_class(type);
  shape.type_size = H5Tget_size(type);
  shape.type_signed = shape.type_class == H5T_INTEGER && H5Tget_sign(type) == H5T_SGN_2;
  shape.dims.resize(static_cast<std::size_t>(rank));
  H5Sget_simple_extent_dims(space, shape.dims.data(), nullptr);
  return shape;
}

// The strings of an attribute or dataset of string type `type` and dataspace `space`; `read`
// reads all of it into memory of the given type.
template <class Read>
std::optional<std::vector<std::string>> read_strings(hid_t type, hid_t space, Read&& read) {
  const hssize_t points = checked(H5Sget_simple_extent_npoints(space));
  if (points < 0 || H5Tget_class(type) != H5T_STRING) return std::nullopt;
  const auto count = static_cast<std::size_t>(points);
  std::vector<std::string> values;
  if (count == 0) return values;
  DatatypeHandle memory_type(H5Tcopy(H5T_C_S1));
  H5Tset_cset(memory_type.get(), H5Tget_cset(type));
  if (H5Tis_variable_str(type) > 0) {
    H5Tset_size(memory_type.get(), H5T_VARIABLE);
    std::vector<char*> buffer(count, nullptr);
    if (checked(read(memory_type.get(), buffer.data())) < 0) return std::nullopt;
    for (char* text : buffer) values.emplace_back(text != nullptr ? text : "");
    H5Dvlen_reclaim(memory_type.get(), space, H5P_DEFAULT, buffer.data());
    return values;
  }
  // One byte more than stored, null-terminated, so every string ends within its slot.
  const std::size_t width = H5Tget_size(type) + 1;
  H5Tset_size(memory_type.get(), width);
  H5Tset_strpad(memory_type.get(), H5T_STR_NULLTERM);
  std::vector<char> buffer(count * width, '\0');
  if (checked(read(memory_type.get(), buffer.data())) < 0) return std::nullopt;
  const bool space_padded = H5Tget_strpad(type) == H5T_STR_SPACEPAD;
  for (std::size_t i = 0; i < count; ++i) {
    std::string text(buffer.data() + i * width);
    if (space_padded) text.erase(text.find_last_not_of(' ') + 1);
    values.push_back(std::move(text));
  }
  return values;
}

PropertyListHandle collective_transfer() {
  PropertyListHandle transfer(H5Pcreate(H5P_DATASET_XFER));
  H5Pset_dxpl_mpio(transfer.get(), H5FD_MPIO_COLLECTIVE);
  return transfer;
}

// The file access property list of `access`; invalid (HDF5's defaults) for plain access.
PropertyListHandle file_access(const FileAccess& access) {
  PropertyListHandle list;
  if (access.driver == FileAccess::Driver::plain) return list;
  list = PropertyListHandle(H5Pcreate(H5P_FILE_ACCESS));
  if (access.driver == FileAccess::Driver::mpi_io) {
    H5Pset_fapl_mpio(list.get(), access.comm, MPI_INFO_NULL);
  } else {
    H5Pset_file_locking(list.get(), true, true);
  }
  return list;
}

hid_t or_default(const PropertyListHandle& list) {
  return list.valid() ? list.get() : H5P_DEFAULT;
}

// Chunks of whole rows for a dataset of `dims` and element size `element_bytes`. A chunk may not
// exceed a fixed-size dimension, so an empty dataset gets none (and stays contiguous).
std::vector<hsize_t> row_chunk(const std::vector<hsize_t>& dims, hsize_t element_bytes) {
  if (dims.empty() || dims[0] == 0) return {};
  hsize_t row_bytes = element_bytes;
  for (std::size_t i = 1; i < dims.size(); ++i) row_bytes *= std::max<hsize_t>(dims[i], 1);
  std::vector<hsize_t> chunk(dims);
  chunk[0] = std::min({max_chunk_rows, std::max<hsize_t>(1, max_chunk_bytes / row_bytes), dims[0]});
  for (std::size_t i = 1; i < chunk.size(); ++i) chunk[i] = std::max<hsize_t>(chunk[i], 1);
  return chunk;
}

// HDF5 wants a buffer even for an empty selection.
const char empty_selection_buffer = 0;

}  // namespace

std::string with_hdf5_detail() {
  return last_failure.empty() ? std::string() : " (HDF5: " + last_failure + ")";
}

std::string linked_hdf5_version() {
  unsigned major = 0, minor = 0, release = 0;
  H5get_libversion(&major, &minor, &release);
  return std::to_string(major) + "." + std::to_string(minor) + "." + std::to_string(release);
}

hsize_t Shape::elements() const {
  hsize_t count = 1;
  for (hsize_t extent : dims) count *= extent;
  return count;
}

// ---------------------------------------------------------------------------------------------
// Types and strings

Datatype Datatype::fixed_utf8(std::size_t width) {
  Datatype type(H5Tcopy(H5T_C_S1));
  H5Tset_size(type.id(), std::max<std::size_t>(width, 1));
  H5Tset_cset(type.id(), H5T_CSET_UTF8);
  H5Tset_strpad(type.id(), H5T_STR_NULLPAD);
  return type;
}

Datatype Datatype::compound(std::size_t size, const std::vector<CompoundMember>& members) {
  Datatype type(H5Tcreate(H5T_COMPOUND, size));
  for (const CompoundMember& member : members) {
    H5Tinsert(type.id(), member.name, member.offset, member.type);
  }
  return type;
}

std::size_t Datatype::size() const {
  return H5Tget_size(id());
}

std::size_t longest(const std::vector<std::string>& texts) {
  std::size_t width = 0;
  for (const auto& text : texts) width = std::max(width, text.size());
  return width;
}

std::vector<char> pack_fixed(const std::vector<std::string>& texts, std::size_t width) {
  width = std::max<std::size_t>(width, 1);
  std::vector<char> packed(std::max<std::size_t>(texts.size(), 1) * width, '\0');
  for (std::size_t i = 0; i < texts.size(); ++i) {
    std::copy(texts[i].begin(), texts[i].end(),
              packed.begin() + static_cast<std::ptrdiff_t>(i * width));
  }
  return packed;
}

// ---------------------------------------------------------------------------------------------
// Attributes

std::optional<Shape> Attribute::shape() const {
  const TypeAndSpace parts = type_and_space(handle_.get(), H5Aget_type, H5Aget_space);
  if (!parts.space.valid()) return std::nullopt;
  return shape_of(parts.type.get(), parts.space.get());
}

bool Attribute::read_raw(hid_t memory_type, void* value) const {
  return checked(H5Aread(handle_.get(), memory_type, value)) >= 0;
}

std::optional<std::vector<std::string>> Attribute::read_strings() const {
  const TypeAndSpace parts = type_and_space(handle_.get(), H5Aget_type, H5Aget_space);
  if (!parts.space.valid()) return std::nullopt;
  const hid_t attribute = handle_.get();
  return detail::read_strings(
      parts.type.get(), parts.space.get(),
      [&](hid_t memory_type, void* buffer) { return H5Aread(attribute, memory_type, buffer); });
}

// ---------------------------------------------------------------------------------------------
// Objects

Object::Object(hid_t id, Close close, std::shared_ptr<const std::string> file_name)
    : id_(id), close_(close), file_name_(std::move(file_name)) {}

Object::Object(Object&& other) noexcept
    : id_(std::exchange(other.id_, H5I_INVALID_HID)),
      close_(other.close_),
      file_name_(std::move(other.file_name_)) {}

Object& Object::operator=(Object&& other) noexcept {
  if (this != &other) {
    close_now();
    id_ = std::exchange(other.id_, H5I_INVALID_HID);
    close_ = other.close_;
    file_name_ = std::move(other.file_name_);
  }
  return *this;
}

Object::~Object() {
  close_now();
}

bool Object::close_now() {
  const hid_t id = std::exchange(id_, H5I_INVALID_HID);
  // Closing a file opened with MPI-IO is collective.
  const distributed::BlockingSection section("HDF5 close");
  return id < 0 || close_ == nullptr || checked(close_(id)) >= 0;
}

bool Object::has_attribute(const std::string& name) const {
  return checked(H5Aexists(id_, name.c_str())) > 0;
}

std::optional<bool> Object::attribute_exists(const std::string& name) const {
  const htri_t exists = checked(H5Aexists(id_, name.c_str()));
  if (exists < 0) return std::nullopt;
  return exists > 0;
}

std::optional<Attribute> Object::open_attribute(const std::string& name) const {
  const hid_t attribute = checked(H5Aopen(id_, name.c_str(), H5P_DEFAULT));
  if (attribute < 0) return std::nullopt;
  return Attribute(attribute);
}

std::vector<std::string> Object::attribute_names() const {
  std::vector<std::string> names;
  H5Aiterate2(
      id_, H5_INDEX_NAME, H5_ITER_INC, nullptr,
      [](hid_t, const char* name, const H5A_info_t*, void* data) -> herr_t {
        static_cast<std::vector<std::string>*>(data)->emplace_back(name);
        return 0;
      },
      &names);
  return names;
}

void Object::write_attribute(const std::string& name, hid_t file_type, hid_t memory_type,
                             hid_t space, const void* data) const {
  AttributeHandle attribute(
      checked(H5Acreate2(id_, name.c_str(), file_type, space, H5P_DEFAULT, H5P_DEFAULT)));
  if (!attribute.valid() || checked(H5Awrite(attribute.get(), memory_type, data)) < 0) {
    throw InputError("cannot write attribute " + name + " in output file '" + *file_name_ + "'" +
                     with_hdf5_detail());
  }
}

void Object::write_attribute(const std::string& name, double value) const {
  DataspaceHandle space(H5Screate(H5S_SCALAR));
  write_attribute(name, Stored<double>::file(), Stored<double>::memory(), space.get(), &value);
}

void Object::write_attribute(const std::string& name, std::int64_t value) const {
  DataspaceHandle space(H5Screate(H5S_SCALAR));
  write_attribute(name, Stored<std::int64_t>::file(), Stored<std::int64_t>::memory(), space.get(),
                  &value);
}

void Object::write_attribute(const std::string& name, const std::string& value) const {
  DatatypeHandle type = variable_utf8();
  DataspaceHandle space(H5Screate(H5S_SCALAR));
  const char* pointer = value.c_str();
  write_attribute(name, type.get(), type.get(), space.get(), &pointer);
}

void Object::write_attribute(const std::string& name,
                             const std::vector<std::string>& values) const {
  std::vector<const char*> pointers;
  for (const auto& value : values) pointers.push_back(value.c_str());
  DatatypeHandle type = variable_utf8();
  DataspaceHandle space = simple_dataspace({values.size()});
  const char* none = "";
  write_attribute(name, type.get(), type.get(), space.get(),
                  pointers.empty() ? &none : pointers.data());
}

void Object::write_attribute(const std::string& name,
                             const std::vector<std::int64_t>& values) const {
  DataspaceHandle space = simple_dataspace({values.size()});
  static const std::int64_t none = 0;
  write_attribute(name, Stored<std::int64_t>::file(), Stored<std::int64_t>::memory(), space.get(),
                  values.empty() ? &none : values.data());
}

// ---------------------------------------------------------------------------------------------
// Datasets

std::optional<Shape> Dataset::shape() const {
  const TypeAndSpace parts = type_and_space(id(), H5Dget_type, H5Dget_space);
  if (!parts.space.valid()) return std::nullopt;
  return shape_of(parts.type.get(), parts.space.get());
}

bool Dataset::read(hid_t memory_type, void* values) const {
  return checked(H5Dread(id(), memory_type, H5S_ALL, H5S_ALL, H5P_DEFAULT, values)) >= 0;
}

bool Dataset::read_selection(const Selection& selection, void* values) const {
  const distributed::BlockingSection section("collective HDF5 read");
  return checked(H5Dread(id(), selection.memory_type, selection.memory_space, selection.file_space,
                         selection.transfer, values)) >= 0;
}

std::optional<std::vector<unsigned char>> Dataset::read_stored_bytes() const {
  const TypeAndSpace parts = type_and_space(id(), H5Dget_type, H5Dget_space);
  if (!parts.space.valid()) return std::nullopt;
  const hssize_t points = checked(H5Sget_simple_extent_npoints(parts.space.get()));
  if (points < 0) return std::nullopt;
  std::vector<unsigned char> bytes(static_cast<std::size_t>(points) *
                                   H5Tget_size(parts.type.get()));
  if (!bytes.empty() && !read(parts.type.get(), bytes.data())) return std::nullopt;
  return bytes;
}

std::optional<std::vector<std::string>> Dataset::read_strings() const {
  const TypeAndSpace parts = type_and_space(id(), H5Dget_type, H5Dget_space);
  if (!parts.space.valid()) return std::nullopt;
  const hid_t dataset = id();
  return detail::read_strings(
      parts.type.get(), parts.space.get(), [&](hid_t memory_type, void* buffer) {
        return H5Dread(dataset, memory_type, H5S_ALL, H5S_ALL, H5P_DEFAULT, buffer);
      });
}

std::optional<Storage> Dataset::storage() const {
  Storage storage;
  const FileHandle file(checked(H5Iget_file_id(id())));
  const PropertyListHandle creation(checked(H5Dget_create_plist(id())));
  if (!file.valid() || !creation.valid() ||
      checked(H5Fget_filesize(file.get(), &storage.file_bytes)) < 0) {
    return std::nullopt;
  }
  storage.layout = H5Pget_layout(creation.get());
  storage.filters = H5Pget_nfilters(creation.get());
  if (storage.layout == H5D_CONTIGUOUS) storage.address = H5Dget_offset(id());
  if (storage.layout != H5D_CHUNKED) return storage;
  const int rank = checked(H5Pget_chunk(creation.get(), 0, nullptr));
  if (rank < 1) return std::nullopt;
  storage.chunk.resize(static_cast<std::size_t>(rank));
  const DataspaceHandle space(checked(H5Dget_space(id())));
  if (checked(H5Pget_chunk(creation.get(), rank, storage.chunk.data())) != rank || !space.valid() ||
      checked(H5Dget_num_chunks(id(), space.get(), &storage.stored_chunks)) < 0) {
    return std::nullopt;
  }
  return storage;
}

std::optional<StoredChunk> Dataset::chunk_at(const std::vector<hsize_t>& offset) const {
  StoredChunk chunk;
  unsigned filter_mask = 0;
  if (checked(H5Dget_chunk_info_by_coord(id(), offset.data(), &filter_mask, &chunk.address,
                                         &chunk.bytes)) < 0 ||
      chunk.address == HADDR_UNDEF) {
    return std::nullopt;
  }
  return chunk;
}

bool Dataset::write(hid_t memory_type, const void* data) const {
  return checked(H5Dwrite(id(), memory_type, H5S_ALL, H5S_ALL, H5P_DEFAULT, data)) >= 0;
}

bool Dataset::write_from_root(hid_t memory_type, bool is_root, const void* data) const {
  DataspaceHandle file_space(H5Dget_space(id()));
  DataspaceHandle memory_space(H5Scopy(file_space.get()));
  const bool empty = H5Sget_simple_extent_npoints(file_space.get()) == 0;
  if (!is_root || empty) {
    H5Sselect_none(file_space.get());
    H5Sselect_none(memory_space.get());
  }
  PropertyListHandle transfer = collective_transfer();
  const bool none = !is_root || empty || data == nullptr;
  const distributed::BlockingSection section("collective HDF5 write");
  return checked(H5Dwrite(id(), memory_type, memory_space.get(), file_space.get(), transfer.get(),
                          none ? &empty_selection_buffer : data)) >= 0;
}

bool Dataset::write_rows(hid_t memory_type, std::int64_t begin, std::int64_t count,
                         const void* data) const {
  DataspaceHandle file_space(H5Dget_space(id()));
  const int rank = checked(H5Sget_simple_extent_ndims(file_space.get()));
  if (rank < 1 || rank > 2) return false;
  std::vector<hsize_t> dims(static_cast<std::size_t>(rank));
  H5Sget_simple_extent_dims(file_space.get(), dims.data(), nullptr);

  std::vector<hsize_t> start(dims.size(), 0), block(dims);
  start[0] = static_cast<hsize_t>(begin);
  block[0] = static_cast<hsize_t>(count);
  // Memory of an empty block is one (unselected) row, since empty dataspaces need care.
  std::vector<hsize_t> memory_dims(block);
  memory_dims[0] = std::max<hsize_t>(block[0], 1);
  DataspaceHandle memory_space = simple_dataspace(memory_dims);
  bool empty = count == 0;
  for (hsize_t extent : block) empty = empty || extent == 0;
  if (empty) {
    H5Sselect_none(file_space.get());
    H5Sselect_none(memory_space.get());
  } else if (checked(H5Sselect_hyperslab(file_space.get(), H5S_SELECT_SET, start.data(), nullptr,
                                         block.data(), nullptr)) < 0) {
    return false;
  }
  PropertyListHandle transfer = collective_transfer();
  const distributed::BlockingSection section("collective HDF5 write");
  return checked(H5Dwrite(id(), memory_type, memory_space.get(), file_space.get(), transfer.get(),
                          empty || data == nullptr ? &empty_selection_buffer : data)) >= 0;
}

// ---------------------------------------------------------------------------------------------
// Locations: files and groups

bool Location::has_link(const std::string& name) const {
  return checked(H5Lexists(id(), name.c_str(), H5P_DEFAULT)) > 0;
}

bool Location::has_path(const std::string& path) const {
  // H5Lexists fails on a path whose parent group is missing, so walk it one link at a time.
  std::size_t at = path.rfind('/', 0) == 0 ? 1 : 0;
  while (true) {
    const std::size_t slash = path.find('/', at);
    if (!has_link(path.substr(0, slash))) return false;
    if (slash == std::string::npos) return true;
    at = slash + 1;
  }
}

ObjectKind Location::kind_of(const std::string& name) const {
  const hid_t object = checked(H5Oopen(id(), name.c_str(), H5P_DEFAULT));
  if (object < 0) return ObjectKind::unopenable;
  const H5I_type_t type = H5Iget_type(object);
  H5Oclose(object);
  if (type == H5I_DATASET) return ObjectKind::dataset;
  return type == H5I_GROUP ? ObjectKind::group : ObjectKind::other;
}

std::optional<Group> Location::open_group(const std::string& name) const {
  const hid_t group = checked(H5Gopen2(id(), name.c_str(), H5P_DEFAULT));
  if (group < 0) return std::nullopt;
  return Group(group, H5Gclose, file_name());
}

std::optional<Dataset> Location::open_dataset(const std::string& name) const {
  const hid_t dataset = checked(H5Dopen2(id(), name.c_str(), H5P_DEFAULT));
  if (dataset < 0) return std::nullopt;
  return Dataset(dataset, H5Dclose, file_name());
}

std::optional<std::vector<std::string>> Location::link_names() const {
  PropertyListHandle creation(H5Gget_create_plist(id()));
  unsigned order_flags = 0;
  H5Pget_link_creation_order(creation.get(), &order_flags);
  const H5_index_t index =
      (order_flags & H5P_CRT_ORDER_INDEXED) != 0 ? H5_INDEX_CRT_ORDER : H5_INDEX_NAME;
  std::vector<std::string> names;
  // A damaged group can end the iteration part way: its status says so.
  const herr_t status = checked(H5Literate(
      id(), index, H5_ITER_INC, nullptr,
      [](hid_t, const char* name, const H5L_info_t*, void* out) -> herr_t {
        static_cast<std::vector<std::string>*>(out)->emplace_back(name);
        return 0;
      },
      &names));
  if (status < 0) return std::nullopt;
  return names;
}

Group Location::create_group(const std::string& name, LinkOrder order) const {
  PropertyListHandle creation;
  if (order == LinkOrder::by_creation) {
    creation = PropertyListHandle(H5Pcreate(H5P_GROUP_CREATE));
    H5Pset_link_creation_order(creation.get(), H5P_CRT_ORDER_TRACKED | H5P_CRT_ORDER_INDEXED);
  }
  const distributed::BlockingSection section("HDF5 group creation");
  const hid_t group =
      checked(H5Gcreate2(id(), name.c_str(), H5P_DEFAULT, or_default(creation), H5P_DEFAULT));
  if (group < 0) {
    throw InputError("cannot create group " + name + " in output file '" + *file_name() + "'" +
                     with_hdf5_detail());
  }
  return Group(group, H5Gclose, file_name());
}

Dataset Location::create_dataset(const std::string& name, hid_t file_type,
                                 const std::vector<hsize_t>& dims, Layout layout) const {
  PropertyListHandle creation(H5Pcreate(H5P_DATASET_CREATE));
  H5Pset_fill_time(creation.get(), H5D_FILL_TIME_NEVER);
  if (layout == Layout::row_chunks) {
    const std::vector<hsize_t> chunk = row_chunk(dims, H5Tget_size(file_type));
    if (!chunk.empty()) {
      H5Pset_chunk(creation.get(), static_cast<int>(chunk.size()), chunk.data());
    }
  }
  DataspaceHandle space = simple_dataspace(dims);
  const distributed::BlockingSection section("HDF5 dataset creation");
  const hid_t dataset = checked(H5Dcreate2(id(), name.c_str(), file_type, space.get(), H5P_DEFAULT,
                                           creation.get(), H5P_DEFAULT));
  if (dataset < 0) {
    throw InputError("cannot create dataset " + name + " in output file '" + *file_name() + "'" +
                     with_hdf5_detail());
  }
  return Dataset(dataset, H5Dclose, file_name());
}

std::optional<File> File::open(const std::string& path, const FileAccess& access) {
  const PropertyListHandle list = file_access(access);
  const distributed::BlockingSection section("HDF5 file open");
  const hid_t file = checked(H5Fopen(path.c_str(), H5F_ACC_RDONLY, or_default(list)));
  if (file < 0) return std::nullopt;
  return File(file, H5Fclose, std::make_shared<const std::string>(path));
}

std::optional<File> File::create(const std::string& path, const std::string& name,
                                 const FileAccess& access) {
  const PropertyListHandle list = file_access(access);
  const distributed::BlockingSection section("HDF5 file creation");
  const hid_t file = checked(H5Fcreate(path.c_str(), H5F_ACC_TRUNC, H5P_DEFAULT, or_default(list)));
  if (file < 0) return std::nullopt;
  return File(file, H5Fclose, std::make_shared<const std::string>(name));
}

Group File::root() const {
  return Group(id(), nullptr, file_name());
}

}  // namespace microseg::io::detail
