#include "microseg/core/segment_matching.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <limits>
#include <stdexcept>

namespace microseg {
namespace {

// Kuhn–Munkres with row and column potentials for rows ≤ cols (the shortest augmenting path
// formulation): one row is added per outer step and the potentials keep every reduced cost
// non-negative, so the final matching is optimal. Returns the column of each row.
std::vector<int> assign_rows_to_columns(const std::vector<double>& cost, int rows, int cols) {
  const double infinity = std::numeric_limits<double>::infinity();
  // 1-based with a virtual column 0 that holds the row being added.
  std::vector<double> row_potential(rows + 1, 0.0), col_potential(cols + 1, 0.0);
  std::vector<int> row_of_col(cols + 1, 0), previous_col(cols + 1, 0);
  for (int row = 1; row <= rows; ++row) {
    row_of_col[0] = row;
    int col = 0;
    std::vector<double> slack(cols + 1, infinity);
    std::vector<char> visited(cols + 1, 0);
    do {
      visited[col] = 1;
      const int current_row = row_of_col[col];
      double delta = infinity;
      int next_col = 0;
      for (int j = 1; j <= cols; ++j) {
        if (visited[j]) continue;
        const double reduced = cost[static_cast<std::size_t>(current_row - 1) * cols + (j - 1)] -
                               row_potential[current_row] - col_potential[j];
        if (reduced < slack[j]) {
          slack[j] = reduced;
          previous_col[j] = col;
        }
        if (slack[j] < delta) {
          delta = slack[j];
          next_col = j;
        }
      }
      for (int j = 0; j <= cols; ++j) {
        if (visited[j]) {
          row_potential[row_of_col[j]] += delta;
          col_potential[j] -= delta;
        } else {
          slack[j] -= delta;
        }
      }
      col = next_col;
    } while (row_of_col[col] != 0);
    // Flip the augmenting path.
    do {
      const int from = previous_col[col];
      row_of_col[col] = row_of_col[from];
      col = from;
    } while (col != 0);
  }
  std::vector<int> col_of_row(rows, -1);
  for (int j = 1; j <= cols; ++j) {
    if (row_of_col[j] != 0) col_of_row[row_of_col[j] - 1] = j - 1;
  }
  return col_of_row;
}

double forward(const ScalingModel& model, std::size_t j, double original) {
  const bool log1p = j < model.log1p.size() && model.log1p[j] != 0;
  const double transformed = log1p ? std::log1p(original) : original;
  return (transformed - model.offset.at(j)) / model.scale.at(j);
}

}  // namespace

std::vector<int> minimum_cost_assignment(const std::vector<double>& cost, int rows, int cols) {
  if (rows < 0 || cols < 0 ||
      cost.size() != static_cast<std::size_t>(rows) * static_cast<std::size_t>(cols)) {
    throw std::invalid_argument("minimum_cost_assignment: the cost matrix does not hold " +
                                std::to_string(rows) + " × " + std::to_string(cols) + " values");
  }
  for (double c : cost) {
    if (!std::isfinite(c)) throw std::invalid_argument("minimum_cost_assignment: non-finite cost");
  }
  if (rows == 0 || cols == 0) return std::vector<int>(rows, -1);
  if (rows <= cols) return assign_rows_to_columns(cost, rows, cols);
  std::vector<double> transposed(cost.size());
  for (int i = 0; i < rows; ++i) {
    for (int j = 0; j < cols; ++j) {
      transposed[static_cast<std::size_t>(j) * rows + i] =
          cost[static_cast<std::size_t>(i) * cols + j];
    }
  }
  const std::vector<int> row_of_col = assign_rows_to_columns(transposed, cols, rows);
  std::vector<int> col_of_row(rows, -1);
  for (int j = 0; j < cols; ++j) col_of_row[row_of_col[j]] = j;
  return col_of_row;
}

double MatchCutoff::distance_for(double spread) const {
  switch (kind) {
    case Kind::spread_multiple:
      return value * spread;
    case Kind::absolute:
      return value;
    case Kind::none:
      break;
  }
  return std::numeric_limits<double>::infinity();
}

std::string MatchCutoff::text() const {
  if (kind == Kind::none) return "none";
  char buffer[64];
  std::snprintf(buffer, sizeof buffer, "%.17g%s", value, kind == Kind::spread_multiple ? "x" : "");
  return buffer;
}

MatchCutoff parse_match_cutoff(const std::string& text) {
  MatchCutoff cutoff;
  if (text.empty()) return cutoff;
  if (text == "none") {
    cutoff.kind = MatchCutoff::Kind::none;
    cutoff.value = 0;
    return cutoff;
  }
  const bool multiple = text.back() == 'x';
  const std::string number = multiple ? text.substr(0, text.size() - 1) : text;
  double parsed = -1;
  std::size_t used = 0;
  try {
    parsed = std::stod(number, &used);
  } catch (const std::logic_error&) {
    used = 0;
  }
  if (number.empty() || used != number.size() || !std::isfinite(parsed) || parsed < 0) {
    throw InputError("option --match-max-distance: invalid value '" + text +
                     "' (expected a multiple of the previous run's customer spread such as 2x, a "
                     "distance such as 1.5, or none)");
  }
  cutoff.kind = multiple ? MatchCutoff::Kind::spread_multiple : MatchCutoff::Kind::absolute;
  cutoff.value = parsed;
  return cutoff;
}

SegmentIdentity SegmentIdentity::first_run(int k) {
  SegmentIdentity identity;
  for (int s = 0; s < k; ++s) identity.ids.push_back(s);
  identity.next_id = k;
  return identity;
}

int SegmentIdentity::row_of(std::int64_t id) const {
  const auto found = std::find(ids.begin(), ids.end(), id);
  return found == ids.end() ? -1 : static_cast<int>(found - ids.begin());
}

namespace {

// Checks the shapes match_segments and match_segments_in_groups share.
void check_matching_inputs(const CentroidMatrix& previous, const SegmentIdentity& previous_identity,
                           const CentroidMatrix& current, double max_distance) {
  if (!(max_distance >= 0)) {
    throw std::invalid_argument("match_segments: the distance cut-off must be ≥ 0");
  }
  if (previous.cols() != current.cols()) {
    throw std::invalid_argument("match_segments: centroids with " +
                                std::to_string(previous.cols()) + " and " +
                                std::to_string(current.cols()) + " features");
  }
  if (previous_identity.ids.size() != static_cast<std::size_t>(previous.rows())) {
    throw std::invalid_argument("match_segments: " + std::to_string(previous.rows()) +
                                " previous centroids but " +
                                std::to_string(previous_identity.ids.size()) + " ids");
  }
}

// Euclidean distance of every previous row (rows) to every current row (columns), row-major.
std::vector<double> centroid_distances(const CentroidMatrix& previous,
                                       const CentroidMatrix& current) {
  const auto previous_k = static_cast<int>(previous.rows());
  const auto current_k = static_cast<int>(current.rows());
  std::vector<double> cost(static_cast<std::size_t>(previous_k) * current_k);
  for (int p = 0; p < previous_k; ++p) {
    for (int c = 0; c < current_k; ++c) {
      // A plain loop: the same sum order everywhere, and no AVX-512 reduction for GCC to warn on.
      double squared = 0;
      for (Eigen::Index j = 0; j < previous.cols(); ++j) {
        const double difference = previous(p, j) - current(c, j);
        squared += difference * difference;
      }
      cost[static_cast<std::size_t>(p) * current_k + c] = std::sqrt(squared);
    }
  }
  return cost;
}

// The ids that follow from the optimal pairs (current_of_previous, -1: unpaired): pairs beyond
// the cut-off broken, matched rows keeping their id, fresh ids in row order, the rest retired.
SegmentMatch match_from_pairs(const std::vector<double>& cost,
                              const SegmentIdentity& previous_identity,
                              const std::vector<int>& current_of_previous, int current_k,
                              double max_distance) {
  const auto previous_k = static_cast<int>(current_of_previous.size());
  SegmentMatch match;
  match.max_distance = max_distance;
  match.previous_row.assign(current_k, -1);
  match.drift.assign(current_k, std::numeric_limits<double>::quiet_NaN());
  for (int p = 0; p < previous_k; ++p) {
    const int c = current_of_previous[p];
    if (c < 0) {
      match.retired_now.push_back(previous_identity.ids[p]);
      continue;
    }
    if (cost[static_cast<std::size_t>(p) * current_k + c] > max_distance) {
      match.retired_now.push_back(previous_identity.ids[p]);
      match.too_far.push_back(previous_identity.ids[p]);
      continue;
    }
    match.previous_row[c] = p;
    match.drift[c] = cost[static_cast<std::size_t>(p) * current_k + c];
  }
  SegmentIdentity& identity = match.identity;
  identity.next_id = previous_identity.next_id;
  identity.ids.resize(current_k);
  for (int c = 0; c < current_k; ++c) {
    const int p = match.previous_row[c];
    if (p >= 0) {
      identity.ids[c] = previous_identity.ids[p];
    } else {
      identity.ids[c] = identity.next_id++;
      match.fresh_ids.push_back(identity.ids[c]);
    }
  }
  std::sort(match.retired_now.begin(), match.retired_now.end());
  std::sort(match.too_far.begin(), match.too_far.end());
  identity.retired_ids = previous_identity.retired_ids;
  identity.retired_ids.insert(identity.retired_ids.end(), match.retired_now.begin(),
                              match.retired_now.end());
  std::sort(identity.retired_ids.begin(), identity.retired_ids.end());
  return match;
}

}  // namespace

SegmentMatch match_segments(const CentroidMatrix& previous,
                            const SegmentIdentity& previous_identity, const CentroidMatrix& current,
                            double max_distance) {
  check_matching_inputs(previous, previous_identity, current, max_distance);
  const auto previous_k = static_cast<int>(previous.rows());
  const auto current_k = static_cast<int>(current.rows());
  const std::vector<double> cost = centroid_distances(previous, current);
  return match_from_pairs(cost, previous_identity,
                          minimum_cost_assignment(cost, previous_k, current_k), current_k,
                          max_distance);
}

SegmentMatch match_segments_in_groups(const CentroidMatrix& previous,
                                      const SegmentIdentity& previous_identity,
                                      const CentroidMatrix& current, const MatchGroups& groups,
                                      double max_distance) {
  check_matching_inputs(previous, previous_identity, current, max_distance);
  const auto previous_k = static_cast<int>(previous.rows());
  const auto current_k = static_cast<int>(current.rows());
  if (groups.previous.size() != static_cast<std::size_t>(previous_k) ||
      groups.current.size() != static_cast<std::size_t>(current_k)) {
    throw std::invalid_argument("match_segments_in_groups: one group per centroid row expected");
  }
  const std::vector<double> cost = centroid_distances(previous, current);
  std::vector<int> current_of_previous(previous_k, -1);
  int group_count = 0;
  for (int g : groups.current) group_count = std::max(group_count, g + 1);
  for (int group = 0; group < group_count; ++group) {
    std::vector<int> rows, cols;  // the previous and current rows of this group, ascending
    for (int p = 0; p < previous_k; ++p) {
      if (groups.previous[p] == group) rows.push_back(p);
    }
    for (int c = 0; c < current_k; ++c) {
      if (groups.current[c] == group) cols.push_back(c);
    }
    std::vector<double> part;
    for (int p : rows) {
      for (int c : cols) part.push_back(cost[static_cast<std::size_t>(p) * current_k + c]);
    }
    const std::vector<int> paired =
        minimum_cost_assignment(part, static_cast<int>(rows.size()), static_cast<int>(cols.size()));
    for (std::size_t i = 0; i < rows.size(); ++i) {
      if (paired[i] >= 0) current_of_previous[rows[i]] = cols[static_cast<std::size_t>(paired[i])];
    }
  }
  return match_from_pairs(cost, previous_identity, current_of_previous, current_k, max_distance);
}

std::vector<int> candidate_groups(const std::vector<std::int64_t>& counts, int previous_k,
                                  const std::vector<std::int64_t>& group_ids,
                                  const std::vector<int>& fallback) {
  const auto group_k = static_cast<int>(group_ids.size());
  if (counts.size() != static_cast<std::size_t>(previous_k) * group_ids.size() ||
      fallback.size() != static_cast<std::size_t>(previous_k)) {
    throw std::invalid_argument(
        "candidate_groups: a previous_k × groups table and one fallback "
        "per previous segment expected");
  }
  std::vector<int> groups(static_cast<std::size_t>(previous_k), -1);
  for (int p = 0; p < previous_k; ++p) {
    int best = -1;
    std::int64_t most = 0;
    for (int g = 0; g < group_k; ++g) {
      const std::int64_t n = counts[static_cast<std::size_t>(p) * group_k + g];
      if (n > most || (n == most && n > 0 && group_ids[g] < group_ids[best])) {
        best = g;
        most = n;
      }
    }
    groups[p] = best >= 0 ? best : fallback[p];
  }
  return groups;
}

std::vector<int> largest_segment_rows(const std::vector<std::int64_t>& sizes, int k) {
  std::vector<int> rows(sizes.size());
  for (std::size_t s = 0; s < rows.size(); ++s) rows[s] = static_cast<int>(s);
  std::stable_sort(rows.begin(), rows.end(), [&](int a, int b) { return sizes[a] > sizes[b]; });
  rows.resize(std::min(rows.size(), static_cast<std::size_t>(std::max(k, 0))));
  std::sort(rows.begin(), rows.end());
  return rows;
}

CentroidMatrix rescale_centroids(const CentroidMatrix& centroids, const ScalingModel& from,
                                 const ScalingModel& to,
                                 const std::vector<std::string>& feature_names) {
  const auto d = static_cast<std::size_t>(centroids.cols());
  if (from.offset.size() != d || to.offset.size() != d || from.scale.size() != d ||
      to.scale.size() != d) {
    throw std::invalid_argument(
        "rescale_centroids: scaling models of " + std::to_string(from.offset.size()) + " and " +
        std::to_string(to.offset.size()) + " features for centroids of " + std::to_string(d));
  }
  CentroidMatrix mapped(centroids.rows(), centroids.cols());
  for (Eigen::Index c = 0; c < centroids.rows(); ++c) {
    for (std::size_t j = 0; j < d; ++j) {
      const double original = from.inverse(j, centroids(c, static_cast<Eigen::Index>(j)));
      const double value = forward(to, j, original);
      if (!std::isfinite(value)) {
        const std::string name = j < feature_names.size() ? feature_names[j] : std::to_string(j);
        throw InputError("feature '" + name + "': a centroid at " + std::to_string(original) +
                         " in original units cannot be mapped through log1p (needs values > -1)");
      }
      mapped(c, static_cast<Eigen::Index>(j)) = value;
    }
  }
  return mapped;
}

}  // namespace microseg
