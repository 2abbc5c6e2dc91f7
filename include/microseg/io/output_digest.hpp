#pragma once
/// \file The canonical content digest of an output file (core/canonical_digest.hpp): for an HDF5
/// file every dataset and attribute except those that record how or where a run ran rather than
/// what it found; for any other file (CSV, text) the SHA-256 of its bytes, since nothing in
/// them varies between runs that agree. Any command's outputs can be digested with it, and
/// io::write_manifest records it for every output as `content_sha256`.
#include <string>
#include <vector>

#include "microseg/core/canonical_digest.hpp"

namespace microseg::io {

struct OutputDigest {
  std::string content_sha256;     ///< combined_digest(items), hex
  std::vector<DigestItem> items;  ///< per dataset and attribute (one item for a non-HDF5 file)
};

/// Reads `path` (plain HDF5 when its name ends in .h5, bytes otherwise) on the calling process.
/// Throws InputError naming the file, or the dataset it cannot read.
OutputDigest output_digest(const std::string& path);

/// Whether an attribute is left out of the digest: timings (`seconds*`), versions
/// (`version_*`), the rank and thread counts, dates and paths (docs/file-format.md lists them).
bool excluded_from_digest(const std::string& attribute);

/// The `key = value` keys whose value is a path, dropped from a text attribute of such lines
/// (`/run/configuration`) before it is hashed.
bool path_key(const std::string& key);

}  // namespace microseg::io
