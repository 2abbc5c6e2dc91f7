#include "pruned_centroids.hpp"

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <limits>

#include "microseg/core/assignment.hpp"
#include "pruned_bounds.hpp"

namespace microseg::pruned {
namespace {

// Positions evaluated together by the vector code (two AVX-512 registers): the by-position
// columns are padded by this many.
constexpr int kEvaluationBlock = 32;
constexpr int kPackedBlock = AssignmentCentroids::kPackedBlock;

// Each centroid to the nearest of the group centres; the centres to the mean of their
// centroids. Deterministic: the same loops on every rank.
void refine_groups(const std::vector<float>& c, int k, int d, std::vector<double>& centres,
                   std::vector<int>& group_of) {
  const int g_count = static_cast<int>(centres.size()) / d;
  for (int i = 0; i < k; ++i) {
    double best = std::numeric_limits<double>::infinity();
    for (int g = 0; g < g_count; ++g) {
      double dist = 0;
      for (int j = 0; j < d; ++j) {
        const double delta = c[i * d + j] - centres[static_cast<std::size_t>(g) * d + j];
        dist += delta * delta;
      }
      if (dist < best) {
        best = dist;
        group_of[i] = g;
      }
    }
  }
  std::vector<double> sums(centres.size(), 0.0);
  std::vector<int> counts(g_count, 0);
  for (int i = 0; i < k; ++i) {
    ++counts[group_of[i]];
    for (int j = 0; j < d; ++j) sums[static_cast<std::size_t>(group_of[i]) * d + j] += c[i * d + j];
  }
  for (int g = 0; g < g_count; ++g) {
    if (counts[g] == 0) continue;
    for (int j = 0; j < d; ++j) {
      centres[static_cast<std::size_t>(g) * d + j] =
          sums[static_cast<std::size_t>(g) * d + j] / counts[g];
    }
  }
}

// Drops empty groups (numbered in order of first use) and lays the centroids out group by group.
CentroidGroups order_by_group(std::vector<int> group_of, int group_count) {
  const int k = static_cast<int>(group_of.size());
  std::vector<int> renumber(group_count, -1);
  int used = 0;
  for (int i = 0; i < k; ++i) {
    if (renumber[group_of[i]] < 0) renumber[group_of[i]] = 0;
  }
  for (int g = 0; g < group_count; ++g) {
    if (renumber[g] == 0) renumber[g] = used++;
  }
  for (int i = 0; i < k; ++i) group_of[i] = renumber[group_of[i]];
  CentroidGroups groups;
  groups.order.resize(k);
  groups.begin.assign(used + 1, 0);
  for (int i = 0; i < k; ++i) ++groups.begin[group_of[i] + 1];
  for (int g = 0; g < used; ++g) groups.begin[g + 1] += groups.begin[g];
  std::vector<int> next(groups.begin.begin(), groups.begin.end() - 1);
  for (int i = 0; i < k; ++i) groups.order[next[group_of[i]]++] = i;
  groups.group_of = std::move(group_of);
  return groups;
}

}  // namespace

std::vector<float> float_centroids(const CentroidMatrix& centroids) {
  const Eigen::Index k = centroids.rows(), d = centroids.cols();
  std::vector<float> floats(static_cast<std::size_t>(k * d));
  for (Eigen::Index c = 0; c < k; ++c) {
    for (Eigen::Index j = 0; j < d; ++j)
      floats[static_cast<std::size_t>(c * d + j)] = static_cast<float>(centroids(c, j));
  }
  return floats;
}

CentroidGroups group_centroids(const std::vector<float>& centroids, int k, int d, int groups) {
  std::vector<double> centres(static_cast<std::size_t>(groups) * d);
  for (int g = 0; g < groups; ++g) {
    const int c0 = static_cast<int>(static_cast<std::int64_t>(g) * k / groups);
    for (int j = 0; j < d; ++j)
      centres[static_cast<std::size_t>(g) * d + j] = centroids[c0 * d + j];
  }
  std::vector<int> group_of(k, 0);
  for (int iteration = 0; iteration < 5; ++iteration) {
    refine_groups(centroids, k, d, centres, group_of);
  }
  return order_by_group(std::move(group_of), groups);
}

StepCentroids::StepCentroids(const CentroidMatrix& centroids, std::vector<float> floats_in,
                             const CentroidGroups& groups)
    : k(static_cast<int>(centroids.rows())),
      d(static_cast<int>(centroids.cols())),
      floats(std::move(floats_in)),
      norm_of(k),
      minus_two_rows(static_cast<std::size_t>(k) * d),
      columns(k + kEvaluationBlock) {
  // The kernel's ‖c‖² (AssignmentCentroids computes it from the same floats).
  const AssignmentCentroids kernel_layout(centroids);
  for (int c = 0; c < k; ++c) {
    norm_of[c] = kernel_layout.squared_norms()[c];
    double norm = 0;
    for (int j = 0; j < d; ++j) {
      const float v = floats[static_cast<std::size_t>(c) * d + j];
      minus_two_rows[static_cast<std::size_t>(c) * d + j] = -2.0f * v;
      norm += static_cast<double>(v) * v;
    }
    max_norm = std::max(max_norm, std::sqrt(norm));
  }
  max_norm *= 1 + kDoubleSlack;
  lay_out_by_position(groups);
  lay_out_packed(groups);
}

void StepCentroids::lay_out_by_position(const CentroidGroups& groups) {
  norms.assign(columns, 0.0f);
  minus_two_by_col.assign(static_cast<std::size_t>(columns) * d, 0.0f);
  for (int p = 0; p < k; ++p) {
    const int c = groups.order[p];
    norms[p] = norm_of[c];
    for (int j = 0; j < d; ++j) {
      minus_two_by_col[static_cast<std::size_t>(j) * columns + p] =
          minus_two_rows[static_cast<std::size_t>(c) * d + j];
    }
  }
  centroid_at.assign(columns, groups.order[k - 1]);
  std::copy(groups.order.begin(), groups.order.end(), centroid_at.begin());
}

void StepCentroids::lay_out_packed(const CentroidGroups& groups) {
  const int count = groups.count();
  const std::vector<int>& begin = groups.begin;
  packed_begin.assign(count + 1, 0);
  for (int g = 0; g < count; ++g) {
    const int size = begin[g + 1] - begin[g];
    packed_begin[g + 1] = packed_begin[g] + (size + kPackedBlock - 1) / kPackedBlock * kPackedBlock;
  }
  packed_norms.assign(packed_begin[count], kInfinity);
  packed_centroid.resize(packed_begin[count]);
  packed.assign(static_cast<std::size_t>(packed_begin[count]) * d, 0.0f);
  for (int g = 0; g < count; ++g) {
    for (int q = packed_begin[g]; q < packed_begin[g + 1]; ++q) {
      const int p = std::min(begin[g] + (q - packed_begin[g]), begin[g + 1] - 1);
      packed_centroid[q] = groups.order[p];
      if (begin[g] + (q - packed_begin[g]) != p) continue;  // padding
      packed_norms[q] = norms[p];
      float* block = packed.data() + static_cast<std::size_t>(q / kPackedBlock) * d * kPackedBlock;
      for (int j = 0; j < d; ++j) {
        block[j * kPackedBlock + q % kPackedBlock] =
            minus_two_rows[static_cast<std::size_t>(groups.order[p]) * d + j];
      }
    }
  }
}

CentroidDrift::CentroidDrift(const StepCentroids& current, const std::vector<float>& previous,
                             const CentroidGroups& groups)
    : of_group(groups.count(), 0.0), unmoved(current.k, 0) {
  if (previous.empty()) return;
  const int d = current.d;
  for (int c = 0; c < current.k; ++c) {
    double moved = 0;
    bool same = true;
    for (int j = 0; j < d; ++j) {
      const float now = current.floats[static_cast<std::size_t>(c) * d + j];
      const float before = previous[static_cast<std::size_t>(c) * d + j];
      same = same && now == before;
      const double delta = static_cast<double>(now) - before;
      moved += delta * delta;
    }
    unmoved[c] = same;
    double& drift = of_group[groups.group_of[c]];
    drift = std::max(drift, std::sqrt(moved) * (1 + kDoubleSlack));
  }
}

}  // namespace microseg::pruned
