#include "microseg/io/segments_file.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <optional>
#include <set>

#include "assignments_csv.hpp"
#include "microseg/core/rfm.hpp"
#include "microseg/distributed/communicator.hpp"
#include "segments_parts.hpp"

namespace microseg::io {
namespace {
using namespace detail;
namespace fs = std::filesystem;

// Shapes the caller promised; checked before any collective so every rank fails alike.
std::optional<std::string> summary_problem(const SegmentationSummary& summary) {
  const std::string prefix = "segmentation summary: ";
  const SegmentProfiles& p = summary.profiles;
  const auto d = static_cast<Eigen::Index>(summary.feature_names.size());
  const auto k = summary.centroids_scaled.rows();
  const auto kd = static_cast<std::size_t>(k * d);
  if (summary.centroids_scaled.cols() != d || summary.centroids_original.rows() != k ||
      summary.centroids_original.cols() != d) {
    return prefix + "centroids do not match " + std::to_string(k) + " segments × " +
           std::to_string(d) + " features";
  }
  if (p.k != k || p.d != d || p.size.size() != static_cast<std::size_t>(k) ||
      p.share.size() != static_cast<std::size_t>(k) || p.mean.size() != kd || p.std.size() != kd ||
      p.min.size() != kd || p.max.size() != kd || p.p05.size() != kd || p.p95.size() != kd ||
      p.lift.size() != kd || p.population_mean.size() != static_cast<std::size_t>(d) ||
      p.population_std.size() != static_cast<std::size_t>(d)) {
    return prefix + "profiles do not match " + std::to_string(k) + " segments × " +
           std::to_string(d) + " features";
  }
  std::set<std::string> names;
  for (const auto& [name, value] : summary.run) {
    if (!names.insert(name).second) return prefix + "run attribute '" + name + "' appears twice";
  }
  return std::nullopt;
}

std::optional<std::string> assignment_problem(const AssignmentBlock& block) {
  const auto count = static_cast<std::size_t>(block.rows.size());
  if (block.ids == nullptr || block.segments == nullptr || block.distances == nullptr) {
    return std::string("assignments: ids, segments and distances are required");
  }
  if (block.rows.begin < 0 || block.rows.end < block.rows.begin ||
      block.rows.end > block.total_rows) {
    return "assignments: rows [" + std::to_string(block.rows.begin) + ", " +
           std::to_string(block.rows.end) + ") are outside " + std::to_string(block.total_rows);
  }
  if (block.ids->size() != count || block.segments->size() != count ||
      block.distances->size() != count) {
    return "assignments: a block of " + std::to_string(count) + " rows came with " +
           std::to_string(block.ids->size()) + " ids, " + std::to_string(block.segments->size()) +
           " segments and " + std::to_string(block.distances->size()) + " distances";
  }
  return std::nullopt;
}

// Shapes of the additions, checked with the summary before any collective.
std::optional<std::string> outputs_problem(const SegmentationSummary& summary,
                                           const RunOutputs& outputs,
                                           const AssignmentBlock& assignments) {
  const std::string prefix = "run outputs: ";
  const auto k = static_cast<std::size_t>(summary.profiles.k);
  const std::size_t d = summary.feature_names.size();
  if (outputs.scaling &&
      (outputs.scaling->offset.size() != d || outputs.scaling->scale.size() != d ||
       outputs.scaling->log1p.size() != d)) {
    return prefix + "the scaling model does not have " + std::to_string(d) + " features";
  }
  if (outputs.identity && outputs.identity->ids.size() != k) {
    return prefix + std::to_string(outputs.identity->ids.size()) + " segment ids for " +
           std::to_string(k) + " segments";
  }
  if (const ActionableProfiles* a = outputs.actionable) {
    const SegmentPriority& pr = a->priority;
    if (a->description.size() != k || a->undersized.size() != k || pr.growth.size() != k ||
        pr.value_growth.size() != k || pr.priority.size() != k || pr.rank.size() != k ||
        (a->value && (a->value->total.size() != k || a->value->mean.size() != k ||
                      a->value->share.size() != k)) ||
        (a->rfm && (a->rfm->score_mean.size() != 3 * k || a->rfm->quintile_share.size() != 15 * k ||
                    a->rfm->thresholds.size() != 12 ||
                    a->rfm->segment_share.size() != rfm_segment_count * k))) {
      return prefix + "the actionable profiles do not match " + std::to_string(k) + " segments";
    }
  }
  const auto rows = static_cast<std::size_t>(assignments.rows.size());
  if (outputs.values && outputs.values->size() != rows) {
    return prefix + "one value per assigned customer expected";
  }
  if (outputs.margins && outputs.margins->size() != rows) {
    return prefix + "one margin per assigned customer expected";
  }
  if (outputs.external_ids && outputs.external_ids->values.size() != rows) {
    return prefix + "one external id per assigned customer expected";
  }
  if (const MacroOutputs* macro = outputs.macro) {
    if (!macro->summary || !macro->identity || !macro->labels || !macro->macro_of_segment ||
        macro->labels->size() != static_cast<std::size_t>(assignments.rows.size()) ||
        macro->macro_of_segment->size() != k ||
        macro->identity->ids.size() != static_cast<std::size_t>(macro->summary->profiles.k)) {
      return prefix + "the macro level does not match the segments and the assignments";
    }
    if (auto problem = summary_problem(*macro->summary)) return "macro " + *problem;
    if (macro->migration && (!macro->match || !outputs.migration)) {
      return prefix + "a macro migration needs its match and the micro migration";
    }
  }
  if (const MigrationReport* m = outputs.migration) {
    const auto cells = static_cast<std::size_t>(m->matrix.previous_k() + 1) *
                       static_cast<std::size_t>(m->matrix.current_k() + 1);
    if (m->matrix.counts.size() != cells ||
        (!m->matrix.value.empty() && m->matrix.value.size() != cells)) {
      return prefix + "the migration matrix does not match its segment ids";
    }
    if (!outputs.moves) return prefix + "a migration needs its moves";
  }
  if (const CustomerMoves* moves = outputs.moves) {
    const std::size_t n = moves->id.size();
    if (moves->previous_segment.size() != n || moves->new_segment.size() != n ||
        moves->previous_distance.size() != n || moves->new_distance.size() != n ||
        moves->at_risk.size() != n || moves->offset < 0 ||
        moves->offset + static_cast<std::int64_t>(n) > moves->total) {
      return prefix + "the moves block is inconsistent";
    }
    const bool macro_moves = outputs.macro && outputs.macro->migration;
    const std::size_t macro_n = macro_moves ? n : 0;
    if (moves->previous_macro_segment.size() != macro_n ||
        moves->new_macro_segment.size() != macro_n || moves->across_macro.size() != macro_n) {
      return prefix + "the moves' macro segments are inconsistent";
    }
  }
  if (const AtRiskCustomers* risk = outputs.at_risk) {
    const std::size_t n = risk->id.size();
    if (risk->previous_segment.size() != n || risk->new_segment.size() != n ||
        risk->previous_value.size() != n || risk->new_value.size() != n || risk->drop.size() != n ||
        risk->offset < 0 || risk->offset + static_cast<std::int64_t>(n) > risk->total) {
      return prefix + "the at-risk block is inconsistent";
    }
  }
  return std::nullopt;
}

// A split tree must be whole and have one leaf per segment row.
std::optional<std::string> tree_problem(const SegmentationSummary& summary, const SplitTree& tree) {
  const auto nodes = static_cast<std::size_t>(tree.nodes());
  const auto splits = tree.split_node.size();
  const auto d = static_cast<std::size_t>(tree.d);
  const auto leaves = static_cast<Eigen::Index>(tree.leaves().size());
  if (tree.children.size() != 2 * nodes || tree.size.size() != nodes ||
      tree.inertia.size() != nodes || tree.center.size() != nodes * d ||
      tree.segment.size() != nodes || tree.initial_centers.size() != 2 * splits * d ||
      tree.split_iterations.size() != splits || nodes != 2 * splits + 1 ||
      d != summary.feature_names.size() || leaves != summary.centroids_scaled.rows()) {
    return "run outputs: the split tree does not match " +
           std::to_string(summary.centroids_scaled.rows()) + " segments";
  }
  return std::nullopt;
}

// Every check before the first collective of the writing, so every rank fails alike.
std::optional<std::string> segmentation_problem(const distributed::Communicator& comm,
                                                const SegmentationContent& run,
                                                const std::string& segments_path) {
  const RunOutputs& outputs = run.outputs;
  std::optional<std::string> problem = summary_problem(run.summary);
  if (!problem) problem = assignment_problem(run.assignments);
  if (!problem) problem = outputs_problem(run.summary, outputs, run.assignments);
  if (!problem && outputs.tree) problem = tree_problem(run.summary, *outputs.tree);
  const std::int64_t written_rows = comm.sum(run.assignments.rows.size());
  if (!problem && written_rows != run.assignments.total_rows) {
    problem = "assignments: the ranks' blocks hold " + std::to_string(written_rows) +
              " rows, expected " + std::to_string(run.assignments.total_rows);
  }
  // Optional per-rank parts must be there on every rank, since their datasets are collective.
  const auto on_some_ranks_only = [&](bool here) {
    const std::int64_t ranks = comm.sum(std::int64_t{here});
    return ranks != 0 && ranks != comm.size();
  };
  const bool values_partial = on_some_ranks_only(outputs.values != nullptr);
  const bool moves_partial = on_some_ranks_only(outputs.moves != nullptr);
  const bool at_risk_partial = on_some_ranks_only(outputs.at_risk != nullptr);
  const bool per_customer_partial = on_some_ranks_only(outputs.margins != nullptr) ||
                                    on_some_ranks_only(outputs.external_ids != nullptr);
  if (!problem && (values_partial || moves_partial || at_risk_partial || per_customer_partial)) {
    problem = std::string("run outputs: values and moves must be given on every rank or none");
  }
  if (!problem) problem = output_location_problem(segments_path);
  return problem;
}

// The files of a run, registered in the order they go into place: segments.h5 last, so its
// presence means the whole output is there.
struct SegmentationFiles {
  PendingFile profiles, quality, macro_profiles, migration, matrix, at_risk, macro_migration,
      macro_matrix, assignments_csv, segments;
};

SegmentationFiles add_files(PendingOutputs& pending, const std::string& directory,
                            const RunOutputs& outputs) {
  const bool with_migration = outputs.migration != nullptr;
  const fs::path dir(directory);
  const auto add = [&](const char* name, bool wanted) {
    const std::string final_path = (dir / name).string();
    return PendingFile{final_path, wanted ? pending.add(final_path) : std::string()};
  };
  SegmentationFiles files;
  files.profiles = add("profiles.csv", true);
  files.quality = add("quality.csv", true);
  files.macro_profiles = add("macro_profiles.csv", outputs.macro != nullptr);
  files.migration = add("migration.csv", with_migration);
  files.matrix = add("migration_matrix.csv", with_migration);
  files.at_risk = add("at_risk.csv", with_migration);
  const bool with_macro_migration = outputs.macro && outputs.macro->migration;
  files.macro_migration = add("macro_migration.csv", with_macro_migration);
  files.macro_matrix = add("macro_migration_matrix.csv", with_macro_migration);
  files.assignments_csv = add("assignments.csv", outputs.assignments_csv);
  files.segments = add("segments.h5", true);
  return files;
}

// segments.h5, collectively; the first failure of a raw-data write, if any.
std::optional<std::string> write_segments_file(const PendingOutputs& pending,
                                               const PendingFile& target,
                                               const SegmentationContent& run) {
  OutputFile file(pending, target.temporary, target.final_path);
  {
    const OutputGroup root = file.root();
    write_assignments_group(root, run);
    write_centroids_group(root, run.summary);
    write_profiles_group(root, run);
    write_quality_group(root, run.summary.quality);
    root.create_group("run").attributes(run.summary.run);
    if (run.outputs.scaling && run.outputs.identity) write_model_group(root, run);
    if (run.outputs.migration) write_migration_group(root, run.outputs);
    if (run.outputs.macro) write_macro_group(root, run);
    if (run.outputs.tree) write_tree_group(root, run);
  }
  return file.finish();
}

// The CSV files the root writes alone; the first failure, if any.
std::optional<std::string> write_root_csv_files(const SegmentationFiles& files,
                                                const PendingOutputs& pending,
                                                const SegmentationContent& run) {
  const PublicationRules& rules = run.outputs.publication;
  try {
    write_profiles_csv(files.profiles, pending, run);
    write_quality_csv(files.quality, pending, run.summary.quality);
    if (const MacroOutputs* macro = run.outputs.macro) {
      write_macro_profiles_csv(files.macro_profiles, pending, run, *macro);
    }
    if (const MigrationReport* migration = run.outputs.migration) {
      write_migration_csv(files.migration, pending, *migration, "segment", rules);
      write_migration_matrix_csv(files.matrix, pending, migration->matrix, "segment", rules);
    }
    const MacroOutputs* macro = run.outputs.macro;
    if (macro && macro->migration) {
      write_migration_csv(files.macro_migration, pending, *macro->migration, "macro_segment",
                          rules);
      write_migration_matrix_csv(files.macro_matrix, pending, macro->migration->matrix,
                                 "macro_segment", rules);
    }
  } catch (const std::exception& e) {
    return std::string(e.what());
  }
  return std::nullopt;
}

}  // namespace

void ensure_writable_directory(const std::string& directory) {
  std::error_code code;
  fs::create_directories(directory, code);
  if (code) {
    throw InputError("cannot create output directory '" + directory + "': " + code.message());
  }
  if (!fs::is_directory(directory, code)) {
    throw InputError("output directory '" + directory + "' exists but is not a directory");
  }
  const fs::path probe =
      fs::path(directory) / (".microseg-write-probe-" + std::to_string(::getpid()));
  const int descriptor = ::open(probe.c_str(), O_WRONLY | O_CREAT | O_EXCL, 0600);
  if (descriptor < 0) {
    throw InputError("cannot write files in output directory '" + directory +
                     "': " + std::strerror(errno));
  }
  ::close(descriptor);
  fs::remove(probe, code);
}

std::vector<std::string> segmentation_files(const std::string& directory, bool with_migration,
                                            bool with_macro, bool with_macro_migration,
                                            bool with_assignments_csv) {
  const fs::path dir(directory);
  std::vector<std::string> files{(dir / "segments.h5").string(), (dir / "profiles.csv").string(),
                                 (dir / "quality.csv").string()};
  if (with_macro) files.push_back((dir / "macro_profiles.csv").string());
  if (with_migration) {
    files.push_back((dir / "migration.csv").string());
    files.push_back((dir / "migration_matrix.csv").string());
    files.push_back((dir / "at_risk.csv").string());
  }
  if (with_macro_migration) {
    files.push_back((dir / "macro_migration.csv").string());
    files.push_back((dir / "macro_migration_matrix.csv").string());
  }
  if (with_assignments_csv) files.push_back((dir / "assignments.csv").string());
  return files;
}

void write_segmentation(const std::string& directory, MPI_Comm comm,
                        const SegmentationSummary& summary, const AssignmentBlock& assignments) {
  write_segmentation(directory, comm, summary, assignments, RunOutputs{});
}

void write_segmentation(const std::string& directory, MPI_Comm comm,
                        const SegmentationSummary& summary, const AssignmentBlock& assignments,
                        const RunOutputs& outputs) {
  SilenceHdf5Errors silence;
  const distributed::Communicator communicator(comm);
  const SegmentationContent run{summary, assignments, outputs};
  const std::string segments_path = (fs::path(directory) / "segments.h5").string();
  communicator.agree(segmentation_problem(communicator, run, segments_path));

  PendingOutputs pending(communicator);
  const SegmentationFiles files = add_files(pending, directory, outputs);

  std::optional<std::string> error = write_segments_file(pending, files.segments, run);
  if (outputs.migration) {
    write_at_risk_csv(files.at_risk, pending, outputs.at_risk, *outputs.migration,
                      outputs.publication, error);
  }
  if (outputs.assignments_csv) {
    const MacroOutputs* macro = outputs.macro;
    write_assignments_csv(files.assignments_csv, pending,
                          {assignments.ids, outputs.external_ids, assignments.segments,
                           macro ? macro->labels : nullptr, assignments.distances, outputs.margins,
                           &outputs.publication},
                          error);
  }
  const bool root = communicator.is_root();
  if (root && !error) error = write_root_csv_files(files, pending, run);
  pending.commit(error);
  std::error_code ignored;
  if (root && !outputs.migration) {
    // A migration of an earlier run in the same directory no longer describes this output.
    fs::remove(files.migration.final_path, ignored);
    fs::remove(files.matrix.final_path, ignored);
    fs::remove(files.at_risk.final_path, ignored);
  }
  if (root && !outputs.macro) fs::remove(files.macro_profiles.final_path, ignored);
  if (root && !outputs.assignments_csv) fs::remove(files.assignments_csv.final_path, ignored);
  if (root && !(outputs.macro && outputs.macro->migration)) {
    fs::remove(files.macro_migration.final_path, ignored);
    fs::remove(files.macro_matrix.final_path, ignored);
  }
}

}  // namespace microseg::io
