#pragma once
/// \file The options that protect customers in shared exports (--privacy-min-count,
/// --pseudonymise-ids) as a plan carries them, and the rules every rank applies.
#include <cstdint>
#include <string>

#include "microseg/core/publication.hpp"
#include "microseg/distributed/communicator.hpp"
#include "microseg/io/run_manifest.hpp"

namespace microseg::pipeline {

/// As parsed: the minimum count and the key file's path ("" : ids exported as they are). The
/// key itself is never in a plan, so it is never broadcast with one or recorded.
struct PublicationOptions {
  std::int64_t min_count = default_privacy_min_count;
  std::string key_file;

  template <class Archive>
  void serialize(Archive& archive, unsigned /*version*/) {
    archive& min_count& key_file;
  }
};

/// Collective: the rules of `options`. Rank 0 reads the key file (io::read_pseudonym_key); a
/// refusal is agreed and thrown as AgreedError on every rank, before anything is written; the
/// key's bytes are then broadcast.
PublicationRules publication_rules(const distributed::Communicator& comm,
                                   const PublicationOptions& options);

/// What manifest.json records under "privacy": min_count, pseudonymised_ids and, with a key,
/// key_fingerprint (core key_fingerprint), never the key.
io::TextFields publication_record(const PublicationRules& rules);

}  // namespace microseg::pipeline
