#pragma once
/// \file The rows a rank holds for the distributed stages, with what every stage would otherwise
/// recompute: the global row count, where each rank's rows start, and the global bounds that size
/// the exact fixed-point sums (ArborX's distributed object owning the communicator and the local
/// data, so stages take one argument instead of (communicator, features, row range)).
#include <cstdint>
#include <stdexcept>
#include <string>
#include <vector>

#include "microseg/core/types.hpp"
#include "microseg/distributed/communicator.hpp"

namespace microseg::distributed {

class RankRows {
 public:
  /// Collective: takes this rank's block (rows in rank order) and computes the global count,
  /// the row owners and the bounds below.
  RankRows(const Communicator& comm, CustomerBlock block);

  const Communicator& comm() const { return *comm_; }
  const FeatureMatrix& features() const { return block_.features; }
  const std::vector<std::int64_t>& ids() const { return block_.ids; }
  const std::vector<std::string>& feature_names() const { return block_.feature_names; }
  /// This rank's rows among all (global row indices, contiguous, in rank order).
  RowRange rows() const { return block_.rows; }
  std::int64_t total() const { return total_; }
  int d() const { return static_cast<int>(block_.features.cols()); }

  /// Sample weights of the local rows (--sample-weight): empty when every row weighs 1 (and on a
  /// rank without rows).
  const std::vector<float>& weights() const { return block_.weights; }
  /// Whether the table has sample weights (the same on every rank, those without rows too).
  bool weighted() const { return weighted_; }
  /// The local weights for a Lloyd step: null when every row weighs 1.
  const std::vector<float>* lloyd_weights() const { return weighted_ ? &block_.weights : nullptr; }
  /// Max w over all ranks (1 without weights).
  double weight_bound() const { return weight_bound_; }
  /// Σ w over all ranks, summed exactly (the row count without weights).
  double total_weight() const { return weighted_ ? total_weight_ : static_cast<double>(total_); }

  /// Per feature, max |x| over all ranks: bounds every value and every segment mean.
  const std::vector<double>& feature_bounds() const { return feature_bounds_; }
  /// Per feature, max |w·x| over all ranks: bounds every weighted term (feature_bounds() without
  /// weights).
  const std::vector<double>& weighted_feature_bounds() const {
    return weighted_ ? weighted_feature_bounds_ : feature_bounds_;
  }
  /// Max ‖x‖ over all ranks: a distance between rows and centroids (means of rows, inside their
  /// convex hull) is at most twice this.
  double max_row_norm() const { return max_row_norm_; }
  /// ‖x‖² of every local row in float, as the assignment kernels use it; computed on first use
  /// and kept for every later fit until release_row_norms().
  const std::vector<float>& row_norms() const;
  void release_row_norms() const;

  /// Collective: global row `global_row` on every rank, in double (its owner broadcasts it).
  std::vector<double> broadcast_row(std::int64_t global_row) const;

  /// Collective: the rows flagged in `members` (one flag per local row), renumbered as a table of
  /// their own in global order (an exclusive prefix sum places each rank's share).
  RankRows subset(const std::vector<char>& members) const;

  /// Frees the features once no stage needs them (the ids, weights and bounds stay).
  void release_features();

 private:
  void find_weight_bounds();
  const Communicator* comm_;
  CustomerBlock block_;
  std::int64_t total_ = 0;
  std::vector<std::int64_t> begins_;  ///< per rank, then the total
  std::vector<double> feature_bounds_, weighted_feature_bounds_;
  bool weighted_ = false;
  double weight_bound_ = 1, total_weight_ = 0;
  double max_row_norm_ = 0;
  mutable std::vector<float> row_norms_;
  mutable bool have_row_norms_ = false;
};

}  // namespace microseg::distributed
