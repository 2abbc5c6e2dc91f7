#include "microseg/core/k_selection.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <limits>
#include <numeric>
#include <stdexcept>

#include "microseg/core/random.hpp"

namespace microseg {
namespace {

// One criterion of the rule, its value for every candidate k, and which way is better.
struct Criterion {
  const char* name;  // "Calinski-Harabasz"
  const char* best;  // "highest Calinski-Harabasz"
  bool higher_is_better;
  bool is_knee_distance;
  std::vector<double> values;  // per candidate; NaN ranks last
  std::vector<int> ranks;      // competition ranking: 1 = best, ties share a rank
};

void rank_candidates(Criterion& criterion) {
  const std::size_t m = criterion.values.size();
  criterion.ranks.assign(m, 1);
  for (std::size_t a = 0; a < m; ++a) {
    const double va = criterion.values[a];
    int better = 0;
    for (std::size_t b = 0; b < m; ++b) {
      const double vb = criterion.values[b];
      if (std::isnan(vb)) continue;
      if (std::isnan(va) || (criterion.higher_is_better ? vb > va : vb < va)) ++better;
    }
    criterion.ranks[a] = better + 1;
  }
}

std::string number(double value, const char* format = "%.4g") {
  char buffer[64];
  std::snprintf(buffer, sizeof buffer, format, value);
  return buffer;
}

struct Candidate {
  std::size_t row;  // index into the sweep's rows
  int wins = 0;     // criteria on which it ranks first
  int rank_sum = 0;
};

// The candidates (rows of the sweep) ranked on every criterion, best first.
struct Ranking {
  std::vector<Candidate> candidates;  // in the order of `rows`
  std::vector<Criterion> criteria;    // the votes
  Criterion cross_check;              // Calinski-Harabasz: shown, and breaks remaining ties
  std::vector<std::size_t> order;     // indices into candidates, best first
};

Ranking rank(const std::vector<SweepRow>& rows, const std::vector<std::size_t>& candidate_rows,
             std::optional<std::int64_t> knee) {
  Ranking ranking;
  for (std::size_t i : candidate_rows) ranking.candidates.push_back({i});
  auto& criteria = ranking.criteria;
  if (knee) {
    criteria.push_back({"distance from the knee", "closest to the knee", false, true, {}, {}});
  }
  criteria.push_back({"Davies-Bouldin", "lowest Davies-Bouldin", false, false, {}, {}});
  criteria.push_back({"sampled silhouette", "highest sampled silhouette", true, false, {}, {}});
  Criterion& cross_check = ranking.cross_check;
  cross_check = {"Calinski-Harabasz", "highest Calinski-Harabasz", true, false, {}, {}};
  for (const Candidate& candidate : ranking.candidates) {
    const SweepRow& row = rows[candidate.row];
    std::size_t c = 0;
    if (knee) criteria[c++].values.push_back(std::abs(static_cast<double>(row.k - *knee)));
    criteria[c++].values.push_back(row.davies_bouldin);
    criteria[c++].values.push_back(row.silhouette_sampled);
    cross_check.values.push_back(row.calinski_harabasz);
  }
  criteria.erase(std::remove_if(criteria.begin(), criteria.end(),
                                [](const Criterion& c) {
                                  return std::all_of(c.values.begin(), c.values.end(),
                                                     [](double v) { return std::isnan(v); });
                                }),
                 criteria.end());
  for (Criterion& criterion : criteria) rank_candidates(criterion);
  rank_candidates(cross_check);
  for (std::size_t p = 0; p < ranking.candidates.size(); ++p) {
    for (const Criterion& criterion : criteria) {
      ranking.candidates[p].wins += criterion.ranks[p] == 1;
      ranking.candidates[p].rank_sum += criterion.ranks[p];
    }
  }
  ranking.order.resize(ranking.candidates.size());
  std::iota(ranking.order.begin(), ranking.order.end(), std::size_t{0});
  std::sort(ranking.order.begin(), ranking.order.end(), [&](std::size_t a, std::size_t b) {
    const Candidate& x = ranking.candidates[a];
    const Candidate& y = ranking.candidates[b];
    if (x.wins != y.wins) return x.wins > y.wins;
    if (x.rank_sum != y.rank_sum) return x.rank_sum < y.rank_sum;
    if (cross_check.ranks[a] != cross_check.ranks[b]) {
      return cross_check.ranks[a] < cross_check.ranks[b];
    }
    return rows[x.row].k < rows[y.row].k;
  });
  return ranking;
}

// "k = 6 ranks first on 3 of 4 criteria (sum of ranks 5): ...; stability ...; smallest ..."
std::string describe(const Ranking& ranking, std::size_t position,
                     const std::vector<SweepRow>& rows, std::optional<std::int64_t> knee) {
  const Candidate& candidate = ranking.candidates[position];
  const SweepRow& row = rows[candidate.row];
  std::string text = "k = " + std::to_string(row.k) + " ranks first on " +
                     std::to_string(candidate.wins) + " of " +
                     std::to_string(ranking.criteria.size()) +
                     (ranking.criteria.size() == 1 ? " criterion" : " criteria") +
                     " (sum of ranks " + std::to_string(candidate.rank_sum) + ")";
  const char* separator = ": ";
  for (const Criterion& criterion : ranking.criteria) {
    const int rank = criterion.ranks[position];
    const double value = criterion.values[position];
    text += separator;
    separator = "; ";
    if (criterion.is_knee_distance) {
      const std::string at = "the knee of the inertia curve at k = " + std::to_string(*knee);
      text += rank == 1
                  ? "closest to " + at
                  : number(value, "%.0f") + " from " + at + " (rank " + std::to_string(rank) + ")";
    } else {
      text += rank == 1 ? std::string(criterion.best) + " (" + number(value) + ")"
                        : std::string(criterion.name) + " " + number(value) + " (rank " +
                              std::to_string(rank) + ")";
    }
  }
  const Criterion& cross = ranking.cross_check;
  text += ". Cross-check: " +
          (cross.ranks[position] == 1
               ? std::string(cross.best) + " (" + number(cross.values[position]) + ")"
               : std::string(cross.name) + " " + number(cross.values[position]) + " (rank " +
                     std::to_string(cross.ranks[position]) + ")");
  text +=
      ". Stability " +
      (std::isnan(row.stability) ? std::string("not measured") : number(row.stability, "%.3f")) +
      "; smallest segment " + std::to_string(row.min_segment_size) + " customers (" +
      number(100 * row.min_segment_share, "%.2f") + "%).";
  return text;
}

}  // namespace

std::uint64_t restart_seed(std::uint64_t seed, int restart) {
  return restart == 0
             ? seed
             : keyed_hash(seed, RandomStream::restart, static_cast<std::uint64_t>(restart));
}

std::vector<std::int64_t> stratified_quotas(const std::vector<std::int64_t>& segment_sizes,
                                            std::int64_t sample) {
  const std::int64_t total =
      std::accumulate(segment_sizes.begin(), segment_sizes.end(), std::int64_t{0});
  if (sample >= total) return segment_sizes;
  auto taken = [&](std::int64_t quota) {
    std::int64_t sum = 0;
    for (std::int64_t size : segment_sizes) sum += std::min(size, quota);
    return sum;
  };
  // The largest common quota that fits: binary search, since taken() grows with the quota.
  std::int64_t low = 0, high = *std::max_element(segment_sizes.begin(), segment_sizes.end());
  while (low < high) {
    const std::int64_t middle = low + (high - low + 1) / 2;
    if (taken(middle) <= std::max<std::int64_t>(sample, 0)) {
      low = middle;
    } else {
      high = middle - 1;
    }
  }
  std::vector<std::int64_t> quotas(segment_sizes.size());
  std::int64_t left_over = std::max<std::int64_t>(sample, 0) - taken(low);
  for (std::size_t s = 0; s < segment_sizes.size(); ++s) {
    quotas[s] = std::min(segment_sizes[s], low);
    if (left_over > 0 && segment_sizes[s] > low) {
      ++quotas[s];
      --left_over;
    }
  }
  return quotas;
}

std::optional<std::int64_t> inertia_knee(const std::vector<SweepRow>& rows) {
  if (rows.size() < 3) return std::nullopt;
  const double k_first = static_cast<double>(rows.front().k);
  const double k_span = static_cast<double>(rows.back().k) - k_first;
  double low = std::numeric_limits<double>::infinity(), high = -low;
  for (const auto& row : rows) {
    low = std::min(low, row.inertia);
    high = std::max(high, row.inertia);
  }
  if (!(k_span > 0) || !(high > low)) return std::nullopt;
  const double y_first = (rows.front().inertia - low) / (high - low);
  const double y_last = (rows.back().inertia - low) / (high - low);
  std::optional<std::int64_t> knee;
  double widest = 0;
  for (const auto& row : rows) {
    const double x = (static_cast<double>(row.k) - k_first) / k_span;
    const double gap = y_first + (y_last - y_first) * x - (row.inertia - low) / (high - low);
    if (gap > widest) {  // strict: the smaller k wins ties
      widest = gap;
      knee = row.k;
    }
  }
  return knee;
}

std::string recommendation_rule() {
  return "Candidates are the k whose stability (mean adjusted Rand index between the restarts' "
         "assignments, or with one restart between fits on two random halves) is at least 0.5, a "
         "partition the fits reproduce; every k when none is, or when stability was not "
         "measured. Each candidate is ranked (1 = best, "
         "ties share a rank) on three criteria: distance from the knee of the inertia curve "
         "(Kneedle: k and inertia scaled to [0, 1], the k farthest below the chord from the first "
         "to the last k; needs 3 or more k), Davies-Bouldin (lower is better) and the sampled "
         "silhouette (higher is better); a criterion with no finite value is left out. The "
         "recommended k ranks first on the most criteria; ties go to the lower sum of ranks, then "
         "to the higher Calinski-Harabasz (reported as a cross-check, not a vote: on generated "
         "data it favours too few segments), then to the smaller k. The runner-up is the next k "
         "in the same order.";
}

KRecommendation recommend_k(const std::vector<SweepRow>& rows) {
  if (rows.empty()) throw std::invalid_argument("recommend_k: the sweep has no rows");
  const bool stability_measured = std::any_of(
      rows.begin(), rows.end(), [](const SweepRow& r) { return !std::isnan(r.stability); });
  std::vector<std::size_t> all(rows.size()), stable;
  std::iota(all.begin(), all.end(), std::size_t{0});
  for (std::size_t i : all) {
    if (rows[i].stability >= stable_partition_threshold) stable.push_back(i);
  }
  const std::optional<std::int64_t> knee = inertia_knee(rows);
  const Ranking ranking = rank(rows, stable.empty() ? all : stable, knee);

  std::string scope;
  if (!stability_measured) {
    scope = " Every k was a candidate: stability is not measured with one restart.";
  } else if (stable.empty()) {
    scope = " Every k was a candidate: none reached stability 0.5.";
  } else if (stable.size() < rows.size()) {
    scope = " Not candidates (stability below 0.5): k =";
    const char* separator = " ";
    for (const auto& row : rows) {
      if (row.stability >= stable_partition_threshold) continue;
      scope += separator + std::to_string(row.k);
      separator = ", ";
    }
    scope += ".";
  }
  KRecommendation result;
  const std::size_t best = ranking.order[0];
  result.k = rows[ranking.candidates[best].row].k;
  result.reason = describe(ranking, best, rows, knee) + scope;
  if (ranking.order.size() > 1) {
    const std::size_t next = ranking.order[1];
    result.runner_up_k = rows[ranking.candidates[next].row].k;
    result.runner_up_reason = describe(ranking, next, rows, knee);
  } else if (rows.size() > 1) {
    // The only stable k: the runner-up is the next in the same order among every k.
    const Ranking among_all = rank(rows, all, knee);
    for (std::size_t position : among_all.order) {
      if (rows[among_all.candidates[position].row].k == result.k) continue;
      result.runner_up_k = rows[among_all.candidates[position].row].k;
      result.runner_up_reason = "The only other k are below stability 0.5; ranked among every k, " +
                                describe(among_all, position, rows, knee);
      break;
    }
  }
  return result;
}

}  // namespace microseg
