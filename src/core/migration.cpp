#include "microseg/core/migration.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <stdexcept>

#include "microseg/core/partition_agreement.hpp"

namespace microseg {
namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

int index_of(const std::vector<std::int64_t>& ids, std::int64_t id) {
  const auto found = std::find(ids.begin(), ids.end(), id);
  return found == ids.end() ? -1 : static_cast<int>(found - ids.begin());
}

}  // namespace

MigrationReport summarise_migration(MigrationMatrix matrix, const std::vector<double>& drift,
                                    std::int64_t at_risk) {
  const int kp = matrix.previous_k(), kc = matrix.current_k();
  const std::size_t cells = static_cast<std::size_t>(kp + 1) * static_cast<std::size_t>(kc + 1);
  if (matrix.counts.size() != cells || (!matrix.value.empty() && matrix.value.size() != cells) ||
      drift.size() != static_cast<std::size_t>(kc)) {
    throw std::invalid_argument("summarise_migration: a matrix of " + std::to_string(kp + 1) +
                                " × " + std::to_string(kc + 1) +
                                " cells and one drift per new segment expected");
  }
  MigrationReport report;
  const bool valued = !matrix.value.empty();
  const auto count = [&](int p, int c) { return matrix.counts[matrix.at(p, c)]; };
  const auto value = [&](int p, int c) { return matrix.value[matrix.at(p, c)]; };

  std::vector<std::int64_t> all_ids(matrix.previous_ids);
  all_ids.insert(all_ids.end(), matrix.current_ids.begin(), matrix.current_ids.end());
  std::sort(all_ids.begin(), all_ids.end());
  all_ids.erase(std::unique(all_ids.begin(), all_ids.end()), all_ids.end());

  SegmentFlows& f = report.flows;
  for (std::int64_t id : all_ids) {
    const int p = index_of(matrix.previous_ids, id);
    const int c = index_of(matrix.current_ids, id);
    std::int64_t previous_size = 0, current_size = 0;
    double value_out = 0, value_in = 0;
    if (p >= 0) {
      for (int j = 0; j <= kc; ++j) {
        previous_size += count(p, j);
        if (valued && j != c) value_out += value(p, j);
      }
    }
    if (c >= 0) {
      for (int i = 0; i <= kp; ++i) {
        current_size += count(i, c);
        if (valued && i != p) value_in += value(i, c);
      }
    }
    const std::int64_t stayed = p >= 0 && c >= 0 ? count(p, c) : 0;
    const std::int64_t left = p >= 0 ? count(p, kc) : 0;
    const std::int64_t joined = c >= 0 ? count(kp, c) : 0;
    f.segment_id.push_back(id);
    f.in_previous.push_back(p >= 0);
    f.in_current.push_back(c >= 0);
    f.previous_size.push_back(previous_size);
    f.current_size.push_back(current_size);
    f.stayed.push_back(stayed);
    f.left.push_back(left);
    f.joined.push_back(joined);
    f.moved_out.push_back(previous_size - stayed - left);
    f.moved_in.push_back(current_size - stayed - joined);
    f.inflow.push_back(current_size - stayed);
    f.outflow.push_back(previous_size - stayed);
    f.net.push_back(current_size - previous_size);
    f.retention.push_back(previous_size > 0
                              ? static_cast<double>(stayed) / static_cast<double>(previous_size)
                              : kNaN);
    if (valued) {
      f.value_inflow.push_back(value_in);
      f.value_outflow.push_back(value_out);
      f.value_net.push_back(value_in - value_out);
    }
    f.drift.push_back(p >= 0 && c >= 0 ? drift[c] : kNaN);
  }

  MigrationStability& s = report.stability;
  std::vector<std::int64_t> common_table(static_cast<std::size_t>(kp) * kc);
  for (int i = 0; i <= kp; ++i) {
    for (int j = 0; j <= kc; ++j) {
      const std::int64_t n = count(i, j);
      if (i == kp && j == kc) continue;  // no customer is both new and missing
      if (i == kp) {
        s.joined += n;
      } else if (j == kc) {
        s.left += n;
      } else {
        s.common += n;
        common_table[static_cast<std::size_t>(i) * kc + j] = n;
        if (matrix.previous_ids[i] == matrix.current_ids[j]) s.stayed += n;
      }
    }
  }
  s.moved = s.common - s.stayed;
  s.at_risk = at_risk;
  s.share_stayed =
      s.common > 0 ? static_cast<double>(s.stayed) / static_cast<double>(s.common) : kNaN;
  s.adjusted_rand_index = adjusted_rand_index(common_table, kp, kc);
  s.adjusted_mutual_information = adjusted_mutual_information(common_table, kp, kc);
  report.matrix = std::move(matrix);
  return report;
}

std::vector<double> previous_segment_reference_values(
    const std::vector<std::int64_t>& previous_ids, const std::vector<double>& previous_value_mean,
    const std::vector<std::int64_t>& current_ids, const std::vector<double>& current_value_mean) {
  std::vector<double> reference(previous_ids.size(), kNaN);
  for (std::size_t p = 0; p < previous_ids.size(); ++p) {
    const int c = index_of(current_ids, previous_ids[p]);
    if (c >= 0 && static_cast<std::size_t>(c) < current_value_mean.size()) {
      reference[p] = current_value_mean[c];
    } else if (p < previous_value_mean.size()) {
      reference[p] = previous_value_mean[p];
    }
  }
  return reference;
}

}  // namespace microseg
