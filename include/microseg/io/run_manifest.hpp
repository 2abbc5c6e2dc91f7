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

/// A file a run read besides its input table, whose content its results depend on: the
/// previous run's segments.h5 (`previous`), the model scored against (`model`), the sweep model
/// promoted (`sweep_model`). The manifest records its canonical content digest.
struct ManifestReference {
  std::string role;
  std::string path;
};

struct RunManifest {
  std::string command;               ///< segment, promote, assign, sweep, sweep-merge, generate
  std::vector<std::string> outputs;  ///< the files the run wrote, as paths
  std::string input;                 ///< the customer table read (empty: none, JSON null)
  TextFields input_fingerprint;
  TextFields configuration;
  /// The command's options as given (command line and job file merged; paths absolute; no
  /// --output): what `microseg reproduce` replays.
  TextFields options;
  std::vector<ManifestReference> references;
  int ranks = 1;
  int threads = 1;  ///< OpenMP threads per rank
  TextFields versions;
  /// Counts of the comparison with the previous run written as "migration" (a two-level run's;
  /// omitted when empty).
  std::vector<std::pair<std::string, std::int64_t>> migration;
  /// How the shared exports protect customers, written as "privacy" (omitted when empty):
  /// min_count, pseudonymised_ids and a key fingerprint, never the key.
  TextFields privacy;
};

/// The manifest format_version written: 2 adds `content_sha256`, `options` and `references`.
constexpr int manifest_format_version = 2;

/// A manifest as read back, for `microseg reproduce`. Fields a version-1 manifest lacks are
/// empty (`has_options` false, empty `content_sha256`).
struct RecordedManifest {
  struct Output {
    std::string file;  ///< as recorded: relative to the manifest's directory
    std::string sha256;
    std::string content_sha256;
  };
  struct Reference {
    std::string role, path, content_sha256;
  };
  int format_version = 0;
  std::string command;
  std::vector<Output> outputs;
  std::string input;
  TextFields input_fingerprint;
  bool has_options = false;
  TextFields options;
  std::vector<Reference> references;
  int ranks = 0;
};

/// Reads DIR/manifest.json. Throws InputError naming the file when it is missing or not a
/// microseg manifest.
RecordedManifest read_manifest(const std::string& directory);

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
