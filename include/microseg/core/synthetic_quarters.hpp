#pragma once
/// \file Successive quarters of one synthetic customer base (`microseg generate --quarters`):
/// the planted movement between planted segments and one customer's fate from a quarter to the
/// next. Every draw is keyed by (seed, customer id, quarter), so a customer's path does not
/// depend on which rank holds it. The exact rules are in docs/file-format.md.
#include <cstdint>
#include <vector>

#include "microseg/core/synthetic.hpp"

namespace microseg {

struct QuartersSpec {
  SyntheticSpec base;  ///< quarter 1: the single-file base of base.customers customers
  int quarters = 2;
  double migration_rate = 0;       ///< R: the share of survivors who change planted segment
  double churn_rate = 0;           ///< C: the mean over segments of the planted churn
  std::int64_t new_customers = 0;  ///< M: customers new in every quarter after the first
  double mover_churn_factor = 2;   ///< F: churn multiplier of a customer who just moved down
};

/// Throws InputError naming the setting that is out of range (quarters ≥ 2, rates in [0, 1],
/// new customers ≥ 0, F ≥ 0, at most 2^40 customers born over all quarters, no macro segments).
void check_quarters_spec(const QuartersSpec& spec);

/// The planted movement, the same in every quarter.
struct PlantedMovement {
  int segments = 0;
  std::vector<double> segment_value;  ///< S: mean monetary per planted segment
  std::vector<int> value_rank;        ///< S: 0 for the lowest value … S − 1 for the highest
  std::vector<double> churn;          ///< S: c_s, the last column of transition
  /// S × (S + 1), row-major: row s holds the probabilities that a customer of segment s is next
  /// quarter in segment 0 … S − 1, or lost (last column). Rows sum to 1.
  std::vector<double> transition;
  std::vector<double> new_customer_share;  ///< S, sums to 1
};

/// Plants the movement of `spec` (checked first).
PlantedMovement plant_movement(const QuartersSpec& spec);

/// The customers of quarter 1 at rows `rows` of the base, as generate_synthetic_block draws them.
std::vector<QuarterCustomer> first_quarter_customers(const QuartersSpec& spec, RowRange rows);

/// Moves `customer` (in quarter − 1) into `quarter` by one draw from its row of the transition
/// matrix, keyed by (seed, id, quarter); a customer who just moved down has its churn multiplied
/// by F (at most 1) and the rest of its row rescaled. False when the customer is lost; otherwise
/// its segment and moved_down are updated.
bool advance_customer(const QuartersSpec& spec, const PlantedMovement& movement, int quarter,
                      QuarterCustomer& customer);

/// The first row of the base whose draws the customers new in `quarter` (≥ 2) are born with:
/// customers + (quarter − 2) · new_customers, so their ids are never those of earlier customers.
std::int64_t first_birth_row(const QuartersSpec& spec, int quarter);

/// The customer born with row `birth_row` in `quarter`, its segment drawn from
/// new_customer_share with a draw keyed by (seed, id, quarter).
QuarterCustomer new_customer(const QuartersSpec& spec, const PlantedMovement& movement, int quarter,
                             std::int64_t birth_row);

}  // namespace microseg
