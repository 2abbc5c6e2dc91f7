#pragma once
/// \file The files of a sweep over k (docs/file-format.md, "sweep"):
///
/// - `DIR/models/k-NNNN.h5`, one per finished k: its row of the table, the best restart's
/// centroids,
///   the scaling model, per-restart results and the sweep's settings. Written as soon as the k is
///   finished, under a temporary name renamed into place, so a file that exists is complete: a
///   sweep that is killed and rerun skips those k, and `microseg promote` turns one into a full
///   run's outputs without refitting.
/// - `DIR/sweep.csv` and `DIR/sweep.h5`: the table of every k and the recommendation.
///
/// These files are small (k × d numbers per k) and written or read by one process with plain
/// HDF5; no function here is collective. Errors are InputError naming the file and the dataset.
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "microseg/core/k_selection.hpp"
#include "microseg/core/result.hpp"
#include "microseg/core/scaling.hpp"
#include "microseg/core/types.hpp"

namespace microseg::io {

/// The macro level of a two-level sweep's model (`sweep --macro-k`): the macro fit every k of the
/// sweep shares, and how the k micro-segments were shared out over its segments.
struct SweepMacroLevel {
  std::string micro_k_rule;           ///< inertia or proportional
  CentroidMatrix centroids;           ///< macro_k × d, scaled space
  std::vector<std::int64_t> micro_k;  ///< per macro segment, its micro-segments (Σ = k)
  std::vector<std::int64_t> size;     ///< per macro segment, its customers
  std::int64_t best_restart = 0;      ///< of the macro fit
  std::int64_t iterations = 0;        ///< of the macro fit's best restart
  std::int64_t converged = 0;         ///< of the macro fit's best restart (0/1)
  /// Per macro segment, its micro fit's best restart, and that restart's iterations and
  /// convergence (0/1).
  std::vector<std::int64_t> micro_best_restart, micro_iterations, micro_converged;
  std::int64_t macro_k() const { return static_cast<std::int64_t>(centroids.rows()); }
};

/// One finished k of a sweep.
struct SweepModel {
  SweepRow row;
  std::vector<std::string> feature_names;
  ScalingModel scaling;      ///< the transform the centroids live in
  CentroidMatrix centroids;  ///< k × d, scaled space: the best restart's
  std::vector<std::int64_t> segment_sizes;
  std::vector<std::int64_t> silhouette_sample_sizes;  ///< per segment, of the stratified sample
  std::int64_t best_restart = 0;
  std::int64_t iterations = 0;  ///< of the best restart
  std::int64_t converged = 0;   ///< of the best restart (0/1)
  /// Per restart: the final inertia (exact, against the final centroids: what picks the best, as
  /// in `segment --restarts`; with one restart the last Lloyd iteration's), iterations,
  /// convergence, and the final centroids (restarts × k × d, so each restart's assignment can be
  /// recomputed).
  std::vector<double> restart_inertia;
  std::vector<std::int64_t> restart_iterations, restart_converged;
  std::vector<double> restart_centroids;
  double seconds = 0;      ///< time to fit and measure this k
  RunAttributes settings;  ///< the sweep's settings; a resumed sweep or a merge compares them
  /// A two-level sweep's model: `row` and `centroids` are the micro level (k micro-segments in
  /// macro order), the restarts those of the micro fits side by side (docs/file-format.md).
  std::optional<SweepMacroLevel> macro;
};

/// `directory/models/k-NNNN.h5` (k zero-padded to four digits or more, so names sort by k).
std::string sweep_model_path(const std::string& directory, std::int64_t k);

/// The k of every complete model file in `directory/models`, ascending (none if it is missing).
std::vector<std::int64_t> sweep_model_ks(const std::string& directory);

/// Writes the model to sweep_model_path(directory, k) atomically, creating `directory/models`.
void write_sweep_model(const std::string& directory, const SweepModel& model);

/// Reads a model file. Throws InputError naming the file and dataset when it is missing or is not
/// a sweep model.
SweepModel read_sweep_model(const std::string& path);

/// The table of a sweep and its recommendation.
struct SweepTable {
  std::vector<SweepRow> rows;  ///< sorted by k
  KRecommendation recommendation;
  std::string rule;        ///< recommendation_rule() when written
  RunAttributes settings;  ///< as in the model files
  /// The input's content digest (docs/architecture.md, "Fingerprints"); empty in tables written
  /// before it was recorded.
  std::string content_digest;
  /// A two-level sweep's macro k (its rows measure the micro level over all customers); 0: flat.
  std::int64_t macro_k = 0;
};

/// Writes `directory/sweep.csv` and `directory/sweep.h5` atomically (sweep.h5 last).
void write_sweep_table(const std::string& directory, const SweepTable& table);

/// Reads `directory/sweep.h5`. Throws InputError naming the file when the sweep is unfinished
/// (no sweep.h5) or the file is not a sweep table.
SweepTable read_sweep_table(const std::string& directory);

}  // namespace microseg::io
