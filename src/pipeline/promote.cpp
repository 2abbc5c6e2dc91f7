// `microseg promote`: one k of a sweep to a full run's outputs — the same measure, profile and
// write stages as `segment`, from the sweep's saved centroids instead of a fit.
#include <filesystem>
#include <sstream>

#include "microseg/core/stopwatch.hpp"
#include "microseg/pipeline/sweep.hpp"
#include "segment_stages.hpp"
#include "sweep_settings.hpp"

namespace microseg::pipeline {
namespace {

using namespace detail;

template <class T>
T setting(const RunAttributes& settings, const std::string& name, const std::string& file) {
  for (const auto& [key, value] : settings) {
    if (key == name && std::holds_alternative<T>(value)) return std::get<T>(value);
  }
  throw InputError("'" + file + "': /settings has no attribute " + name + " of the expected type");
}

std::optional<std::string> text_setting(const RunAttributes& settings, const std::string& name) {
  for (const auto& [key, value] : settings) {
    if (key == name && std::holds_alternative<std::string>(value)) {
      return std::get<std::string>(value);
    }
  }
  return std::nullopt;
}

std::vector<std::string> split(const std::string& text) {
  std::vector<std::string> items;
  std::size_t at = 0;
  while (!text.empty() && at <= text.size()) {
    const std::size_t comma = std::min(text.find(',', at), text.size());
    items.push_back(text.substr(at, comma - at));
    at = comma + 1;
  }
  return items;
}

// What the sweep recorded about how its model was made, rebuilt as a run's plan.
struct PromotedModel {
  io::SweepModel model;
  std::string path;
  CustomerSelection selection;
  std::uint64_t seed = 0;
  std::int64_t silhouette_sample = 0, restarts = 1, customers_then = 0;
  std::string configuration;  // job-file text of the run this promotes to
};

// Sweeps that recorded their transform: the same source columns, transformed alike.
CustomerSelection selection_of(const PromotedModel& promoted, const std::string& input) {
  const RunAttributes& settings = promoted.model.settings;
  CustomerSelection selection;
  selection.input = input.empty() ? setting<std::string>(settings, "input", promoted.path) : input;
  selection.features = promoted.model.feature_names;
  selection.scale = promoted.model.scaling.kind;
  if (const auto sources = text_setting(settings, "sources")) selection.features = split(*sources);
  if (const auto missing = text_setting(settings, "missing")) {
    selection.transform.missing = parse_missing_policy(*missing);
  }
  if (const auto one_hot = text_setting(settings, "one_hot")) {
    selection.transform.one_hot = split(*one_hot);
  }
  if (const auto weights = text_setting(settings, "weights")) {
    selection.transform.weights = split(*weights);
  }
  if (const auto clip = text_setting(settings, "clip_quantiles")) {
    for (const auto& level : split(*clip))
      selection.transform.clip_quantiles.push_back(std::stod(level));
  }
  for (std::size_t j = 0; j < promoted.model.feature_names.size(); ++j) {
    if (promoted.model.scaling.log1p[j]) {
      selection.log1p_features.push_back(promoted.model.feature_names[j]);
    }
  }
  return selection;
}

std::string configuration_of(const PromotedModel& promoted, const std::string& output) {
  const RunAttributes& settings = promoted.model.settings;
  const CustomerSelection& selection = promoted.selection;
  const auto joined = [](const std::vector<std::string>& items) {
    std::string text;
    for (const auto& item : items) text += (text.empty() ? "" : ",") + item;
    return text;
  };
  std::ostringstream text;
  text << "input = " << selection.input << "\noutput = " << output
       << "\nk = " << promoted.model.row.k << "\nfeatures = " << joined(selection.features)
       << "\nscale = " << to_string(selection.scale)
       << "\nlog1p = " << joined(selection.log1p_features) << "\n"
       << describe(selection.transform)
       << "init = " << setting<std::string>(settings, "init", promoted.path)
       << "\nmax-iter = " << setting<std::int64_t>(settings, "max_iter", promoted.path)
       << "\ntol = " << setting<double>(settings, "tol", promoted.path)
       << "\nseed = " << promoted.seed << "\nrestarts = " << promoted.restarts
       << "\nsilhouette-sample = " << promoted.silhouette_sample
       << "\npromoted-from = " << promoted.path << "\n";
  return text.str();
}

// Every rank reads the small model file itself.
PromotedModel read_promoted_model(const distributed::Communicator& comm, const PromotePlan& plan) {
  PromotedModel promoted;
  comm.run_agreed([&] {
    int k = plan.k;
    if (k == 0) k = static_cast<int>(io::read_sweep_table(plan.sweep).recommendation.k);
    promoted.path = io::sweep_model_path(plan.sweep, k);
    if (!std::filesystem::is_regular_file(promoted.path)) {
      throw InputError("sweep '" + plan.sweep + "' has no model for k = " + std::to_string(k) +
                       " (" + promoted.path + " is missing): sweep that k first");
    }
    promoted.model = io::read_sweep_model(promoted.path);
    const RunAttributes& settings = promoted.model.settings;
    promoted.selection = selection_of(promoted, plan.input);
    promoted.seed =
        static_cast<std::uint64_t>(setting<std::int64_t>(settings, "seed", promoted.path));
    promoted.silhouette_sample =
        setting<std::int64_t>(settings, "silhouette_sample", promoted.path);
    promoted.restarts = setting<std::int64_t>(settings, "restarts", promoted.path);
    promoted.customers_then = setting<std::int64_t>(settings, "customers", promoted.path);
    promoted.configuration = configuration_of(promoted, plan.output);
  });
  return promoted;
}

RunFacts promote_facts(const PromotedModel& promoted, const PreparedCustomers& prepared) {
  RunFacts facts;
  facts.configuration = promoted.configuration;
  facts.seed = promoted.seed;
  facts.customers = prepared.customers;
  facts.k = promoted.model.row.k;
  facts.iterations = promoted.model.iterations;
  facts.converged = promoted.model.converged != 0;
  facts.restarts = promoted.restarts;
  facts.best_restart = promoted.model.best_restart;
  return facts;
}

// The `segment --macro-k M --k K` run whose fits a two-level sweep's model of K holds.
SegmentPlan two_level_plan(const PromotedModel& promoted, const std::string& output) {
  const RunAttributes& settings = promoted.model.settings;
  const CustomerSelection& selection = promoted.selection;
  SegmentPlan segment;
  segment.input = selection.input;
  segment.output = output;
  segment.k = static_cast<int>(promoted.model.row.k);
  segment.features = selection.features;
  segment.scale = selection.scale;
  segment.log1p_features = selection.log1p_features;
  segment.transform = selection.transform;
  segment.init = parse_init_kind(setting<std::string>(settings, "init", promoted.path));
  segment.max_iterations =
      static_cast<int>(setting<std::int64_t>(settings, "max_iter", promoted.path));
  segment.tolerance = setting<double>(settings, "tol", promoted.path);
  segment.seed = promoted.seed;
  segment.restarts = static_cast<int>(promoted.restarts);
  segment.silhouette_sample = promoted.silhouette_sample;
  segment.macro_k = static_cast<int>(promoted.model.macro->macro_k());
  segment.micro_k_rule = parse_micro_budget_rule(promoted.model.macro->micro_k_rule);
  return segment;
}

// Why the data read is not what the sweep fitted, agreed between ranks (before anything is
// written: promoting onto other data leaves no directory behind).
void check_same_data(const distributed::Communicator& comm, const PromotedModel& promoted,
                     const InspectedInput& input, const PreparedCustomers& prepared) {
  const std::string refit =
      "; promote needs the same customers (fit new data with 'microseg segment')";
  const std::string& input_path = promoted.selection.input;
  if (input.schema.rows != promoted.customers_then) {
    comm.agree("input '" + input_path + "' holds " + std::to_string(input.schema.rows) +
               " customers, but the sweep's model " + promoted.path + " was fitted on " +
               std::to_string(promoted.customers_then) + refit);
  }
  if (auto difference = scaling_difference(promoted.model.scaling, prepared.transform.model,
                                           input.feature_names)) {
    comm.agree("input '" + input_path + "' is not the data the sweep's model " + promoted.path +
               " was fitted on: " + *difference + refit);
  }
}

// A two-level sweep's model as the fit stage of `segment` would have made it: the saved macro
// and micro centroids, every customer assigned at both levels as the fits assign.
FittedModel saved_two_level_model(const distributed::Communicator& comm, const FitStage& stage,
                                  const PromotedModel& promoted) {
  check_same_data(comm, promoted, stage.inputs.input, stage.prepared);
  const io::SweepMacroLevel& saved = *promoted.model.macro;
  distributed::FitOutcome macro_fit;
  macro_fit.model.centroids = saved.centroids;
  macro_fit.model.iterations = static_cast<int>(saved.iterations);
  macro_fit.model.converged = saved.converged != 0;
  macro_fit.best_restart = static_cast<int>(saved.best_restart);
  TwoLevelModel model = measure_macro_level(stage, std::move(macro_fit));
  model.hierarchy =
      SegmentHierarchy::from_counts(std::vector<int>(saved.micro_k.begin(), saved.micro_k.end()));
  model.micro_centroids = promoted.model.centroids;
  assign_within_macro(stage.prepared.rows, model);
  FittedModel fitted;
  fitted.fit = model.macro_fit;
  fitted.centroids = model.micro_centroids;
  fitted.nearest = std::move(model.micro);
  fitted.two_level = std::move(model);
  return fitted;
}

// A two-level model: every stage of `segment --macro-k` after the fit, so the outputs are the
// ones that run writes (with the actionable profiles a flat promote leaves out).
PromoteResult promote_two_level(const distributed::Communicator& comm, const PromotePlan& plan,
                                const PromotedModel& promoted) {
  const Stopwatch stopwatch;
  SegmentPlan segment = two_level_plan(promoted, plan.output);
  segment.assignments_csv = plan.assignments_csv;
  segment.publication = plan.publication;
  ModelSource source;
  source.command = "promote";
  source.model = [&](const distributed::Communicator& all, const FitStage& stage, std::int64_t) {
    return saved_two_level_model(all, stage, promoted);
  };
  source.configuration = describe(segment) + "promoted-from = " + promoted.path + "\n";
  source.run = {{"promoted_from", promoted.path}};
  const SegmentResult run = segment_run(comm, segment, SegmentProgress{}, source);
  PromoteResult result;
  result.k = segment.k;
  result.model_path = promoted.path;
  result.customers = promoted.customers_then;
  result.quality = run.quality;
  result.outputs = run.outputs;
  result.seconds = stopwatch.elapsed();
  return result;
}

}  // namespace

PromoteResult promote(const distributed::Communicator& comm, const PromotePlan& plan) {
  const Stopwatch stopwatch;
  Stopwatch phases;
  const PromotedModel promoted = read_promoted_model(comm, plan);
  if (promoted.model.macro) return promote_two_level(comm, plan, promoted);
  const PublicationRules rules = publication_rules(comm, plan.publication);
  const int k = static_cast<int>(promoted.model.row.k);
  const std::string& input_path = promoted.selection.input;
  const std::string refit =
      "; promote needs the same customers (fit new data with 'microseg segment')";
  const InspectedInput input = inspect_customer_input(comm, promoted.selection, k);
  if (input.schema.rows != promoted.customers_then) {
    comm.agree("input '" + input_path + "' holds " + std::to_string(input.schema.rows) +
               " customers, but the sweep's model " + promoted.path + " was fitted on " +
               std::to_string(promoted.customers_then) + refit);
  }
  phases.lap();
  PreparedCustomers prepared = read_and_prepare(comm, input);
  RunAttributes timings{{"seconds_read_and_scale", phases.lap()}};
  if (auto difference = scaling_difference(promoted.model.scaling, prepared.transform.model,
                                           input.feature_names)) {
    comm.agree("input '" + input_path + "' is not the data the sweep's model " + promoted.path +
               " was fitted on: " + *difference + refit);
  }
  // Only now, so that promoting onto other data leaves no directory behind.
  comm.run_agreed([&] {
    if (comm.is_root()) io::ensure_writable_directory(plan.output);
  });
  MeasuredRun measured = measure_and_profile(comm, {input,
                                                    prepared,
                                                    promoted.model.centroids,
                                                    {promoted.silhouette_sample, promoted.seed},
                                                    std::nullopt,
                                                    nullptr,
                                                    plan.assignments_csv});
  timings.emplace_back("seconds_metrics", phases.lap());
  RunAttributes& run = measured.summary.run;
  run = run_attributes(comm, promote_facts(promoted, prepared));
  run.emplace_back("promoted_from", promoted.path);
  run.insert(run.end(), timings.begin(), timings.end());
  const std::optional<ExternalIds> external_ids =
      read_kept_external_ids(comm, input.schema, prepared.kept);
  const AssignmentBlock assignments{prepared.rows.rows(), prepared.customers, &prepared.rows.ids(),
                                    &measured.assignment.segments, &measured.assignment.distances};
  // The model a later `segment --previous` or `assign --model` continues from: a promoted run
  // is a first run, so its ids are 0 … k−1.
  const SegmentIdentity identity = SegmentIdentity::first_run(k);
  io::RunOutputs outputs;
  outputs.scaling = &prepared.transform.model;
  outputs.identity = &identity;
  outputs.assignments_csv = plan.assignments_csv;
  outputs.external_ids = external_ids ? &*external_ids : nullptr;
  outputs.margins = plan.assignments_csv ? &measured.assignment.margins : nullptr;
  outputs.publication = rules;
  PromoteResult result;
  RunWrite write{"promote",
                 plan.output,
                 input_path,
                 input_fingerprint(input_path, input.schema.rows, input.feature_names,
                                   prepared.content_digest),
                 promoted.configuration,
                 measured.summary,
                 assignments,
                 outputs};
  write.options = plan.recorded_options;
  write.references = {{"sweep_model", promoted.path}};
  write.privacy = publication_record(rules);
  result.outputs = write_run(comm, write).files;
  result.k = k;
  result.model_path = promoted.path;
  result.customers = input.schema.rows;
  result.quality = measured.summary.quality;
  result.seconds = stopwatch.elapsed();
  return result;
}

}  // namespace microseg::pipeline
