#include "microseg/distributed/partition_measures.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <optional>
#include <string>

#include "microseg/core/k_selection.hpp"
#include "microseg/core/quality.hpp"
#include "microseg/core/random.hpp"

namespace microseg::distributed {
namespace {

// A row's place in the sample order: its keyed hash, then its global row (ties).
struct KeyedRow {
  std::uint64_t key;
  std::int64_t row;
  std::int64_t segment;  // int64 rather than int32, so the struct has no padding bytes to send
};

bool before(const KeyedRow& a, const KeyedRow& b) {
  return a.key != b.key ? a.key < b.key : a.row < b.row;
}

}  // namespace

std::vector<std::int64_t> segment_sizes(const Communicator& comm,
                                        const std::vector<std::int32_t>& labels, int k) {
  std::vector<std::int64_t> sizes(static_cast<std::size_t>(std::max(k, 0)), 0);
  bool out_of_range = false;
  for (std::int32_t label : labels) {
    if (label < 0 || label >= k) {
      out_of_range = true;
      continue;
    }
    ++sizes[label];
  }
  if (comm.max(static_cast<std::int64_t>(out_of_range)) != 0) {
    comm.agree("segment_sizes: a label is outside 0.." + std::to_string(k - 1));
  }
  comm.sum_in_place(sizes);
  return sizes;
}

std::vector<std::int64_t> contingency_table(const Communicator& comm,
                                            const std::vector<std::int32_t>& first,
                                            const std::vector<std::int32_t>& second,
                                            int first_labels, int second_labels) {
  std::optional<std::string> problem;
  if (first.size() != second.size()) {
    problem = "contingency_table: rank " + std::to_string(comm.rank()) + " holds " +
              std::to_string(first.size()) + " and " + std::to_string(second.size()) + " labels";
  }
  std::vector<std::int64_t> table(
      static_cast<std::size_t>(std::max(first_labels, 0)) * std::max(second_labels, 0), 0);
  for (std::size_t i = 0; !problem && i < first.size(); ++i) {
    if (first[i] < 0 || first[i] >= first_labels || second[i] < 0 || second[i] >= second_labels) {
      problem = "contingency_table: a label pair (" + std::to_string(first[i]) + ", " +
                std::to_string(second[i]) + ") is outside " + std::to_string(first_labels) + " × " +
                std::to_string(second_labels);
      break;
    }
    ++table[static_cast<std::size_t>(first[i]) * second_labels + second[i]];
  }
  comm.agree(problem);
  comm.sum_in_place(table);
  return table;
}

namespace {

// Per segment, this rank's rows among those with the smallest keys overall (quota_s of them):
// each rank offers its own smallest quota_s, every rank sees all offers (rank order) and finds
// the same threshold per segment. Local indices, ascending.
std::vector<std::size_t> stratified_sample_rows(const RankRows& rows,
                                                const std::vector<std::int32_t>& labels,
                                                const std::vector<std::int64_t>& quotas,
                                                std::uint64_t seed) {
  const auto k = static_cast<int>(quotas.size());
  std::vector<std::vector<KeyedRow>> by_segment(static_cast<std::size_t>(k));
  std::vector<KeyedRow> keys(labels.size());
  for (std::size_t i = 0; i < labels.size(); ++i) {
    const std::int64_t row = rows.rows().begin + static_cast<std::int64_t>(i);
    keys[i] = {keyed_hash(seed, RandomStream::silhouette_sample, static_cast<std::uint64_t>(row)),
               row, labels[i]};
    by_segment[labels[i]].push_back(keys[i]);
  }
  std::vector<KeyedRow> offers;
  for (int s = 0; s < k; ++s) {
    auto& candidates = by_segment[s];
    const auto keep = static_cast<std::size_t>(
        std::min<std::int64_t>(quotas[s], static_cast<std::int64_t>(candidates.size())));
    std::partial_sort(candidates.begin(), candidates.begin() + static_cast<std::ptrdiff_t>(keep),
                      candidates.end(), before);
    offers.insert(offers.end(), candidates.begin(),
                  candidates.begin() + static_cast<std::ptrdiff_t>(keep));
  }
  std::vector<std::vector<KeyedRow>> offers_by_segment(static_cast<std::size_t>(k));
  for (const KeyedRow& offer : rows.comm().all_gather(offers)) {
    offers_by_segment[offer.segment].push_back(offer);
  }
  std::vector<std::optional<KeyedRow>> threshold(static_cast<std::size_t>(k));
  for (int s = 0; s < k; ++s) {
    auto& candidates = offers_by_segment[s];
    if (quotas[s] == 0) continue;
    const auto last = static_cast<std::ptrdiff_t>(quotas[s] - 1);
    std::nth_element(candidates.begin(), candidates.begin() + last, candidates.end(), before);
    threshold[s] = candidates[static_cast<std::size_t>(last)];
  }
  std::vector<std::size_t> chosen;
  for (std::size_t i = 0; i < keys.size(); ++i) {
    const auto& limit = threshold[labels[i]];
    if (limit && !before(*limit, keys[i])) chosen.push_back(i);
  }
  return chosen;
}

}  // namespace

StratifiedSilhouette stratified_silhouette(const RankRows& rows,
                                           const std::vector<std::int32_t>& labels,
                                           const std::vector<std::int64_t>& segment_sizes,
                                           const SilhouetteSampling& sampling) {
  const int k = static_cast<int>(segment_sizes.size());
  StratifiedSilhouette result;
  result.sample_sizes = stratified_quotas(segment_sizes, sampling.size);
  const auto& quotas = result.sample_sizes;
  if (std::count_if(quotas.begin(), quotas.end(), [](std::int64_t q) { return q > 0; }) < 2) {
    result.value = std::numeric_limits<double>::quiet_NaN();
    return result;
  }
  const GatheredSample sample =
      gather_sample(rows, labels, stratified_sample_rows(rows, labels, quotas, sampling.seed));
  const auto sample_rows = static_cast<Eigen::Index>(sample.all_labels.size());
  double max_norm = 0;
  for (Eigen::Index i = 0; i < sample_rows; ++i) {
    max_norm = std::max(max_norm, sample.all.row(i).cast<double>().norm());
  }
  // Every rank holds the whole sample, so this bound is the same everywhere without a reduction.
  const SilhouetteSample against{sample.all, sample.all_labels, quotas,
                                 FixedPointFormat::for_bound(2 * max_norm, sample_rows)};
  const FixedPointFormat unit_format = FixedPointFormat::for_bound(1.0, sample_rows);
  const std::vector<double> silhouettes =
      silhouettes_against_sample(against, sample.mine, sample.mine_labels);
  std::vector<ExactSum> silhouette_sums(static_cast<std::size_t>(k), 0);
  for (std::size_t a = 0; a < silhouettes.size(); ++a) {
    silhouette_sums[sample.mine_labels[a]] += unit_format.to_fixed(silhouettes[a]);
  }
  rows.comm().sum_in_place(silhouette_sums);
  // Each sampled segment's mean, weighted by its share of the customers it stands for.
  double weighted = 0, weight = 0;
  for (int s = 0; s < k; ++s) {
    if (quotas[s] == 0) continue;
    const double share = static_cast<double>(segment_sizes[s]);
    weighted += share * unit_format.to_double(silhouette_sums[s]) / static_cast<double>(quotas[s]);
    weight += share;
  }
  result.value = weighted / weight;
  return result;
}

}  // namespace microseg::distributed
