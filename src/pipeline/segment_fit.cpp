// The fit stage of `segment`: where the Lloyd iterations start (a warm start from the previous
// run, centroids from a file, or drawn), the checkpoint a stopped fit continues from, and the
// stop the ranks agree on.
#include <filesystem>

#include "microseg/core/number_text.hpp"
#include "microseg/core/segment_matching.hpp"
#include "microseg/core/sha256.hpp"
#include "microseg/io/checkpoint_file.hpp"
#include "microseg/pipeline/stop_signal.hpp"
#include "segment_stages.hpp"

namespace microseg::pipeline::detail {
namespace {

std::string joined(const std::vector<std::string>& items) {
  std::string text;
  for (const auto& item : items) text += (text.empty() ? "" : ",") + item;
  return text;
}

// A warm start: the previous centroids mapped into this run's scaled space; fewer segments keep
// the k largest previous ones, more are completed by k-means++ draws.
CentroidMatrix warm_start_centroids(const distributed::Communicator& comm, const FitStage& stage) {
  const io::RunModel& previous = *stage.inputs.previous;
  const int k = stage.fit_k();
  CentroidMatrix start;
  comm.run_agreed([&] {
    start = rescale_centroids(previous.centroids, previous.scaling, stage.prepared.transform.model,
                              stage.inputs.input.feature_names);
  });
  if (k < previous.k()) {
    const std::vector<int> kept = largest_segment_rows(previous.sizes, k);
    CentroidMatrix largest(k, start.cols());
    for (int s = 0; s < k; ++s) largest.row(s) = start.row(kept[s]);
    start = largest;
  }
  return distributed::extend_centroids(stage.prepared.rows, start, k, stage.plan.seed);
}

// Every option that changes the result, as resolved for this input: a checkpoint written under
// another configuration cannot continue into the result of this one.
TextFields fit_configuration(const FitStage& stage, InitKind init, const CentroidMatrix& given) {
  const SegmentPlan& plan = stage.plan;
  const InspectedInput& input = stage.inputs.input;
  std::vector<std::string> log1p_names;
  for (std::size_t j = 0; j < input.feature_names.size(); ++j) {
    if (input.log1p[j]) log1p_names.push_back(input.feature_names[j]);
  }
  // Seeds from a file or a previous run enter by content, whatever path they came from.
  std::string seeds = "none";
  if (init == InitKind::file) {
    Sha256 hash;
    hash.update(given.data(), sizeof(double) * static_cast<std::size_t>(given.size()));
    seeds = "sha256:" + Sha256::hex(hash.digest());
  }
  const auto& quantiles = plan.transform.clip_quantiles;
  const std::string clip =
      quantiles.empty() ? "" : round_trip_text(quantiles[0]) + "," + round_trip_text(quantiles[1]);
  TextFields fields{{"k", std::to_string(stage.fit_k())},
                    {"features", joined(input.feature_names)},
                    {"scale", to_string(plan.scale)},
                    {"log1p", joined(log1p_names)},
                    {"init", to_string(init)},
                    {"initial-centroids", seeds},
                    {"max-iter", std::to_string(plan.max_iterations)},
                    {"tol", round_trip_text(plan.tolerance)},
                    {"seed", std::to_string(plan.seed)},
                    {"restarts", std::to_string(plan.restarts)},
                    {"silhouette-sample", std::to_string(plan.silhouette_sample)},
                    {"previous", plan.previous},
                    {"warm-start", plan.warm_start ? "true" : "false"},
                    {"value-feature", plan.value_feature},
                    {"min-segment-size", plan.min_segment_size.text()},
                    {"merge-small", plan.merge_small ? "true" : "false"},
                    {"match-max-distance", plan.match_cutoff.text()},
                    {"missing", to_string(plan.transform.missing)},
                    {"one-hot", joined(plan.transform.one_hot)},
                    {"clip-quantiles", clip},
                    {"weights", joined(plan.transform.weights)}};
  if (plan.method == FitMethod::bisecting) {  // so k-means runs' checkpoints stay valid
    fields.emplace_back("method", to_string(plan.method));
    fields.emplace_back("bisect", to_string(plan.bisect));
  }
  if (plan.macro_k > 0) {  // two-level runs only, so flat runs' checkpoints stay valid
    fields.emplace_back("macro-k", std::to_string(plan.macro_k));
    fields.emplace_back("micro-k-rule", to_string(plan.micro_k_rule));
  }
  if (!plan.sample_weight.empty()) fields.emplace_back("sample-weight", plan.sample_weight);
  return fields;
}

// Why a checkpoint cannot continue this run, if so.
void check_checkpoint(const CheckpointPlace& place, const io::CheckpointRecord& record, int k,
                      int d) {
  const std::string refused = "cannot resume from checkpoint '" + place.path + "': ";
  const std::string remedy =
      ". Resume with the options and input of the interrupted run, or run without --resume "
      "to start over (the checkpoint is then replaced)";
  const TextFields saved_input = parse_fields(record.input_fingerprint);
  if (auto difference = fingerprint_difference(parse_fields(record.configuration_fingerprint),
                                               place.configuration)) {
    throw InputError(refused +
                     "it was written by a run with another configuration: " + *difference + remedy);
  }
  if (auto difference = fingerprint_difference(saved_input, place.input)) {
    std::string file;
    for (const auto& [key, value] : saved_input) {
      if (key == "file") file = " (that run read '" + value + "')";
    }
    throw InputError(refused + "it was written for other input data" + file + ": " + *difference +
                     remedy);
  }
  const FitCheckpoint& fit = record.fit;
  bool fits = fit.centroids.rows() == k && fit.centroids.cols() == d && fit.initial.rows() == k &&
              fit.initial.cols() == d;
  if (record.finished_micro_fits) {
    for (const LloydOutcome& micro : *record.finished_micro_fits) {
      fits = fits && micro.centroids.cols() == d && micro.centroids.rows() > 0;
    }
    fits = fits && record.finished_micro_fits->size() <= static_cast<std::size_t>(k);
  }
  if (!fits) {
    throw InputError(refused + "its centroids are not " + std::to_string(k) + " × " +
                     std::to_string(d) + " (the file is damaged)");
  }
}

// With --resume: the checkpoint to continue from, after checking that it belongs to this
// configuration and this input; nullopt when there is none (the run starts from the beginning).
std::optional<io::CheckpointRecord> resume_point(const distributed::Communicator& comm,
                                                 const FitStage& stage,
                                                 const CheckpointPlace& place) {
  const auto note = [&](const std::string& line) {
    if (stage.progress.note) stage.progress.note(line);
  };
  const bool present = comm.any(comm.is_root() && std::filesystem::exists(place.path));
  if (!stage.plan.resume) {
    if (present)
      note("note: " + place.path + " is not used without --resume; a new checkpoint replaces it");
    return std::nullopt;
  }
  if (!present) {
    note("--resume: no checkpoint at " + place.path + ", so the run starts from the beginning");
    return std::nullopt;
  }
  io::CheckpointRecord record;
  comm.run_agreed([&] {
    record = io::read_checkpoint(place.path);
    check_checkpoint(place, record, stage.fit_k(), stage.prepared.rows.d());
  });
  if (record.finished_micro_fits) {
    note("resuming from " + place.path + ": the macro fit and the micro fits of " +
         std::to_string(record.finished_micro_fits->size()) + " macro segment(s) are done");
  } else {
    note("resuming from " + place.path + ": restart " + std::to_string(record.fit.restart) +
         ", after iteration " + std::to_string(record.fit.iteration));
  }
  return record;
}

}  // namespace

TextFields segment_input_fingerprint(const SegmentPlan& plan, const SegmentInputs& inputs,
                                     const PreparedCustomers& prepared) {
  TextFields fields = input_fingerprint(plan.input, inputs.input.schema.rows,
                                        inputs.input.feature_names, prepared.content_digest);
  if (!plan.sample_weight.empty()) {  // weighted runs only: other fingerprints stay as they were
    fields.emplace_back("sample_weight", plan.sample_weight);
    fields.emplace_back("sample_weight_digest", prepared.weight_digest);
  }
  return fields;
}

distributed::FitSettings fit_settings(const FitStage& stage) {
  distributed::FitSettings settings;
  settings.lloyd.k = stage.fit_k();
  settings.lloyd.max_iterations = stage.plan.max_iterations;
  settings.lloyd.tolerance = stage.plan.tolerance;
  settings.lloyd.mean_variance = distributed::mean_scaled_variance(stage.prepared.transform);
  settings.lloyd.step = stage.plan.lloyd_step;
  settings.seed = stage.plan.seed;
  settings.restarts = stage.plan.restarts;
  return settings;
}

FitStart fit_start(const distributed::Communicator& comm, const FitStage& stage) {
  const SegmentPlan& plan = stage.plan;
  FitStart start;
  start.init = plan.warm_start ? InitKind::file : plan.init;
  start.given = plan.warm_start ? warm_start_centroids(comm, stage) : stage.inputs.given_centroids;
  CheckpointPlace& place = start.place;
  place.path = (std::filesystem::path(plan.output) / "checkpoint.h5").string();
  // A stop asked for while reading or scaling ends the run here: the fit has not started, so
  // there is nothing new to save, and a checkpoint from an earlier attempt is left as it was.
  if (stop_agreed(comm)) {
    throw distributed::FitInterrupted(stopped_on_signal(comm) +
                                      " before the fit started; no checkpoint was written (" +
                                      place.path + " is left as it was); run again to continue");
  }
  place.configuration = fit_configuration(stage, start.init, start.given);
  place.input = segment_input_fingerprint(plan, stage.inputs, stage.prepared);
  start.resumed = resume_point(comm, stage, place);
  return start;
}

void write_fit_checkpoint(const distributed::Communicator& comm, const FitStage& stage,
                          const CheckpointPlace& place, io::CheckpointRecord record) {
  record.configuration_fingerprint = fields_text(place.configuration);
  record.input_fingerprint = fields_text(place.input);
  comm.run_agreed([&] { io::write_checkpoint(place.path, comm.native(), record); });
  if (!stage.progress.note) return;
  if (record.finished_micro_fits) {
    stage.progress.note("checkpoint: the macro fit and the micro fits of " +
                        std::to_string(record.finished_micro_fits->size()) +
                        " macro segment(s) written to " + place.path);
  } else {
    stage.progress.note("checkpoint: restart " + std::to_string(record.fit.restart) +
                        ", iteration " + std::to_string(record.fit.iteration) + " written to " +
                        place.path);
  }
}

distributed::FitOutcome fit_segments(const distributed::Communicator& comm, const FitStage& stage) {
  return fit_segments(comm, stage, fit_start(comm, stage));
}

distributed::FitOutcome fit_segments(const distributed::Communicator& comm, const FitStage& stage,
                                     const FitStart& start) {
  const CheckpointPlace& place = start.place;
  distributed::FitControl control;
  control.on_iteration = stage.progress.iteration;
  control.on_seeding_round = stage.progress.seeding_round;
  control.resume = start.resumed ? &start.resumed->fit : nullptr;
  control.checkpoint_every = stage.plan.checkpoint_every;
  control.stop_requested = [] { return stop_signal_received() != 0; };
  FitCheckpoint last;
  control.write_checkpoint = [&](const FitCheckpoint& state) {
    write_fit_checkpoint(comm, stage, place, io::CheckpointRecord{"", "", state, std::nullopt});
    last.restart = state.restart;
    last.iteration = state.iteration;
  };
  try {
    return distributed::fit_kmeans(stage.prepared.rows,
                                   *distributed::make_seeding(start.init, start.given),
                                   fit_settings(stage), control);
  } catch (const distributed::FitInterrupted&) {
    throw distributed::FitInterrupted(stopped_on_signal(comm) + " after iteration " +
                                      std::to_string(last.iteration) + " of restart " +
                                      std::to_string(last.restart) + ": checkpoint written to " +
                                      place.path + "; run again with --resume to continue");
  }
}

}  // namespace microseg::pipeline::detail
