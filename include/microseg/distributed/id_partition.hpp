#pragma once
/// \file The partition of customers over ranks by id: one keyed hash names the rank that owns an
/// id, and every stage that must bring records of one customer together uses it — the
/// duplicate-id checks (here), the join with a previous run (join_by_id) and ingest's merge of a
/// customer's transactions (customer_exchange). Records travel with `exchange`, in rounds that
/// bound the memory of one all-to-all.
#include <algorithm>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "microseg/distributed/communicator.hpp"

namespace microseg::distributed {

/// The rank that owns customer `id` among `ranks` (a keyed hash, so owners are balanced).
int owner_of_customer(std::int64_t id, int ranks);

/// Records to send, per destination rank, each with an optional text (an external key).
template <class Record>
struct Outbox {
  explicit Outbox(int ranks)
      : records(static_cast<std::size_t>(ranks)), texts(static_cast<std::size_t>(ranks)) {}
  std::vector<std::vector<Record>> records;
  std::vector<std::vector<std::string>> texts;  ///< per destination: empty, or one per record
};

/// What a rank received: records (and their texts when sent with texts), grouped by sender.
template <class Record>
struct Inbox {
  std::vector<Record> records;
  std::vector<std::string> texts;
};

namespace detail {
/// Strings travel as their lengths and their concatenated bytes.
struct PackedStrings {
  std::vector<std::uint32_t> lengths;
  std::vector<char> bytes;
};
void pack(const std::string& text, PackedStrings& packed);
std::vector<std::string> unpack(const std::vector<std::uint32_t>& lengths,
                                const std::vector<char>& bytes);

/// Bytes one rank sends per all-to-all round; large exchanges take several rounds, so no single
/// message approaches the Communicator's 1 GiB limit.
inline constexpr std::int64_t exchange_round_bytes = std::int64_t{256} << 20;

std::vector<std::string> exchange_texts(const Communicator& comm,
                                        const std::vector<std::vector<std::string>>& texts,
                                        const std::vector<std::size_t>& begin,
                                        const std::vector<std::size_t>& end);
}  // namespace detail

/// Personalised exchange of records with their texts (`with_texts` must be the same on every
/// rank). Sent in as many rounds as the largest sender needs.
template <class Record>
Inbox<Record> exchange(const Communicator& comm, const Outbox<Record>& outbox, bool with_texts) {
  const auto ranks = static_cast<std::size_t>(comm.size());
  std::int64_t bytes = 0;
  for (std::size_t r = 0; r < ranks; ++r) {
    bytes += static_cast<std::int64_t>(outbox.records[r].size() * (sizeof(Record) + 4));
    if (with_texts) {
      for (const auto& text : outbox.texts[r]) bytes += static_cast<std::int64_t>(text.size());
    }
  }
  const std::int64_t rounds =
      std::max<std::int64_t>(1, comm.max(bytes / detail::exchange_round_bytes + 1));
  Inbox<Record> inbox;
  std::vector<std::vector<Record>> slice(ranks);
  std::vector<std::size_t> begin(ranks), end(ranks);
  if (rounds == 1) {  // the common case: no slices to copy
    inbox.records = comm.all_to_all(outbox.records);
    if (with_texts) {
      for (std::size_t r = 0; r < ranks; ++r) end[r] = outbox.records[r].size();
      inbox.texts = detail::exchange_texts(comm, outbox.texts, begin, end);
    }
    return inbox;
  }
  for (std::int64_t round = 0; round < rounds; ++round) {
    for (std::size_t r = 0; r < ranks; ++r) {
      const auto count = static_cast<std::int64_t>(outbox.records[r].size());
      begin[r] = static_cast<std::size_t>(count * round / rounds);
      end[r] = static_cast<std::size_t>(count * (round + 1) / rounds);
      slice[r].assign(outbox.records[r].begin() + static_cast<std::ptrdiff_t>(begin[r]),
                      outbox.records[r].begin() + static_cast<std::ptrdiff_t>(end[r]));
    }
    std::vector<Record> received = comm.all_to_all(slice);
    inbox.records.insert(inbox.records.end(), received.begin(), received.end());
    if (with_texts) {
      std::vector<std::string> texts = detail::exchange_texts(comm, outbox.texts, begin, end);
      for (auto& text : texts) inbox.texts.push_back(std::move(text));
    }
  }
  return inbox;
}

/// A customer id that appears more than once across ranks.
struct DuplicateId {
  std::int64_t duplicated_ids = 0;     ///< how many ids appear more than once
  std::int64_t extra_occurrences = 0;  ///< rows beyond the first of each id (2 for an id thrice)
  std::int64_t id = 0;                 ///< the smallest duplicated id
  std::int64_t first_line = 0;         ///< the two lowest lines it appears on (with lines)
  std::int64_t second_line = 0;
  std::string first_key, second_key;  ///< their external keys (with keys)
};

/// The ids to check, each with an optional line (where it was read) and external key.
struct IdsToCheck {
  const std::vector<std::int64_t>& ids;
  const std::vector<std::int64_t>* lines = nullptr;    ///< parallel to ids, or none
  const std::vector<std::string>* keys = nullptr;      ///< parallel to ids, or none
  std::int64_t ids_per_round = std::int64_t{1} << 21;  ///< bounds the exchange's memory
};

/// Collective: the ids that appear more than once over all ranks, the same result on every rank.
/// Each id travels to its owner, in rounds of at most `ids_per_round` per rank (equal ids share a
/// hash, hence a round and an owner); nullopt when every id is unique. `lines` and `keys` must be
/// given on every rank or on none.
std::optional<DuplicateId> find_duplicate_ids(const Communicator& comm, const IdsToCheck& check);

/// Collective: fails on every rank, naming the file, the count and the smallest duplicated id, if
/// any customer id appears twice.
void check_unique_ids(const Communicator& comm, const std::vector<std::int64_t>& ids,
                      const std::string& path, std::int64_t ids_per_round = std::int64_t{1} << 21);

}  // namespace microseg::distributed
