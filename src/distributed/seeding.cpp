#include "microseg/distributed/seeding.hpp"

#include <algorithm>
#include <limits>

#include "microseg/core/assignment.hpp"
#include "microseg/core/exact_sum.hpp"
#include "microseg/core/random.hpp"
#include "microseg/core/stopwatch.hpp"

namespace microseg::distributed {
namespace {

CentroidMatrix to_centroid_matrix(const std::vector<double>& flat, int d) {
  const Eigen::Index count = d == 0 ? 0 : static_cast<Eigen::Index>(flat.size()) / d;
  CentroidMatrix m(count, d);
  std::copy(flat.begin(), flat.end(), m.data());
  return m;
}

// The first global row whose cumulative weight exceeds `target`, with weights on a fixed-point
// grid so that the cumulative sums, and hence the choice, are exact.
std::int64_t find_cumulative_row(const RankRows& rows, const std::vector<double>& weights,
                                 const FixedPointFormat& format, ExactSum target) {
  const Communicator& comm = rows.comm();
  ExactSum local_total = 0;
  for (double w : weights) local_total += format.to_fixed(w);
  ExactSum running = comm.exclusive_prefix_sum(local_total);
  std::int64_t found = std::numeric_limits<std::int64_t>::max();
  if (target >= running && target < running + local_total) {
    for (std::size_t i = 0; i < weights.size(); ++i) {
      running += format.to_fixed(weights[i]);
      if (running > target) {
        found = rows.rows().begin + static_cast<std::int64_t>(i);
        break;
      }
    }
  }
  return comm.min(found);
}

// The exact total of the squared distances d2 on a grid that bounds them all.
struct ExactTotal {
  FixedPointFormat format;
  ExactSum total = 0;
};

ExactTotal exact_total(const RankRows& rows, const std::vector<double>& d2) {
  double local_max = 0;
  for (double v : d2) local_max = std::max(local_max, v);
  ExactTotal sum;
  sum.format = FixedPointFormat::for_bound(rows.comm().max(local_max), rows.total());
  ExactSum local_total = 0;
  for (double v : d2) local_total += sum.format.to_fixed(v);
  sum.total = rows.comm().sum(local_total);
  return sum;
}

// Draws a D²-weighted row: a uniform draw is scaled to the exact total weight.
std::int64_t draw_weighted_row(const RankRows& rows, const std::vector<double>& d2, double u) {
  const ExactTotal sum = exact_total(rows, d2);
  const auto n = static_cast<double>(rows.total());
  if (sum.total <= 0) return static_cast<std::int64_t>(u * n);  // every row is covered
  auto target = static_cast<ExactSum>(u * static_cast<double>(sum.total));
  if (target >= sum.total) target = sum.total - 1;
  return find_cumulative_row(rows, d2, sum.format, target);
}

// With sample weights a row is drawn in proportion to w·D² (scikit-learn's k-means++ with
// sample_weight, and Spark's weighted k-means||): the D² of every row times its weight, each
// product rounded once in double, the same on any rank. Without weights, `d2` itself.
const std::vector<double>& draw_weights(const RankRows& rows, const std::vector<double>& d2,
                                        std::vector<double>& scratch) {
  if (!rows.weighted()) return d2;
  scratch.resize(d2.size());
  for (std::size_t i = 0; i < d2.size(); ++i) {
    const double w = rows.weights()[i];
    scratch[i] = w == 0 ? 0.0 : w * d2[i];  // never 0 · inf
  }
  return scratch;
}

// The first centre: a uniform draw of a row, or with sample weights a draw in proportion to w.
std::int64_t first_center_row(const RankRows& rows, std::uint64_t seed) {
  const double u = keyed_uniform(seed, RandomStream::init_first_center, 0);
  if (rows.weighted()) {
    const std::vector<double> weights(rows.weights().begin(), rows.weights().end());
    return draw_weighted_row(rows, weights, u);
  }
  return static_cast<std::int64_t>(u * static_cast<double>(rows.total()));
}

// k-means++ from the centres in `start` (none: the first centre is a uniform draw): centre c is
// a D²-weighted draw keyed by c, so the centres after `start` do not depend on the rank count.
CentroidMatrix kmeans_plus_plus(const RankRows& rows, int k, std::uint64_t seed,
                                const CentroidMatrix& start) {
  const int d = rows.d();
  std::vector<double> chosen;
  std::vector<double> d2(static_cast<std::size_t>(rows.rows().size()),
                         std::numeric_limits<double>::infinity());
  std::int64_t row = first_center_row(rows, seed);
  const auto given = static_cast<int>(start.rows());
  if (given > 0) {
    chosen.assign(start.data(), start.data() + start.size());  // row-major, as to_centroid_matrix
    update_min_squared_distances(rows.features(), start, d2);
  }
  std::vector<double> scratch;
  for (int c = given; c < k; ++c) {
    if (c > 0) {
      row = draw_weighted_row(rows, draw_weights(rows, d2, scratch),
                              keyed_uniform(seed, RandomStream::init_kmeanspp, c));
    }
    std::vector<double> center = rows.broadcast_row(row);
    chosen.insert(chosen.end(), center.begin(), center.end());
    update_min_squared_distances(rows.features(), to_centroid_matrix(center, d), d2);
  }
  return to_centroid_matrix(chosen, d);
}

// Each row's squared distance to its nearest candidate so far and that candidate's index.
struct NearestCandidates {
  std::vector<double> d2;
  std::vector<std::int32_t> nearest;
};

// Lowers each row's d2 to its nearest of `centers` by the float assignment kernel, and where it
// drops, `nearest` becomes that centre's index: `centers` are candidates first .. first + rows − 1
// of a growing list. An equal distance keeps the earlier candidate.
void lower_squared_distances(const RankRows& rows, const CentroidMatrix& centers,
                             std::int32_t first, NearestCandidates& candidates) {
  std::vector<std::int32_t> labels;
  std::vector<float> partial;
  nearest_centroids(rows.features(), AssignmentCentroids(centers), active_kernel(), labels,
                    partial);
  const std::vector<float>& row_norms = rows.row_norms();
  for (std::size_t i = 0; i < candidates.d2.size(); ++i) {
    const double distance = static_cast<double>(std::max(0.0f, row_norms[i] + partial[i]));
    if (distance < candidates.d2[i]) {
      candidates.d2[i] = distance;
      candidates.nearest[i] = first + labels[i];
    }
  }
}

// One oversampling round: every row is kept with probability ℓ·D²(x)/φ (a draw keyed by its
// global row), gathered in rank order, which is global row order, so the candidate list is the
// same for any rank count. False when every row coincides with a candidate.
bool oversample_round(const RankRows& rows, std::uint64_t seed, int round, double oversampling,
                      std::vector<double>& candidates, NearestCandidates& nearest) {
  const int d = rows.d();
  std::vector<double> scratch;
  const std::vector<double>& cost_of_row = draw_weights(rows, nearest.d2, scratch);
  const ExactTotal cost = exact_total(rows, cost_of_row);
  const double phi = cost.format.to_double(cost.total);
  if (phi <= 0) return false;
  std::vector<double> sampled;
  for (std::int64_t i = 0; i < rows.rows().size(); ++i) {
    const double p = oversampling * cost_of_row[i] / phi;
    if (keyed_uniform(seed, RandomStream::init_oversample, rows.rows().begin + i, round) < p) {
      for (int j = 0; j < d; ++j) sampled.push_back(rows.features()(i, j));
    }
  }
  const std::vector<double> round_candidates = rows.comm().all_gather(sampled);
  if (round_candidates.empty()) return true;
  const auto first_new = static_cast<std::int32_t>(candidates.size() / d);
  lower_squared_distances(rows, to_centroid_matrix(round_candidates, d), first_new, nearest);
  candidates.insert(candidates.end(), round_candidates.begin(), round_candidates.end());
  return true;
}

// Each candidate's weight for the reduction: the rows nearest to it, or with sample weights
// their total weight (an exact sum).
std::vector<double> candidate_weights(const RankRows& rows,
                                      const std::vector<std::int32_t>& nearest,
                                      Eigen::Index candidates) {
  const auto count = static_cast<std::size_t>(candidates);
  if (!rows.weighted()) {
    std::vector<std::int64_t> counts(count, 0);
    for (std::int32_t c : nearest) ++counts[c];
    rows.comm().sum_in_place(counts);
    return std::vector<double>(counts.begin(), counts.end());
  }
  const FixedPointFormat format = FixedPointFormat::for_bound(rows.weight_bound(), rows.total());
  std::vector<ExactSum> sums(count, 0);
  for (std::size_t i = 0; i < nearest.size(); ++i) {
    sums[nearest[i]] += format.to_fixed(rows.weights()[i]);
  }
  rows.comm().sum_in_place(sums);
  std::vector<double> weights(count);
  for (std::size_t c = 0; c < count; ++c) weights[c] = format.to_double(sums[c]);
  return weights;
}

// The reduction of the weighted candidates to k centres: its restarts are shared out, rank r
// running r, r + P, …; the lowest potential (then the earliest restart) wins, the same choice one
// rank running them all would make.
CentroidMatrix reduce_candidates(const RankRows& rows, const CentroidMatrix& candidates,
                                 const std::vector<double>& weights, int k, std::uint64_t seed) {
  const Communicator& comm = rows.comm();
  // Restarts shrink as k × candidates grows, to bound the cost of this local step.
  const double work = static_cast<double>(k) * static_cast<double>(candidates.rows());
  const int restarts = static_cast<int>(std::clamp(2e7 / std::max(work, 1.0), 1.0, 10.0));
  const WeightedSeeding mine = best_weighted_kmeans_plus_plus(candidates, weights, k, seed, 30,
                                                              {restarts, comm.rank(), comm.size()});
  struct Offer {
    double potential;
    int restart;
  };
  const std::vector<Offer> offers = comm.all_gather(std::vector<Offer>{
      {mine.restart < 0 ? std::numeric_limits<double>::infinity() : mine.potential, mine.restart}});
  int owner = -1;
  for (int r = 0; r < comm.size(); ++r) {
    const Offer& offer = offers[static_cast<std::size_t>(r)];
    if (offer.restart < 0) continue;
    const Offer* best = owner < 0 ? nullptr : &offers[static_cast<std::size_t>(owner)];
    if (!best || offer.potential < best->potential ||
        (offer.potential == best->potential && offer.restart < best->restart)) {
      owner = r;
    }
  }
  std::vector<double> centers;
  if (comm.rank() == owner) {
    centers.assign(mine.centers.data(), mine.centers.data() + mine.centers.size());
  }
  comm.broadcast(centers, owner);
  return to_centroid_matrix(centers, rows.d());
}

}  // namespace

CentroidMatrix KMeansPlusPlusSeeding::seed(const RankRows& rows, int k, std::uint64_t seed,
                                           const SeedingProgress& /*on_round*/) const {
  return kmeans_plus_plus(rows, k, seed, CentroidMatrix());
}

CentroidMatrix KMeansParallelSeeding::seed(const RankRows& rows, int k, std::uint64_t seed,
                                           const SeedingProgress& on_round) const {
  // Each round costs one pass at its new candidates (the weights come from the nearest candidate
  // those passes track), so seeding costs about two Lloyd iterations at k = 2ℓ; the reduction's
  // greedy k-means++ with restarts makes up for the few rounds.
  constexpr int rounds = 2;
  const double oversampling = 2.0 * k;
  std::vector<double> candidates = rows.broadcast_row(first_center_row(rows, seed));
  NearestCandidates nearest;
  nearest.d2.assign(static_cast<std::size_t>(rows.rows().size()),
                    std::numeric_limits<double>::infinity());
  // Kept up to date round by round: the weights then need no pass over every candidate at the
  // end (at k = 1000 that pass was a third of the seeding).
  nearest.nearest.assign(nearest.d2.size(), 0);
  lower_squared_distances(rows, to_centroid_matrix(candidates, rows.d()), 0, nearest);
  for (int round = 1; round <= rounds; ++round) {
    Stopwatch stopwatch;
    const bool more = oversample_round(rows, seed, round, oversampling, candidates, nearest);
    if (on_round) {
      on_round({round, rounds, static_cast<std::int64_t>(candidates.size()) / rows.d(),
                stopwatch.lap()});
    }
    if (!more) break;
  }
  const CentroidMatrix candidate_matrix = to_centroid_matrix(candidates, rows.d());
  return reduce_candidates(rows, candidate_matrix,
                           candidate_weights(rows, nearest.nearest, candidate_matrix.rows()), k,
                           seed);
}

std::unique_ptr<Seeding> make_seeding(InitKind kind, CentroidMatrix given) {
  switch (kind) {
    case InitKind::kmeans_plus_plus:
      return std::make_unique<KMeansPlusPlusSeeding>();
    case InitKind::kmeans_parallel:
      return std::make_unique<KMeansParallelSeeding>();
    case InitKind::file:
      break;
  }
  return std::make_unique<GivenCentroids>(std::move(given));
}

CentroidMatrix extend_centroids(const RankRows& rows, const CentroidMatrix& start, int k,
                                std::uint64_t seed) {
  if (start.rows() >= k) return start.topRows(k);
  return kmeans_plus_plus(rows, k, seed, start);
}

}  // namespace microseg::distributed
