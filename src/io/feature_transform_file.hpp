#pragma once
// /model/transform of segments.h5: the steps before log1p and scaling (one-hot expansion,
// missing values, clipping, weights), written with the rest of /model and read back by
// read_run_model. Layout in docs/file-format.md.
#include <hdf5.h>

#include <functional>
#include <string>
#include <vector>

#include "microseg/core/feature_transform.hpp"

namespace microseg::io::detail {

// Collective metadata, raw data from the root; `note` records a failed raw-data write.
void write_feature_transform(hid_t model_group, const FeatureTransform& transform, bool root,
                             const std::string& file_name,
                             const std::function<void(herr_t, const std::string&)>& note);

// The transform of a saved run; a run saved before transforms were recorded read its feature
// columns as they were, which is the identity transform. Throws InputError starting with
// `where` (the run and its file) when the group is malformed.
FeatureTransform read_feature_transform(hid_t file, const std::vector<std::string>& feature_names,
                                        const std::string& where);

}  // namespace microseg::io::detail
