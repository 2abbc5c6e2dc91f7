#include "microseg/distributed/segment_value.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <stdexcept>

#include "microseg/core/exact_sum.hpp"
#include "microseg/core/rfm.hpp"
#include "microseg/distributed/customer_exchange.hpp"

namespace microseg::distributed {
namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

void check_labels(const std::vector<std::int32_t>& labels, std::size_t rows, int k,
                  const char* caller) {
  if (labels.size() != rows) {
    throw std::invalid_argument(std::string(caller) + ": one label per row expected");
  }
  for (std::int32_t label : labels) {
    if (label < 0 || label >= k) {
      throw std::invalid_argument(std::string(caller) + ": label " + std::to_string(label) +
                                  " outside 0 … " + std::to_string(k - 1));
    }
  }
}

}  // namespace

SegmentValue value_by_segment(const Communicator& comm, const std::string& feature,
                              const std::vector<double>& values,
                              const std::vector<std::int32_t>& labels, int k,
                              const std::vector<float>* weights) {
  check_labels(labels, values.size(), k, "value_by_segment");
  if (weights && weights->size() != values.size()) {
    throw std::invalid_argument("value_by_segment: one weight per row expected");
  }
  // A term is the value, or w·value (exact in double: both are float values).
  const auto term = [&](std::size_t i) { return weights ? values[i] * (*weights)[i] : values[i]; };
  double local_bound = 0, local_weight = 0;
  for (std::size_t i = 0; i < values.size(); ++i)
    local_bound = std::max(local_bound, std::abs(term(i)));
  if (weights) {
    for (float w : *weights) local_weight = std::max(local_weight, static_cast<double>(w));
  }
  const std::int64_t n = comm.sum(static_cast<std::int64_t>(values.size()));
  const FixedPointFormat format = FixedPointFormat::for_bound(comm.max(local_bound), n);
  const FixedPointFormat weight_format =
      FixedPointFormat::for_bound(weights ? comm.max(local_weight) : 1.0, n);
  std::vector<ExactSum> sums(static_cast<std::size_t>(k), 0), weight_sums(weights ? k : 0, 0);
  std::vector<std::int64_t> counts(static_cast<std::size_t>(k), 0);
  for (std::size_t i = 0; i < values.size(); ++i) {
    sums[labels[i]] += format.to_fixed(term(i));
    ++counts[labels[i]];
    if (weights) weight_sums[labels[i]] += weight_format.to_fixed((*weights)[i]);
  }
  comm.sum_in_place(sums);
  comm.sum_in_place(counts);
  if (weights) comm.sum_in_place(weight_sums);
  ExactSum grand_total = 0;
  for (ExactSum s : sums) grand_total += s;
  const double total_value = format.to_double(grand_total);

  SegmentValue value;
  value.feature = feature;
  for (int s = 0; s < k; ++s) {
    const double total = format.to_double(sums[s]);
    const double size =
        weights ? weight_format.to_double(weight_sums[s]) : static_cast<double>(counts[s]);
    value.total.push_back(total);
    value.mean.push_back(size > 0 ? total / size : kNaN);
    value.share.push_back(total_value > 0 ? total / total_value : kNaN);
  }
  return value;
}

RfmQuintileSummary rfm_quintile_summary(const Communicator& comm, const RfmColumns& columns,
                                        const RfmValues& values,
                                        const std::vector<std::int32_t>& labels, int k) {
  const std::vector<double>& recency = *values.recency;
  const std::vector<double>& frequency = *values.frequency;
  const std::vector<double>& monetary = *values.monetary;
  if (frequency.size() != recency.size() || monetary.size() != recency.size()) {
    throw std::invalid_argument("rfm_quintile_summary: one recency, frequency, monetary per row");
  }
  check_labels(labels, recency.size(), k, "rfm_quintile_summary");
  // Recency is better when smaller: it is scored as −recency, where larger is better.
  std::vector<double> recency_negated(recency.size());
  std::transform(recency.begin(), recency.end(), recency_negated.begin(),
                 [](double x) { return -x; });
  const std::vector<const std::vector<double>*> scored{&recency_negated, &frequency, &monetary};
  const std::vector<QuintileThresholds> thresholds =
      distributed_quintile_thresholds(comm, {recency_negated, frequency, monetary});

  RfmQuintileSummary summary;
  summary.columns = columns;
  std::vector<std::int64_t> score_counts(static_cast<std::size_t>(k) * 3 * 5, 0);
  std::vector<std::int64_t> score_sums(static_cast<std::size_t>(k) * 3, 0);
  std::vector<std::int64_t> named_counts(static_cast<std::size_t>(k) * rfm_segment_count, 0);
  for (std::size_t i = 0; i < labels.size(); ++i) {
    // The rule `microseg ingest transactions` applies (core rfm_segment), on this run's scores.
    const RfmSegment named = rfm_segment(quintile_score(recency_negated[i], thresholds[0]),
                                         quintile_score(frequency[i], thresholds[1]),
                                         quintile_score(monetary[i], thresholds[2]));
    ++named_counts[static_cast<std::size_t>(labels[i]) * rfm_segment_count +
                   static_cast<std::size_t>(named)];
  }
  comm.sum_in_place(named_counts);
  for (int c = 0; c < 3; ++c) {
    for (double t : thresholds[c]) summary.thresholds.push_back(c == 0 ? -t : t);
    for (std::size_t i = 0; i < labels.size(); ++i) {
      const int score = quintile_score((*scored[c])[i], thresholds[c]);
      const std::size_t segment = static_cast<std::size_t>(labels[i]);
      score_sums[segment * 3 + c] += score;
      ++score_counts[(segment * 3 + c) * 5 + (score - 1)];
    }
  }
  comm.sum_in_place(score_sums);
  comm.sum_in_place(score_counts);
  for (int s = 0; s < k; ++s) {
    std::int64_t size = 0;
    for (int q = 0; q < 5; ++q) size += score_counts[static_cast<std::size_t>(s) * 15 + q];
    for (int code = 0; code < rfm_segment_count; ++code) {
      const std::int64_t count = named_counts[static_cast<std::size_t>(s) * rfm_segment_count +
                                              static_cast<std::size_t>(code)];
      summary.segment_share.push_back(
          size > 0 ? static_cast<double>(count) / static_cast<double>(size) : kNaN);
    }
    for (int c = 0; c < 3; ++c) {
      const std::size_t at = static_cast<std::size_t>(s) * 3 + c;
      summary.score_mean.push_back(
          size > 0 ? static_cast<double>(score_sums[at]) / static_cast<double>(size) : kNaN);
      for (int q = 0; q < 5; ++q) {
        summary.quintile_share.push_back(size > 0 ? static_cast<double>(score_counts[at * 5 + q]) /
                                                        static_cast<double>(size)
                                                  : kNaN);
      }
    }
  }
  return summary;
}

}  // namespace microseg::distributed
