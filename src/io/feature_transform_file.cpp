#include "feature_transform_file.hpp"

#include <algorithm>
#include <cstdint>

#include "hdf5_handle.hpp"
#include "hdf5_strings.hpp"
#include "hdf5_write.hpp"

namespace microseg::io::detail {
namespace {

const char* const group_path = "/model/transform";

herr_t write_vector(hid_t group, const char* name, hid_t file_type, hid_t memory_type,
                    std::size_t count, const void* data, bool root, const std::string& file_name) {
  DatasetHandle dataset = create_dataset(group, name, file_type, {static_cast<hsize_t>(count)},
                                         Layout::contiguous, file_name);
  return count == 0 ? 0 : write_from_root(dataset.get(), memory_type, root, data);
}

template <class T>
std::vector<T> read_vector(hid_t file, const std::string& name, hid_t memory_type,
                           std::size_t count, const std::string& where) {
  const std::string path = std::string(group_path) + "/" + name;
  DatasetHandle dataset(H5Lexists(file, path.c_str(), H5P_DEFAULT) > 0
                            ? H5Dopen2(file, path.c_str(), H5P_DEFAULT)
                            : H5I_INVALID_HID);
  DataspaceHandle space(dataset.valid() ? H5Dget_space(dataset.get()) : H5I_INVALID_HID);
  hsize_t found = 0;
  if (!space.valid() || H5Sget_simple_extent_ndims(space.get()) != 1 ||
      H5Sget_simple_extent_dims(space.get(), &found, nullptr) < 0 || found != count) {
    throw InputError(where + " has no dataset " + path + " of " + std::to_string(count) +
                     " values");
  }
  std::vector<T> values(count);
  if (count > 0 &&
      H5Dread(dataset.get(), memory_type, H5S_ALL, H5S_ALL, H5P_DEFAULT, values.data()) < 0) {
    throw InputError(where + " cannot be read at " + path + with_hdf5_detail());
  }
  return values;
}

// A string or string-array attribute (variable-length, as write_string_array_attribute and
// write_scalar_attribute store them, or fixed-length).
std::vector<std::string> read_strings(hid_t object, const char* name, const std::string& where) {
  AttributeHandle attribute(H5Aexists(object, name) > 0 ? H5Aopen(object, name, H5P_DEFAULT)
                                                        : H5I_INVALID_HID);
  DatatypeHandle type(attribute.valid() ? H5Aget_type(attribute.get()) : H5I_INVALID_HID);
  DataspaceHandle space(attribute.valid() ? H5Aget_space(attribute.get()) : H5I_INVALID_HID);
  if (!type.valid() || !space.valid() || H5Tget_class(type.get()) != H5T_STRING) {
    throw InputError(where + " has no string attribute " + name + " in " + group_path);
  }
  const hssize_t count = H5Sget_simple_extent_npoints(space.get());
  auto values =
      detail::read_strings(attribute.get(), detail::StringHolder::attribute, type.get(),
                           space.get(), static_cast<hsize_t>(std::max<hssize_t>(count, 0)));
  if (!values) throw InputError(where + " cannot read attribute " + name + " of " + group_path);
  return *values;
}

}  // namespace

void write_feature_transform(hid_t model_group, const FeatureTransform& transform, bool root,
                             const std::string& file_name,
                             const std::function<void(herr_t, const std::string&)>& note) {
  GroupHandle group = create_group(model_group, "transform", file_name);
  const hid_t g = group.get();
  write_scalar_attribute(g, "missing", to_string(transform.missing), file_name);
  write_string_array_attribute(g, "sources", transform.sources, file_name);
  write_string_array_attribute(g, "feature_names", transform.names(), file_name);
  const std::size_t d = transform.features.size();
  std::vector<std::int64_t> sources, categories;
  for (const auto& feature : transform.features) {
    sources.push_back(feature.source);
    categories.push_back(feature.category);
  }
  const auto at = [](const char* name) { return std::string(group_path) + "/" + name; };
  note(write_vector(g, "source", H5T_STD_I64LE, H5T_NATIVE_INT64, d, sources.data(), root,
                    file_name),
       at("source"));
  note(write_vector(g, "category", H5T_STD_I64LE, H5T_NATIVE_INT64, d, categories.data(), root,
                    file_name),
       at("category"));
  const std::pair<const char*, const std::vector<double>*> columns[] = {
      {"fill", &transform.fill},
      {"clip_low", &transform.clip_low},
      {"clip_high", &transform.clip_high},
      {"weight", &transform.weight}};
  for (const auto& [name, values] : columns) {
    note(write_vector(g, name, H5T_IEEE_F64LE, H5T_NATIVE_DOUBLE, d, values->data(), root,
                      file_name),
         at(name));
  }
  GroupHandle category_group = create_group(g, "categories", file_name);
  for (std::size_t s = 0; s < transform.sources.size(); ++s) {
    if (transform.categories[s].empty()) continue;
    write_string_array_attribute(category_group.get(), transform.sources[s],
                                 transform.categories[s], file_name);
  }
}

FeatureTransform read_feature_transform(hid_t file, const std::vector<std::string>& feature_names,
                                        const std::string& where) {
  if (H5Lexists(file, group_path, H5P_DEFAULT) <= 0) return identity_transform(feature_names);
  GroupHandle group(H5Gopen2(file, group_path, H5P_DEFAULT));
  if (!group.valid()) throw InputError(where + " has " + group_path + ", but it is not a group");
  FeatureTransform transform;
  const std::vector<std::string> missing = read_strings(group.get(), "missing", where);
  try {
    transform.missing = parse_missing_policy(missing.empty() ? "" : missing.front());
  } catch (const InputError& e) {
    throw InputError(where + ": " + group_path + ": " + e.what());
  }
  transform.sources = read_strings(group.get(), "sources", where);
  const std::vector<std::string> names = read_strings(group.get(), "feature_names", where);
  if (names != feature_names) {
    throw InputError(where + " has " + group_path +
                     " whose feature_names differ from /model/scaling's");
  }
  const std::size_t d = names.size();
  const auto sources = read_vector<std::int64_t>(file, "source", H5T_NATIVE_INT64, d, where);
  const auto categories = read_vector<std::int64_t>(file, "category", H5T_NATIVE_INT64, d, where);
  transform.fill = read_vector<double>(file, "fill", H5T_NATIVE_DOUBLE, d, where);
  transform.clip_low = read_vector<double>(file, "clip_low", H5T_NATIVE_DOUBLE, d, where);
  transform.clip_high = read_vector<double>(file, "clip_high", H5T_NATIVE_DOUBLE, d, where);
  transform.weight = read_vector<double>(file, "weight", H5T_NATIVE_DOUBLE, d, where);
  transform.categories.resize(transform.sources.size());
  GroupHandle category_group(H5Lexists(group.get(), "categories", H5P_DEFAULT) > 0
                                 ? H5Gopen2(group.get(), "categories", H5P_DEFAULT)
                                 : H5I_INVALID_HID);
  for (std::size_t s = 0; s < transform.sources.size(); ++s) {
    if (category_group.valid() &&
        H5Aexists(category_group.get(), transform.sources[s].c_str()) > 0) {
      transform.categories[s] =
          read_strings(category_group.get(), transform.sources[s].c_str(), where);
    }
  }
  for (std::size_t j = 0; j < d; ++j) {
    const std::int64_t s = sources[j], c = categories[j];
    const bool valid = s >= 0 && s < static_cast<std::int64_t>(transform.sources.size()) &&
                       (c < 0 || c < static_cast<std::int64_t>(
                                         transform.categories[static_cast<std::size_t>(s)].size()));
    if (!valid) {
      throw InputError(where + " has " + group_path + " with an invalid source or category for '" +
                       names[j] + "'");
    }
    transform.features.push_back({names[j], static_cast<int>(s), c});
  }
  return transform;
}

}  // namespace microseg::io::detail
