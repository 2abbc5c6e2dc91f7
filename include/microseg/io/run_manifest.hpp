#pragma once
/// \file A run's manifest: DIR/manifest.json, written last, so that an auditor can check every
/// output against its sha256 and see what produced it (docs/file-format.md, "manifest.json").
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace microseg::io {

/// Ordered `name → text` pairs (a configuration, a fingerprint, versions).
using TextFields = std::vector<std::pair<std::string, std::string>>;

struct RunManifest {
  std::string command;               ///< segment, promote, assign, sweep, sweep-merge, generate
  std::vector<std::string> outputs;  ///< the files the run wrote, as paths
  std::string input;                 ///< the customer table read (empty: none, JSON null)
  TextFields input_fingerprint;
  TextFields configuration;
  int ranks = 1;
  int threads = 1;  ///< OpenMP threads per rank
  TextFields versions;
  /// Counts of the comparison with the previous run written as "migration" (a two-level run's;
  /// omitted when empty).
  std::vector<std::pair<std::string, std::int64_t>> migration;
};

/// Hex SHA-256 of a file's bytes. Throws InputError naming the file when it cannot be read.
std::string sha256_of_file(const std::string& path);

/// The input a run recorded in DIR/manifest.json ("input": {"path"}). Throws InputError naming
/// the file when it is missing, unreadable or records no input.
std::string manifest_input_path(const std::string& directory);

/// Call on one rank, after every output is in place: hashes each output and writes
/// DIR/manifest.json under a temporary name, mode 0640, then renames it into place. Throws
/// InputError naming the file.
void write_manifest(const std::string& directory, const RunManifest& manifest);

/// Call on one rank once a run has replaced its outputs: removes DIR/manifest.json, so a
/// manifest never describes files other than those beside it. Throws InputError naming the file.
void remove_manifest(const std::string& directory);

}  // namespace microseg::io
