#pragma once
/// \file Writing a run's outputs: DIR/segments.h5, DIR/profiles.csv and DIR/quality.csv.
///
/// Files are written under temporary names in the output directory and renamed into place only
/// when every file is complete, so a failed run never leaves a file that looks complete.
#include <mpi.h>

#include <string>
#include <vector>

#include "microseg/core/result.hpp"

namespace microseg::io {

/// Checks that `directory` exists or can be created and that a file can be written in it.
/// Throws InputError naming the directory otherwise. Call on one rank.
void ensure_writable_directory(const std::string& directory);

/// Writes segments.h5, profiles.csv and quality.csv into `directory`. Collective over `comm`:
/// every rank writes its block of /assignments; rank 0 writes the rest and renames the
/// temporary files into place after all ranks have finished.
void write_segmentation(const std::string& directory, MPI_Comm comm,
                        const SegmentationSummary& summary, const AssignmentBlock& assignments);

}  // namespace microseg::io
