#pragma once
/// \file Command-line and job-file options of the subcommands, parsed into plain config structs.
///
/// Every option of a subcommand may also come from an INI job file given with --config
/// (`key = value` lines; the command line wins). Rank 0 parses; the struct is then broadcast
/// with Boost.Serialization so every rank runs the same configuration.
#include <boost/serialization/string.hpp>
#include <boost/serialization/vector.hpp>
#include <cstdint>
#include <string>
#include <vector>

#include "microseg/core/initialisation.hpp"
#include "microseg/core/scaling.hpp"

namespace microseg::app {

struct GenerateConfig {
  std::int64_t customers = 0;
  int segments = 8;
  double separation = 3.0;
  std::uint64_t seed = 1;
  std::string output;

  template <class Archive>
  void serialize(Archive& archive, unsigned /*version*/) {
    archive& customers& segments& separation& seed& output;
  }
};

struct SegmentConfig {
  std::string input;
  std::string output;
  std::string job_file;  ///< the --config file, recorded for the run's provenance
  int k = 0;
  std::vector<std::string> features;  ///< empty: every feature of the input
  ScaleKind scale = ScaleKind::zscore;
  std::vector<std::string> log1p_features;
  InitKind init = InitKind::kmeans_parallel;
  std::string init_centroids;
  int max_iterations = 300;
  double tolerance = 1e-4;
  std::uint64_t seed = 0;
  std::int64_t silhouette_sample = 10000;

  template <class Archive>
  void serialize(Archive& archive, unsigned /*version*/) {
    archive& input& output& job_file& k& features& scale& log1p_features& init& init_centroids;
    archive& max_iterations& tolerance& seed& silhouette_sample;
  }
};

/// Usage text of a subcommand ("generate", "segment") or of the program ("").
std::string usage(const std::string& command);

/// Parse the arguments after the subcommand name. Throw InputError naming the option and the
/// value that is wrong, or the job file and its unknown key.
GenerateConfig parse_generate_options(const std::vector<std::string>& arguments);
SegmentConfig parse_segment_options(const std::vector<std::string>& arguments);

/// The configuration as `key = value` text, as a job file would hold it (for /run and logs).
std::string describe(const SegmentConfig& config);

}  // namespace microseg::app
