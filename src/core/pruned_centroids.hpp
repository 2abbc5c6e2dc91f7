#pragma once
// The centroids of one pruned Lloyd step: grouped once (Yinyang), laid out every step in the
// float form the kernel uses (by centroid for a row's own label, by group for the evaluation of
// the groups a row opens), and how far each group moved since the previous step.
#include <vector>

#include "microseg/core/pruned_assignment.hpp"
#include "microseg/core/types.hpp"

namespace microseg::pruned {

// The centroids as the kernel sees them, k × d floats row-major.
std::vector<float> float_centroids(const CentroidMatrix& centroids);

// A few deterministic Lloyd iterations on the float centroids themselves, seeded with evenly
// spaced centroids: the same groups on every rank. Empty groups are dropped.
CentroidGroups group_centroids(const std::vector<float>& centroids, int k, int d, int groups);

// One step's centroids. A position is a centroid's place in the group order (groups.order).
struct StepCentroids {
  StepCentroids(const CentroidMatrix& centroids, std::vector<float> floats,
                const CentroidGroups& groups);

  int k, d;
  std::vector<float> floats;          // k × d, by centroid index
  std::vector<float> norm_of;         // ‖c‖² by centroid index, the kernel's float
  std::vector<float> minus_two_rows;  // −2c, k × d by centroid index
  double max_norm = 0;                // the largest ‖c‖, rounded up

  // For the portable evaluation, by position; the columns are padded so vector code may read
  // whole blocks past a group's end.
  int columns;
  std::vector<float> norms;             // by position
  std::vector<float> minus_two_by_col;  // −2c, d × columns, [j * columns + position]
  std::vector<int> centroid_at;         // centroid index by position (padded with the last one)

  // For the AVX-512 tile: each group's positions padded to whole blocks of kPackedBlock, with
  // +inf norms and zero coefficients past the group's end; group g holds padded positions
  // [packed_begin[g], packed_begin[g + 1]), −2c at [(p / B) · d · B + j · B + p % B].
  std::vector<int> packed_begin;
  std::vector<float> packed_norms;
  std::vector<int>
      packed_centroid;  // centroid index by padded position (padding: the group's last)
  std::vector<float> packed;

 private:
  void lay_out_by_position(const CentroidGroups& groups);
  void lay_out_packed(const CentroidGroups& groups);
};

// How far the centroids moved since the previous step (`previous` empty on the first step).
struct CentroidDrift {
  CentroidDrift(const StepCentroids& current, const std::vector<float>& previous,
                const CentroidGroups& groups);
  // Per group, an upper bound on the exact distance any of its float centroids moved, so a
  // lower bound minus it stays a lower bound; 0 on the first step.
  std::vector<double> of_group;
  // Per centroid, 1 when its float centroid is identical to the previous step's (no row entered
  // or left the segment): a row labelled with it keeps its kernel value, bit for bit.
  std::vector<char> unmoved;
};

}  // namespace microseg::pruned
