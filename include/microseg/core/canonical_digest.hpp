#pragma once
/// \file The canonical content digest of an output: what must reproduce, hashed in a defined
/// order and encoding, so two runs that agree in content agree in digest whatever their file
/// layout, timings or rank count (docs/file-format.md, "Canonical content digest").
///
/// An output is a list of items (a dataset, an attribute, or a whole text file). Each item is
/// hashed alone over its name, its type, its shape and its values in a fixed encoding; the
/// output's digest is the SHA-256 of the items' `name TAB sha256 LF` lines in byte order of the
/// names. Keeping the items lets a comparison name the first one that differs.
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "microseg/core/sha256.hpp"

namespace microseg {

/// One hashed item: "/group/dataset", "/group/dataset@attribute", or a file's name.
struct DigestItem {
  std::string name;
  std::string sha256;  ///< hex
};

/// Hashes one item. The caller gives the values already in the canonical encoding: numbers
/// little-endian at the stored width (add_values), strings as UTF-8 (add_text).
class DigestItemHasher {
 public:
  /// `type` names the stored type ("int64", "float32", "string", ...); `shape` its extents ({}
  /// for a scalar).
  DigestItemHasher(std::string name, const std::string& type,
                   const std::vector<std::uint64_t>& shape);
  /// Raw little-endian values.
  void add_values(const void* data, std::size_t bytes);
  /// One string: its length as 8 little-endian bytes, then its bytes.
  void add_text(std::string_view text);
  DigestItem finish();

 private:
  void add_count(std::uint64_t count);
  std::string name_;
  Sha256 hash_;
};

/// The digest of a whole output: SHA-256 over `name TAB sha256 LF` of every item, sorted by
/// name. Hex.
std::string combined_digest(std::vector<DigestItem> items);

/// The first item, in name order, that is in one list only or has another digest in the other;
/// nullopt when both hold the same items alike.
std::optional<std::string> first_differing_item(std::vector<DigestItem> a,
                                                std::vector<DigestItem> b);

}  // namespace microseg
