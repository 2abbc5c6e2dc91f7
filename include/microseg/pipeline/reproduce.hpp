#pragma once
/// \file `microseg reproduce RUN_DIR` as a pipeline: check that what a run read is unchanged,
/// replay its recorded command into a scratch directory (the command's own pipeline function,
/// called by the app), and compare every output's canonical content digest with the one its
/// manifest recorded (docs/file-format.md, "Canonical content digest").
#include <boost/serialization/string.hpp>
#include <boost/serialization/vector.hpp>
#include <string>
#include <vector>

#include "microseg/distributed/communicator.hpp"

namespace microseg::pipeline {

struct ReproducePlan {
  std::string run;      ///< the run directory to reproduce (holds manifest.json)
  std::string scratch;  ///< "" for a new directory beside the run
  bool keep = false;    ///< keep the scratch directory afterwards

  template <class Archive>
  void serialize(Archive& archive, unsigned /*version*/) {
    archive& run& scratch& keep;
  }
};

/// What to replay: the recorded command and its options as arguments, --output the scratch
/// directory.
struct Reproduction {
  std::string command;  ///< segment, promote, assign or sweep
  std::vector<std::string> arguments;
  std::string scratch;
  int recorded_ranks = 0;

  template <class Archive>
  void serialize(Archive& archive, unsigned /*version*/) {
    archive& command& arguments& scratch& recorded_ranks;
  }
};

/// Collective (rank 0 reads, every rank gets the same outcome): reads RUN/manifest.json and
/// refuses, naming the file and what is missing or differs, a run it cannot reproduce: no
/// manifest, a manifest of an earlier version without `content_sha256` or `options`, a
/// sweep-merge, a missing input, a previous run, model or sweep model whose content changed.
/// Creates the scratch directory (it must not exist or be empty). Throws AgreedError.
Reproduction prepare_reproduction(const distributed::Communicator& comm, const ReproducePlan& plan);

/// One output: its canonical digests as recorded in the manifest, as the run directory holds it
/// now and as reproduced, and the first dataset or attribute that differs ("" when equal).
struct OutputComparison {
  std::string file;
  std::string recorded, on_disk, reproduced;
  std::string first_difference;
  bool equal = false;

  template <class Archive>
  void serialize(Archive& archive, unsigned /*version*/) {
    archive& file& recorded& on_disk& reproduced& first_difference& equal;
  }
};

struct ReproductionReport {
  std::vector<OutputComparison> outputs;
  bool all_equal = false;

  template <class Archive>
  void serialize(Archive& archive, unsigned /*version*/) {
    archive& outputs& all_equal;
  }
};

/// Collective, after the replay: refuses when the input the replay read has another fingerprint
/// than the recorded one (naming the input and the field), then digests every recorded output
/// in the run directory and in the scratch directory on rank 0 and compares them. Removes the
/// scratch directory unless --keep. Every rank returns the same report.
ReproductionReport compare_reproduction(const distributed::Communicator& comm,
                                        const ReproducePlan& plan,
                                        const Reproduction& reproduction);

/// Collective: removes the scratch directory (unless --keep), e.g. after a failed replay.
void discard_scratch(const distributed::Communicator& comm, const ReproducePlan& plan,
                     const Reproduction& reproduction);

}  // namespace microseg::pipeline
