#pragma once
/// \file How customers moved between the segments of two runs: the migration matrix, flows per
/// segment, stability of the segmentation, and the per-customer moves.
///
/// Segments are named by stable ids (core/segment_matching.hpp). Everything here is computed
/// from integer counts and from value sums that were reduced exactly, so every rank and every
/// rank count gets the same tables.
#include <cstdint>
#include <string>
#include <vector>

namespace microseg {

/// Customers by previous segment (rows) and new segment (columns). The extra last row holds
/// customers new in this run, the extra last column customers of the previous run missing now.
struct MigrationMatrix {
  std::vector<std::int64_t> previous_ids;  ///< labels of rows 0 … k_prev−1
  std::vector<std::int64_t> current_ids;   ///< labels of columns 0 … k_new−1
  std::vector<std::int64_t> counts;        ///< (k_prev + 1) × (k_new + 1), row-major
  /// Σ value of the same customers, same shape; empty without a value feature. Customers present
  /// now count with their value in this run, missing ones with their value in the previous run
  /// (NaN cells when the previous run did not record values).
  std::vector<double> value;

  int previous_k() const { return static_cast<int>(previous_ids.size()); }
  int current_k() const { return static_cast<int>(current_ids.size()); }
  std::size_t at(int previous_row, int current_col) const {
    return static_cast<std::size_t>(previous_row) * (current_ids.size() + 1) +
           static_cast<std::size_t>(current_col);
  }
};

/// Flows of each segment between the two runs, one entry per stable id of either run (ascending).
/// A customer who stayed is in the same stable id in both runs.
struct SegmentFlows {
  std::vector<std::int64_t> segment_id;
  std::vector<std::int8_t> in_previous, in_current;  ///< whether the id exists in each run
  std::vector<std::int64_t> previous_size, current_size;
  std::vector<std::int64_t> stayed;
  std::vector<std::int64_t> moved_in, joined;  ///< from other segments; new customers
  std::vector<std::int64_t> moved_out, left;   ///< to other segments; customers missing now
  std::vector<std::int64_t> inflow, outflow,
      net;                        ///< moved_in + joined; moved_out + left; in − out
  std::vector<double> retention;  ///< stayed / previous_size (NaN for an id new in this run)
  /// Value-weighted inflow, outflow and net (empty without a value feature).
  std::vector<double> value_inflow, value_outflow, value_net;
  /// Distance between the previous and the new centroid of a matched id, in the previous run's
  /// scaled space (NaN when the id is not in both runs).
  std::vector<double> drift;
};

/// How much of the segmentation held between the runs.
struct MigrationStability {
  std::int64_t common = 0;         ///< customers in both runs
  std::int64_t joined = 0;         ///< customers new in this run
  std::int64_t left = 0;           ///< customers of the previous run missing now
  std::int64_t stayed = 0;         ///< common customers with the same stable id in both runs
  std::int64_t moved = 0;          ///< common − stayed
  std::int64_t at_risk = 0;        ///< moved customers whose new segment is of lower value
  double share_stayed = 0;         ///< stayed / common (NaN when no customer is common)
  double adjusted_rand_index = 0;  ///< of the two partitions of the common customers
  double adjusted_mutual_information = 0;  ///< idem, arithmetic normalisation
  /// Two-level runs compared with a two-level run: the moved customers whose macro segment
  /// stayed the same, and those whose macro segment changed (moved = within + across).
  std::int64_t moved_within_macro = 0, moved_across_macro = 0;
};

struct MigrationReport {
  MigrationMatrix matrix;
  SegmentFlows flows;
  MigrationStability stability;
};

/// Flows and stability from a reduced matrix. `drift` holds per new row the distance to its
/// matched previous centroid (NaN when unmatched); `at_risk` is the global count of at-risk moves.
/// Throws std::invalid_argument when shapes do not fit.
MigrationReport summarise_migration(MigrationMatrix matrix, const std::vector<double>& drift,
                                    std::int64_t at_risk);

/// The value a move is judged against for each previous segment: that id's mean value in this
/// run while the id still exists, its mean value in the previous run once it is retired (NaN
/// when unknown). A move is at risk when the new segment's mean value is below it.
std::vector<double> previous_segment_reference_values(
    const std::vector<std::int64_t>& previous_ids, const std::vector<double>& previous_value_mean,
    const std::vector<std::int64_t>& current_ids, const std::vector<double>& current_value_mean);

/// True when a customer's move from a segment of reference value `previous_value` into one of
/// mean value `current_value` lowers its segment's value (false when either is unknown).
inline bool moved_to_lower_value(double previous_value, double current_value) {
  return current_value < previous_value;
}

/// The customers of one rank's rows who changed segment, in input row order: where they were
/// and are, their distances to the two centroids (each in its own run's scaled space) and
/// whether the move is at risk.
struct CustomerMoves {
  std::vector<std::int64_t> id;
  std::vector<std::int32_t> previous_segment, new_segment;
  std::vector<double> previous_distance, new_distance;
  std::vector<std::int8_t> at_risk;
  /// Two-level runs compared with a two-level run (empty otherwise): the customer's macro segment
  /// (stable id) in each run, and 1 when they differ (a move across macro segments).
  std::vector<std::int32_t> previous_macro_segment, new_macro_segment;
  std::vector<std::int8_t> across_macro;
  std::int64_t offset = 0;  ///< moves held by lower ranks (where this block starts in the file)
  std::int64_t total = 0;   ///< moves over all ranks
};

/// The at-risk customers of one rank's rows (the moves flagged at_risk), in input row order,
/// with the values the flag compared: the previous segment's reference value
/// (previous_segment_reference_values) and the new segment's mean value in this run.
struct AtRiskCustomers {
  std::vector<std::int64_t> id;
  std::vector<std::int32_t> previous_segment, new_segment;
  std::vector<double> previous_value, new_value;
  std::vector<double> drop;  ///< previous_value − new_value (> 0)
  std::int64_t offset = 0;   ///< at-risk customers held by lower ranks
  std::int64_t total = 0;    ///< over all ranks
};

}  // namespace microseg
