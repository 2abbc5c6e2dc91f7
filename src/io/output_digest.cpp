#include "microseg/io/output_digest.hpp"

#include <array>
#include <filesystem>
#include <sstream>

#include "hdf5_object.hpp"
#include "microseg/core/types.hpp"
#include "microseg/io/run_manifest.hpp"

namespace microseg::io {
namespace {
using namespace detail;

std::vector<std::uint64_t> extents(const Shape& shape) {
  return std::vector<std::uint64_t>(shape.dims.begin(), shape.dims.end());
}

// The little-endian type a number is hashed in: its stored class, width and sign.
hid_t canonical_number_type(const Shape& shape) {
  if (shape.type_class == H5T_FLOAT) return shape.type_size <= 4 ? H5T_IEEE_F32LE : H5T_IEEE_F64LE;
  switch (shape.type_size) {
    case 1:
      return shape.type_signed ? H5T_STD_I8LE : H5T_STD_U8LE;
    case 2:
      return shape.type_signed ? H5T_STD_I16LE : H5T_STD_U16LE;
    case 4:
      return shape.type_signed ? H5T_STD_I32LE : H5T_STD_U32LE;
    default:
      return shape.type_signed ? H5T_STD_I64LE : H5T_STD_U64LE;
  }
}

std::string type_name(const Shape& shape) {
  const auto bits = [&](std::size_t bytes) { return std::to_string(8 * bytes); };
  switch (shape.type_class) {
    case H5T_INTEGER:
      return (shape.type_signed ? "int" : "uint") + bits(std::min<std::size_t>(shape.type_size, 8));
    case H5T_FLOAT:
      return "float" + bits(shape.type_size <= 4 ? 4 : 8);
    case H5T_STRING:
      return "string";
    case H5T_COMPOUND:
      return "compound" + bits(shape.type_size);
    default:
      return "class" + std::to_string(static_cast<int>(shape.type_class));
  }
}

std::size_t canonical_width(const Shape& shape) {
  if (shape.type_class == H5T_FLOAT) return shape.type_size <= 4 ? 4 : 8;
  return std::min<std::size_t>(shape.type_size, 8);
}

// A `key = value` text without its path lines.
std::string without_path_lines(const std::string& text) {
  std::istringstream lines(text);
  std::string kept;
  for (std::string line; std::getline(lines, line);) {
    const auto equals = line.find(" = ");
    if (equals != std::string::npos && path_key(line.substr(0, equals))) continue;
    kept += line + "\n";
  }
  return kept;
}

class FileDigest {
 public:
  explicit FileDigest(std::string path) : path_(std::move(path)) {}

  void visit(const Location& location, const std::string& where) {
    attributes(location, where);
    const std::optional<std::vector<std::string>> names = location.link_names();
    if (!names) fail("the links of " + where);
    for (const std::string& name : *names) {
      const std::string path = (where == "/" ? "/" : where + "/") + name;
      switch (location.kind_of(name)) {
        case ObjectKind::group: {
          const std::optional<Group> group = location.open_group(name);
          if (!group) fail("group " + path);
          visit(*group, path);
          break;
        }
        case ObjectKind::dataset: {
          const std::optional<Dataset> dataset = location.open_dataset(name);
          if (!dataset) fail("dataset " + path);
          attributes(*dataset, path);
          add_dataset(*dataset, path);
          break;
        }
        default:
          items_.push_back(DigestItemHasher(path, "other", {}).finish());
      }
    }
  }

  std::vector<DigestItem> items() && { return std::move(items_); }

 private:
  [[noreturn]] void fail(const std::string& what) {
    throw InputError("cannot read " + what + " of '" + path_ + "' to digest it" +
                     with_hdf5_detail());
  }

  void attributes(const Object& object, const std::string& path) {
    for (const std::string& name : object.attribute_names()) {
      if (excluded_from_digest(name)) continue;
      const std::string item = path + "@" + name;
      const std::optional<Attribute> attribute = object.open_attribute(name);
      if (!attribute) fail("attribute " + item);
      const std::optional<Shape> shape = attribute->shape();
      if (!shape) fail("attribute " + item);
      DigestItemHasher hasher(item, type_name(*shape), extents(*shape));
      if (shape->type_class == H5T_STRING) {
        const auto texts = attribute->read_strings();
        if (!texts) fail("attribute " + item);
        for (const std::string& text : *texts) {
          hasher.add_text(name == "configuration" ? without_path_lines(text) : text);
        }
      } else if (shape->type_class == H5T_INTEGER || shape->type_class == H5T_FLOAT) {
        std::vector<unsigned char> bytes(shape->elements() * canonical_width(*shape));
        if (!bytes.empty() && !attribute->read_raw(canonical_number_type(*shape), bytes.data())) {
          fail("attribute " + item);
        }
        hasher.add_values(bytes.data(), bytes.size());
      }
      items_.push_back(hasher.finish());
    }
  }

  void add_dataset(const Dataset& dataset, const std::string& path) {
    const std::optional<Shape> shape = dataset.shape();
    if (!shape) fail("dataset " + path);
    DigestItemHasher hasher(path, type_name(*shape), extents(*shape));
    if (shape->type_class == H5T_STRING) {
      const auto texts = dataset.read_strings();
      if (!texts) fail("dataset " + path);
      for (const std::string& text : *texts) hasher.add_text(text);
    } else if (shape->type_class == H5T_INTEGER || shape->type_class == H5T_FLOAT) {
      std::vector<unsigned char> bytes(shape->elements() * canonical_width(*shape));
      if (!bytes.empty() && !dataset.read(canonical_number_type(*shape), bytes.data())) {
        fail("dataset " + path);
      }
      hasher.add_values(bytes.data(), bytes.size());
    } else {
      // A compound (the sweep table): its packed bytes as stored, little-endian members.
      const auto bytes = dataset.read_stored_bytes();
      if (!bytes) fail("dataset " + path);
      hasher.add_values(bytes->data(), bytes->size());
    }
    items_.push_back(hasher.finish());
  }

  std::string path_;
  std::vector<DigestItem> items_;
};

bool ends_with(const std::string& text, const std::string& tail) {
  return text.size() >= tail.size() &&
         text.compare(text.size() - tail.size(), tail.size(), tail) == 0;
}

}  // namespace

bool excluded_from_digest(const std::string& attribute) {
  static const std::array<const char*, 10> exact{
      "ranks", "threads",      "job_file",      "input",       "output",
      "model", "previous_run", "promoted_from", "created_utc", "date"};
  for (const char* name : exact) {
    if (attribute == name) return true;
  }
  return attribute.rfind("seconds", 0) == 0 || attribute.rfind("version_", 0) == 0;
}

bool path_key(const std::string& key) {
  return key == "previous" || key == "input" || key == "output" || key == "job_file" ||
         key == "model" || key == "init-centroids" || key == "promoted-from";
}

OutputDigest output_digest(const std::string& path) {
  OutputDigest digest;
  if (ends_with(path, ".h5")) {
    const SilenceHdf5Errors quiet;
    std::optional<File> file = File::open(path, FileAccess::plain());
    if (!file) {
      throw InputError("cannot open '" + path + "' as HDF5 to digest it" + with_hdf5_detail());
    }
    FileDigest visitor(path);
    visitor.visit(*file, "/");
    digest.items = std::move(visitor).items();
  } else {
    const std::string name = std::filesystem::path(path).filename().string();
    digest.items.push_back({name, sha256_of_file(path)});
  }
  digest.content_sha256 = combined_digest(digest.items);
  return digest;
}

}  // namespace microseg::io
