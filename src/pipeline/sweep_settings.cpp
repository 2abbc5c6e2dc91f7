#include "sweep_settings.hpp"

#include <algorithm>
#include <filesystem>
#include <iomanip>
#include <sstream>

#include "microseg/core/number_text.hpp"

namespace microseg::pipeline {
namespace fs = std::filesystem;
namespace {

std::string joined(const std::vector<std::string>& items) {
  std::string text;
  for (const auto& item : items) text += (text.empty() ? "" : ",") + item;
  return text;
}

}  // namespace

RunAttributes sweep_settings(const SweepPlan& plan, const InspectedInput& input) {
  std::vector<std::string> log1p;
  for (std::size_t j = 0; j < input.feature_names.size(); ++j) {
    if (input.log1p[j]) log1p.push_back(input.feature_names[j]);
  }
  RunAttributes settings;
  settings.emplace_back("input", fs::absolute(plan.input).lexically_normal().string());
  settings.emplace_back("customers", input.schema.rows);
  settings.emplace_back("features", joined(input.feature_names));
  settings.emplace_back("scale", to_string(plan.scale));
  settings.emplace_back("log1p", joined(log1p));
  settings.emplace_back("init", to_string(plan.init));
  settings.emplace_back("max_iter", static_cast<std::int64_t>(plan.max_iterations));
  settings.emplace_back("tol", plan.tolerance);
  settings.emplace_back("seed", static_cast<std::int64_t>(plan.seed));
  settings.emplace_back("restarts", static_cast<std::int64_t>(plan.restarts));
  settings.emplace_back("silhouette_sample", plan.silhouette_sample);
  // The transform beyond log1p and scaling; promote rebuilds it from these.
  settings.emplace_back("sources", joined(input.plan.sources));
  settings.emplace_back("missing", to_string(plan.transform.missing));
  settings.emplace_back("one_hot", joined(plan.transform.one_hot));
  settings.emplace_back("weights", joined(plan.transform.weights));
  std::string clip;
  for (double level : plan.transform.clip_quantiles) {
    clip += (clip.empty() ? "" : ",") + value_text(level);
  }
  settings.emplace_back("clip_quantiles", clip);
  if (plan.macro_k > 0) {  // two-level sweeps only: flat sweeps record what they always did
    settings.emplace_back("macro_k", static_cast<std::int64_t>(plan.macro_k));
    settings.emplace_back("micro_k_rule", to_string(plan.micro_k_rule));
  }
  return settings;
}

std::int64_t macro_k_of(const RunAttributes& settings) {
  for (const auto& [name, value] : settings) {
    if (name == "macro_k" && std::holds_alternative<std::int64_t>(value)) {
      return std::get<std::int64_t>(value);
    }
  }
  return 0;
}

std::string sweep_level(const RunAttributes& settings) {
  const std::int64_t macro_k = macro_k_of(settings);
  return macro_k > 0 ? "a two-level sweep with --macro-k " + std::to_string(macro_k)
                     : std::string("a flat sweep (no --macro-k)");
}

std::string value_text(const AttributeValue& value) {
  if (const auto* text = std::get_if<std::string>(&value)) return "'" + *text + "'";
  if (const auto* integer = std::get_if<std::int64_t>(&value)) return std::to_string(*integer);
  return round_trip_text(std::get<double>(value));
}

std::optional<std::string> scaling_difference(const ScalingModel& saved, const ScalingModel& here,
                                              const std::vector<std::string>& names) {
  if (saved.kind != here.kind) {
    return "scaling " + to_string(saved.kind) + " there, " + to_string(here.kind) + " here";
  }
  for (std::size_t j = 0; j < names.size(); ++j) {
    if (saved.log1p.at(j) != here.log1p.at(j) || saved.offset.at(j) != here.offset.at(j) ||
        saved.scale.at(j) != here.scale.at(j)) {
      std::ostringstream text;
      text << std::setprecision(17) << "feature '" << names[j] << "' is transformed differently ("
           << "offset " << saved.offset[j] << ", scale " << saved.scale[j] << " there; offset "
           << here.offset[j] << ", scale " << here.scale[j] << " here)";
      return text.str();
    }
  }
  return std::nullopt;
}

std::optional<std::string> settings_difference(const RunAttributes& there,
                                               const RunAttributes& here) {
  for (const auto& [name, value] : here) {
    const auto match = std::find_if(there.begin(), there.end(),
                                    [&](const auto& other) { return other.first == name; });
    if (match == there.end()) return name + " is not recorded there";
    if (match->second != value) {
      return name + " = " + value_text(match->second) + " there, " + value_text(value) + " here";
    }
  }
  return std::nullopt;
}

io::RunManifest sweep_manifest(const std::string& command, const std::string& output,
                               const io::SweepTable& table, const io::TextFields& fingerprint,
                               const io::TextFields& extra) {
  io::RunManifest manifest;
  manifest.command = command;
  manifest.outputs = {(fs::path(output) / "sweep.csv").string(),
                      (fs::path(output) / "sweep.h5").string()};
  for (const SweepRow& row : table.rows) {
    manifest.outputs.push_back(io::sweep_model_path(output, row.k));
  }
  for (const auto& [key, value] : fingerprint) {
    if (key == "file") manifest.input = value;
  }
  manifest.input_fingerprint = fingerprint;
  for (const auto& [name, value] : table.settings) {
    const auto* text = std::get_if<std::string>(&value);
    manifest.configuration.emplace_back(name, text ? *text : value_text(value));
  }
  manifest.configuration.insert(manifest.configuration.end(), extra.begin(), extra.end());
  return manifest;
}

}  // namespace microseg::pipeline
