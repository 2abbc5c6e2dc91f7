#pragma once
/// \file The segment-to-segment Markov chain behind `microseg forecast`: transition
/// probabilities with an absorbing "lost" state estimated from the migration counts of a chain of
/// runs, the new-customer inflow, and the absorbing-chain quantities (fundamental matrix, time to
/// loss, loss within t quarters, lifetime value). Plain Eigen over small matrices; no MPI.
#include <Eigen/Dense>
#include <cstdint>
#include <optional>
#include <vector>

namespace microseg {

/// One link of a chain of runs: the `/migration/counts` of a run made with `--previous`.
struct MigrationLink {
  std::vector<std::int64_t> previous_ids;  ///< rows, without the −1 of the new-customer row
  std::vector<std::int64_t> current_ids;   ///< columns, without the −1 of the lost column
  /// (previous_ids + 1) × (current_ids + 1), row-major; last row new customers, last column lost.
  std::vector<std::int64_t> counts;
};

/// Which links the transition matrix is estimated from.
enum class TransitionEstimate { pooled, last };

/// The estimated chain over the states `segment_ids` (the last run's ids, ascending) plus lost.
struct TransitionModel {
  std::vector<std::int64_t> segment_ids;
  Eigen::MatrixXd counts;         ///< S × (S + 1): customers moved, lost last (summed over links)
  Eigen::MatrixXd probabilities;  ///< S × (S + 1): each row sums to 1
  /// 1 where the row has counts; 0 for a segment first seen in the last run, whose row is the
  /// fallback (stay, or lost with the loss rate of every counted customer).
  std::vector<std::int8_t> has_history;
  Eigen::VectorXd inflow_counts;              ///< S: new customers per segment, summed over links
  std::vector<std::int64_t> inflow_per_link;  ///< new customers per link used, in chain order
  double inflow_mean = 0;                     ///< mean of inflow_per_link
  Eigen::VectorXd inflow_share;               ///< S: inflow_counts / their sum (0 when none)
  /// Customers of the links used left out: moved from or to an id the last run does not have.
  std::int64_t left_out = 0;
  int links = 0;  ///< links used
};

/// Pools the links (all, or the last one) over the states `segment_ids`: a count whose row or
/// column id is not a state is left out (and counted), so rows are renormalised over the
/// destinations that still exist. Throws InputError when no link is given.
TransitionModel estimate_transitions(const std::vector<MigrationLink>& links,
                                     const std::vector<std::int64_t>& segment_ids,
                                     TransitionEstimate estimate);

/// The absorbing-chain quantities of a transition matrix P = [Q | lost].
struct AbsorbingChain {
  Eigen::MatrixXd fundamental;        ///< N = (I − Q)⁻¹, S × S
  Eigen::VectorXd expected_quarters;  ///< N · 1: expected quarters before loss
  Eigen::MatrixXd loss_within;        ///< S × 3: P(lost within 1, 2, 4 quarters)
  Eigen::VectorXd lifetime_value;     ///< N · value per quarter
};

/// The quarters `loss_within` is reported for.
inline constexpr int loss_quarters[3] = {1, 2, 4};

/// Throws InputError naming the segments when I − Q is singular (a set of segments that never
/// loses a customer: the time to loss is unbounded).
AbsorbingChain absorbing_chain(const TransitionModel& model, const Eigen::VectorXd& value);

/// Per state, P(lost within `quarters` quarters): the lost column of P^quarters.
Eigen::VectorXd loss_within(const Eigen::MatrixXd& probabilities, int quarters);

/// The per-customer churn model: a customer whose last move went to a lower-value segment loses
/// with `multiplier` × its segment's loss probability in the next quarter (at most 1; its other
/// moves scaled down alike), and as its segment's customers after that.
struct ChurnProbabilities {
  Eigen::VectorXd ordinary;    ///< S: P(lost within H) of a customer who did not move down
  Eigen::VectorXd moved_down;  ///< S: the same for one who did
};
ChurnProbabilities churn_within(const Eigen::MatrixXd& probabilities, int horizon,
                                double multiplier);

/// Losses of one link among customers flagged at risk in the link before, against the losses
/// their segments' loss rates in that link predict (a standardised ratio), and the same for the
/// others.
struct AtRiskLosses {
  double observed_at_risk = 0, expected_at_risk = 0;
  double observed_other = 0, expected_other = 0;
  AtRiskLosses& operator+=(const AtRiskLosses& other);
};

/// (observed / expected among the at-risk) / (observed / expected among the others); nullopt
/// when either ratio is undefined or the others' is 0.
std::optional<double> hazard_multiplier(const AtRiskLosses& losses);

}  // namespace microseg
