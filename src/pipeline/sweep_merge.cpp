// `microseg sweep-merge`: the shares of a sweep run as a Slurm job array joined into the files
// one sweep over every k would have written. Small files only: rank 0 does the work.
#include <filesystem>
#include <map>

#include "microseg/io/segments_file.hpp"
#include "microseg/pipeline/provenance.hpp"
#include "microseg/pipeline/sweep.hpp"
#include "sweep_settings.hpp"

namespace microseg::pipeline {
namespace {
namespace fs = std::filesystem;

std::string k_list(const std::vector<int>& ks) {
  std::string text;
  for (int k : ks) text += (text.empty() ? "" : ", ") + std::to_string(k);
  return text;
}

// A part's model of one k and the file it came from.
struct PartModel {
  std::string path;
  io::SweepModel model;
};

// Why `table` (of `part`) cannot join the merge so far, if so.
void check_part(const SweepMergePlan& plan, const std::string& part, const io::SweepTable& table,
                const io::SweepTable& merged) {
  if (macro_k_of(table.settings) != macro_k_of(merged.settings)) {
    throw InputError("sweep part '" + part + "' is " + sweep_level(table.settings) + ", but '" +
                     plan.parts.front() + "' is " + sweep_level(merged.settings) +
                     ": the parts of a merge must come from one sweep (the same --macro-k, or "
                     "none in every part)");
  }
  if (const auto difference = settings_difference(merged.settings, table.settings)) {
    throw InputError("sweep part '" + part + "' comes from a sweep with other settings than '" +
                     plan.parts.front() + "': " + *difference);
  }
  if (table.content_digest != merged.content_digest) {
    throw InputError("sweep part '" + part + "' was fitted on other input data than '" +
                     plan.parts.front() + "': content digest '" + table.content_digest +
                     "' there, '" + merged.content_digest +
                     "' here (the input file changed between the tasks)");
  }
}

// Every k of --k must be in some part, and no other.
void check_coverage(const SweepMergePlan& plan, const std::map<std::int64_t, std::string>& owner) {
  if (plan.ks.empty()) return;
  std::vector<int> missing, unexpected;
  for (int k : plan.ks) {
    if (!owner.count(k)) missing.push_back(k);
  }
  for (const auto& [k, part] : owner) {
    if (std::find(plan.ks.begin(), plan.ks.end(), k) == plan.ks.end()) {
      unexpected.push_back(static_cast<int>(k));
    }
  }
  if (!missing.empty()) {
    throw InputError("the sweep parts do not hold k = " + k_list(missing) + " of --k " +
                     plan.k_text + ": a task did not finish (rerun it: it resumes)");
  }
  if (!unexpected.empty()) {
    throw InputError("the sweep parts hold k = " + k_list(unexpected) + ", not in --k " +
                     plan.k_text);
  }
}

// Root: the merged table and the models to copy; throws InputError naming the part and k.
io::SweepTable merge_parts(const SweepMergePlan& plan, std::vector<PartModel>& models,
                           SweepMergeResult& result) {
  io::SweepTable merged;
  std::map<std::int64_t, std::string> owner;  // k → the part holding it
  for (const std::string& part : plan.parts) {
    const io::SweepTable table = io::read_sweep_table(part);
    if (owner.empty()) {
      merged.settings = table.settings;
      merged.content_digest = table.content_digest;
      merged.macro_k = table.macro_k;
    } else {
      check_part(plan, part, table, merged);
    }
    std::vector<std::int64_t> ks;
    for (const SweepRow& row : table.rows) {
      if (const auto previous = owner.find(row.k); previous != owner.end()) {
        throw InputError("k = " + std::to_string(row.k) + " is in two sweep parts, '" +
                         previous->second + "' and '" + part + "'");
      }
      owner[row.k] = part;
      ks.push_back(row.k);
      const std::string path = io::sweep_model_path(part, row.k);
      io::SweepModel model = io::read_sweep_model(path);
      auto difference = settings_difference(table.settings, model.settings);
      if (macro_k_of(model.settings) != macro_k_of(table.settings)) {
        difference = "it is " + sweep_level(model.settings) + ", the part's table " +
                     sweep_level(table.settings);
      }
      if (difference) {
        throw InputError("'" + path + "' does not belong to the sweep in '" + part +
                         "': " + *difference);
      }
      merged.rows.push_back(model.row);
      models.push_back({path, std::move(model)});
    }
    result.parts.emplace_back(part, ks);
  }
  check_coverage(plan, owner);
  std::sort(merged.rows.begin(), merged.rows.end(),
            [](const SweepRow& a, const SweepRow& b) { return a.k < b.k; });
  merged.recommendation = recommend_k(merged.rows);
  merged.rule = recommendation_rule();
  return merged;
}

// The merged directory's manifest: the parts' input (they agree on it: same settings, same
// content digest) and the merge's own options after the sweep's settings.
io::RunManifest merged_manifest(const SweepMergePlan& plan, const io::SweepTable& table) {
  std::string input, features;
  std::int64_t customers = 0;
  for (const auto& [name, value] : table.settings) {
    if (name == "input") input = std::get<std::string>(value);
    if (name == "customers") customers = std::get<std::int64_t>(value);
    if (name == "features") features = std::get<std::string>(value);
  }
  std::string parts;
  for (const std::string& part : plan.parts) parts += (parts.empty() ? "" : ",") + part;
  return sweep_manifest("sweep-merge", plan.output, table,
                        input_fingerprint(input, customers, {features}, table.content_digest),
                        {{"k", plan.k_text}, {"parts", parts}});
}

// Root: merges, then rewrites every model into the output (the same atomic write as the sweep's
// own, not a copy) and the table.
io::RunManifest write_merged(const SweepMergePlan& plan, SweepMergeResult& result) {
  std::vector<PartModel> models;
  result.table = merge_parts(plan, models, result);
  io::RunManifest manifest = merged_manifest(plan, result.table);
  io::ensure_writable_directory(plan.output);
  for (const PartModel& part : models) {
    const std::string target = io::sweep_model_path(plan.output, part.model.row.k);
    std::error_code code;
    const bool same_file = fs::exists(target, code) && fs::equivalent(target, part.path, code);
    if (!same_file) io::write_sweep_model(plan.output, part.model);
  }
  io::write_sweep_table(plan.output, result.table);
  return manifest;
}

}  // namespace

SweepMergeResult sweep_merge(const distributed::Communicator& comm, const SweepMergePlan& plan) {
  SweepMergeResult result;
  std::optional<std::string> error;
  io::RunManifest manifest;
  if (comm.is_root()) {
    try {
      manifest = write_merged(plan, result);
    } catch (const std::exception& e) {
      error = e.what();
    }
  }
  comm.agree(error);
  remove_run_manifest(comm, plan.output);
  write_run_manifest(comm, plan.output, manifest);
  return result;
}

}  // namespace microseg::pipeline
