#pragma once
// /model/transform of segments.h5: the steps before log1p and scaling (one-hot expansion,
// missing values, clipping, weights), written with the rest of /model and read back by
// read_run_model. Layout in docs/file-format.md.
#include <string>
#include <vector>

#include "hdf5_object.hpp"
#include "microseg/core/feature_transform.hpp"
#include "output_file.hpp"

namespace microseg::io::detail {

// Collective metadata, raw data from the root; the file notes a failed raw-data write.
void write_feature_transform(const OutputGroup& model, const FeatureTransform& transform);

// The transform of a saved run; a run saved before transforms were recorded read its feature
// columns as they were, which is the identity transform. Throws InputError starting with
// `where` (the run and its file) when the group is malformed.
FeatureTransform read_feature_transform(const File& file,
                                        const std::vector<std::string>& feature_names,
                                        const std::string& where);

}  // namespace microseg::io::detail
