#pragma once
/// \file `microseg segment`: read → transform → initialise → iterate → measure → profile →
/// compare with the previous run → write.
#include <boost/serialization/string.hpp>
#include <boost/serialization/vector.hpp>
#include <cstdint>
#include <iosfwd>
#include <string>
#include <vector>

#include "microseg/app/customer_input.hpp"
#include "microseg/core/initialisation.hpp"
#include "microseg/core/pruned_assignment.hpp"
#include "microseg/core/scaling.hpp"
#include "microseg/core/segment_matching.hpp"
#include "microseg/core/small_segments.hpp"
#include "microseg/distributed/communicator.hpp"

namespace microseg::app {

struct SegmentConfig {
  std::string input;
  std::string output;
  std::string job_file;               ///< the --config file, recorded for the run's provenance
  int k = 0;                          ///< 0 with --warm-start: the previous run's k
  std::vector<std::string> features;  ///< empty: every feature of the input
  ScaleKind scale = ScaleKind::zscore;
  std::vector<std::string> log1p_features;
  InitKind init = InitKind::kmeans_parallel;
  std::string init_centroids;
  int max_iterations = 300;
  double tolerance = 1e-4;
  LloydStepKind lloyd_step = LloydStepKind::automatic;  ///< plain or pruned: the same results
  std::uint64_t seed = 0;
  int restarts = 1;
  std::int64_t silhouette_sample = 10000;
  std::string previous;       ///< --previous: a run to take segment ids from and compare with
  bool warm_start = false;    ///< start from the previous run's centroids
  std::string value_feature;  ///< "" for monetary when the input has it; "none" for no value
  MinimumSegmentSize min_segment_size;
  bool merge_small = false;    ///< merge segments below min_segment_size into their nearest
  TransformOptions transform;  ///< --missing, --one-hot, --clip-quantiles, --weights
  MatchCutoff match_cutoff;    ///< --match-max-distance: beyond it a matched pair is broken
  int checkpoint_every = 0;    ///< Lloyd iterations between checkpoints; 0: only on a stop signal
  bool resume = false;         ///< continue from OUTPUT/checkpoint.h5 when it is there

  template <class Archive>
  void serialize(Archive& archive, unsigned /*version*/) {
    archive& input& output& job_file& k& features& scale& log1p_features& init& init_centroids;
    archive& max_iterations& tolerance& seed& restarts& silhouette_sample;
    archive& previous& warm_start& value_feature& min_segment_size& merge_small;
    archive& lloyd_step;
    archive& transform;
    archive& match_cutoff;
    archive& checkpoint_every& resume;
  }
};

std::string segment_usage();
/// Throws InputError naming the option and the value that is wrong, or the job file and its
/// unknown key.
SegmentConfig parse_segment_options(const std::vector<std::string>& arguments);
/// The configuration as `key = value` text, as a job file would hold it (for /run and logs).
std::string describe(const SegmentConfig& config);
/// Rank 0 logs progress to `log`; errors are agreed between ranks and thrown as AgreedError
/// before anything is written. A stop signal (app/stop_signal.hpp) agreed during the fit writes
/// OUTPUT/checkpoint.h5 and throws distributed::FitInterrupted; outputs are not written then.
void run_segment(const distributed::Communicator& comm, const SegmentConfig& config,
                 std::ostream& log);
void segment_command(const distributed::Communicator& comm,
                     const std::vector<std::string>& arguments);

}  // namespace microseg::app
