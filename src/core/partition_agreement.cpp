#include "microseg/core/partition_agreement.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <stdexcept>
#include <string>

#include "microseg/core/exact_sum.hpp"

namespace microseg {
namespace {

// The table without its empty rows and columns, as scikit-learn builds it from the labels
// present. Counts stay integers so that every derived sum is exact.
struct CompactTable {
  std::vector<std::int64_t> cells;  // rows × cols, row-major
  std::vector<std::int64_t> row_totals, col_totals;
  std::int64_t total = 0;
  int rows = 0, cols = 0;
  std::int64_t at(int i, int j) const { return cells[static_cast<std::size_t>(i) * cols + j]; }
};

CompactTable compact(const std::vector<std::int64_t>& contingency, int rows, int cols,
                     const char* caller) {
  if (rows < 0 || cols < 0 ||
      contingency.size() != static_cast<std::size_t>(rows) * static_cast<std::size_t>(cols)) {
    throw std::invalid_argument(std::string(caller) + ": the table does not hold " +
                                std::to_string(rows) + " × " + std::to_string(cols) + " counts");
  }
  std::vector<std::int64_t> row_totals(rows, 0), col_totals(cols, 0);
  for (int i = 0; i < rows; ++i) {
    for (int j = 0; j < cols; ++j) {
      const std::int64_t count = contingency[static_cast<std::size_t>(i) * cols + j];
      if (count < 0) throw std::invalid_argument(std::string(caller) + ": negative count");
      row_totals[i] += count;
      col_totals[j] += count;
    }
  }
  std::vector<int> kept_rows, kept_cols;
  for (int i = 0; i < rows; ++i) {
    if (row_totals[i] > 0) kept_rows.push_back(i);
  }
  for (int j = 0; j < cols; ++j) {
    if (col_totals[j] > 0) kept_cols.push_back(j);
  }
  CompactTable table;
  table.rows = static_cast<int>(kept_rows.size());
  table.cols = static_cast<int>(kept_cols.size());
  for (int i : kept_rows) {
    table.row_totals.push_back(row_totals[i]);
    table.total += row_totals[i];
    for (int j : kept_cols)
      table.cells.push_back(contingency[static_cast<std::size_t>(i) * cols + j]);
  }
  for (int j : kept_cols) table.col_totals.push_back(col_totals[j]);
  return table;
}

// -Σ p log p of a partition's class sizes (sklearn.metrics.cluster.entropy).
double entropy_of(const std::vector<std::int64_t>& sizes) {
  if (sizes.size() <= 1) return 0.0;
  double total = 0;
  for (std::int64_t s : sizes) total += static_cast<double>(s);
  const double log_total = std::log(total);
  double sum = 0;
  for (std::int64_t s : sizes) {
    const double p = static_cast<double>(s);
    sum += (p / total) * (std::log(p) - log_total);
  }
  return -sum;
}

// sklearn.metrics.mutual_info_score from a contingency table.
double mutual_information(const CompactTable& t) {
  if (t.rows == 1 || t.cols == 1) return 0.0;
  const double total = static_cast<double>(t.total);
  const double log_total = std::log(total);
  const double eps = std::numeric_limits<double>::epsilon();
  double mi = 0;
  for (int i = 0; i < t.rows; ++i) {
    for (int j = 0; j < t.cols; ++j) {
      const std::int64_t count = t.at(i, j);
      if (count == 0) continue;
      const double share = static_cast<double>(count) / total;
      // The product of the margins as int64, converted once, as scikit-learn computes it.
      const double outer = static_cast<double>(t.row_totals[i] * t.col_totals[j]);
      const double log_outer = -std::log(outer) + log_total + log_total;
      const double term =
          share * (std::log(static_cast<double>(count)) - log_total) + share * log_outer;
      if (std::abs(term) >= eps) mi += term;
    }
  }
  return std::max(mi, 0.0);
}

// E[MI] under the hypergeometric model of random tables with the same margins (Vinh, Epps and
// Bailey 2010), summed term by term in log space as scikit-learn's expected_mutual_information.
double expected_mutual_information(const CompactTable& t) {
  if (t.rows == 1 || t.cols == 1) return 0.0;
  const double n = static_cast<double>(t.total);
  const double log_n = std::log(n);
  const double gln_n = std::lgamma(n + 1);
  double emi = 0;
  for (int i = 0; i < t.rows; ++i) {
    const double a = static_cast<double>(t.row_totals[i]);
    const double gln_a = std::lgamma(a + 1), gln_na = std::lgamma(n - a + 1), log_a = std::log(a);
    for (int j = 0; j < t.cols; ++j) {
      const double b = static_cast<double>(t.col_totals[j]);
      const double gln_b = std::lgamma(b + 1), gln_nb = std::lgamma(n - b + 1);
      const double log_b = std::log(b);
      const std::int64_t start =
          std::max<std::int64_t>(1, t.row_totals[i] + t.col_totals[j] - t.total);
      const std::int64_t end = std::min(t.row_totals[i], t.col_totals[j]);
      for (std::int64_t nij = start; nij <= end; ++nij) {
        const double x = static_cast<double>(nij);
        const double term1 = x / n;
        const double term2 = (log_n + std::log(x)) - log_a - log_b;
        const double gln = gln_a + gln_b + gln_na + gln_nb - gln_n - std::lgamma(x + 1) -
                           std::lgamma(a - x + 1) - std::lgamma(b - x + 1) -
                           std::lgamma(n - a - b + x + 1);
        emi += term1 * term2 * std::exp(gln);
      }
    }
  }
  return emi;
}

}  // namespace

double adjusted_rand_index(const std::vector<std::int64_t>& contingency, int rows, int cols) {
  const CompactTable t = compact(contingency, rows, cols, "adjusted_rand_index");
  // Pair counts (sklearn.metrics.pair_confusion_matrix) in 128-bit integers: n² needs 64 bits
  // and the products below twice that, which Python's integers give scikit-learn for free.
  const ExactSum n = t.total;
  ExactSum sum_squares = 0, by_col = 0, by_row = 0;
  for (int i = 0; i < t.rows; ++i) {
    for (int j = 0; j < t.cols; ++j) {
      const ExactSum c = t.at(i, j);
      sum_squares += c * c;
      by_col += c * t.col_totals[j];
      by_row += c * t.row_totals[i];
    }
  }
  const ExactSum tp = sum_squares - n;
  const ExactSum fp = by_col - sum_squares;
  const ExactSum fn = by_row - sum_squares;
  const ExactSum tn = n * n - fp - fn - sum_squares;
  if (fn == 0 && fp == 0) return 1.0;
  const ExactSum numerator = tp * tn - fn * fp;
  const ExactSum denominator = (tp + fn) * (fn + tn) + (tp + fp) * (fp + tn);
  return 2.0 * static_cast<double>(numerator) / static_cast<double>(denominator);
}

double adjusted_mutual_information(const std::vector<std::int64_t>& contingency, int rows,
                                   int cols) {
  const CompactTable t = compact(contingency, rows, cols, "adjusted_mutual_information");
  if ((t.rows == 1 && t.cols == 1) || (t.rows == 0 && t.cols == 0)) return 1.0;
  const double mi = mutual_information(t);
  const double emi = expected_mutual_information(t);
  const double normaliser = (entropy_of(t.row_totals) + entropy_of(t.col_totals)) / 2;
  // The expectation can exceed the normaliser by rounding at a perfect match; keep the sign.
  const double eps = std::numeric_limits<double>::epsilon();
  double denominator = normaliser - emi;
  denominator = denominator < 0 ? std::min(denominator, -eps) : std::max(denominator, eps);
  return (mi - emi) / denominator;
}

}  // namespace microseg
