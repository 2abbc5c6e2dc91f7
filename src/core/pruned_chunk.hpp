#pragma once
// One chunk of rows through the pruned Lloyd step (docs/architecture.md, "Pruned Lloyd"): the
// label's kernel value, the bounds moved by the centroids' drift and the groups they open, each
// opened group evaluated for the rows that opened it, then per row the nearest centroid, fresh
// bounds and the sums of the rows that changed segment.
#include <Eigen/Core>
#include <cstdint>
#include <vector>

#include "microseg/core/assignment.hpp"
#include "pruned_bounds.hpp"
#include "pruned_centroids.hpp"

namespace microseg::pruned {

// What every chunk of one step reads; shared by the threads.
struct StepInputs {
  const LloydRows& rows;
  const StepCentroids& centroids;
  const CentroidGroups& groups;
  const CentroidDrift& drift;
  StepMargins margins;
  bool first;       // the first step: every group is evaluated for every row
  bool use_avx512;  // the group evaluation and the thresholds in AVX-512
};

// What the step keeps per row from one step to the next; a chunk writes only its own rows.
struct RowState {
  std::int32_t* labels;
  float* squared_distances;
  float* lower_bounds;  // rows × groups
  float* label_values;  // the kernel value of the row's label at the last step
};

// The nearest and second-nearest kernel value of one row among a group's centroids.
struct GroupMinima {
  float first;      // smallest value
  int first_index;  // its centroid, the lowest index among equal values
  float second;     // smallest value among the other centroids of the group
};

// One thread's share of a step, chunk by chunk, with its scratch sized once for a chunk.
class ChunkWork {
 public:
  ChunkWork(const StepInputs& step, const RowState& state, int chunk_capacity);
  // Rows [begin, begin + count): labels, squared distances, bounds and label values, and each
  // row that changed segment moved between the segments of `sums`.
  void assign(Eigen::Index begin, int count, LloydSums& sums);
  // Kernel evaluations so far (the labels' own values included).
  std::int64_t evaluations() const { return evaluations_; }

 private:
  void open_every_group(Eigen::Index begin, int count);
  void compute_label_values(Eigen::Index begin, int count);
  void compute_thresholds(Eigen::Index begin, int count);
  void open_groups(Eigen::Index begin, int count);
  void evaluate_groups(Eigen::Index begin);
  void fold(Eigen::Index begin, int count, LloydSums& sums);
  void move_row(Eigen::Index i, int from, int to, LloydSums& sums) const;

  const StepInputs& step_;
  RowState state_;
  int groups_, capacity_;
  std::int64_t evaluations_ = 0;
  std::vector<char> open_;              // capacity × groups: which groups each row evaluates
  std::vector<int> group_rows_;         // group g's rows at [g · capacity, + group_size_[g])
  std::vector<int> group_size_;         // groups
  std::vector<double> thresholds_;      // per row: U, beyond which a centroid cannot win
  std::vector<double> slacks_;          // per row: the absolute slack of its bounds
  std::vector<GroupMinima> minima_;     // capacity × groups
  std::vector<GroupMinima> group_out_;  // one group's minima, by list entry
  std::vector<float> old_values_;       // per row: its label's kernel value now
  std::vector<int> recompute_;          // rows whose label's centroid moved
};

}  // namespace microseg::pruned
