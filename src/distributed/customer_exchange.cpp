#include "microseg/distributed/customer_exchange.hpp"

#include <limits>

#include "microseg/core/random.hpp"
#include "microseg/distributed/order_statistics.hpp"

namespace microseg::distributed {
using detail::pack;
using detail::PackedStrings;
using detail::unpack;

namespace detail {

std::vector<std::int64_t> choose_splitters(const Communicator& comm,
                                           const std::vector<std::int64_t>& sorted_ids) {
  const auto ranks = static_cast<std::size_t>(comm.size());
  std::vector<std::int64_t> samples;
  for (std::size_t i = 0; !sorted_ids.empty() && i < ranks; ++i) {
    samples.push_back(sorted_ids[i * sorted_ids.size() / ranks]);
  }
  std::vector<std::int64_t> all = comm.all_gather(samples);
  std::sort(all.begin(), all.end());
  std::vector<std::int64_t> splitters;
  for (std::size_t j = 1; !all.empty() && j < ranks; ++j) {
    splitters.push_back(all[j * all.size() / ranks]);
  }
  return splitters;
}

}  // namespace detail

std::optional<std::pair<std::string, std::string>> gather_activity_by_owner(
    const Communicator& comm, std::vector<CustomerActivityRecord>& records,
    std::vector<std::string>& keys, bool with_keys) {
  Outbox<CustomerActivityRecord> outbox(comm.size());
  for (std::size_t i = 0; i < records.size(); ++i) {
    const auto owner = static_cast<std::size_t>(owner_of_customer(records[i].id, comm.size()));
    outbox.records[owner].push_back(records[i]);
    if (with_keys) outbox.texts[owner].push_back(std::move(keys[i]));
  }
  records.clear();
  keys.clear();
  Inbox<CustomerActivityRecord> inbox = exchange(comm, outbox, with_keys);
  records = std::move(inbox.records);
  keys = std::move(inbox.texts);
  return merge_by_id(records, keys);
}

std::vector<QuintileThresholds> distributed_quintile_thresholds(
    const Communicator& comm, const std::vector<std::vector<double>>& metrics) {
  const std::size_t metric_count = metrics.size();
  std::vector<std::vector<std::uint64_t>> keys(metric_count);
  std::vector<std::int64_t> totals(metric_count);
  for (std::size_t m = 0; m < metric_count; ++m) {
    for (double value : metrics[m]) keys[m].push_back(ordered_key(value));
    std::sort(keys[m].begin(), keys[m].end());
    totals[m] = static_cast<std::int64_t>(keys[m].size());
  }
  comm.sum_in_place(totals);

  // Bisection for the smallest key whose count of keys ≤ it reaches the target rank; every rank
  // sees the same global counts, so every rank takes the same steps.
  const std::size_t searches = metric_count * quintile_threshold_count;
  std::vector<std::uint64_t> low(searches, 0), high(searches, ~std::uint64_t{0});
  std::vector<std::int64_t> target(searches);
  for (std::size_t m = 0; m < metric_count; ++m) {
    const auto ranks = quintile_threshold_ranks(totals[m]);
    for (int s = 0; s < quintile_threshold_count; ++s)
      target[m * quintile_threshold_count + s] = ranks[s];
  }
  low = smallest_keys_reaching(comm, keys, quintile_threshold_count, std::move(low),
                               std::move(high), target);
  std::vector<QuintileThresholds> thresholds(metric_count);
  for (std::size_t m = 0; m < metric_count; ++m) {
    for (int s = 0; s < quintile_threshold_count; ++s) {
      thresholds[m][s] = totals[m] == 0 ? std::numeric_limits<double>::infinity()
                                        : from_ordered_key(low[m * quintile_threshold_count + s]);
    }
  }
  return thresholds;
}

std::vector<std::string> union_of_strings(const Communicator& comm,
                                          const std::vector<std::string>& local) {
  PackedStrings packed;
  for (const auto& text : local) pack(text, packed);
  std::vector<std::string> all =
      unpack(comm.all_gather(packed.lengths), comm.all_gather(packed.bytes));
  std::sort(all.begin(), all.end());
  all.erase(std::unique(all.begin(), all.end()), all.end());
  return all;
}

}  // namespace microseg::distributed
