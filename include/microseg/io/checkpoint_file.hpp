#pragma once
/// \file A fit's checkpoint on disk: DIR/checkpoint.h5, written atomically with mode 0640.
#include <mpi.h>

#include <optional>
#include <string>
#include <vector>

#include "microseg/core/fit_state.hpp"

namespace microseg::io {

/// A checkpoint and what it belongs to: a resumed run must have the same configuration and the
/// same input, or it would not end where the interrupted run would have.
struct CheckpointRecord {
  std::string configuration_fingerprint;
  std::string input_fingerprint;
  FitCheckpoint fit;
  /// A two-level run past its macro fit: `fit` is the finished macro fit, and these are the
  /// finished micro fits of macro segments 0, 1, … in order (possibly none yet).
  std::optional<std::vector<LloydOutcome>> finished_micro_fits = std::nullopt;
};

/// Collective: every rank passes the same record; written under a temporary name and renamed
/// into place over any older checkpoint. Throws InputError naming the file.
void write_checkpoint(const std::string& path, MPI_Comm comm, const CheckpointRecord& record);

/// Reads a checkpoint (every rank may call it). Throws InputError naming the file when it is
/// missing or not a microseg checkpoint.
CheckpointRecord read_checkpoint(const std::string& path);

}  // namespace microseg::io
