#pragma once
// Private to src/pipeline: the stages of `segment` (and the ones `promote` shares), each a
// function of what the stages before it produced.
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "microseg/core/hierarchy.hpp"
#include "microseg/core/stopwatch.hpp"
#include "microseg/distributed/kmeans_fit.hpp"
#include "microseg/distributed/migration.hpp"
#include "microseg/distributed/quality.hpp"
#include "microseg/io/checkpoint_file.hpp"
#include "microseg/io/run_model.hpp"
#include "microseg/io/segments_file.hpp"
#include "microseg/pipeline/customer_input.hpp"
#include "microseg/pipeline/provenance.hpp"
#include "microseg/pipeline/segment.hpp"

namespace microseg::pipeline::detail {

// What the metadata stage resolved: the input, the previous run, k and the marketing columns.
struct SegmentInputs {
  InspectedInput input;
  std::optional<io::RunModel> previous;
  int k = 0;
  std::string value_feature;          // "" without one
  std::optional<RfmColumns> rfm;      // the raw recency, frequency, monetary columns
  CentroidMatrix given_centroids;     // --init-centroids
  std::int64_t min_segment_size = 0;  // in customers of the input as read
  PublicationRules publication;       // the key read before anything is written
};

// The columns profiles for marketers read in original units, whether segmented or not.
struct MarketingColumns {
  std::string value_feature;  // "" when none is usable
  std::optional<RfmColumns> rfm;
  std::vector<double> value;                         // empty without a value feature
  std::vector<double> recency, frequency, monetary;  // empty without RFM columns
};

// Also makes the output directory, with make_output_directory (segment: before the long read).
SegmentInputs inspect_segment_inputs(const distributed::Communicator& comm, const SegmentPlan& plan,
                                     bool make_output_directory = true);

// The extra columns read_and_prepare reads beside the features for `inputs`.
std::vector<std::string> marketing_column_names(const SegmentInputs& inputs);

// Splits the extra columns, checking them: a value feature asked for by name must be finite;
// columns found by their names alone are left unused, with a note, when they hold NaN or ±Inf.
MarketingColumns marketing_columns(const distributed::Communicator& comm, const SegmentPlan& plan,
                                   const SegmentInputs& inputs, PreparedCustomers& prepared,
                                   const SegmentProgress& progress);

// The fit: seeds (a warm start, a file or drawn), checkpoints and resume, the agreed stop.
struct FitStage {
  const SegmentPlan& plan;
  const SegmentInputs& inputs;
  const PreparedCustomers& prepared;
  const SegmentProgress& progress;
  int k = 0;  // the segments this fit makes; 0: inputs.k (a two-level run's macro fit: macro_k)
  int fit_k() const { return k > 0 ? k : inputs.k; }
  bool keep_restart_labels = false;  // micro fits keep every restart's labels (a sweep's stability)
};
distributed::FitOutcome fit_segments(const distributed::Communicator& comm, const FitStage& stage);

// Where a fit's checkpoint lives and the fingerprints it must match.
struct CheckpointPlace {
  std::string path;
  TextFields configuration;
  TextFields input;
};
// Where a fit starts: its seeds (a warm start's or a file's), its checkpoint, and with --resume
// the checked record it continues from. Throws FitInterrupted when a stop came before the fit.
struct FitStart {
  InitKind init = InitKind::kmeans_parallel;
  CentroidMatrix given;
  CheckpointPlace place;
  std::optional<io::CheckpointRecord> resumed;
};
FitStart fit_start(const distributed::Communicator& comm, const FitStage& stage);
// fit_segments from a start made by fit_start (a two-level run reads its checkpoint first).
distributed::FitOutcome fit_segments(const distributed::Communicator& comm, const FitStage& stage,
                                     const FitStart& start);
// Writes `record` to the place's checkpoint file (collective), with a note.
void write_fit_checkpoint(const distributed::Communicator& comm, const FitStage& stage,
                          const CheckpointPlace& place, io::CheckpointRecord record);

// A two-level model: the macro fit and its final assignment, then each macro segment's micro
// fit on that segment's rows, and every customer's micro-segment inside its macro segment.
struct TwoLevelModel {
  distributed::FitOutcome macro_fit;
  distributed::FinalAssignment macro;  // macro labels, distances and quality
  SegmentHierarchy hierarchy;          // which micro rows belong to which macro segment
  CentroidMatrix micro_centroids;      // micro_k × d, macro segment 0's first
  std::vector<distributed::FitOutcome> micro_fits;  // per macro segment (without best_nearest)
  // Per local row: its micro-segment (global micro row) and distance, and the nearest other
  // micro centroid of any macro segment with its distance (for the simplified silhouette).
  NearestTwo micro;
};

// The macro fit (with checkpoints, as a flat fit), the share of k for each macro segment by the
// plan's rule, and the micro fits, each on its macro segment's rows where they live.
TwoLevelModel fit_two_levels(const distributed::Communicator& comm, const FitStage& stage);
// The input fingerprint a segment run records and its checkpoint must match: the file, the
// customers, the features, the content digest and, with --sample-weight, the weights' digest.
TextFields segment_input_fingerprint(const SegmentPlan& plan, const SegmentInputs& inputs,
                                     const PreparedCustomers& prepared);
// The macro level of a two-level model from its fit: the final macro assignment and quality.
TwoLevelModel measure_macro_level(const FitStage& stage, distributed::FitOutcome macro_fit);
// The micro level on a measured macro level: stage.fit_k() shared out by the plan's rule, the
// micro fits, and every row's micro-segment (a sweep calls it once per k on one macro level).
// With `checkpoint` (segment), micro fits a resumed checkpoint holds are taken from it and a stop
// or --checkpoint-every saves those done; a sweep passes none.
void fit_micro_levels(const distributed::Communicator& comm, const FitStage& stage,
                      TwoLevelModel& model, const FitStart* checkpoint = nullptr);
// Every row's micro-segment of a two-level model whose macro level and micro centroids are known
// (promote): its nearest micro centroid inside its macro segment, as the micro fits assign.
void assign_within_macro(const distributed::RankRows& rows, TwoLevelModel& model);
// Each fit's Lloyd settings, seed and restarts as the plan gives them.
distributed::FitSettings fit_settings(const FitStage& stage);

// The fit of either method: a bisecting fit's leaves are its model, its split tree comes along.
struct SegmentFit {
  distributed::FitOutcome outcome;
  std::optional<SplitTree> tree;  // --method bisecting
};
// --method bisecting: the split tree grown to k leaves (no checkpoints; a stop ends the run).
SegmentFit bisect_segments(const distributed::Communicator& comm, const FitStage& stage);

// The model the measure stage starts from: a flat fit (after --merge-small), a two-level one,
// or a saved one (promote).
struct FittedModel {
  distributed::FitOutcome fit;  // the flat fit, or a two-level run's macro fit
  CentroidMatrix centroids;     // the segments' centroids (micro-segments of a two-level run)
  std::optional<NearestTwo> nearest;
  std::optional<TwoLevelModel> two_level;
  std::optional<SplitTree> tree;  // --method bisecting
};

// Where a full run's model comes from, and how the run records it: `segment` fits it; `promote`
// of a two-level sweep model loads it and then runs segment's stages unchanged.
struct ModelSource {
  std::string command;  // "segment" (also: makes OUTPUT before the read, removes a checkpoint)
  std::function<FittedModel(const distributed::Communicator&, const FitStage&,
                            std::int64_t min_segment_size)>
      model;                  // called on every rank after the read; errors agreed
  std::string configuration;  // /run@configuration and the manifest's; "" for describe(plan)
  RunAttributes run;          // more /run attributes, before the timings
};
// Every stage of `segment` with the model from `source`; segment() is the fitting source.
SegmentResult segment_run(const distributed::Communicator& comm, const SegmentPlan& plan,
                          const SegmentProgress& progress, const ModelSource& source);

// What the measure and profile stages produce from a model.
struct MeasuredRun {
  SegmentationSummary summary;
  distributed::FinalAssignment assignment;
  std::optional<SegmentationSummary> macro;  // a two-level run's macro level
};

// What the measure and profile stages start from.
struct MeasureStage {
  const InspectedInput& input;
  PreparedCustomers& prepared;
  const CentroidMatrix& centroids;
  distributed::SilhouetteSampling sampling;
  std::optional<NearestTwo> nearest;         // the assignment when the fit computed it
  const TwoLevelModel* two_level = nullptr;  // its macro level is profiled too
  bool keep_margins = false;                 // --assignments-csv: each row's margin
};

// Final assignment and quality, then the features freed and read again in original units for the
// profiles (at both levels of a two-level run); centroids mapped back. Shared by segment and
// promote.
MeasuredRun measure_and_profile(const distributed::Communicator& comm, MeasureStage stage);

// Descriptions, value (weighted with sample weights), RFM summary and sizes below the minimum.
ActionableProfiles actionable_profiles(const distributed::Communicator& comm,
                                       const MeasuredRun& measured,
                                       const MarketingColumns& marketing,
                                       std::int64_t min_segment_size,
                                       const std::vector<float>* weights = nullptr);

// A two-level run's macro level compared with the previous run: its stable ids (matched to the
// previous macro segments, or 0 … macro_k−1) and, when the previous run has a macro level too,
// its migration.
struct MacroComparison {
  SegmentMatch match;
  std::vector<std::int32_t> stable_segments;  // per local row, the macro segment's stable id
  std::optional<distributed::MigrationResult> migration;
};

// Stable ids (matched to the previous run, or 0 … k−1), the migration and the priorities.
struct Comparison {
  SegmentMatch match;
  std::optional<distributed::MigrationResult> migration;
  std::vector<std::int32_t> stable_segments;  // per local row
  std::optional<MacroComparison> macro;       // a two-level run
};
struct CompareStage {
  const SegmentPlan& plan;
  const SegmentInputs& inputs;
  const PreparedCustomers& prepared;
  const MeasuredRun& measured;
  const MarketingColumns& marketing;
  const TwoLevelModel* two_level = nullptr;  // a two-level run: ids and migration at both levels
};
Comparison compare_with_previous_run(const distributed::Communicator& comm,
                                     const CompareStage& stage, ActionableProfiles& actionable);

// The stages compare_with_previous_run is made of, shared by both kinds of run.
// The segments of both runs as the migration sees them (ids, drift, reference values).
distributed::MigrationSegments migration_segments(const io::RunModel& previous,
                                                  const SegmentMatch& match,
                                                  const std::optional<SegmentValue>& value);
// Stable ids by optimal matching of centroids in the previous run's scaled space: `centroids`
// (this run's scaled space) against `previous_centroids` (the previous run's), ids from
// `previous_ids`, the cut-off for a customer spread of `previous_spread`.
struct CentroidMatching {
  const CentroidMatrix& centroids;
  const CentroidMatrix& previous_centroids;
  const SegmentIdentity& previous_ids;
  double previous_spread = 0;
};
SegmentMatch stable_ids_of(const distributed::Communicator& comm, const CompareStage& stage,
                           const CentroidMatching& matching, const MatchGroups* groups = nullptr);
// This rank's block of the previous run's /assignments.
std::vector<distributed::PreviousAssignment> previous_records(const distributed::Communicator& comm,
                                                              const io::RunModel& previous);
// This rank's customers with their stable ids, as the migration reads them.
distributed::CurrentCustomers current_customers(const CompareStage& stage,
                                                const std::vector<std::int32_t>& stable_segments);
// A two-level run's ids at both levels and its migration (compare_with_previous_run without the
// priorities).
Comparison compare_two_levels(const distributed::Communicator& comm, const CompareStage& stage,
                              const ActionableProfiles& actionable);

// The facts of a fit that /run records.
struct RunFacts {
  std::string configuration;  // the effective options as job-file text
  std::string job_file;
  std::uint64_t seed = 0;
  std::int64_t customers = 0;
  std::int64_t k = 0;
  std::int64_t iterations = 0;
  bool converged = false;
  std::int64_t restarts = 1;
  std::int64_t best_restart = 0;
  std::int64_t dropped_customers = 0;  // left out for missing values (--missing drop)
  std::int64_t segments = -1;          // after --merge-small; −1: k
  std::int64_t merged_segments = 0;
  std::string previous_run;  // --previous
  bool warm_start = false;
  std::int64_t macro_k = 0;  // a two-level run's
  std::string micro_k_rule;
  std::string sample_weight;  // --sample-weight's column, "" for none
};

// The /run attributes every full run writes before its timings: the facts, the rank count and
// the library versions.
RunAttributes run_attributes(const distributed::Communicator& comm, const RunFacts& facts);

// Writes segments.h5 and the CSVs (io::write_segmentation), then the manifest; a checkpoint left
// in the directory is removed once the outputs are in place.
struct RunWrite {
  std::string command;  // "segment" or "promote"
  std::string output;
  std::string input;
  TextFields input_fingerprint;
  std::string configuration;  // job-file text
  const SegmentationSummary& summary;
  const AssignmentBlock& assignments;
  const io::RunOutputs& outputs;
  bool remove_checkpoint = false;  // segment: the outputs supersede OUTPUT/checkpoint.h5
  TextFields options{};            // the options as given, for `microseg reproduce`
  TextFields privacy{};            // the manifest's "privacy" (publication_record)
  std::vector<io::ManifestReference> references{};  // files read besides the input
};
struct WrittenRun {
  std::vector<std::string> files;  // in the manifest's order, manifest.json last
  std::string removed_checkpoint;  // on rank 0, when one was removed
};
WrittenRun write_run(const distributed::Communicator& comm, const RunWrite& run);

}  // namespace microseg::pipeline::detail
