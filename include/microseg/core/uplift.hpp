#pragma once
/// \file Measuring a campaign in one group of customers (a segment, or everyone): conversion in
/// the treated and control groups, the absolute uplift with Newcombe's hybrid score interval,
/// the pooled two-proportion z-test, revenue, cost and ROI. Plain C++ over counts and sums that
/// the caller has already reduced over ranks; no MPI, no files.
#include <cstdint>
#include <string>

namespace microseg {

/// The 0.975 quantile of the standard normal distribution: the critical value of a two-sided
/// 95 % interval (scipy.stats.norm.isf(0.025)).
inline constexpr double normal_quantile_975 = 1.959963984540054;

/// A closed interval [low, high].
struct Interval {
  double low = 0;
  double high = 0;
};

/// Wilson's score interval for a proportion `successes`/`trials` (trials > 0) with critical
/// value `z`, as statsmodels.stats.proportion.proportion_confint(method='wilson') computes it.
Interval wilson_interval(std::int64_t successes, std::int64_t trials, double z);

/// Newcombe's hybrid score interval (his method 10) for the difference p1 − p2 of two
/// independent proportions, from the Wilson interval of each: as
/// statsmodels.stats.proportion.confint_proportions_2indep(method='newcomb', compare='diff').
Interval newcombe_difference_interval(std::int64_t successes1, std::int64_t trials1,
                                      std::int64_t successes2, std::int64_t trials2, double z);

/// The two-sided p-value of the pooled two-proportion z-test of p1 = p2, as
/// statsmodels.stats.proportion.proportions_ztest([x1, x2], [n1, n2]) computes it. When the
/// pooled proportion is 0 or 1 (every customer converted alike) the test is undefined: NaN.
double pooled_z_test_p_value(std::int64_t successes1, std::int64_t trials1, std::int64_t successes2,
                             std::int64_t trials2);

/// What is known about one arm (treated or control) of a group of customers.
struct ArmOutcome {
  std::int64_t customers = 0;
  std::int64_t conversions = 0;
  double revenue = 0;  ///< summed revenue (exact over ranks); NaN without a revenue column
};

/// How a group's uplift interval reads for targeting.
enum class UpliftLabel { target, avoid, uncertain, insufficient };

/// "target", "avoid", "uncertain", "insufficient".
std::string uplift_label_name(UpliftLabel label);

/// A campaign measured in one group. Quantities that need both arms are NaN when one is empty.
struct UpliftMeasure {
  ArmOutcome treated, control;
  double treated_rate = 0, control_rate = 0;
  double uplift = 0;  ///< treated_rate − control_rate
  Interval uplift_interval;
  double p_value = 0;
  double treated_revenue_per_customer = 0, control_revenue_per_customer = 0;
  /// (treated − control revenue per customer) × treated customers.
  double incremental_revenue = 0;
  double cost = 0;  ///< cost per contact × treated customers
  double roi = 0;   ///< (incremental revenue − cost) / cost; NaN when the cost is 0
  UpliftLabel label = UpliftLabel::insufficient;
};

/// Measures a group: target when the interval's lower bound is above 0, avoid when its upper
/// bound is below 0, uncertain otherwise, insufficient when an arm has no customers.
UpliftMeasure measure_uplift(const ArmOutcome& treated, const ArmOutcome& control,
                             double cost_per_contact);

}  // namespace microseg
