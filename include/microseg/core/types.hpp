#pragma once
/// \file Basic data types shared by every layer.
#include <Eigen/Core>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <vector>

namespace microseg {

/// The feature rows a rank holds, one customer per row (row-major so one row is contiguous).
using FeatureMatrix = Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
/// Segment centres, k × d, in double.
using CentroidMatrix = Eigen::Matrix<double, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;

/// A contiguous range of global row indices [begin, end).
struct RowRange {
  std::int64_t begin = 0;
  std::int64_t end = 0;
  std::int64_t size() const { return end - begin; }
};

/// The rows of one rank: their global position, customer ids and features.
struct CustomerBlock {
  RowRange rows;
  std::vector<std::int64_t> ids;
  FeatureMatrix features;
  std::vector<std::string> feature_names;
  /// One non-negative weight per row (--sample-weight), travelling with the rows through every
  /// stage; empty when every customer weighs 1.
  std::vector<float> weights;
};

/// An error the user can fix: bad input, bad option, unwritable output. Its message names
/// the file, dataset, column or row involved.
class InputError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

}  // namespace microseg
