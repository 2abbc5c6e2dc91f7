#include "microseg/distributed/join_by_id.hpp"

#include <algorithm>
#include <limits>

#include "microseg/distributed/id_partition.hpp"

namespace microseg::distributed {
namespace {

struct IdAtRow {
  std::int64_t id;
  std::int64_t row;  // global row in the current run
};

struct RowReply {
  std::int64_t row;
  PreviousAssignment record;
};

PreviousAssignment no_previous_record(std::int64_t id) {
  const double nan = std::numeric_limits<double>::quiet_NaN();
  PreviousAssignment record;
  record.id = id;
  record.distance = nan;
  record.value = nan;
  return record;
}

}  // namespace

JoinedCustomers join_by_id(const Communicator& comm, RowRange rows,
                           const std::vector<std::int64_t>& ids,
                           const std::vector<PreviousAssignment>& previous) {
  const int ranks = comm.size();
  std::vector<std::vector<IdAtRow>> current_by_owner(ranks);
  for (std::size_t i = 0; i < ids.size(); ++i) {
    current_by_owner[owner_of_customer(ids[i], ranks)].push_back(
        {ids[i], rows.begin + static_cast<std::int64_t>(i)});
  }
  std::vector<std::vector<PreviousAssignment>> previous_by_owner(ranks);
  for (const PreviousAssignment& record : previous) {
    previous_by_owner[owner_of_customer(record.id, ranks)].push_back(record);
  }
  std::vector<IdAtRow> current_here = comm.all_to_all(current_by_owner);
  current_by_owner.clear();
  std::vector<PreviousAssignment> previous_here = comm.all_to_all(previous_by_owner);
  previous_by_owner.clear();
  std::sort(current_here.begin(), current_here.end(),
            [](const IdAtRow& a, const IdAtRow& b) { return a.id < b.id; });
  std::sort(previous_here.begin(), previous_here.end(),
            [](const PreviousAssignment& a, const PreviousAssignment& b) { return a.id < b.id; });

  // Rows are contiguous in rank order, so the holder of a row is the first rank ending after it.
  std::vector<std::int64_t> row_ends = comm.all_gather(std::vector<std::int64_t>{rows.end});
  const auto holder_of = [&](std::int64_t row) {
    return static_cast<int>(std::upper_bound(row_ends.begin(), row_ends.end(), row) -
                            row_ends.begin());
  };

  JoinedCustomers joined;
  std::vector<std::vector<RowReply>> replies(ranks);
  std::size_t p = 0;
  for (const IdAtRow& current : current_here) {
    while (p < previous_here.size() && previous_here[p].id < current.id) {
      joined.missing_now.push_back(previous_here[p++]);
    }
    const bool found = p < previous_here.size() && previous_here[p].id == current.id;
    replies[holder_of(current.row)].push_back(
        {current.row, found ? previous_here[p++] : no_previous_record(current.id)});
  }
  joined.missing_now.insert(joined.missing_now.end(),
                            previous_here.begin() + static_cast<std::ptrdiff_t>(p),
                            previous_here.end());

  const std::vector<RowReply> answers = comm.all_to_all(replies);
  joined.previous.resize(ids.size());
  for (const RowReply& answer : answers) {
    joined.previous[static_cast<std::size_t>(answer.row - rows.begin)] = answer.record;
  }
  return joined;
}

}  // namespace microseg::distributed
