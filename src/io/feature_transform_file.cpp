#include "feature_transform_file.hpp"

#include <cstdint>

namespace microseg::io::detail {
namespace {

const std::string group_path = "/model/transform";

template <class T>
std::vector<T> read_vector(const File& file, const std::string& name, std::size_t count,
                           const std::string& where) {
  const std::string path = group_path + "/" + name;
  std::optional<Dataset> dataset = file.has_link(path) ? file.open_dataset(path) : std::nullopt;
  const std::optional<Shape> shape = dataset ? dataset->shape() : std::nullopt;
  if (!shape || shape->dims != std::vector<hsize_t>{count}) {
    throw InputError(where + " has no dataset " + path + " of " + std::to_string(count) +
                     " values");
  }
  std::vector<T> values(count);
  if (count > 0 && !dataset->read(values.data())) {
    throw InputError(where + " cannot be read at " + path + with_hdf5_detail());
  }
  return values;
}

// A string or string-array attribute, fixed- or variable-length.
std::vector<std::string> read_strings(const Object& object, const std::string& name,
                                      const std::string& where) {
  std::optional<Attribute> attribute =
      object.has_attribute(name) ? object.open_attribute(name) : std::nullopt;
  const std::optional<Shape> shape = attribute ? attribute->shape() : std::nullopt;
  if (!shape || shape->type_class != H5T_STRING) {
    throw InputError(where + " has no string attribute " + name + " in " + group_path);
  }
  auto values = attribute->read_strings();
  if (!values) throw InputError(where + " cannot read attribute " + name + " of " + group_path);
  return *values;
}

// The category names of each source column that has them (/model/transform/categories).
std::vector<std::vector<std::string>> read_categories(const Group& group,
                                                      const std::vector<std::string>& sources,
                                                      const std::string& where) {
  std::vector<std::vector<std::string>> categories(sources.size());
  const std::optional<Group> names =
      group.has_link("categories") ? group.open_group("categories") : std::nullopt;
  for (std::size_t s = 0; names && s < sources.size(); ++s) {
    if (names->has_attribute(sources[s])) categories[s] = read_strings(*names, sources[s], where);
  }
  return categories;
}

// Each feature's source column and category (-1: the column's value itself), checked.
void add_features(FeatureTransform& transform, const std::vector<std::string>& names,
                  const std::vector<std::int64_t>& sources,
                  const std::vector<std::int64_t>& categories, const std::string& where) {
  for (std::size_t j = 0; j < names.size(); ++j) {
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
}

}  // namespace

void write_feature_transform(const OutputGroup& model, const FeatureTransform& transform) {
  const OutputGroup group = model.create_group("transform");
  group.attribute("missing", to_string(transform.missing));
  group.attribute("sources", transform.sources);
  group.attribute("feature_names", transform.names());
  std::vector<std::int64_t> sources, categories;
  for (const auto& feature : transform.features) {
    sources.push_back(feature.source);
    categories.push_back(feature.category);
  }
  group.write("source", sources);
  group.write("category", categories);
  group.write("fill", transform.fill);
  group.write("clip_low", transform.clip_low);
  group.write("clip_high", transform.clip_high);
  group.write("weight", transform.weight);
  const OutputGroup names = group.create_group("categories");
  for (std::size_t s = 0; s < transform.sources.size(); ++s) {
    if (transform.categories[s].empty()) continue;
    names.attribute(transform.sources[s], transform.categories[s]);
  }
}

FeatureTransform read_feature_transform(const File& file,
                                        const std::vector<std::string>& feature_names,
                                        const std::string& where) {
  if (!file.has_link(group_path)) return identity_transform(feature_names);
  const std::optional<Group> group = file.open_group(group_path);
  if (!group) throw InputError(where + " has " + group_path + ", but it is not a group");
  FeatureTransform transform;
  const std::vector<std::string> missing = read_strings(*group, "missing", where);
  try {
    transform.missing = parse_missing_policy(missing.empty() ? "" : missing.front());
  } catch (const InputError& e) {
    throw InputError(where + ": " + group_path + ": " + e.what());
  }
  transform.sources = read_strings(*group, "sources", where);
  const std::vector<std::string> names = read_strings(*group, "feature_names", where);
  if (names != feature_names) {
    throw InputError(where + " has " + group_path +
                     " whose feature_names differ from /model/scaling's");
  }
  const std::size_t d = names.size();
  const auto sources = read_vector<std::int64_t>(file, "source", d, where);
  const auto categories = read_vector<std::int64_t>(file, "category", d, where);
  transform.fill = read_vector<double>(file, "fill", d, where);
  transform.clip_low = read_vector<double>(file, "clip_low", d, where);
  transform.clip_high = read_vector<double>(file, "clip_high", d, where);
  transform.weight = read_vector<double>(file, "weight", d, where);
  transform.categories = read_categories(*group, transform.sources, where);
  add_features(transform, names, sources, categories, where);
  return transform;
}

}  // namespace microseg::io::detail
