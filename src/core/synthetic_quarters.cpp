#include "microseg/core/synthetic_quarters.hpp"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <string>

#include "microseg/core/random.hpp"

// The planted movement (docs/file-format.md, "generate --quarters"): segments are ranked by their
// planted value (mean monetary), p_s = rank / (S − 1) from 0 (lowest) to 1 (highest). Churn is
// c_s = min(1, C · (1.5 − p_s)), so low-value segments churn most and the mean is C. A survivor
// moves with probability R, to another segment t with weight 2^−(|rank_t − rank_s| − 1), doubled
// when t is of lower value: most moves go to neighbours in value, and down more than up.

namespace microseg {
namespace {

constexpr int max_quarters = 1000;
constexpr std::int64_t max_born = std::int64_t{1} << 40;

std::vector<int> ranks_of(const std::vector<double>& values) {
  std::vector<int> order(values.size());
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(), [&](int a, int b) { return values[a] < values[b]; });
  std::vector<int> rank(values.size());
  for (std::size_t position = 0; position < order.size(); ++position) {
    rank[static_cast<std::size_t>(order[position])] = static_cast<int>(position);
  }
  return rank;
}

// Position of a segment in the value order, 0 for the lowest and 1 for the highest; a lone
// segment sits in the middle, so its churn is C.
double value_position(int rank, int segments) {
  return segments > 1 ? static_cast<double>(rank) / (segments - 1) : 0.5;
}

// Row s of the transition matrix (S + 1 entries, the last: lost).
std::vector<double> transition_row(const QuartersSpec& spec, const PlantedMovement& movement,
                                   int s) {
  const int segments = movement.segments;
  std::vector<double> row(static_cast<std::size_t>(segments) + 1, 0.0);
  const double churn = movement.churn[static_cast<std::size_t>(s)];
  const int rank = movement.value_rank[static_cast<std::size_t>(s)];
  std::vector<double> weight(static_cast<std::size_t>(segments), 0.0);
  double total = 0;
  for (int t = 0; t < segments; ++t) {
    if (t == s) continue;
    const int other = movement.value_rank[static_cast<std::size_t>(t)];
    const double w = std::ldexp(other < rank ? 2.0 : 1.0, -(std::abs(other - rank) - 1));
    weight[static_cast<std::size_t>(t)] = w;
    total += w;
  }
  // With one segment there is nowhere to move: every survivor stays.
  const double move = total > 0 ? spec.migration_rate : 0.0;
  for (int t = 0; t < segments; ++t) {
    row[static_cast<std::size_t>(t)] =
        t == s ? (1.0 - churn) * (1.0 - move)
               : (1.0 - churn) * move * weight[static_cast<std::size_t>(t)] / total;
  }
  row.back() = churn;
  return row;
}

}  // namespace

void check_quarters_spec(const QuartersSpec& spec) {
  const std::string what = "synthetic quarters: ";
  if (spec.quarters < 2 || spec.quarters > max_quarters) {
    throw InputError(what + std::to_string(spec.quarters) + " quarters requested, expected 2 to " +
                     std::to_string(max_quarters));
  }
  for (const auto& [name, rate] :
       {std::pair<const char*, double>{"migration rate", spec.migration_rate},
        {"churn rate", spec.churn_rate}}) {
    if (!std::isfinite(rate) || rate < 0 || rate > 1) {
      throw InputError(what + name + " must be a number from 0 to 1, got " + std::to_string(rate));
    }
  }
  if (!std::isfinite(spec.mover_churn_factor) || spec.mover_churn_factor < 0) {
    throw InputError(what + "mover churn factor must be a finite number >= 0, got " +
                     std::to_string(spec.mover_churn_factor));
  }
  if (spec.new_customers < 0 || spec.new_customers > max_born) {
    throw InputError(what + std::to_string(spec.new_customers) +
                     " new customers per quarter requested, expected 0 to " +
                     std::to_string(max_born));
  }
  if (spec.base.customers < 1 || spec.base.customers > max_born ||
      spec.new_customers * (spec.quarters - 1) > max_born - spec.base.customers) {
    throw InputError(what + std::to_string(spec.base.customers) + " customers and " +
                     std::to_string(spec.new_customers) + " new ones in each of " +
                     std::to_string(spec.quarters - 1) + " quarters exceed the " +
                     std::to_string(max_born) + " distinct customer ids");
  }
  if (spec.base.macro_segments != 0) {
    throw InputError(what + "macro segments are not planted in successive quarters");
  }
}

PlantedMovement plant_movement(const QuartersSpec& spec) {
  check_quarters_spec(spec);
  PlantedMovement movement;
  movement.segments = spec.base.segments;
  const auto segments = static_cast<std::size_t>(movement.segments);
  movement.segment_value = planted_monetary_means(spec.base);
  movement.value_rank = ranks_of(movement.segment_value);
  movement.churn.resize(segments);
  for (std::size_t s = 0; s < segments; ++s) {
    const double position = value_position(movement.value_rank[s], movement.segments);
    movement.churn[s] = std::min(1.0, spec.churn_rate * (1.5 - position));
  }
  for (int s = 0; s < movement.segments; ++s) {
    const std::vector<double> row = transition_row(spec, movement, s);
    movement.transition.insert(movement.transition.end(), row.begin(), row.end());
  }
  // New customers lean to low-value segments: weight × (2 − p_s), normalised.
  const std::vector<double> weights = planted_segment_weights(spec.base);
  double total = 0;
  for (std::size_t s = 0; s < segments; ++s) {
    const double share =
        weights[s] * (2.0 - value_position(movement.value_rank[s], movement.segments));
    movement.new_customer_share.push_back(share);
    total += share;
  }
  for (double& share : movement.new_customer_share) share /= total;
  return movement;
}

std::vector<QuarterCustomer> first_quarter_customers(const QuartersSpec& spec, RowRange rows) {
  const SyntheticBlock block = generate_synthetic_block(spec.base, rows);
  std::vector<QuarterCustomer> customers(block.ids.size());
  for (std::size_t i = 0; i < customers.size(); ++i) {
    customers[i].id = block.ids[i];
    customers[i].birth_row = rows.begin + static_cast<std::int64_t>(i);
    customers[i].segment = block.planted_segment[i];
  }
  return customers;
}

bool advance_customer(const QuartersSpec& spec, const PlantedMovement& movement, int quarter,
                      QuarterCustomer& customer) {
  const auto segments = static_cast<std::size_t>(movement.segments);
  const auto s = static_cast<std::size_t>(customer.segment);
  const double* row = movement.transition.data() + s * (segments + 1);
  const double churn = row[segments];
  // The early churn signal: a customer who just moved down is F times as likely to be lost
  // (at most certain), the rest of the row shrinking in proportion.
  double scale = 1.0;
  if (customer.moved_down != 0) {
    const double mover_churn = churn < 1 ? std::min(1.0, spec.mover_churn_factor * churn) : 1.0;
    scale = churn < 1 ? (1.0 - mover_churn) / (1.0 - churn) : 0.0;
  }
  const double draw =
      keyed_uniform(spec.base.seed, RandomStream::generate_quarter_fate,
                    static_cast<std::uint64_t>(customer.id), static_cast<std::uint64_t>(quarter));
  double cumulative = 0;
  for (std::size_t t = 0; t < segments; ++t) {
    cumulative += row[t] * scale;
    if (draw < cumulative) {
      customer.moved_down = t != s && movement.value_rank[t] < movement.value_rank[s]
                                ? std::int8_t{1}
                                : std::int8_t{0};
      customer.segment = static_cast<std::int32_t>(t);
      return true;
    }
  }
  return false;
}

std::int64_t first_birth_row(const QuartersSpec& spec, int quarter) {
  return spec.base.customers + static_cast<std::int64_t>(quarter - 2) * spec.new_customers;
}

QuarterCustomer new_customer(const QuartersSpec& spec, const PlantedMovement& movement, int quarter,
                             std::int64_t birth_row) {
  QuarterCustomer customer;
  customer.id = synthetic_customer_id(birth_row);
  customer.birth_row = birth_row;
  customer.first_quarter = static_cast<std::int16_t>(quarter);
  const double draw =
      keyed_uniform(spec.base.seed, RandomStream::generate_new_customer,
                    static_cast<std::uint64_t>(customer.id), static_cast<std::uint64_t>(quarter));
  double cumulative = 0;
  customer.segment = static_cast<std::int32_t>(movement.segments - 1);
  for (int s = 0; s + 1 < movement.segments; ++s) {
    cumulative += movement.new_customer_share[static_cast<std::size_t>(s)];
    if (draw < cumulative) {
      customer.segment = s;
      break;
    }
  }
  return customer;
}

}  // namespace microseg
