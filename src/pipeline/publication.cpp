#include "microseg/pipeline/publication.hpp"

#include "microseg/io/pseudonym_key.hpp"

namespace microseg::pipeline {

PublicationRules publication_rules(const distributed::Communicator& comm,
                                   const PublicationOptions& options) {
  PublicationRules rules;
  rules.min_count = options.min_count;
  if (options.key_file.empty()) return rules;
  comm.run_agreed([&] {
    if (comm.is_root()) rules.key = io::read_pseudonym_key(options.key_file);
  });
  comm.broadcast(rules.key);
  return rules;
}

io::TextFields publication_record(const PublicationRules& rules) {
  io::TextFields record{{"min_count", std::to_string(rules.min_count)},
                        {"pseudonymised_ids", rules.pseudonymising() ? "true" : "false"}};
  if (rules.pseudonymising()) record.emplace_back("key_fingerprint", key_fingerprint(rules.key));
  return record;
}

}  // namespace microseg::pipeline
