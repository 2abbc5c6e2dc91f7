#include <algorithm>
#include <boost/program_options/options_description.hpp>
#include <filesystem>
#include <iostream>
#include <map>
#include <optional>
#include <sstream>

#include "microseg/app/option_reader.hpp"
#include "microseg/app/provenance.hpp"
#include "microseg/app/sweep.hpp"
#include "microseg/io/segments_file.hpp"
#include "microseg/io/sweep_file.hpp"

namespace microseg::app {
namespace {
namespace fs = std::filesystem;
namespace po = boost::program_options;

po::options_description sweep_merge_options() {
  po::options_description options("microseg sweep-merge options");
  options.add_options()  //
      ("parts", po::value<std::string>(),
       "comma-separated sweep directories, each a finished share of one sweep (--task I/T)")  //
      ("output", po::value<std::string>(), "the directory of the whole sweep")                //
      ("k", po::value<std::string>(),
       "the k values the parts must cover together, as for 'microseg sweep --k' (default: "
       "whatever they hold)");
  return options;
}

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

// Root: the merged table and the models to copy; throws InputError naming the part and k.
io::SweepTable merge_parts(const SweepMergeConfig& config, std::vector<PartModel>& models,
                           std::ostream& log) {
  io::SweepTable merged;
  std::map<std::int64_t, std::string> owner;  // k → the part holding it
  for (const std::string& part : config.parts) {
    const io::SweepTable table = io::read_sweep_table(part);
    if (owner.empty()) {
      merged.settings = table.settings;
      merged.content_digest = table.content_digest;
    } else if (const auto difference = settings_difference(merged.settings, table.settings)) {
      throw InputError("sweep part '" + part + "' comes from a sweep with other settings than '" +
                       config.parts.front() + "': " + *difference);
    } else if (table.content_digest != merged.content_digest) {
      throw InputError("sweep part '" + part + "' was fitted on other input data than '" +
                       config.parts.front() + "': content digest '" + table.content_digest +
                       "' there, '" + merged.content_digest +
                       "' here (the input file changed between the tasks)");
    }
    for (const SweepRow& row : table.rows) {
      if (const auto previous = owner.find(row.k); previous != owner.end()) {
        throw InputError("k = " + std::to_string(row.k) + " is in two sweep parts, '" +
                         previous->second + "' and '" + part + "'");
      }
      owner[row.k] = part;
      const std::string path = io::sweep_model_path(part, row.k);
      io::SweepModel model = io::read_sweep_model(path);
      if (const auto difference = settings_difference(table.settings, model.settings)) {
        throw InputError("'" + path + "' does not belong to the sweep in '" + part +
                         "': " + *difference);
      }
      merged.rows.push_back(model.row);
      models.push_back({path, std::move(model)});
    }
    log << "sweep-merge: " << part << ": k = ";
    for (std::size_t i = 0; i < table.rows.size(); ++i) {
      log << (i ? "," : "") << table.rows[i].k;
    }
    log << "\n";
  }
  if (!config.ks.empty()) {
    std::vector<int> missing, unexpected;
    for (int k : config.ks) {
      if (!owner.count(k)) missing.push_back(k);
    }
    for (const auto& [k, part] : owner) {
      if (std::find(config.ks.begin(), config.ks.end(), k) == config.ks.end()) {
        unexpected.push_back(static_cast<int>(k));
      }
    }
    if (!missing.empty()) {
      throw InputError("the sweep parts do not hold k = " + k_list(missing) + " of --k " +
                       config.k_text + ": a task did not finish (rerun it: it resumes)");
    }
    if (!unexpected.empty()) {
      throw InputError("the sweep parts hold k = " + k_list(unexpected) + ", not in --k " +
                       config.k_text);
    }
  }
  std::sort(merged.rows.begin(), merged.rows.end(),
            [](const SweepRow& a, const SweepRow& b) { return a.k < b.k; });
  merged.recommendation = recommend_k(merged.rows);
  merged.rule = recommendation_rule();
  return merged;
}

// The merged directory's manifest: the parts' input (they agree on it: same settings, same
// content digest) and the merge's own options after the sweep's settings.
io::RunManifest merged_manifest(const SweepMergeConfig& config, const io::SweepTable& table) {
  std::string input;
  std::int64_t customers = 0;
  std::string features;
  for (const auto& [name, value] : table.settings) {
    if (name == "input") input = std::get<std::string>(value);
    if (name == "customers") customers = std::get<std::int64_t>(value);
    if (name == "features") features = std::get<std::string>(value);
  }
  std::string parts;
  for (const std::string& part : config.parts) parts += (parts.empty() ? "" : ",") + part;
  return sweep_manifest("sweep-merge", config.output, table, input,
                        {{"file", input},
                         {"customers", std::to_string(customers)},
                         {"features", features},
                         {"content_digest", table.content_digest}},
                        {{"k", config.k_text}, {"parts", parts}});
}

}  // namespace

std::string sweep_merge_usage() {
  std::ostringstream text;
  text << "usage: microseg sweep-merge --parts DIR1,DIR2,... --output DIR [--k 2:64[:STEP]]\n\n"
          "Joins the shares of a sweep run as a Slurm job array ('microseg sweep --task I/T') into "
          "one sweep\ndirectory: the same sweep.csv, sweep.h5, models/ and manifest.json as one "
          "'microseg sweep'\nover every k.\n\n"
       << sweep_merge_options()
       << "  --config arg              INI job file (key = value; the command line wins)\n";
  return text.str();
}

SweepMergeConfig parse_sweep_merge_options(const std::vector<std::string>& arguments) {
  const OptionReader options("sweep-merge", sweep_merge_options(), arguments);
  SweepMergeConfig config;
  config.parts = options.list("parts");
  if (config.parts.empty()) options.required("parts");
  config.output = options.required("output");
  if (options.has("k")) {
    config.k_text = options.text("k");
    config.ks = parse_k_values(config.k_text);
  }
  return config;
}

void sweep_merge_command(const distributed::Communicator& comm,
                         const std::vector<std::string>& arguments) {
  run_sweep_merge(comm, parse_on_root<SweepMergeConfig>(comm, arguments, parse_sweep_merge_options),
                  std::cout);
}

void run_sweep_merge(const distributed::Communicator& comm, const SweepMergeConfig& config,
                     std::ostream& log) {
  // Small files only: rank 0 does the work, the other ranks wait for its outcome.
  std::optional<std::string> error;
  io::RunManifest manifest;
  if (comm.is_root()) {
    try {
      std::vector<PartModel> models;
      const io::SweepTable table = merge_parts(config, models, log);
      manifest = merged_manifest(config, table);
      io::ensure_writable_directory(config.output);
      for (const PartModel& part : models) {
        // Rewritten rather than copied: the same atomic write as the sweep's own.
        const std::string target = io::sweep_model_path(config.output, part.model.row.k);
        std::error_code code;
        const bool same_file = fs::exists(target, code) && fs::equivalent(target, part.path, code);
        if (!same_file) io::write_sweep_model(config.output, part.model);
      }
      io::write_sweep_table(config.output, table);
      const KRecommendation& r = table.recommendation;
      log << "sweep-merge: " << table.rows.size() << " values of k from " << config.parts.size()
          << " parts into " << config.output << "\nrecommended: " << r.reason << "\n";
      if (r.runner_up_k > 0) log << "runner-up: " << r.runner_up_reason << "\n";
      log << "outputs: " << (fs::path(config.output) / "sweep.csv").string() << ", "
          << (fs::path(config.output) / "sweep.h5").string() << ", "
          << (fs::path(config.output) / "models").string() << "/, "
          << (fs::path(config.output) / "manifest.json").string() << "\n";
    } catch (const std::exception& e) {
      error = e.what();
    }
  }
  comm.agree(error);
  remove_run_manifest(comm, config.output);
  write_run_manifest(comm, config.output, manifest);
}

}  // namespace microseg::app
