#pragma once
/// \file What a run records about where its result came from: the fingerprints a checkpoint is
/// checked against before a resume, and the manifest every run writes last.
#include <optional>
#include <string>
#include <vector>

#include "microseg/core/types.hpp"
#include "microseg/distributed/communicator.hpp"
#include "microseg/io/run_manifest.hpp"

namespace microseg::pipeline {

using io::TextFields;

/// Collective: the digest of the customer rows as read (core/content_digest.hpp), the same on
/// every rank and for any rank count.
std::string content_digest(const distributed::Communicator& comm, const CustomerBlock& block);

/// What identifies an input table: `file` (informational), `customers`, `features` (the ones
/// modelled, in order) and `content_digest`.
TextFields input_fingerprint(const std::string& path, std::int64_t customers,
                             const std::vector<std::string>& features, const std::string& digest);

/// `key = value` lines (a job file, a configuration's description) as fields, and back.
TextFields parse_fields(const std::string& text);
std::string fields_text(const TextFields& fields);

/// The first field that differs between a saved fingerprint and this run's ("seed = 4 in the
/// checkpoint, 5 here"), ignoring `file`; nullopt when they agree.
std::optional<std::string> fingerprint_difference(const TextFields& saved, const TextFields& here);

/// microseg, MPI library, HDF5, Eigen and Boost versions.
TextFields library_versions();

/// What `microseg --version` prints after its first line: the git commit the tree was configured
/// from ("unknown" outside git), and MPI, HDF5, Eigen and Boost as built with (headers) and, for
/// MPI and HDF5, as running (the shared libraries loaded).
TextFields build_versions();

/// Collective: rank 0 writes DIR/manifest.json over `outputs` (io::write_manifest) with the rank
/// and thread counts and library versions; a failure is agreed and thrown as AgreedError.
void write_run_manifest(const distributed::Communicator& comm, const std::string& directory,
                        io::RunManifest manifest);

/// Collective: rank 0 removes DIR/manifest.json once new outputs have replaced the ones it
/// described, until write_run_manifest writes the new one: a directory with outputs and no
/// manifest holds a run that did not finish. A run that fails before that keeps the old one.
void remove_run_manifest(const distributed::Communicator& comm, const std::string& directory);

}  // namespace microseg::pipeline
