#include "microseg/distributed/rank_rows.hpp"

#include <algorithm>
#include <cmath>

#include "microseg/core/assignment.hpp"
#include "microseg/core/exact_sum.hpp"
#include "microseg/core/scaling.hpp"

namespace microseg::distributed {

RankRows::RankRows(const Communicator& comm, CustomerBlock block)
    : comm_(&comm), block_(std::move(block)) {
  const RowRange rows = block_.rows;
  begins_ = comm.all_gather(std::vector<std::int64_t>{rows.begin});
  total_ = comm.sum(rows.size());
  begins_.push_back(total_ + begins_.front());
  std::vector<double> min, max;
  local_min_max(block_.features, min, max);
  comm.min_in_place(min);
  comm.max_in_place(max);
  feature_bounds_.resize(min.size());
  for (std::size_t j = 0; j < min.size(); ++j) {
    feature_bounds_[j] = std::max(std::abs(min[j]), std::abs(max[j]));
  }
  double local_norm = 0;
  for (Eigen::Index i = 0; i < block_.features.rows(); ++i) {
    local_norm = std::max(local_norm, block_.features.row(i).cast<double>().norm());
  }
  max_row_norm_ = comm.max(local_norm);
  weighted_ = comm.any(!block_.weights.empty());
  if (weighted_) find_weight_bounds();
}

void RankRows::find_weight_bounds() {
  const FeatureMatrix& x = block_.features;
  if (block_.weights.size() != static_cast<std::size_t>(x.rows())) {
    throw std::invalid_argument("RankRows: " + std::to_string(block_.weights.size()) +
                                " weights for " + std::to_string(x.rows()) + " rows");
  }
  double local_weight = 0;
  std::vector<double> bounds(static_cast<std::size_t>(x.cols()), 0.0);
  for (Eigen::Index i = 0; i < x.rows(); ++i) {
    const double w = block_.weights[static_cast<std::size_t>(i)];
    local_weight = std::max(local_weight, w);
    for (Eigen::Index j = 0; j < x.cols(); ++j) {
      bounds[j] = std::max(bounds[j], std::abs(static_cast<double>(x(i, j)) * w));
    }
  }
  weight_bound_ = comm_->max(local_weight);
  comm_->max_in_place(bounds);
  weighted_feature_bounds_ = std::move(bounds);
  const FixedPointFormat format = FixedPointFormat::for_bound(weight_bound_, total_);
  ExactSum local_total = 0;
  for (float w : block_.weights) local_total += format.to_fixed(w);
  total_weight_ = format.to_double(comm_->sum(local_total));
}

const std::vector<float>& RankRows::row_norms() const {
  if (!have_row_norms_) {
    row_norms_ = row_squared_norms(block_.features);
    have_row_norms_ = true;
  }
  return row_norms_;
}

void RankRows::release_row_norms() const {
  row_norms_ = {};
  have_row_norms_ = false;
}

std::vector<double> RankRows::broadcast_row(std::int64_t global_row) const {
  // Ranks without rows share a begin with the next rank; upper_bound picks the last of them,
  // which is the one holding the row.
  const auto it = std::upper_bound(begins_.begin(), begins_.end() - 1, global_row);
  const int owner = static_cast<int>(it - begins_.begin()) - 1;
  std::vector<double> row;
  if (comm_->rank() == owner) {
    const Eigen::Index i = global_row - block_.rows.begin;
    row.resize(static_cast<std::size_t>(block_.features.cols()));
    for (Eigen::Index j = 0; j < block_.features.cols(); ++j) row[j] = block_.features(i, j);
  }
  comm_->broadcast(row, owner);
  return row;
}

RankRows RankRows::subset(const std::vector<char>& members) const {
  CustomerBlock part;
  part.feature_names = block_.feature_names;
  const auto count = static_cast<std::int64_t>(std::count(members.begin(), members.end(), 1));
  part.features.resize(count, block_.features.cols());
  part.ids.reserve(static_cast<std::size_t>(count));
  Eigen::Index at = 0;
  for (std::size_t i = 0; i < members.size(); ++i) {
    if (!members[i]) continue;
    part.features.row(at++) = block_.features.row(static_cast<Eigen::Index>(i));
    part.ids.push_back(block_.ids[i]);
    if (weighted_) part.weights.push_back(block_.weights[i]);
  }
  const std::int64_t begin = comm_->exclusive_prefix_sum(count);
  part.rows = {begin, begin + count};
  return RankRows(*comm_, std::move(part));
}

void RankRows::release_features() {
  block_.features = FeatureMatrix();
  release_row_norms();
}

}  // namespace microseg::distributed
