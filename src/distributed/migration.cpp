#include "microseg/distributed/migration.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <optional>
#include <stdexcept>
#include <string>
#include <utility>

#include "microseg/core/exact_sum.hpp"

namespace microseg::distributed {
namespace {

// Stable id → position in a run's segment list (k is small; a sorted table keeps lookups cheap).
class SegmentIndex {
 public:
  explicit SegmentIndex(const std::vector<std::int64_t>& ids) {
    for (std::size_t i = 0; i < ids.size(); ++i) table_.emplace_back(ids[i], static_cast<int>(i));
    std::sort(table_.begin(), table_.end());
  }
  int operator()(std::int64_t id) const {
    const auto found = std::lower_bound(table_.begin(), table_.end(), std::make_pair(id, -1));
    return found != table_.end() && found->first == id ? found->second : -1;
  }

 private:
  std::vector<std::pair<std::int64_t, int>> table_;
};

// Fails on every rank when a previous record names a segment the previous model does not have.
void check_previous_segments(const Communicator& comm,
                             const std::vector<PreviousAssignment>& previous,
                             const SegmentIndex& previous_index) {
  std::optional<std::string> unknown;
  for (const PreviousAssignment& record : previous) {
    if (previous_index(record.segment) < 0 && !unknown) {
      unknown = "the previous run's /assignments/segment gives customer id " +
                std::to_string(record.id) + " segment " + std::to_string(record.segment) +
                ", which is not among its /model/segment_ids";
    }
  }
  comm.agree(unknown);
}

// Values cross ranks as exact fixed-point sums on a grid bounding every term.
FixedPointFormat value_format(const Communicator& comm, const CurrentCustomers& current,
                              const JoinedCustomers& joined) {
  double local_bound = 0;
  if (current.values) {
    for (double v : *current.values) local_bound = std::max(local_bound, std::abs(v));
    for (const auto& record : joined.missing_now) {
      if (std::isfinite(record.value)) local_bound = std::max(local_bound, std::abs(record.value));
    }
  }
  const auto rows = static_cast<std::int64_t>(current.rows.size());
  const std::int64_t terms = comm.sum(rows + static_cast<std::int64_t>(joined.missing_now.size()));
  return FixedPointFormat::for_bound(comm.max(local_bound), terms);
}

// Row i of this rank moved from previous segment p to current segment c: a move, and at risk
// when the new segment's value is lower than the previous one's.
void record_move(const CurrentCustomers& current, const MigrationSegments& segments,
                 const PreviousAssignment& before, std::size_t i, std::pair<int, int> p_c,
                 MigrationResult& result) {
  const auto [p, c] = p_c;
  CustomerMoves& moves = result.moves;
  moves.id.push_back((*current.ids)[i]);
  moves.previous_segment.push_back(before.segment);
  moves.new_segment.push_back((*current.segments)[i]);
  moves.previous_distance.push_back(before.distance);
  moves.new_distance.push_back((*current.distances)[i]);
  const bool at_risk =
      current.values && !segments.previous_reference_value.empty() &&
      moved_to_lower_value(segments.previous_reference_value[p], segments.current_value_mean.at(c));
  moves.at_risk.push_back(at_risk);
  if (current.macro_segments && !segments.previous_macro_of_segment.empty()) {
    const auto previous_macro =
        static_cast<std::int32_t>(segments.previous_macro_of_segment[static_cast<std::size_t>(p)]);
    const std::int32_t new_macro = (*current.macro_segments)[i];
    moves.previous_macro_segment.push_back(previous_macro);
    moves.new_macro_segment.push_back(new_macro);
    moves.across_macro.push_back(previous_macro != new_macro);
  }
  if (!at_risk) return;
  AtRiskCustomers& risk = result.at_risk;
  const double before_value = segments.previous_reference_value[p];
  const double now_value = segments.current_value_mean[c];
  risk.id.push_back((*current.ids)[i]);
  risk.previous_segment.push_back(before.segment);
  risk.new_segment.push_back((*current.segments)[i]);
  risk.previous_value.push_back(before_value);
  risk.new_value.push_back(now_value);
  risk.drop.push_back(before_value - now_value);
}

// The matrix's value cells from the exact sums (NaN in the lost column when the previous run
// recorded no values).
std::vector<double> matrix_values(const std::vector<ExactSum>& sums, const FixedPointFormat& format,
                                  int kc, bool previous_values_recorded) {
  std::vector<double> values;
  for (std::size_t cell = 0; cell < sums.size(); ++cell) {
    const bool missing_column =
        cell % static_cast<std::size_t>(kc + 1) == static_cast<std::size_t>(kc);
    values.push_back(missing_column && !previous_values_recorded
                         ? std::numeric_limits<double>::quiet_NaN()
                         : format.to_double(sums[cell]));
  }
  return values;
}

// Each rank's moves and at-risk customers get their place in the global lists.
void place_in_global_lists(const Communicator& comm, MigrationResult& result) {
  std::int64_t local_at_risk = 0;
  for (std::int8_t flag : result.moves.at_risk) local_at_risk += flag;
  const auto local_moves = static_cast<std::int64_t>(result.moves.id.size());
  result.moves.offset = comm.exclusive_prefix_sum(local_moves);
  result.moves.total = comm.sum(local_moves);
  result.at_risk.offset = comm.exclusive_prefix_sum(local_at_risk);
  result.at_risk.total = comm.sum(local_at_risk);
}

// The moves inside and across macro segments, over all ranks (two-level runs).
void count_macro_moves(const Communicator& comm, const CustomerMoves& moves,
                       MigrationStability& stability) {
  std::vector<std::int64_t> counts{0, 0};
  for (std::int8_t across : moves.across_macro) ++counts[across != 0];
  comm.sum_in_place(counts);
  stability.moved_within_macro = counts[0];
  stability.moved_across_macro = counts[1];
}

}  // namespace

MigrationResult compare_with_previous(const Communicator& comm, const CurrentCustomers& current,
                                      const std::vector<PreviousAssignment>& previous,
                                      const MigrationSegments& segments) {
  const JoinedCustomers joined = join_with_previous(comm, current, previous, segments.previous_ids);
  return migration_from_join(comm, current, joined, segments);
}

JoinedCustomers join_with_previous(const Communicator& comm, const CurrentCustomers& current,
                                   const std::vector<PreviousAssignment>& previous,
                                   const std::vector<std::int64_t>& previous_ids) {
  if (!current.ids || current.ids->size() != static_cast<std::size_t>(current.rows.size())) {
    throw std::invalid_argument("join_with_previous: ids do not match the rows");
  }
  check_previous_segments(comm, previous, SegmentIndex(previous_ids));
  return join_by_id(comm, current.rows, *current.ids, previous);
}

MigrationResult migration_from_join(const Communicator& comm, const CurrentCustomers& current,
                                    const JoinedCustomers& joined,
                                    const MigrationSegments& segments) {
  const std::size_t rows = static_cast<std::size_t>(current.rows.size());
  if (!current.ids || !current.segments || !current.distances || current.ids->size() != rows ||
      current.segments->size() != rows || current.distances->size() != rows ||
      (current.values && current.values->size() != rows) ||
      (current.macro_segments && current.macro_segments->size() != rows) ||
      joined.previous.size() != rows || segments.drift.size() != segments.current_ids.size() ||
      (!segments.previous_macro_of_segment.empty() &&
       segments.previous_macro_of_segment.size() != segments.previous_ids.size())) {
    throw std::invalid_argument("migration_from_join: inputs do not match the rows");
  }
  const SegmentIndex previous_index(segments.previous_ids), current_index(segments.current_ids);
  const int kp = static_cast<int>(segments.previous_ids.size());
  const int kc = static_cast<int>(segments.current_ids.size());
  MigrationMatrix matrix;
  matrix.previous_ids = segments.previous_ids;
  matrix.current_ids = segments.current_ids;
  matrix.counts.assign(static_cast<std::size_t>(kp + 1) * (kc + 1), 0);
  const bool valued = current.values != nullptr;
  const FixedPointFormat format = value_format(comm, current, joined);
  std::vector<ExactSum> value_sums(valued ? matrix.counts.size() : 0, 0);
  MigrationResult result;
  for (std::size_t i = 0; i < rows; ++i) {
    const int c = current_index((*current.segments)[i]);
    if (c < 0) throw std::invalid_argument("migration_from_join: unknown current segment id");
    const PreviousAssignment& before = joined.previous[i];
    const int p = before.segment < 0 ? kp : previous_index(before.segment);
    ++matrix.counts[matrix.at(p, c)];
    if (valued) value_sums[matrix.at(p, c)] += format.to_fixed((*current.values)[i]);
    if (p == kp || segments.previous_ids[p] == segments.current_ids[c] || !segments.list_moves) {
      continue;
    }
    record_move(current, segments, before, i, {p, c}, result);
  }
  for (const PreviousAssignment& record : joined.missing_now) {
    const int p = previous_index(record.segment);
    ++matrix.counts[matrix.at(p, kc)];
    if (valued && segments.previous_values_recorded) {
      value_sums[matrix.at(p, kc)] += format.to_fixed(record.value);
    }
  }
  comm.sum_in_place(matrix.counts);
  if (valued) {
    comm.sum_in_place(value_sums);
    matrix.value = matrix_values(value_sums, format, kc, segments.previous_values_recorded);
  }
  place_in_global_lists(comm, result);
  result.report = summarise_migration(std::move(matrix), segments.drift, result.at_risk.total);
  if (current.macro_segments && !segments.previous_macro_of_segment.empty()) {
    count_macro_moves(comm, result.moves, result.report.stability);
  }
  return result;
}

std::vector<std::int64_t> previous_by_group(const Communicator& comm, const JoinedCustomers& joined,
                                            const std::vector<std::int64_t>& previous_ids,
                                            const std::vector<std::int32_t>& group_of_row,
                                            int groups) {
  if (group_of_row.size() != joined.previous.size() || groups < 0) {
    throw std::invalid_argument("previous_by_group: one group per joined row expected");
  }
  const SegmentIndex previous_index(previous_ids);
  std::vector<std::int64_t> counts(previous_ids.size() * static_cast<std::size_t>(groups), 0);
  for (std::size_t i = 0; i < group_of_row.size(); ++i) {
    const std::int32_t segment = joined.previous[i].segment;
    const int p = segment < 0 ? -1 : previous_index(segment);
    const std::int32_t g = group_of_row[i];
    if (p < 0 || g < 0 || g >= groups) continue;
    ++counts[static_cast<std::size_t>(p) * static_cast<std::size_t>(groups) +
             static_cast<std::size_t>(g)];
  }
  comm.sum_in_place(counts);
  return counts;
}

JoinedCustomers previous_at_macro_level(
    const JoinedCustomers& joined, const std::vector<std::int64_t>& previous_ids,
    const std::vector<std::int64_t>& previous_macro_of_segment) {
  if (previous_macro_of_segment.size() != previous_ids.size()) {
    throw std::invalid_argument("previous_at_macro_level: one macro segment per segment expected");
  }
  const SegmentIndex previous_index(previous_ids);
  const auto relabel = [&](std::vector<PreviousAssignment> records) {
    for (PreviousAssignment& record : records) {
      if (record.segment < 0) continue;
      const int p = previous_index(record.segment);
      record.segment =
          p < 0 ? -1
                : static_cast<std::int32_t>(previous_macro_of_segment[static_cast<std::size_t>(p)]);
      record.distance = std::numeric_limits<double>::quiet_NaN();
    }
    return records;
  };
  return JoinedCustomers{relabel(joined.previous), relabel(joined.missing_now)};
}

}  // namespace microseg::distributed
