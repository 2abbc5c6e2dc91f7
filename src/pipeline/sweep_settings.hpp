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

/// The macro k a sweep's settings record (sweep --macro-k); 0 for a flat sweep.
std::int64_t macro_k_of(const RunAttributes& settings);

/// "a two-level sweep with --macro-k M" or "a flat sweep (no --macro-k)": what to name when two
/// sweeps' macro_k_of differ (settings_difference does not see a macro_k missing from `here`).
std::string sweep_level(const RunAttributes& settings);

/// A setting as text: 'quoted' strings, integers, round-trip doubles.
std::string value_text(const AttributeValue& value);

/// How `here` transforms the features differently from `saved`, if it does (bit for bit: the
/// saved centroids live in the space it defines).
std::optional<std::string> scaling_difference(const ScalingModel& saved, const ScalingModel& here,
                                              const std::vector<std::string>& names);

}  // namespace microseg::pipeline
