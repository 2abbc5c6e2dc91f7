#pragma once
/// \file `microseg sweep` (fit every k of a list, measure, recommend one), `microseg sweep-merge`
/// (one table from the parts of a sweep split over a Slurm job array) and `microseg promote`
/// (one k of a sweep to a full run's outputs, without refitting).
#include <boost/serialization/string.hpp>
#include <boost/serialization/vector.hpp>
#include <cstdint>
#include <iosfwd>
#include <optional>
#include <string>
#include <vector>

#include "microseg/app/customer_input.hpp"
#include "microseg/core/initialisation.hpp"
#include "microseg/core/result.hpp"
#include "microseg/core/scaling.hpp"
#include "microseg/distributed/communicator.hpp"
#include "microseg/io/run_manifest.hpp"
#include "microseg/io/sweep_file.hpp"

namespace microseg::app {

/// The k values of `--k`: "FIRST:LAST" or "FIRST:LAST:STEP" (inclusive), or "K1,K2,...".
/// Ascending, every k at least 2. Throws InputError naming the option and what is wrong
/// (an empty or inverted range, a step below 1, a k below 2, a repeated k, not a number).
std::vector<int> parse_k_values(const std::string& text);

/// Share `task` (0-based) of `tasks` of the k values: every tasks-th k starting at the task-th,
/// so each share mixes small and large k and the shares take similar time. Throws InputError
/// when task is out of range or there are fewer k than tasks.
std::vector<int> task_share(const std::vector<int>& ks, int task, int tasks);

/// The first of `here`'s settings that `there` lacks or holds with another value, in words
/// ("seed = 3 there, 4 here"); empty when they agree. Used to refuse resuming or merging results
/// of different sweeps.
std::optional<std::string> settings_difference(const RunAttributes& there,
                                               const RunAttributes& here);

struct SweepConfig {
  std::string input;
  std::string output;
  std::string job_file;
  std::string k_text;   ///< --k as given
  std::vector<int> ks;  ///< the k this process fits (its --task share), ascending
  int task = 0, tasks = 1;
  int restarts = 3;
  std::vector<std::string> features;
  ScaleKind scale = ScaleKind::zscore;
  std::vector<std::string> log1p_features;
  InitKind init = InitKind::kmeans_parallel;
  int max_iterations = 300;
  double tolerance = 1e-4;
  std::uint64_t seed = 0;
  std::int64_t silhouette_sample = 10000;
  TransformOptions transform;  ///< --missing, --one-hot, --clip-quantiles, --weights

  template <class Archive>
  void serialize(Archive& archive, unsigned /*version*/) {
    archive& input& output& job_file& k_text& ks& task& tasks& restarts& features& scale;
    archive& log1p_features& init& max_iterations& tolerance& seed& silhouette_sample;
    archive& transform;
  }
};

std::string sweep_usage();
/// Throws InputError naming the option and the value that is wrong, or the job file and its
/// unknown key.
SweepConfig parse_sweep_options(const std::vector<std::string>& arguments);
/// Reads and scales once, then fits, measures and saves every k not already finished in the
/// output directory, then writes the table and the recommendation. Errors found before any
/// fitting (options, input, k larger than the customers, a directory holding another sweep)
/// are agreed between ranks and thrown as AgreedError.
void run_sweep(const distributed::Communicator& comm, const SweepConfig& config, std::ostream& log);
void sweep_command(const distributed::Communicator& comm,
                   const std::vector<std::string>& arguments);

/// The manifest of a sweep directory `output` (docs/file-format.md, "manifest.json"): sweep.csv,
/// sweep.h5 and the model of every row of `table`, the input with its fingerprint, and the
/// table's settings followed by `extra` as the configuration. For `sweep` and `sweep-merge`.
io::RunManifest sweep_manifest(const std::string& command, const std::string& output,
                               const io::SweepTable& table, const std::string& input,
                               const io::TextFields& fingerprint, const io::TextFields& extra);

struct SweepMergeConfig {
  std::vector<std::string> parts;  ///< sweep directories, each a finished share of the sweep
  std::string output;
  std::string k_text;  ///< optional: the k values the parts must cover together
  std::vector<int> ks;

  template <class Archive>
  void serialize(Archive& archive, unsigned /*version*/) {
    archive& parts& output& k_text& ks;
  }
};

std::string sweep_merge_usage();
SweepMergeConfig parse_sweep_merge_options(const std::vector<std::string>& arguments);
/// Rank 0 checks that the parts are finished sweeps with the same settings, the same input
/// content digest and no k twice (and cover --k when given), copies their model files into the
/// output and writes the table of every k with its recommendation and the manifest: the same
/// files `microseg sweep` over all k would have written.
void run_sweep_merge(const distributed::Communicator& comm, const SweepMergeConfig& config,
                     std::ostream& log);
void sweep_merge_command(const distributed::Communicator& comm,
                         const std::vector<std::string>& arguments);

struct PromoteConfig {
  std::string sweep;   ///< a sweep directory
  int k = 0;           ///< 0: the sweep's recommended k
  std::string output;  ///< the run directory to write
  std::string input;   ///< "" for the input the sweep recorded

  template <class Archive>
  void serialize(Archive& archive, unsigned /*version*/) {
    archive& sweep& k& output& input;
  }
};

std::string promote_usage();
PromoteConfig parse_promote_options(const std::vector<std::string>& arguments);
/// Reads the input again, checks that its transform is the one the sweep fitted (so the saved
/// centroids apply), assigns every customer to the saved centroids and writes segments.h5,
/// profiles.csv and quality.csv as `microseg segment` does, without refitting.
void run_promote(const distributed::Communicator& comm, const PromoteConfig& config,
                 std::ostream& log);
void promote_command(const distributed::Communicator& comm,
                     const std::vector<std::string>& arguments);

}  // namespace microseg::app
