#include "microseg/distributed/id_partition.hpp"

#include <limits>
#include <numeric>

#include "microseg/core/random.hpp"

namespace microseg::distributed {
namespace {

std::uint64_t id_hash(std::int64_t id) {
  return keyed_hash(0, RandomStream::id_partition, static_cast<std::uint64_t>(id));
}

// What travels to an id's owner: the id alone (the read's check, the leanest exchange at 10M
// rows) or with the line it was read on (ingest names both lines).
struct IdOnly {
  std::int64_t id = 0;
  std::int64_t line() const { return 0; }
};
struct IdAndLine {
  std::int64_t id = 0;
  std::int64_t line_number = 0;
  std::int64_t line() const { return line_number; }
};

// Ranks' findings for the ids they own, before they are combined.
struct LocalDuplicates {
  DuplicateId found;
  bool any = false;
};

// Scans the records an owner received (sorted by id, then line) for repeats.
template <class Record>
void scan_for_duplicates(const Inbox<Record>& inbox, bool with_keys, LocalDuplicates& local) {
  std::vector<std::size_t> order(inbox.records.size());
  std::iota(order.begin(), order.end(), std::size_t{0});
  std::sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) {
    const Record& x = inbox.records[a];
    const Record& y = inbox.records[b];
    return x.id != y.id ? x.id < y.id : x.line() < y.line();
  });
  DuplicateId& found = local.found;
  for (std::size_t i = 1; i < order.size(); ++i) {
    const Record& previous = inbox.records[order[i - 1]];
    const Record& current = inbox.records[order[i]];
    if (current.id != previous.id) continue;
    ++found.extra_occurrences;
    if (i >= 2 && inbox.records[order[i - 2]].id == current.id) continue;  // counted already
    ++found.duplicated_ids;
    if (local.any && current.id >= found.id) continue;
    local.any = true;
    found.id = current.id;
    found.first_line = previous.line();
    found.second_line = current.line();
    if (with_keys) {
      found.first_key = inbox.texts[order[i - 1]];
      found.second_key = inbox.texts[order[i]];
    }
  }
}

template <class Record, class MakeRecord>
LocalDuplicates duplicates_by_owner(const Communicator& comm, const IdsToCheck& check,
                                    MakeRecord make_record) {
  const auto ranks = static_cast<std::uint64_t>(comm.size());
  const bool with_keys = check.keys != nullptr;
  const std::int64_t rounds = std::max<std::int64_t>(
      1, (comm.max(static_cast<std::int64_t>(check.ids.size())) + check.ids_per_round - 1) /
             check.ids_per_round);
  LocalDuplicates local;
  for (std::int64_t round = 0; round < rounds; ++round) {
    Outbox<Record> outbox(comm.size());
    for (std::size_t i = 0; i < check.ids.size(); ++i) {
      const std::uint64_t h = id_hash(check.ids[i]);
      if ((h / ranks) % static_cast<std::uint64_t>(rounds) != static_cast<std::uint64_t>(round)) {
        continue;
      }
      outbox.records[h % ranks].push_back(make_record(i));
      if (with_keys) outbox.texts[h % ranks].push_back((*check.keys)[i]);
    }
    scan_for_duplicates(exchange(comm, outbox, with_keys), with_keys, local);
  }
  return local;
}

}  // namespace

int owner_of_customer(std::int64_t id, int ranks) {
  return static_cast<int>(id_hash(id) % static_cast<std::uint64_t>(ranks));
}

namespace detail {

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

}  // namespace detail

std::optional<DuplicateId> find_duplicate_ids(const Communicator& comm, const IdsToCheck& check) {
  const LocalDuplicates local =
      check.lines
          ? duplicates_by_owner<IdAndLine>(comm, check,
                                           [&](std::size_t i) {
                                             return IdAndLine{check.ids[i], (*check.lines)[i]};
                                           })
          : duplicates_by_owner<IdOnly>(comm, check,
                                        [&](std::size_t i) { return IdOnly{check.ids[i]}; });
  std::vector<std::int64_t> counts{local.found.duplicated_ids, local.found.extra_occurrences};
  comm.sum_in_place(counts);
  if (counts[0] == 0) return std::nullopt;
  const std::int64_t smallest =
      comm.min(local.any ? local.found.id : std::numeric_limits<std::int64_t>::max());
  // Only the owner of the smallest duplicated id knows its lines and keys.
  const int owner = owner_of_customer(smallest, comm.size());
  DuplicateId found = local.found;
  std::vector<std::int64_t> lines{found.first_line, found.second_line};
  comm.broadcast(lines, owner);
  comm.broadcast(found.first_key, owner);
  comm.broadcast(found.second_key, owner);
  found.duplicated_ids = counts[0];
  found.extra_occurrences = counts[1];
  found.id = smallest;
  found.first_line = lines[0];
  found.second_line = lines[1];
  return found;
}

void check_unique_ids(const Communicator& comm, const std::vector<std::int64_t>& ids,
                      const std::string& path, std::int64_t ids_per_round) {
  if (const auto duplicate =
          find_duplicate_ids(comm, IdsToCheck{ids, nullptr, nullptr, ids_per_round})) {
    comm.agree("input file '" + path + "': /customers/id has " +
               std::to_string(duplicate->extra_occurrences) +
               " duplicate customer ids (smallest duplicated id: " + std::to_string(duplicate->id) +
               "); every customer must appear once");
  }
}

}  // namespace microseg::distributed
