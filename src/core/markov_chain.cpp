// GCC 12 reports -Wmaybe-uninitialized inside Eigen's AVX-512 reductions and products (a half
// extracted from a fully written register, as in avx512_tile.hpp); it is a false positive.
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"

#include "microseg/core/markov_chain.hpp"

#include <algorithm>
#include <map>
#include <string>

#include "microseg/core/types.hpp"

namespace microseg {
namespace {

using StateOf = std::map<std::int64_t, Eigen::Index>;

// Adds one link's counts to the model over its states; what maps to no state is left out.
void add_link(const MigrationLink& link, const StateOf& state_of, TransitionModel& model) {
  const std::size_t rows = link.previous_ids.size(), columns = link.current_ids.size();
  if (link.counts.size() != (rows + 1) * (columns + 1)) {
    throw InputError("migration counts of " + std::to_string(link.counts.size()) +
                     " entries do not match " + std::to_string(rows) + " previous and " +
                     std::to_string(columns) + " new segment ids");
  }
  const auto lost = static_cast<Eigen::Index>(model.segment_ids.size());
  const auto state = [&](std::int64_t id) {
    const auto found = state_of.find(id);
    return found == state_of.end() ? Eigen::Index{-1} : found->second;
  };
  std::int64_t inflow = 0;
  for (std::size_t r = 0; r <= rows; ++r) {
    const Eigen::Index from = r < rows ? state(link.previous_ids[r]) : -1;
    for (std::size_t c = 0; c <= columns; ++c) {
      const std::int64_t count = link.counts[r * (columns + 1) + c];
      const Eigen::Index to = c < columns ? state(link.current_ids[c]) : lost;
      if (count == 0) continue;
      if (r == rows && c < columns && to >= 0) {
        model.inflow_counts(to) += static_cast<double>(count);
        inflow += count;
      } else if (r < rows && from >= 0 && to >= 0) {
        model.counts(from, to) += static_cast<double>(count);
      } else {
        model.left_out += count;
      }
    }
  }
  model.inflow_per_link.push_back(inflow);
}

// Rows with counts are their shares; a row without (a segment first seen in the last run) stays
// or is lost at the loss rate of every counted customer.
void normalise_rows(TransitionModel& model) {
  const Eigen::Index states = model.counts.rows();
  const double counted = model.counts.sum();
  const double loss_rate = counted > 0 ? model.counts.col(states).sum() / counted : 0.0;
  model.probabilities = Eigen::MatrixXd::Zero(states, states + 1);
  model.has_history.assign(static_cast<std::size_t>(states), 0);
  for (Eigen::Index s = 0; s < states; ++s) {
    const double total = model.counts.row(s).sum();
    if (total > 0) {
      model.probabilities.row(s) = model.counts.row(s) / total;
      model.has_history[static_cast<std::size_t>(s)] = 1;
    } else {
      model.probabilities(s, s) = 1.0 - loss_rate;
      model.probabilities(s, states) = loss_rate;
    }
  }
}

// The states from which the lost state cannot be reached (where I − Q is singular).
std::vector<std::int64_t> never_lost(const Eigen::MatrixXd& probabilities,
                                     const std::vector<std::int64_t>& ids) {
  const Eigen::Index states = probabilities.rows();
  std::vector<char> reaches(static_cast<std::size_t>(states), 0);
  for (bool changed = true; changed;) {
    changed = false;
    for (Eigen::Index s = 0; s < states; ++s) {
      if (reaches[static_cast<std::size_t>(s)]) continue;
      bool now = probabilities(s, states) > 0;
      for (Eigen::Index t = 0; t < states && !now; ++t) {
        now = probabilities(s, t) > 0 && reaches[static_cast<std::size_t>(t)];
      }
      if (now) reaches[static_cast<std::size_t>(s)] = changed = true;
    }
  }
  std::vector<std::int64_t> closed;
  for (Eigen::Index s = 0; s < states; ++s) {
    if (!reaches[static_cast<std::size_t>(s)]) closed.push_back(ids[static_cast<std::size_t>(s)]);
  }
  return closed;
}

}  // namespace

TransitionModel estimate_transitions(const std::vector<MigrationLink>& links,
                                     const std::vector<std::int64_t>& segment_ids,
                                     TransitionEstimate estimate) {
  if (links.empty()) throw InputError("a forecast needs at least one link of migration counts");
  TransitionModel model;
  model.segment_ids = segment_ids;
  const auto states = static_cast<Eigen::Index>(segment_ids.size());
  StateOf state_of;
  for (Eigen::Index s = 0; s < states; ++s) state_of[segment_ids[static_cast<std::size_t>(s)]] = s;
  model.counts = Eigen::MatrixXd::Zero(states, states + 1);
  model.inflow_counts = Eigen::VectorXd::Zero(states);
  const std::size_t first = estimate == TransitionEstimate::last ? links.size() - 1 : 0;
  for (std::size_t l = first; l < links.size(); ++l) add_link(links[l], state_of, model);
  model.links = static_cast<int>(links.size() - first);
  double inflow = 0;
  for (std::int64_t count : model.inflow_per_link) inflow += static_cast<double>(count);
  model.inflow_mean = inflow / model.links;
  const double share_total = model.inflow_counts.sum();
  model.inflow_share = share_total > 0 ? Eigen::VectorXd(model.inflow_counts / share_total)
                                       : Eigen::VectorXd::Zero(states);
  normalise_rows(model);
  return model;
}

AbsorbingChain absorbing_chain(const TransitionModel& model, const Eigen::VectorXd& value) {
  const Eigen::Index states = model.probabilities.rows();
  const std::vector<std::int64_t> closed = never_lost(model.probabilities, model.segment_ids);
  if (!closed.empty()) {
    std::string ids;
    for (std::int64_t id : closed) ids += (ids.empty() ? "" : ", ") + std::to_string(id);
    throw InputError("no customer of segment(s) " + ids +
                     " is ever lost in the migration counts (nor moves to a segment that loses "
                     "customers): their expected time to loss is unbounded");
  }
  const Eigen::MatrixXd transient =
      Eigen::MatrixXd::Identity(states, states) - model.probabilities.leftCols(states);
  AbsorbingChain chain;
  chain.fundamental = transient.fullPivLu().inverse();
  chain.expected_quarters = chain.fundamental * Eigen::VectorXd::Ones(states);
  chain.loss_within.resize(states, 3);
  for (int q = 0; q < 3; ++q) {
    chain.loss_within.col(q) = loss_within(model.probabilities, loss_quarters[q]);
  }
  chain.lifetime_value = chain.fundamental * value;
  return chain;
}

Eigen::VectorXd loss_within(const Eigen::MatrixXd& probabilities, int quarters) {
  const Eigen::Index states = probabilities.rows();
  Eigen::MatrixXd full = Eigen::MatrixXd::Zero(states + 1, states + 1);
  full.topRows(states) = probabilities;
  full(states, states) = 1.0;
  Eigen::MatrixXd power = Eigen::MatrixXd::Identity(states + 1, states + 1);
  for (int q = 0; q < quarters; ++q) power = power * full;
  return power.col(states).head(states);
}

ChurnProbabilities churn_within(const Eigen::MatrixXd& probabilities, int horizon,
                                double multiplier) {
  const Eigen::Index states = probabilities.rows();
  ChurnProbabilities churn;
  churn.ordinary = loss_within(probabilities, horizon);
  const Eigen::VectorXd later = loss_within(probabilities, horizon - 1);
  churn.moved_down.resize(states);
  for (Eigen::Index s = 0; s < states; ++s) {
    const double lost = probabilities(s, states);
    const double first = std::min(1.0, multiplier * lost);
    const double scale = lost < 1.0 ? (1.0 - first) / (1.0 - lost) : 0.0;
    churn.moved_down(s) = first + scale * probabilities.row(s).head(states).dot(later);
  }
  return churn;
}

AtRiskLosses& AtRiskLosses::operator+=(const AtRiskLosses& other) {
  observed_at_risk += other.observed_at_risk;
  expected_at_risk += other.expected_at_risk;
  observed_other += other.observed_other;
  expected_other += other.expected_other;
  return *this;
}

std::optional<double> hazard_multiplier(const AtRiskLosses& losses) {
  if (!(losses.expected_at_risk > 0) || !(losses.expected_other > 0) ||
      !(losses.observed_other > 0)) {
    return std::nullopt;
  }
  return (losses.observed_at_risk / losses.expected_at_risk) /
         (losses.observed_other / losses.expected_other);
}

}  // namespace microseg
