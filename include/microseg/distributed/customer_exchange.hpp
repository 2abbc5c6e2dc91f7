#pragma once
/// \file Moving customers between ranks: hash partitioning by customer id, a distributed sort by
/// id, exact distributed quintile thresholds, and the union of categorical values. Every function
/// here is collective over the communicator. Built on Communicator only (no MPI calls here).
#include <algorithm>
#include <array>
#include <cstdint>
#include <numeric>
#include <optional>
#include <string>
#include <vector>

#include "microseg/core/rfm.hpp"
#include "microseg/core/types.hpp"
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

/// Sends every customer's activity to the rank that owns its id and merges the parts there
/// (merge_by_id). `keys` is empty or holds each record's external key. On return the rank holds
/// its customers sorted by id; the result is a collision of two keys under one id, if any.
std::optional<std::pair<std::string, std::string>> gather_activity_by_owner(
    const Communicator& comm, std::vector<CustomerActivityRecord>& records,
    std::vector<std::string>& keys, bool with_keys);

namespace detail {
/// Splitters for a range partition by id: P − 1 ids chosen from regular samples of every rank's
/// sorted ids. `sorted_ids` is this rank's ids in ascending order.
std::vector<std::int64_t> choose_splitters(const Communicator& comm,
                                           const std::vector<std::int64_t>& sorted_ids);
}  // namespace detail

/// Sorts records (each with a distinct `id`) across ranks: on return every rank holds a
/// contiguous run of the global order by id, ranks in order, and `keys` (empty or parallel to
/// the records) moved with them. Returns the rank's rows in that global order.
template <class Record>
RowRange sort_by_id(const Communicator& comm, std::vector<Record>& records,
                    std::vector<std::string>& keys, bool with_keys) {
  // Sorting (id, index) pairs keeps the comparisons in contiguous memory.
  std::vector<std::pair<std::int64_t, std::size_t>> by_id(records.size());
  for (std::size_t i = 0; i < records.size(); ++i) by_id[i] = {records[i].id, i};
  std::sort(by_id.begin(), by_id.end());
  std::vector<std::size_t> order(records.size());
  std::vector<std::int64_t> sorted_ids(records.size());
  for (std::size_t i = 0; i < by_id.size(); ++i) {
    sorted_ids[i] = by_id[i].first;
    order[i] = by_id[i].second;
  }
  const std::vector<std::int64_t> splitters = detail::choose_splitters(comm, sorted_ids);

  Outbox<Record> outbox(comm.size());
  for (std::size_t i : order) {
    const auto destination = static_cast<std::size_t>(
        std::upper_bound(splitters.begin(), splitters.end(), records[i].id) - splitters.begin());
    outbox.records[destination].push_back(records[i]);
    if (with_keys) outbox.texts[destination].push_back(std::move(keys[i]));
  }
  Inbox<Record> inbox = exchange(comm, outbox, with_keys);
  std::vector<std::pair<std::int64_t, std::size_t>> received(inbox.records.size());
  for (std::size_t i = 0; i < received.size(); ++i) received[i] = {inbox.records[i].id, i};
  std::sort(received.begin(), received.end());
  std::vector<std::size_t> received_order(received.size());
  for (std::size_t i = 0; i < received.size(); ++i) received_order[i] = received[i].second;
  records.clear();
  records.reserve(received_order.size());
  keys.clear();
  for (std::size_t i : received_order) {
    records.push_back(inbox.records[i]);
    if (with_keys) keys.push_back(std::move(inbox.texts[i]));
  }
  const auto count = static_cast<std::int64_t>(records.size());
  const std::int64_t begin = comm.exclusive_prefix_sum(count);
  return {begin, begin + count};
}

/// For each metric (this rank's values, larger is better, no NaN), the quintile thresholds over
/// every rank's values: exact order statistics found by bisection over ordered_key with one
/// allreduce of counts per step, so the same for any rank count. Every rank passes the same
/// number of metrics.
std::vector<QuintileThresholds> distributed_quintile_thresholds(
    const Communicator& comm, const std::vector<std::vector<double>>& metrics);

/// The sorted union of every rank's strings (byte order), on every rank.
std::vector<std::string> union_of_strings(const Communicator& comm,
                                          const std::vector<std::string>& local);

/// A customer id that appears more than once across ranks.
struct DuplicateId {
  std::int64_t duplicated_ids = 0;  ///< how many ids appear more than once
  std::int64_t id = 0;              ///< the smallest of them
  std::int64_t first_line = 0;      ///< the two lowest lines it appears on
  std::int64_t second_line = 0;
  std::string first_key, second_key;  ///< their external keys, when sent with keys
};

/// Finds ids that appear more than once over all ranks (`lines` and `keys` parallel to `ids`;
/// keys empty unless `with_keys`). Identical result on every rank.
std::optional<DuplicateId> find_duplicate_ids(const Communicator& comm,
                                              const std::vector<std::int64_t>& ids,
                                              const std::vector<std::int64_t>& lines,
                                              const std::vector<std::string>& keys, bool with_keys);

}  // namespace microseg::distributed
