#pragma once
/// \file The key file of --pseudonymise-ids: raw bytes, read once, never printed or written.
#include <string>

namespace microseg::io {

/// The bytes of `path` (every byte counts, a trailing newline included). Throws InputError
/// naming the file when it is missing, unreadable, not a regular file, empty, or readable or
/// writable by others than its owner and group (mode & 0006), so a key left world-readable is
/// never used. Call on one rank.
std::string read_pseudonym_key(const std::string& path);

}  // namespace microseg::io
