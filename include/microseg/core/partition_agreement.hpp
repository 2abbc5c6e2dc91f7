#pragma once
/// \file Agreement between two partitions of the same customers, computed from their contingency
/// table alone: the adjusted Rand index and the adjusted mutual information.
///
/// The table is a row-major `rows × cols` matrix of int64 counts (customers with label i in the
/// first partition and j in the second), so it can be summed across ranks exactly before either
/// index is computed once. Both follow scikit-learn (`adjusted_rand_score`,
/// `adjusted_mutual_info_score` with arithmetic normalisation), including its conventions for
/// degenerate partitions; empty rows and columns are dropped, as scikit-learn only sees the labels
/// present.
#include <cstdint>
#include <vector>

namespace microseg {

/// Adjusted Rand index of the partitions tabulated in `contingency` (rows × cols). Pair counts
/// are exact 128-bit integers. 1 when the partitions are identical up to renaming the labels.
/// Throws std::invalid_argument when the table does not hold rows × cols non-negative counts.
double adjusted_rand_index(const std::vector<std::int64_t>& contingency, int rows, int cols);

/// Adjusted mutual information (arithmetic normalisation, natural logarithm) of the partitions
/// tabulated in `contingency` (rows × cols). 1 when both partitions have a single label.
/// Throws std::invalid_argument when the table does not hold rows × cols non-negative counts.
double adjusted_mutual_information(const std::vector<std::int64_t>& contingency, int rows,
                                   int cols);

}  // namespace microseg
