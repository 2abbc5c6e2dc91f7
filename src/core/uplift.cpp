#include "microseg/core/uplift.hpp"

#include <cmath>
#include <limits>

namespace microseg {
namespace {

constexpr double nan = std::numeric_limits<double>::quiet_NaN();

double rate(std::int64_t successes, std::int64_t trials) {
  return static_cast<double>(successes) / static_cast<double>(trials);
}

}  // namespace

Interval wilson_interval(std::int64_t successes, std::int64_t trials, double z) {
  // The operations in statsmodels' order, so the bounds agree to the last few bits.
  const double n = static_cast<double>(trials);
  const double q = rate(successes, trials);
  const double z2 = z * z;
  const double denominator = 1 + z2 / n;
  const double centre = (q + z2 / (2 * n)) / denominator;
  const double half_width = z * std::sqrt(q * (1. - q) / n + z2 / (4. * n * n)) / denominator;
  return {centre - half_width, centre + half_width};
}

Interval newcombe_difference_interval(std::int64_t successes1, std::int64_t trials1,
                                      std::int64_t successes2, std::int64_t trials2, double z) {
  const double p1 = rate(successes1, trials1);
  const double p2 = rate(successes2, trials2);
  const Interval one = wilson_interval(successes1, trials1, z);
  const Interval two = wilson_interval(successes2, trials2, z);
  const double difference = p1 - p2;
  return {
      difference - std::sqrt((p1 - one.low) * (p1 - one.low) + (two.high - p2) * (two.high - p2)),
      difference + std::sqrt((p1 - one.high) * (p1 - one.high) + (two.low - p2) * (two.low - p2))};
}

double pooled_z_test_p_value(std::int64_t successes1, std::int64_t trials1, std::int64_t successes2,
                             std::int64_t trials2) {
  const double pooled = rate(successes1 + successes2, trials1 + trials2);
  const double variance = pooled * (1 - pooled) *
                          (1. / static_cast<double>(trials1) + 1. / static_cast<double>(trials2));
  if (!(variance > 0)) return nan;
  const double z = (rate(successes1, trials1) - rate(successes2, trials2)) / std::sqrt(variance);
  // 2 · (1 − Φ(|z|)) = erfc(|z| / √2), without the cancellation of 1 − Φ.
  return std::erfc(std::fabs(z) / std::sqrt(2.0));
}

std::string uplift_label_name(UpliftLabel label) {
  switch (label) {
    case UpliftLabel::target:
      return "target";
    case UpliftLabel::avoid:
      return "avoid";
    case UpliftLabel::uncertain:
      return "uncertain";
    case UpliftLabel::insufficient:
      break;
  }
  return "insufficient";
}

UpliftMeasure measure_uplift(const ArmOutcome& treated, const ArmOutcome& control,
                             double cost_per_contact) {
  UpliftMeasure measure;
  measure.treated = treated;
  measure.control = control;
  measure.cost = cost_per_contact * static_cast<double>(treated.customers);
  const bool treated_seen = treated.customers > 0;
  const bool control_seen = control.customers > 0;
  measure.treated_rate = treated_seen ? rate(treated.conversions, treated.customers) : nan;
  measure.control_rate = control_seen ? rate(control.conversions, control.customers) : nan;
  measure.treated_revenue_per_customer =
      treated_seen ? treated.revenue / static_cast<double>(treated.customers) : nan;
  measure.control_revenue_per_customer =
      control_seen ? control.revenue / static_cast<double>(control.customers) : nan;
  if (!treated_seen || !control_seen) {
    measure.uplift = nan;
    measure.uplift_interval = {nan, nan};
    measure.p_value = nan;
    measure.incremental_revenue = nan;
    measure.roi = nan;
    measure.label = UpliftLabel::insufficient;
    return measure;
  }
  measure.uplift = measure.treated_rate - measure.control_rate;
  measure.uplift_interval =
      newcombe_difference_interval(treated.conversions, treated.customers, control.conversions,
                                   control.customers, normal_quantile_975);
  measure.p_value = pooled_z_test_p_value(treated.conversions, treated.customers,
                                          control.conversions, control.customers);
  measure.incremental_revenue =
      (measure.treated_revenue_per_customer - measure.control_revenue_per_customer) *
      static_cast<double>(treated.customers);
  measure.roi =
      measure.cost > 0 ? (measure.incremental_revenue - measure.cost) / measure.cost : nan;
  if (measure.uplift_interval.low > 0) {
    measure.label = UpliftLabel::target;
  } else if (measure.uplift_interval.high < 0) {
    measure.label = UpliftLabel::avoid;
  } else {
    measure.label = UpliftLabel::uncertain;
  }
  return measure;
}

}  // namespace microseg
