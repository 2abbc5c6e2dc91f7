#include "microseg/pipeline/reproduce.hpp"

#include <filesystem>
#include <optional>

#include "microseg/core/types.hpp"
#include "microseg/io/output_digest.hpp"
#include "microseg/io/run_manifest.hpp"
#include "microseg/version.hpp"

namespace microseg::pipeline {
namespace {
namespace fs = std::filesystem;

std::string manifest_path(const std::string& directory) {
  return (fs::path(directory) / "manifest.json").string();
}

// Why a manifest cannot be replayed and compared, or "" when it can.
std::string missing_records(const io::RecordedManifest& manifest) {
  std::string missing;
  for (const auto& output : manifest.outputs) {
    if (output.content_sha256.empty()) {
      missing = "no content_sha256 for its outputs (output " + output.file + ")";
      break;
    }
  }
  if (!manifest.has_options) {
    missing +=
        std::string(missing.empty() ? "" : " and ") + "no options (the command's options as given)";
  }
  return missing;
}

void check_command(const std::string& manifest, const io::RecordedManifest& recorded) {
  const std::string& command = recorded.command;
  if (command == "sweep-merge") {
    throw InputError("'" + manifest +
                     "' describes a sweep-merge, which joins finished sweep shares without "
                     "fitting: reproduce each share's directory (a sweep run) instead");
  }
  if (command != "segment" && command != "promote" && command != "assign" && command != "sweep") {
    throw InputError("'" + manifest + "' records the command '" + command +
                     "', which reproduce cannot replay (it replays segment, promote, assign and "
                     "sweep runs)");
  }
  const std::string missing = missing_records(recorded);
  if (!missing.empty()) {
    throw InputError(
        "'" + manifest + "' was written by an earlier microseg (manifest format_version " +
        std::to_string(recorded.format_version) + "): it records " + missing +
        ", which reproduce needs to replay the run and compare its outputs (whole-file "
        "sha256 cannot be compared: /run holds timings, dates and the rank count). Run "
        "the command again with microseg " MICROSEG_VERSION
        " to get a manifest that can be reproduced");
  }
}

// The input and every referenced file must be there, each reference with its recorded content.
void check_inputs(const std::string& manifest, const io::RecordedManifest& recorded) {
  std::error_code code;
  if (recorded.input.empty() || !fs::is_regular_file(recorded.input, code)) {
    throw InputError("the input '" + recorded.input + "' recorded in '" + manifest +
                     "' is missing: the run cannot be reproduced without it");
  }
  for (const auto& reference : recorded.references) {
    const std::string what = "the " + reference.role + " file '" + reference.path + "'";
    if (!fs::is_regular_file(reference.path, code)) {
      throw InputError(what + " recorded in '" + manifest + "' is missing");
    }
    const std::string now = io::output_digest(reference.path).content_sha256;
    if (now != reference.content_sha256) {
      throw InputError(what + " has changed since the run: content_sha256 " +
                       reference.content_sha256 + " recorded in '" + manifest + "', " + now +
                       " now");
    }
  }
}

std::string scratch_directory(const ReproducePlan& plan) {
  if (!plan.scratch.empty()) return plan.scratch;
  fs::path run = fs::path(plan.run).lexically_normal();
  if (run.filename().empty()) run = run.parent_path();
  return run.string() + ".reproduce";
}

void make_scratch(const ReproducePlan& plan, const std::string& scratch) {
  std::error_code code;
  if (fs::exists(scratch, code)) {
    if (fs::equivalent(scratch, plan.run, code)) {
      throw InputError("--scratch '" + scratch + "' is the run directory itself");
    }
    if (!fs::is_directory(scratch, code) || !fs::is_empty(scratch, code)) {
      throw InputError("scratch directory '" + scratch +
                       "' exists and is not empty: remove it or give another --scratch DIR");
    }
  }
  fs::create_directories(scratch, code);
  if (code) {
    throw InputError("cannot create the scratch directory '" + scratch + "': " + code.message());
  }
}

Reproduction prepare_on_root(const ReproducePlan& plan) {
  const std::string manifest = manifest_path(plan.run);
  const io::RecordedManifest recorded = io::read_manifest(plan.run);
  check_command(manifest, recorded);
  check_inputs(manifest, recorded);
  Reproduction reproduction;
  reproduction.command = recorded.command;
  reproduction.recorded_ranks = recorded.ranks;
  reproduction.scratch = scratch_directory(plan);
  for (const auto& [key, value] : recorded.options) {
    reproduction.arguments.push_back("--" + key + "=" + value);
  }
  reproduction.arguments.push_back("--output=" + reproduction.scratch);
  make_scratch(plan, reproduction.scratch);
  return reproduction;
}

// The replay must have read the same input: its fingerprint, field by field (not the path).
void check_replayed_input(const io::RecordedManifest& recorded,
                          const io::RecordedManifest& replayed) {
  for (const auto& [key, value] : recorded.input_fingerprint) {
    if (key == "file") continue;
    std::string now = "(absent)";
    for (const auto& field : replayed.input_fingerprint) {
      if (field.first == key) now = "'" + field.second + "'";
    }
    if (now != "'" + value + "'") {
      throw InputError("the input '" + recorded.input + "' is not the data the run read: " + key +
                       " = '" + value + "' recorded, " + now +
                       " now; the run cannot be reproduced from it");
    }
  }
}

std::optional<io::OutputDigest> digest_if_present(const fs::path& path) {
  std::error_code code;
  if (!fs::is_regular_file(path, code)) return std::nullopt;
  return io::output_digest(path.string());
}

OutputComparison compare_output(const ReproducePlan& plan, const std::string& scratch,
                                const io::RecordedManifest::Output& output) {
  const fs::path name(output.file);
  OutputComparison row;
  row.file = output.file;
  row.recorded = output.content_sha256;
  const auto on_disk = digest_if_present(name.is_absolute() ? name : plan.run / name);
  const auto reproduced = digest_if_present(fs::path(scratch) / name);
  row.on_disk = on_disk ? on_disk->content_sha256 : "missing";
  row.reproduced = reproduced ? reproduced->content_sha256 : "missing";
  row.equal = row.recorded == row.reproduced && row.on_disk == row.recorded;
  if (!row.equal && on_disk && reproduced) {
    row.first_difference = first_differing_item(on_disk->items, reproduced->items)
                               .value_or(
                                   "(none: both agree, "
                                   "the manifest does not)");
  }
  return row;
}

ReproductionReport compare_on_root(const ReproducePlan& plan, const Reproduction& reproduction) {
  const io::RecordedManifest recorded = io::read_manifest(plan.run);
  const io::RecordedManifest replayed = io::read_manifest(reproduction.scratch);
  check_replayed_input(recorded, replayed);
  ReproductionReport report;
  report.all_equal = true;
  for (const auto& output : recorded.outputs) {
    report.outputs.push_back(compare_output(plan, reproduction.scratch, output));
    report.all_equal = report.all_equal && report.outputs.back().equal;
  }
  return report;
}

void remove_scratch(const ReproducePlan& plan, const Reproduction& reproduction) {
  if (plan.keep || reproduction.scratch.empty()) return;
  std::error_code code;
  fs::remove_all(reproduction.scratch, code);
}

}  // namespace

Reproduction prepare_reproduction(const distributed::Communicator& comm,
                                  const ReproducePlan& plan) {
  Reproduction reproduction;
  std::optional<std::string> error;
  if (comm.is_root()) {
    try {
      reproduction = prepare_on_root(plan);
    } catch (const std::exception& e) {
      error = std::string("reproduce: ") + e.what();
    }
  }
  comm.agree(error);
  comm.broadcast_object(reproduction);
  return reproduction;
}

ReproductionReport compare_reproduction(const distributed::Communicator& comm,
                                        const ReproducePlan& plan,
                                        const Reproduction& reproduction) {
  ReproductionReport report;
  std::optional<std::string> error;
  if (comm.is_root()) {
    try {
      report = compare_on_root(plan, reproduction);
    } catch (const std::exception& e) {
      error = std::string("reproduce: ") + e.what();
    }
    remove_scratch(plan, reproduction);
  }
  comm.agree(error);
  comm.broadcast_object(report);
  return report;
}

void discard_scratch(const distributed::Communicator& comm, const ReproducePlan& plan,
                     const Reproduction& reproduction) {
  if (comm.is_root()) remove_scratch(plan, reproduction);
  comm.barrier();
}

}  // namespace microseg::pipeline
