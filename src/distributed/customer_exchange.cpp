#include "microseg/distributed/customer_exchange.hpp"

#include <limits>

#include "microseg/core/random.hpp"
#include "microseg/distributed/order_statistics.hpp"

namespace microseg::distributed {
namespace {

// Strings travel as their lengths and their concatenated bytes.
struct PackedStrings {
  std::vector<std::uint32_t> lengths;
  std::vector<char> bytes;
};

void pack(const std::string& text, PackedStrings& packed) {
  packed.lengths.push_back(static_cast<std::uint32_t>(text.size()));
  packed.bytes.insert(packed.bytes.end(), text.begin(), text.end());
}

std::vector<std::string> unpack(const std::vector<std::uint32_t>& lengths,
                                const std::vector<char>& bytes) {
  std::vector<std::string> texts;
  texts.reserve(lengths.size());
  std::size_t offset = 0;
  for (std::uint32_t length : lengths) {
    texts.emplace_back(bytes.data() + offset, length);
    offset += length;
  }
  return texts;
}

struct IdAndLine {
  std::int64_t id = 0;
  std::int64_t line = 0;
};

}  // namespace

int owner_of_customer(std::int64_t id, int ranks) {
  const std::uint64_t hash =
      keyed_hash(0, RandomStream::id_partition, static_cast<std::uint64_t>(id));
  return static_cast<int>(hash % static_cast<std::uint64_t>(ranks));
}

namespace detail {

std::vector<std::string> exchange_texts(const Communicator& comm,
                                        const std::vector<std::vector<std::string>>& texts,
                                        const std::vector<std::size_t>& begin,
                                        const std::vector<std::size_t>& end) {
  const auto ranks = static_cast<std::size_t>(comm.size());
  std::vector<std::vector<std::uint32_t>> lengths(ranks);
  std::vector<std::vector<char>> bytes(ranks);
  for (std::size_t r = 0; r < ranks; ++r) {
    PackedStrings packed;
    for (std::size_t i = begin[r]; i < end[r]; ++i) pack(texts[r][i], packed);
    lengths[r] = std::move(packed.lengths);
    bytes[r] = std::move(packed.bytes);
  }
  return unpack(comm.all_to_all(lengths), comm.all_to_all(bytes));
}

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

std::optional<DuplicateId> find_duplicate_ids(const Communicator& comm,
                                              const std::vector<std::int64_t>& ids,
                                              const std::vector<std::int64_t>& lines,
                                              const std::vector<std::string>& keys,
                                              bool with_keys) {
  Outbox<IdAndLine> outbox(comm.size());
  for (std::size_t i = 0; i < ids.size(); ++i) {
    const auto owner = static_cast<std::size_t>(owner_of_customer(ids[i], comm.size()));
    outbox.records[owner].push_back({ids[i], lines[i]});
    if (with_keys) outbox.texts[owner].push_back(keys[i]);
  }
  Inbox<IdAndLine> inbox = exchange(comm, outbox, with_keys);
  std::vector<std::size_t> order(inbox.records.size());
  std::iota(order.begin(), order.end(), std::size_t{0});
  std::sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) {
    const auto& x = inbox.records[a];
    const auto& y = inbox.records[b];
    return x.id != y.id ? x.id < y.id : x.line < y.line;
  });
  DuplicateId found;
  found.id = std::numeric_limits<std::int64_t>::max();
  for (std::size_t i = 1; i < order.size(); ++i) {
    const auto& previous = inbox.records[order[i - 1]];
    const auto& current = inbox.records[order[i]];
    if (current.id != previous.id) continue;
    if (i >= 2 && inbox.records[order[i - 2]].id == current.id) continue;  // counted already
    ++found.duplicated_ids;
    if (current.id < found.id) {
      found.id = current.id;
      found.first_line = previous.line;
      found.second_line = current.line;
      if (with_keys) {
        found.first_key = inbox.texts[order[i - 1]];
        found.second_key = inbox.texts[order[i]];
      }
    }
  }
  const std::int64_t duplicated = comm.sum(found.duplicated_ids);
  if (duplicated == 0) return std::nullopt;
  const std::int64_t smallest = comm.min(found.id);
  // Only the owner of the smallest duplicated id knows its lines and keys.
  const int owner = owner_of_customer(smallest, comm.size());
  std::vector<std::int64_t> lines_of_smallest{found.first_line, found.second_line};
  comm.broadcast(lines_of_smallest, owner);
  comm.broadcast(found.first_key, owner);
  comm.broadcast(found.second_key, owner);
  found.duplicated_ids = duplicated;
  found.id = smallest;
  found.first_line = lines_of_smallest[0];
  found.second_line = lines_of_smallest[1];
  return found;
}

}  // namespace microseg::distributed
