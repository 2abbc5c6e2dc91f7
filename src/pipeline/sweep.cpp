#include "microseg/pipeline/sweep.hpp"

#include <algorithm>
#include <filesystem>
#include <iomanip>
#include <limits>
#include <sstream>

#include "microseg/core/assignment.hpp"
#include "microseg/core/k_selection.hpp"
#include "microseg/core/number_text.hpp"
#include "microseg/core/partition_agreement.hpp"
#include "microseg/core/random.hpp"
#include "microseg/core/stopwatch.hpp"
#include "microseg/distributed/fault_injection.hpp"
#include "microseg/distributed/partition_measures.hpp"
#include "microseg/distributed/quality.hpp"
#include "microseg/distributed/stall_watchdog.hpp"
#include "microseg/io/segments_file.hpp"
#include "microseg/pipeline/provenance.hpp"
#include "microseg/pipeline/stop_signal.hpp"
#include "sweep_settings.hpp"
#include "sweep_stages.hpp"

namespace microseg::pipeline {
namespace {
namespace fs = std::filesystem;

// Root reads each k of the sweep already finished in its output directory and checks that it was
// fitted with these settings. Every rank gets the list (errors are agreed).
std::vector<io::SweepModel> finished_models(const distributed::Communicator& comm,
                                            const SweepPlan& plan, const RunAttributes& settings) {
  std::vector<io::SweepModel> finished;
  std::optional<std::string> error;
  if (comm.is_root()) {
    try {
      for (std::int64_t k : io::sweep_model_ks(plan.output)) {
        if (std::find(plan.ks.begin(), plan.ks.end(), k) == plan.ks.end()) continue;
        const std::string path = io::sweep_model_path(plan.output, k);
        io::SweepModel model = io::read_sweep_model(path);
        if (macro_k_of(model.settings) != plan.macro_k) {
          throw InputError("output directory '" + plan.output +
                           "' already holds k = " + std::to_string(k) + " (" + path + ") from " +
                           sweep_level(model.settings) + ", and this is " + sweep_level(settings) +
                           ": its models cannot be kept. Rerun with " +
                           "the same --macro-k to resume, or choose another --output");
        }
        if (const auto difference = settings_difference(model.settings, settings)) {
          throw InputError("output directory '" + plan.output +
                           "' already holds k = " + std::to_string(k) + " (" + path +
                           ") from a sweep with other settings: " + *difference +
                           ". Rerun with the same settings to resume, or choose another --output");
        }
        finished.push_back(std::move(model));
      }
    } catch (const std::exception& e) {
      error = e.what();
    }
  }
  comm.agree(error);
  return finished;
}

// The finished models' rows, on every rank, after checking (on root, which read them) that they
// were fitted on this data: their centroids live in the transform it defines.
std::vector<SweepRow> finished_rows(const distributed::Communicator& comm, const SweepPlan& plan,
                                    const std::vector<io::SweepModel>& finished,
                                    const PreparedCustomers& prepared,
                                    const std::vector<std::string>& names) {
  std::optional<std::string> data_error;
  for (const auto& model : finished) {
    if (auto difference = scaling_difference(model.scaling, prepared.transform.model, names)) {
      data_error = "output directory '" + plan.output +
                   "' already holds k = " + std::to_string(model.row.k) +
                   " fitted on other data: " + *difference +
                   ". Rerun on the same input to resume, or choose another --output";
      break;
    }
  }
  comm.agree(data_error);
  std::vector<SweepRow> rows;
  for (const auto& model : finished) rows.push_back(model.row);
  comm.broadcast(rows);
  return rows;
}

distributed::LloydSettings lloyd_settings(const SweepPlan& plan, const PreparedCustomers& prepared,
                                          int k) {
  distributed::LloydSettings settings;
  settings.k = k;
  settings.max_iterations = plan.max_iterations;
  settings.tolerance = plan.tolerance;
  settings.mean_variance = distributed::mean_scaled_variance(prepared.transform);
  settings.step = plan.lloyd_step;
  return settings;
}

// Fits k on half `half` (0 or 1) of the customers and returns the labels of every customer of
// this rank under that fit; empty (on every rank) when the half holds fewer than k customers.
// A customer's half is a draw keyed by its global row, and the half is a table of its own in
// global order, so the draws inside the fit are the same on any rank count.
std::vector<std::int32_t> fit_on_half_and_assign(const SweepPlan& plan,
                                                 const PreparedCustomers& prepared, int k,
                                                 int half) {
  const distributed::RankRows& rows = prepared.rows;
  std::vector<char> members(static_cast<std::size_t>(rows.rows().size()));
  for (std::size_t i = 0; i < members.size(); ++i) {
    const auto row = static_cast<std::uint64_t>(rows.rows().begin + static_cast<std::int64_t>(i));
    members[i] =
        (keyed_uniform(plan.seed, RandomStream::stability_half, row) < 0.5 ? 0 : 1) == half;
  }
  const auto count = static_cast<std::int64_t>(std::count(members.begin(), members.end(), 1));
  if (rows.comm().sum(count) < k) return {};
  const distributed::RankRows subset = rows.subset(members);
  distributed::FitSettings settings;
  settings.lloyd = lloyd_settings(plan, prepared, k);
  // An index no row has, so the fit's seed is not a half draw.
  settings.seed = keyed_hash(plan.seed, RandomStream::stability_half, ~std::uint64_t{0},
                             static_cast<std::uint64_t>(half));
  const distributed::FitOutcome fit = distributed::fit_kmeans(
      subset, *distributed::make_seeding(plan.init), settings, stop_on_signal());
  return nearest_two(rows.features(), fit.model.centroids).nearest;
}

// The mean adjusted Rand index between the restarts' labelings; with one restart, between fits
// on two random halves of the customers (every customer assigned with both). NaN without a pair.
double stability(const SweepPlan& plan, const PreparedCustomers& prepared, int k,
                 const std::vector<std::vector<std::int32_t>>& restart_labels) {
  const distributed::Communicator& comm = prepared.rows.comm();
  double agreement = 0;
  int pairs = 0;
  for (std::size_t a = 0; a < restart_labels.size(); ++a) {
    for (std::size_t b = a + 1; b < restart_labels.size(); ++b) {
      agreement += adjusted_rand_index(
          distributed::contingency_table(comm, restart_labels[a], restart_labels[b], k, k), k, k);
      ++pairs;
    }
  }
  if (plan.restarts == 1) {
    const std::vector<std::int32_t> first = fit_on_half_and_assign(plan, prepared, k, 0);
    const std::vector<std::int32_t> second = fit_on_half_and_assign(plan, prepared, k, 1);
    if (!first.empty()) {
      agreement =
          adjusted_rand_index(distributed::contingency_table(comm, first, second, k, k), k, k);
      pairs = 1;
    }
  }
  return pairs > 0 ? agreement / pairs : std::numeric_limits<double>::quiet_NaN();
}

// The restarts' results a model file keeps, and the winner's.
void record_restarts(const distributed::FitOutcome& fit, io::SweepModel& model) {
  model.restart_inertia = fit.restart_inertias;
  for (const LloydOutcome& outcome : fit.restarts) {
    model.restart_iterations.push_back(outcome.iterations);
    model.restart_converged.push_back(outcome.converged);
    model.restart_centroids.insert(model.restart_centroids.end(), outcome.centroids.data(),
                                   outcome.centroids.data() + outcome.centroids.size());
  }
  model.best_restart = fit.best_restart;
  model.centroids = fit.model.centroids;
  model.iterations = fit.model.iterations;
  model.converged = fit.model.converged;
}

// Fits k `restarts` times (the fit of `segment --k K --restarts R` with the same seed), keeps the
// lowest inertia, and measures it: one model file's content.
io::SweepModel fit_and_measure(const SweepPlan& plan, const PreparedCustomers& prepared,
                               const std::vector<std::string>& names, int k,
                               const SweepProgress& progress) {
  const Stopwatch stopwatch;
  const distributed::RankRows& rows = prepared.rows;
  distributed::FitSettings settings;
  settings.lloyd = lloyd_settings(plan, prepared, k);
  settings.seed = plan.seed;
  settings.restarts = plan.restarts;
  settings.keep_restart_labels = plan.restarts > 1;
  distributed::FitControl control = stop_on_signal();
  control.on_restart = [&](int restart, const LloydOutcome& outcome, double seconds) {
    if (progress.restart && plan.restarts > 1) progress.restart(k, restart, outcome, seconds);
  };
  distributed::FitOutcome fit =
      distributed::fit_kmeans(rows, *distributed::make_seeding(plan.init), settings, control);
  io::SweepModel model;
  model.feature_names = names;
  model.scaling = prepared.transform.model;
  record_restarts(fit, model);
  distributed::enter_phase(rows.comm(), "metrics");
  // The uniform-sample silhouette of assign_and_measure is skipped (sample 0): the sweep measures
  // its own, stratified by segment.
  const distributed::FinalAssignment final_assignment = distributed::assign_and_measure(
      rows, model.centroids, {0, plan.seed}, std::move(fit.best_nearest));
  measure_sweep_row(plan, prepared, final_assignment, model);
  model.row.stability = stability(plan, prepared, k, fit.restart_labels);
  model.seconds = stopwatch.elapsed();
  return model;
}

distributed::FitInterrupted stopped(const distributed::Communicator& comm, const SweepPlan& plan,
                                    std::size_t finished, const std::string& when) {
  return distributed::FitInterrupted(
      stopped_on_signal(comm) + " " + when + "; the " + std::to_string(finished) +
      " k value(s) finished are kept in " + (fs::path(plan.output) / "models").string() +
      "/, and the same command run again fits only the others");
}

// The table of every k, written with its manifest.
io::SweepTable write_table(const distributed::Communicator& comm, const SweepPlan& plan,
                           std::vector<SweepRow> rows, const RunAttributes& settings,
                           const TextFields& fingerprint) {
  std::sort(rows.begin(), rows.end(),
            [](const SweepRow& a, const SweepRow& b) { return a.k < b.k; });
  io::SweepTable table;
  table.rows = rows;
  table.macro_k = plan.macro_k;
  table.recommendation = recommend_k(rows);
  table.rule = recommendation_rule();
  table.settings = settings;
  for (const auto& [key, value] : fingerprint) {
    if (key == "content_digest") table.content_digest = value;
  }
  comm.run_agreed([&] {
    if (comm.is_root()) io::write_sweep_table(plan.output, table);
  });
  remove_run_manifest(comm, plan.output);
  io::TextFields extra{{"k", plan.k_text}};
  if (plan.tasks > 1) {
    extra.emplace_back("task", std::to_string(plan.task) + "/" + std::to_string(plan.tasks));
  }
  io::RunManifest manifest = sweep_manifest("sweep", plan.output, table, fingerprint, extra);
  manifest.options = plan.recorded_options;
  write_run_manifest(comm, plan.output, manifest);
  return table;
}

}  // namespace

distributed::FitControl stop_on_signal() {
  distributed::FitControl control;
  control.stop_requested = [] { return stop_signal_received() != 0; };
  return control;
}

void measure_sweep_row(const SweepPlan& plan, const PreparedCustomers& prepared,
                       const distributed::FinalAssignment& final_assignment,
                       io::SweepModel& model) {
  const distributed::RankRows& rows = prepared.rows;
  const auto k = static_cast<int>(model.centroids.rows());
  model.segment_sizes = distributed::segment_sizes(rows.comm(), final_assignment.segments, k);
  const distributed::StratifiedSilhouette silhouette = distributed::stratified_silhouette(
      rows, final_assignment.segments, model.segment_sizes, {plan.silhouette_sample, plan.seed});
  model.silhouette_sample_sizes = silhouette.sample_sizes;
  SweepRow& row = model.row;
  const QualityReport& quality = final_assignment.quality;
  row.k = k;
  row.inertia = quality.inertia;
  row.calinski_harabasz = quality.calinski_harabasz;
  row.davies_bouldin = quality.davies_bouldin;
  row.silhouette_simplified = quality.silhouette_simplified;
  row.silhouette_sampled = silhouette.value;
  row.min_segment_size = *std::min_element(model.segment_sizes.begin(), model.segment_sizes.end());
  row.min_segment_share = static_cast<double>(row.min_segment_size) /
                          static_cast<double>(prepared.transform.statistics.count);
}

SweepResult sweep(const distributed::Communicator& comm, const SweepPlan& plan,
                  const SweepProgress& progress) {
  const Stopwatch stopwatch;
  // A sweep takes no --sample-weight: every customer weighs 1.
  const CustomerSelection selection{plan.input, plan.features,  plan.log1p_features,
                                    plan.scale, plan.transform, std::string()};
  const InspectedInput input = inspect_customer_input(comm, selection, plan.ks.back());
  comm.run_agreed([&] {
    if (comm.is_root()) io::ensure_writable_directory(plan.output);
  });
  const RunAttributes settings = sweep_settings(plan, input);
  const std::vector<io::SweepModel> finished = finished_models(comm, plan, settings);
  const PreparedCustomers prepared = read_and_prepare(comm, input);
  std::vector<SweepRow> rows = finished_rows(comm, plan, finished, prepared, input.feature_names);
  if (progress.start) {
    const int features = static_cast<int>(input.feature_names.size());
    progress.start({input.schema.rows, features, comm.size(), input.schema.rows * features * 4,
                    prepared.seconds_read});
  }
  std::optional<TwoLevelSweep> two_level;
  for (int k : plan.ks) {
    if (std::any_of(rows.begin(), rows.end(), [&](const SweepRow& row) { return row.k == k; })) {
      if (progress.kept) progress.kept(k, io::sweep_model_path(plan.output, k));
      continue;
    }
    if (stop_agreed(comm))
      throw stopped(comm, plan, rows.size(), "before k = " + std::to_string(k));
    if (plan.macro_k > 0 && !two_level) {  // once, and only when some k is left to fit
      try {
        two_level.emplace(plan, input, prepared);
        two_level->fit_macro_level(progress);
      } catch (const distributed::FitInterrupted&) {
        throw stopped(comm, plan, rows.size(), "while fitting the macro level");
      }
    }
    io::SweepModel model;
    try {
      model = two_level ? two_level->fit_and_measure(k)
                        : fit_and_measure(plan, prepared, input.feature_names, k, progress);
    } catch (const distributed::FitInterrupted&) {
      throw stopped(comm, plan, rows.size(), "while fitting k = " + std::to_string(k));
    }
    model.settings = settings;
    distributed::mark_phase("write");
    comm.run_agreed([&] {
      if (comm.is_root()) io::write_sweep_model(plan.output, model);
    });
    rows.push_back(model.row);
    if (progress.finished) progress.finished(model);
  }
  SweepResult result;
  result.table = write_table(comm, plan, rows, settings,
                             input_fingerprint(plan.input, input.schema.rows, input.feature_names,
                                               prepared.content_digest));
  result.seconds = stopwatch.elapsed();
  return result;
}

}  // namespace microseg::pipeline
