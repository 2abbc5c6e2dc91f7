#pragma once
/// \file What ingest does across ranks: every customer's activity to the rank owning its id, a
/// distributed sort by id, exact distributed quintile thresholds, and the union of categorical
/// values. Every function here is collective over the communicator. Built on Communicator and
/// the id partition (distributed/id_partition.hpp); no MPI calls here.
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
#include "microseg/distributed/id_partition.hpp"

namespace microseg::distributed {

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

}  // namespace microseg::distributed
