#include "microseg/pipeline/segment.hpp"

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <memory>
#include <sstream>

#include "microseg/distributed/column_statistics.hpp"
#include "microseg/distributed/small_segments.hpp"
#include "microseg/io/checkpoint_file.hpp"
#include "microseg/io/customer_table.hpp"
#include "segment_stages.hpp"

namespace microseg::pipeline {
namespace {

using namespace detail;

std::string joined(const std::vector<std::string>& items) {
  std::string text;
  for (const auto& item : items) text += (text.empty() ? "" : ",") + item;
  return text;
}

// The value feature: the one asked for, else monetary (or monetary_total, as `microseg ingest
// transactions` names it) when the input has it; "none" turns it off.
std::string value_feature_of(const SegmentPlan& plan, const io::CustomerTableSchema& schema) {
  const auto present = [&](const std::string& name) {
    return std::find(schema.feature_names.begin(), schema.feature_names.end(), name) !=
           schema.feature_names.end();
  };
  if (plan.value_feature == "none") return "";
  if (plan.value_feature.empty()) {
    for (const char* name : {"monetary", "monetary_total"}) {
      if (present(name)) return name;
    }
    return "";
  }
  if (!present(plan.value_feature)) {
    throw InputError("option --value-feature: feature '" + plan.value_feature +
                     "' is not in input file '" + schema.path + "'");
  }
  return plan.value_feature;
}

// Segments below the minimum size go into their nearest segment before the final assignment.
CentroidMatrix merged_small_segments(const SegmentPlan& plan, const PreparedCustomers& prepared,
                                     const CentroidMatrix& centroids, std::int64_t minimum,
                                     const SegmentProgress& progress) {
  if (!plan.merge_small) return centroids;
  const distributed::SmallSegmentMerges merges =
      distributed::merge_small_segments(prepared.rows, centroids, minimum);
  if (!merges.merges.empty() && progress.note) {
    progress.note("merged " + std::to_string(merges.merges.size()) + " segment(s) below " +
                  std::to_string(minimum) + " customers into their nearest segment: k = " +
                  std::to_string(merges.centroids.rows()));
  }
  return merges.centroids;
}

// The assignments in stable ids and what /model and /profiles add to a run's outputs.
struct SegmentOutputs {
  AssignmentBlock assignments;
  io::RunOutputs outputs;
};

SegmentOutputs segment_outputs(const SegmentPlan& plan, const PreparedCustomers& prepared,
                               const MeasuredRun& measured, const Comparison& comparison,
                               const ActionableProfiles& actionable,
                               const MarketingColumns& marketing) {
  SegmentOutputs out;
  out.assignments = AssignmentBlock{prepared.rows.rows(), prepared.customers, &prepared.rows.ids(),
                                    &comparison.stable_segments, &measured.assignment.distances};
  io::RunOutputs& outputs = out.outputs;
  outputs.scaling = &prepared.transform.model;
  outputs.transform = &prepared.features;
  outputs.identity = &comparison.match.identity;
  outputs.actionable = &actionable;
  outputs.values = marketing.value_feature.empty() ? nullptr : &marketing.value;
  if (const auto& migration = comparison.migration) {
    outputs.migration = &migration->report;
    outputs.moves = &migration->moves;
    outputs.at_risk = &migration->at_risk;
    outputs.match = &comparison.match;
    outputs.previous_run = plan.previous;
  }
  return out;
}

FittedModel fit_model(const distributed::Communicator& comm, const FitStage& stage,
                      std::int64_t min_size) {
  FittedModel model;
  if (stage.plan.macro_k > 0) {
    model.two_level = fit_two_levels(comm, stage);
    model.fit = model.two_level->macro_fit;
    model.centroids = model.two_level->micro_centroids;
    model.nearest = std::move(model.two_level->micro);
    return model;
  }
  const SegmentPlan& plan = stage.plan;
  if (plan.method == FitMethod::bisecting) {
    SegmentFit fitted = bisect_segments(comm, stage);
    model.fit = std::move(fitted.outcome);
    model.tree = std::move(fitted.tree);
    model.centroids = model.fit.model.centroids;
    return model;
  }
  model.fit = fit_segments(comm, stage);
  if (plan.restarts > 1 && stage.progress.note) {
    stage.progress.note("best of " + std::to_string(plan.restarts) + " restarts: restart " +
                        std::to_string(model.fit.best_restart));
  }
  // From here on the run finishes: what is left is short next to the fit, and stopping now
  // would throw the finished fit away.
  model.centroids = merged_small_segments(plan, stage.prepared, model.fit.model.centroids, min_size,
                                          stage.progress);
  if (model.centroids.rows() == model.fit.model.centroids.rows()) {
    model.nearest = std::move(model.fit.best_nearest);
  }
  return model;
}

// What a two-level run writes about its macro level; owns what io::MacroOutputs points at.
struct MacroLevel {
  SegmentIdentity identity;
  std::vector<std::int32_t> labels;            // per local row, the macro segment's stable id
  std::vector<std::int64_t> macro_of_segment;  // per micro row, its macro segment's stable id
  io::MacroOutputs outputs;
};

std::unique_ptr<MacroLevel> macro_level(const TwoLevelModel& model,
                                        const SegmentationSummary& summary,
                                        const MacroComparison& comparison) {
  auto level = std::make_unique<MacroLevel>();
  level->identity = comparison.match.identity;
  level->labels = comparison.stable_segments;
  for (int macro : model.hierarchy.macro_of_each()) {
    level->macro_of_segment.push_back(level->identity.ids[macro]);
  }
  level->outputs = {&summary, &level->identity, &level->labels, &level->macro_of_segment};
  if (comparison.migration) {
    level->outputs.migration = &comparison.migration->report;
    level->outputs.match = &comparison.match;
  }
  return level;
}

// The files besides the input whose content the run depends on, for the manifest.
std::vector<io::ManifestReference> segment_references(const SegmentPlan& plan) {
  std::vector<io::ManifestReference> references;
  if (!plan.previous.empty()) {
    references.push_back(
        {"previous", (std::filesystem::path(plan.previous) / "segments.h5").string()});
  }
  if (!plan.init_centroids.empty()) references.push_back({"init_centroids", plan.init_centroids});
  return references;
}

RunFacts segment_facts(const SegmentPlan& plan, const SegmentInputs& inputs,
                       const PreparedCustomers& prepared, const distributed::FitOutcome& fit,
                       int segments) {
  RunFacts facts;
  facts.configuration = describe(plan);
  facts.job_file = plan.job_file;
  facts.seed = plan.seed;
  facts.customers = prepared.customers;
  facts.dropped_customers = prepared.dropped;
  facts.k = inputs.k;
  facts.segments = segments;
  facts.merged_segments = inputs.k - segments;
  facts.iterations = fit.model.iterations;
  facts.converged = fit.model.converged;
  facts.restarts = plan.restarts;
  facts.best_restart = fit.best_restart;
  facts.previous_run = plan.previous;
  facts.warm_start = plan.warm_start;
  facts.macro_k = plan.macro_k;
  if (plan.macro_k > 0) facts.micro_k_rule = to_string(plan.micro_k_rule);
  facts.sample_weight = plan.sample_weight;
  return facts;
}

// When one run is two-level and the other is not, only the micro level is compared.
void note_levels(const SegmentPlan& plan, const SegmentInputs& inputs,
                 const SegmentProgress& progress) {
  if (!inputs.previous || !progress.note) return;
  const bool previous_two_level = inputs.previous->macro.has_value();
  if (previous_two_level && plan.macro_k == 0) {
    progress.note("note: the previous run " + inputs.previous->directory +
                  " is two-level; this one-level run keeps the ids of its micro-segments and "
                  "leaves its macro level out of the comparison");
  } else if (!previous_two_level && plan.macro_k > 0) {
    progress.note("note: the previous run " + inputs.previous->directory +
                  " has one level; its segments are matched as micro-segments inside the macro "
                  "segment holding most of their customers, the macro segments get the ids of a "
                  "first run and no macro migration is written");
  }
}

void report_read(const SegmentInputs& inputs, const PreparedCustomers& prepared, int ranks,
                 const SegmentPlan& plan, const SegmentProgress& progress) {
  if (!progress.read) return;
  SegmentReadSummary read;
  read.customers = prepared.customers;
  read.dropped = prepared.dropped;
  read.features = static_cast<int>(inputs.input.feature_names.size());
  read.ranks = ranks;
  read.k = inputs.k;
  read.bytes_read = (prepared.customers + prepared.dropped) * read.features * 4;
  read.seconds_read = prepared.seconds_read;
  read.dropping = plan.transform.missing == MissingPolicy::drop;
  read.sample_weight = plan.sample_weight;
  read.total_weight = prepared.rows.total_weight();
  progress.read(read);
}

// A value feature asked for by name must be finite: the same check, and message naming the
// column and a customer, as the features get.
void check_marketing_finite(const distributed::Communicator& comm, const SegmentInputs& inputs,
                            const PreparedCustomers& prepared,
                            const std::vector<std::string>& names) {
  CustomerBlock block;
  block.rows = distributed::block_of_rows(inputs.input.schema.rows, comm.rank(), comm.size());
  block.ids = prepared.rows.ids();
  block.feature_names = names;
  block.features.resize(static_cast<Eigen::Index>(block.ids.size()),
                        static_cast<Eigen::Index>(names.size()));
  for (std::size_t j = 0; j < names.size(); ++j) {
    for (std::size_t i = 0; i < block.ids.size(); ++i) {
      block.features(static_cast<Eigen::Index>(i), static_cast<Eigen::Index>(j)) =
          static_cast<float>(prepared.extra[j][i]);  // read as float: exact
    }
  }
  distributed::check_finite(comm, block, inputs.input.schema.path);
}

}  // namespace

namespace detail {

SegmentInputs inspect_segment_inputs(const distributed::Communicator& comm, const SegmentPlan& plan,
                                     bool make_output_directory) {
  SegmentInputs inputs;
  inputs.publication = publication_rules(comm, plan.publication);
  inputs.k = plan.k;
  // With --warm-start and no --k, k is the previous run's: known before the input is checked.
  if (plan.warm_start && plan.k == 0) {
    comm.run_agreed([&] { inputs.k = io::read_run_model(plan.previous).k(); });
  }
  const CustomerSelection selection{plan.input, plan.features,  plan.log1p_features,
                                    plan.scale, plan.transform, plan.sample_weight};
  inputs.input = inspect_customer_input(comm, selection, inputs.k);
  const io::CustomerTableSchema& schema = inputs.input.schema;
  comm.run_agreed([&] {
    if (!plan.previous.empty()) {
      inputs.previous =
          io::read_run_model(plan.previous).with_feature_order(inputs.input.feature_names);
    }
    inputs.value_feature = value_feature_of(plan, schema);
    inputs.rfm = find_rfm_columns(schema.feature_names);
    inputs.min_segment_size = plan.min_segment_size.customers_for(schema.rows);
    if (inputs.min_segment_size > schema.rows) {
      throw InputError("option --min-segment-size: " + std::to_string(inputs.min_segment_size) +
                       " customers is more than the " + std::to_string(schema.rows) + " in '" +
                       plan.input + "'");
    }
  });
  if (make_output_directory) {
    comm.run_agreed([&] {
      if (comm.is_root()) io::ensure_writable_directory(plan.output);
    });
  }
  if (plan.init == InitKind::file && !plan.warm_start) {
    comm.run_agreed([&] {
      inputs.given_centroids = io::read_centroids(
          plan.init_centroids, inputs.k, static_cast<int>(inputs.input.feature_names.size()));
    });
  }
  return inputs;
}

std::vector<std::string> marketing_column_names(const SegmentInputs& inputs) {
  std::vector<std::string> names;
  if (!inputs.value_feature.empty()) names.push_back(inputs.value_feature);
  if (inputs.rfm) {
    for (const auto& name : *inputs.rfm) {
      if (std::find(names.begin(), names.end(), name) == names.end()) names.push_back(name);
    }
  }
  return names;
}

MarketingColumns marketing_columns(const distributed::Communicator& comm, const SegmentPlan& plan,
                                   const SegmentInputs& inputs, PreparedCustomers& prepared,
                                   const SegmentProgress& progress) {
  const std::vector<std::string> names = marketing_column_names(inputs);
  MarketingColumns columns;
  columns.value_feature = inputs.value_feature;
  columns.rfm = inputs.rfm;
  if (names.empty()) return columns;
  const auto index_of = [&](const std::string& name) {
    return static_cast<std::size_t>(std::find(names.begin(), names.end(), name) - names.begin());
  };
  std::vector<std::int64_t> non_finite(names.size(), 0);
  for (std::size_t j = 0; j < names.size(); ++j) {
    for (double x : prepared.extra[j]) non_finite[j] += !std::isfinite(x);
  }
  comm.sum_in_place(non_finite);
  if (!plan.value_feature.empty() && non_finite[index_of(inputs.value_feature)] > 0) {
    check_marketing_finite(comm, inputs, prepared, names);
  }
  const auto unusable = [&](const std::string& name, const char* what) {
    const std::int64_t bad = non_finite[index_of(name)];
    if (bad > 0 && progress.note) {
      progress.note("note: column '" + name + "' holds " + std::to_string(bad) +
                    " NaN or infinite values, so the " + what + " is left out");
    }
    return bad > 0;
  };
  if (!columns.value_feature.empty() && unusable(columns.value_feature, "value analysis")) {
    columns.value_feature.clear();
  }
  if (columns.rfm) {
    bool usable = true;
    for (const auto& name : *columns.rfm) usable = !unusable(name, "RFM summary") && usable;
    if (!usable) columns.rfm.reset();
  }
  if (!columns.value_feature.empty())
    columns.value = prepared.extra[index_of(columns.value_feature)];
  if (columns.rfm) {
    columns.recency = prepared.extra[index_of((*columns.rfm)[0])];
    columns.frequency = prepared.extra[index_of((*columns.rfm)[1])];
    columns.monetary = prepared.extra[index_of((*columns.rfm)[2])];
  }
  prepared.extra.clear();
  return columns;
}

SegmentResult segment_run(const distributed::Communicator& comm, const SegmentPlan& plan,
                          const SegmentProgress& progress, const ModelSource& source) {
  Stopwatch stopwatch;
  SegmentResult result;
  const bool fitting = source.command == "segment";
  const SegmentInputs inputs = inspect_segment_inputs(comm, plan, fitting);
  PreparedCustomers prepared = read_and_prepare(comm, inputs.input, marketing_column_names(inputs));
  const MarketingColumns marketing = marketing_columns(comm, plan, inputs, prepared, progress);
  const std::int64_t min_size = plan.min_segment_size.customers_for(prepared.customers);
  const double seconds_read_and_scale = stopwatch.lap();
  result.timings.emplace_back("seconds_read", seconds_read_and_scale - prepared.seconds_transform);
  result.timings.emplace_back("seconds_scale", prepared.seconds_transform);
  report_read(inputs, prepared, comm.size(), plan, progress);
  note_levels(plan, inputs, progress);

  FittedModel model = source.model(comm, {plan, inputs, prepared, progress}, min_size);
  if (!fitting) {  // only once the model is known to fit the data: a refusal leaves no directory
    comm.run_agreed([&] {
      if (comm.is_root()) io::ensure_writable_directory(plan.output);
    });
  }
  const distributed::FitOutcome& fit = model.fit;
  stopwatch.lap();
  result.timings.emplace_back("seconds_init", fit.seconds_init);
  result.timings.emplace_back("seconds_iterate", fit.seconds_iterate);
  const CentroidMatrix& centroids = model.centroids;
  if (progress.phase_started) progress.phase_started("metrics");
  MeasuredRun measured = measure_and_profile(comm, {inputs.input,
                                                    prepared,
                                                    centroids,
                                                    {plan.silhouette_sample, plan.seed},
                                                    std::move(model.nearest),
                                                    model.two_level ? &*model.two_level : nullptr,
                                                    plan.assignments_csv});
  ActionableProfiles actionable =
      actionable_profiles(comm, measured, marketing, min_size, prepared.rows.lloyd_weights());
  const double seconds_metrics = stopwatch.lap();
  result.timings.emplace_back("seconds_metrics", seconds_metrics);
  if (progress.phase_finished) progress.phase_finished("metrics", seconds_metrics);
  if (inputs.previous && progress.phase_started) progress.phase_started("migration join");
  const Comparison comparison = compare_with_previous_run(
      comm,
      {plan, inputs, prepared, measured, marketing, model.two_level ? &*model.two_level : nullptr},
      actionable);
  const double seconds_compare = stopwatch.lap();
  result.timings.emplace_back("seconds_compare", seconds_compare);
  if (inputs.previous && progress.phase_finished) {
    progress.phase_finished("migration join", seconds_compare);
  }

  const int segments = static_cast<int>(centroids.rows());
  SegmentationSummary& summary = measured.summary;
  RunFacts facts = segment_facts(plan, inputs, prepared, fit, segments);
  if (!source.configuration.empty()) facts.configuration = source.configuration;
  summary.run = run_attributes(comm, facts);
  summary.run.insert(summary.run.end(), source.run.begin(), source.run.end());
  summary.run.insert(summary.run.end(), result.timings.begin(), result.timings.end());
  SegmentOutputs out = segment_outputs(plan, prepared, measured, comparison, actionable, marketing);
  std::unique_ptr<MacroLevel> macro;
  if (model.two_level) {
    macro = macro_level(*model.two_level, *measured.macro, *comparison.macro);
    out.outputs.macro = &macro->outputs;
  }
  out.outputs.tree = model.tree ? &*model.tree : nullptr;
  // The customers' own keys, read only now: the features are freed, the strings are not needed
  // before the write.
  const std::optional<ExternalIds> external_ids =
      read_kept_external_ids(comm, inputs.input.schema, prepared.kept);
  out.outputs.external_ids = external_ids ? &*external_ids : nullptr;
  out.outputs.assignments_csv = plan.assignments_csv;
  out.outputs.margins = plan.assignments_csv ? &measured.assignment.margins : nullptr;
  out.outputs.publication = inputs.publication;
  RunWrite write{source.command,
                 plan.output,
                 plan.input,
                 segment_input_fingerprint(plan, inputs, prepared),
                 facts.configuration,
                 summary,
                 out.assignments,
                 out.outputs,
                 fitting};
  write.options = plan.recorded_options;
  write.references = segment_references(plan);
  write.privacy = publication_record(inputs.publication);
  const WrittenRun written = write_run(comm, write);
  if (!written.removed_checkpoint.empty() && progress.note) {
    progress.note("removed the checkpoint " + written.removed_checkpoint +
                  " (the run is complete)");
  }
  result.outputs = written.files;
  result.seconds_write = stopwatch.lap();

  result.k = inputs.k;
  result.segments = segments;
  result.model = fit.model;
  result.quality = summary.quality;
  result.profiles = std::move(summary.profiles);
  result.identity = comparison.match.identity;
  result.actionable = std::move(actionable);
  if (comparison.migration) {
    result.previous = PreviousRunSummary{inputs.previous->directory,
                                         inputs.previous->k(),
                                         comparison.match,
                                         comparison.migration->report,
                                         {}};
    if (comparison.macro && comparison.macro->migration) {
      result.previous->macro =
          PreviousMacroSummary{inputs.previous->macro->identity.ids.size(), comparison.macro->match,
                               comparison.macro->migration->report};
    }
  }
  if (model.two_level) {
    result.macro =
        MacroLevelResult{measured.macro->profiles, macro->identity, measured.macro->quality,
                         describe_segments(measured.macro->profiles, measured.macro->feature_names),
                         model.two_level->hierarchy.macro_of_each()};
  }
  return result;
}

}  // namespace detail

SegmentResult segment(const distributed::Communicator& comm, const SegmentPlan& plan,
                      const SegmentProgress& progress) {
  return segment_run(comm, plan, progress, {"segment", fit_model, "", {}});
}

std::string describe(const SegmentPlan& plan) {
  std::ostringstream text;
  text << "input = " << plan.input << "\noutput = " << plan.output;
  if (plan.k > 0) text << "\nk = " << plan.k;
  text << "\nfeatures = " << joined(plan.features) << "\nscale = " << to_string(plan.scale)
       << "\nlog1p = " << joined(plan.log1p_features) << "\ninit = " << to_string(plan.init)
       << "\ninit-centroids = " << plan.init_centroids << "\nmax-iter = " << plan.max_iterations
       << "\ntol = " << plan.tolerance << "\nlloyd = " << to_string(plan.lloyd_step)
       << "\nseed = " << plan.seed << "\nrestarts = " << plan.restarts
       << "\nsilhouette-sample = " << plan.silhouette_sample << "\nprevious = " << plan.previous
       << "\nwarm-start = " << (plan.warm_start ? "true" : "false")
       << "\nvalue-feature = " << plan.value_feature
       << "\nmin-segment-size = " << plan.min_segment_size.text()
       << "\nmerge-small = " << (plan.merge_small ? "true" : "false")
       << "\nmatch-max-distance = " << plan.match_cutoff.text()
       << "\ncheckpoint-every = " << plan.checkpoint_every
       << "\nresume = " << (plan.resume ? "true" : "false");
  text << "\nmethod = " << to_string(plan.method);
  if (plan.method == FitMethod::bisecting) text << "\nbisect = " << to_string(plan.bisect);
  if (plan.macro_k > 0) {
    text << "\nmacro-k = " << plan.macro_k << "\nmicro-k-rule = " << to_string(plan.micro_k_rule);
  }
  if (!plan.sample_weight.empty()) text << "\nsample-weight = " << plan.sample_weight;
  if (plan.assignments_csv) text << "\nassignments-csv = true";
  text << "\n" << describe(plan.transform);
  return text.str();
}

}  // namespace microseg::pipeline
