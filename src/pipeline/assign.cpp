#include "microseg/pipeline/assign.hpp"

#include <algorithm>
#include <filesystem>

#include "microseg/core/assignment.hpp"
#include "microseg/distributed/feature_preparation.hpp"
#include "microseg/distributed/id_partition.hpp"
#include "microseg/distributed/stall_watchdog.hpp"
#include "microseg/io/assignment_scores.hpp"
#include "microseg/io/customer_table.hpp"
#include "microseg/io/run_model.hpp"
#include "microseg/io/segments_file.hpp"
#include "microseg/pipeline/customer_input.hpp"
#include "microseg/pipeline/provenance.hpp"

namespace microseg::pipeline {
namespace {

// The columns the model's features are made from, in the model's order; names every missing one
// at once.
std::vector<int> model_columns(const io::RunModel& model, const io::CustomerTableSchema& schema) {
  std::string missing, needed;
  for (const auto& name : model.transform.sources) {
    needed += (needed.empty() ? "" : ", ") + name;
    if (std::find(schema.feature_names.begin(), schema.feature_names.end(), name) ==
        schema.feature_names.end()) {
      missing += (missing.empty() ? "'" : ", '") + name + "'";
    }
  }
  if (!missing.empty()) {
    throw InputError("input file '" + schema.path + "' lacks feature " + missing +
                     " that the model of run '" + model.directory + "' needs (it uses " + needed +
                     ")");
  }
  return io::select_features(schema, model.transform.sources);
}

// For each one-hot column: the input's codes mapped by category name to the model's (−1 for a
// name the model does not know), since another file may number the same categories otherwise.
std::vector<std::vector<std::int64_t>> category_code_maps(const io::RunModel& model,
                                                          const io::CustomerTableSchema& schema,
                                                          const std::vector<int>& columns) {
  const FeatureTransform& transform = model.transform;
  std::vector<std::vector<std::int64_t>> maps(transform.sources.size());
  for (std::size_t s = 0; s < transform.sources.size(); ++s) {
    const auto& known = transform.categories[s];
    if (known.empty()) continue;
    const auto& names = schema.categories[static_cast<std::size_t>(columns[s])];
    if (names.empty()) {
      throw InputError("input file '" + schema.path + "': column '" + transform.sources[s] +
                       "' has no category names (attribute 'categories'), but the model of run '" +
                       model.directory + "' one-hot expands it by name");
    }
    for (const auto& name : names) {
      const auto found = std::find(known.begin(), known.end(), name);
      maps[s].push_back(found == known.end() ? -1 : found - known.begin());
    }
  }
  return maps;
}

// A two-level model: each customer's macro segment (its nearest macro centroid), then its
// micro-segment among that macro segment's, as the run assigned its own customers; the
// runner-up is the next micro-segment of the same macro segment (-1 when it has one).
NearestTwo nearest_within_macro(const FeatureMatrix& features, const io::RunModel& model,
                                std::vector<std::int32_t>& macro_labels) {
  const io::MacroModel& macro = *model.macro;
  const NearestTwo to_macro = nearest_two(features, macro.centroids);
  const auto n = static_cast<std::size_t>(features.rows());
  NearestTwo result{std::vector<std::int32_t>(n, -1), std::vector<std::int32_t>(n, -1),
                    std::vector<double>(n, 0.0), std::vector<double>(n, 0.0)};
  macro_labels.assign(n, -1);
  for (Eigen::Index m = 0; m < macro.centroids.rows(); ++m) {
    std::vector<int> micro_rows;
    for (int s = 0; s < model.k(); ++s) {
      if (macro.macro_of_segment[s] == macro.identity.ids[m]) micro_rows.push_back(s);
    }
    CentroidMatrix micro(static_cast<Eigen::Index>(micro_rows.size()), features.cols());
    for (std::size_t r = 0; r < micro_rows.size(); ++r) {
      micro.row(static_cast<Eigen::Index>(r)) = model.centroids.row(micro_rows[r]);
    }
    std::vector<std::size_t> members;
    for (std::size_t i = 0; i < n; ++i) {
      if (to_macro.nearest[i] == m) members.push_back(i);
    }
    FeatureMatrix rows(static_cast<Eigen::Index>(members.size()), features.cols());
    for (std::size_t a = 0; a < members.size(); ++a) {
      rows.row(static_cast<Eigen::Index>(a)) = features.row(static_cast<Eigen::Index>(members[a]));
    }
    const NearestTwo local = nearest_two(rows, micro);
    for (std::size_t a = 0; a < members.size(); ++a) {
      const std::size_t i = members[a];
      macro_labels[i] = static_cast<std::int32_t>(macro.identity.ids[m]);
      result.nearest[i] = micro_rows[static_cast<std::size_t>(local.nearest[a])];
      result.second[i] =
          local.second[a] < 0 ? -1 : micro_rows[static_cast<std::size_t>(local.second[a])];
      result.nearest_distance[i] = local.nearest_distance[a];
      result.second_distance[i] = local.second_distance[a];
    }
  }
  return result;
}

// Each customer's segment, runner-up and margin in stable ids, and the sizes over all ranks.
struct Scores {
  std::vector<std::int32_t> segments, second_segments;
  std::vector<double> margins;
  std::vector<std::int64_t> sizes;
};

Scores score(const distributed::Communicator& comm, const io::RunModel& model,
             const NearestTwo& nearest) {
  const std::size_t count = nearest.nearest.size();
  Scores scores;
  scores.segments.resize(count);
  scores.second_segments.resize(count);
  scores.margins.resize(count);
  scores.sizes.assign(static_cast<std::size_t>(model.k()), 0);
  for (std::size_t i = 0; i < count; ++i) {
    scores.segments[i] = static_cast<std::int32_t>(model.identity.ids[nearest.nearest[i]]);
    scores.second_segments[i] =
        nearest.second[i] < 0 ? -1
                              : static_cast<std::int32_t>(model.identity.ids[nearest.second[i]]);
    scores.margins[i] = nearest.second_distance[i] - nearest.nearest_distance[i];
    ++scores.sizes[nearest.nearest[i]];
  }
  comm.sum_in_place(scores.sizes);
  return scores;
}

RunAttributes assign_attributes(const distributed::Communicator& comm, const AssignPlan& plan,
                                const distributed::PreparedCustomers& prepared, int k) {
  RunAttributes run;
  run.emplace_back("model", plan.model);
  run.emplace_back("input", plan.input);
  run.emplace_back("job_file", plan.job_file);
  run.emplace_back("ranks", static_cast<std::int64_t>(comm.size()));
  run.emplace_back("customers", prepared.customers);
  run.emplace_back("dropped_customers", prepared.dropped);
  run.emplace_back("unknown_categories", prepared.unknown_categories);
  run.emplace_back("k", static_cast<std::int64_t>(k));
  run.emplace_back("version_microseg", std::string(MICROSEG_VERSION));
  return run;
}

void write_manifest(const distributed::Communicator& comm, const AssignPlan& plan,
                    const TextFields& fingerprint, const std::vector<std::string>& outputs,
                    const PublicationRules& rules) {
  remove_run_manifest(comm, plan.output);
  io::RunManifest manifest;
  manifest.command = "assign";
  manifest.outputs = outputs;
  manifest.input = plan.input;
  manifest.input_fingerprint = fingerprint;
  manifest.configuration = {{"model", plan.model},
                            {"input", plan.input},
                            {"output", plan.output},
                            {"job_file", plan.job_file}};
  manifest.options = plan.recorded_options;
  manifest.references = {{"model", (std::filesystem::path(plan.model) / "segments.h5").string()}};
  manifest.privacy = publication_record(rules);
  write_run_manifest(comm, plan.output, manifest);
}

}  // namespace

AssignResult assign(const distributed::Communicator& comm, const AssignPlan& plan) {
  io::RunModel model;
  io::CustomerTableSchema schema;
  std::vector<int> columns;
  std::vector<std::vector<std::int64_t>> code_maps;
  comm.run_agreed([&] {
    model = io::read_run_model(plan.model);
    schema = io::inspect_customer_table(plan.input, comm.native());
    columns = model_columns(model, schema);
    code_maps = category_code_maps(model, schema, columns);
  });
  // Malformed external ids are refused before any customer is read (no rows: the checks alone).
  comm.run_agreed([&] { io::read_external_ids(schema, RowRange{}, comm.native()); });
  const PublicationRules rules = publication_rules(comm, plan.publication);
  comm.run_agreed([&] {
    if (comm.is_root()) io::ensure_writable_directory(plan.output);
  });
  CustomerBlock block;
  distributed::mark_phase("read");
  comm.run_agreed([&] {
    block = io::read_customer_block(
        schema, columns, distributed::block_of_rows(schema.rows, comm.rank(), comm.size()),
        comm.native());
  });
  distributed::check_unique_ids(comm, block.ids, plan.input);
  const TextFields fingerprint =
      input_fingerprint(plan.input, schema.rows, block.feature_names, content_digest(comm, block));
  // The saved transform, applied exactly as the run applied its fitted one, so customers of the
  // training data land on the same scaled values and the same segments.
  const distributed::PreparedCustomers prepared = distributed::apply_saved_preparation(
      comm, block, model.transform, model.scaling, code_maps, plan.input);
  std::vector<std::int32_t> macro_labels;
  const NearestTwo nearest = model.macro ? nearest_within_macro(block.features, model, macro_labels)
                                         : nearest_two(block.features, model.centroids);
  const Scores scores = score(comm, model, nearest);
  const std::optional<ExternalIds> external_ids =
      read_kept_external_ids(comm, schema, prepared.kept);
  const io::ScoredBlock scored{block.rows,
                               prepared.customers,
                               &block.ids,
                               &scores.segments,
                               &nearest.nearest_distance,
                               &scores.second_segments,
                               &nearest.second_distance,
                               &scores.margins,
                               model.macro ? &macro_labels : nullptr,
                               external_ids ? &*external_ids : nullptr,
                               &rules};
  const RunAttributes run = assign_attributes(comm, plan, prepared, model.k());
  AssignResult result;
  distributed::mark_phase("write");
  comm.run_agreed([&] {
    result.outputs =
        io::write_assignment_scores(plan.output, comm.native(), scored, run, plan.assignments_csv);
  });
  result.output = (std::filesystem::path(plan.output) / "assignments.h5").string();
  write_manifest(comm, plan, fingerprint, result.outputs, rules);
  result.customers = prepared.customers;
  result.dropped = prepared.dropped;
  result.unknown_categories = prepared.unknown_categories;
  result.segment_ids = model.identity.ids;
  result.sizes = scores.sizes;
  return result;
}

}  // namespace microseg::pipeline
