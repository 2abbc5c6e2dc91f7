#pragma once
// Private to src/pipeline: what makes two fits of a sweep comparable, shared by sweep,
// sweep-merge and promote.
#include <optional>
#include <string>
#include <vector>

#include "microseg/core/result.hpp"
#include "microseg/core/scaling.hpp"
#include "microseg/pipeline/customer_input.hpp"
#include "microseg/pipeline/sweep.hpp"

namespace microseg::pipeline {

/// The data, the features and every fitting option of a sweep, as its files record them.
RunAttributes sweep_settings(const SweepPlan& plan, const InspectedInput& input);

/// A setting as text: 'quoted' strings, integers, round-trip doubles.
std::string value_text(const AttributeValue& value);

/// How `here` transforms the features differently from `saved`, if it does (bit for bit: the
/// saved centroids live in the space it defines).
std::optional<std::string> scaling_difference(const ScalingModel& saved, const ScalingModel& here,
                                              const std::vector<std::string>& names);

}  // namespace microseg::pipeline
