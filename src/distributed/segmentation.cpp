#include "microseg/distributed/segmentation.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <limits>
#include <numeric>
#include <optional>
#include <sstream>

#include "microseg/core/lloyd_step.hpp"
#include "microseg/core/quality.hpp"
#include "microseg/core/random.hpp"
#include "microseg/distributed/fault_injection.hpp"

namespace microseg::distributed {
namespace {

using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

std::vector<FixedPointFormat> formats_for_bounds(const std::vector<double>& bounds,
                                                 std::int64_t terms) {
  std::vector<FixedPointFormat> formats;
  formats.reserve(bounds.size());
  for (double bound : bounds) formats.push_back(FixedPointFormat::for_bound(bound, terms));
  return formats;
}

// Largest ‖x‖ over all rows: bounds every distance between rows and centroids (means of rows
// lie in their convex hull) by twice this.
double global_max_row_norm(const Communicator& comm, const FeatureMatrix& features) {
  double local = 0;
  for (Eigen::Index i = 0; i < features.rows(); ++i) {
    local = std::max(local, features.row(i).cast<double>().norm());
  }
  return comm.max(local);
}

// A row of one rank made known to all: the owner of global row `global_row` broadcasts it.
struct RowOwners {
  std::vector<std::int64_t> begins;  // per rank, plus the total at the end
  int owner_of(std::int64_t global_row) const {
    auto it = std::upper_bound(begins.begin(), begins.end() - 1, global_row);
    return static_cast<int>(it - begins.begin()) - 1;
  }
};

RowOwners row_owners(const Communicator& comm, RowRange rows) {
  RowOwners owners;
  owners.begins = comm.all_gather(std::vector<std::int64_t>{rows.begin});
  owners.begins.push_back(comm.sum(rows.size()) + owners.begins.front());
  // Ranks with no rows share a begin with the next rank; upper_bound picks the last of them,
  // which is the one that holds the row.
  return owners;
}

std::vector<double> broadcast_row(const Communicator& comm, const FeatureMatrix& features,
                                  RowRange rows, const RowOwners& owners, std::int64_t global_row) {
  const int owner = owners.owner_of(global_row);
  std::vector<double> row;
  if (comm.rank() == owner) {
    row.resize(static_cast<std::size_t>(features.cols()));
    for (Eigen::Index j = 0; j < features.cols(); ++j) {
      row[j] = features(global_row - rows.begin, j);
    }
  }
  comm.broadcast(row, owner);
  return row;
}

// The first global row whose cumulative weight exceeds `target`, with weights on a fixed-point
// grid so that the cumulative sums, and hence the choice, are exact.
std::int64_t find_cumulative_row(const Communicator& comm, const std::vector<double>& weights,
                                 RowRange rows, const FixedPointFormat& format, ExactSum target) {
  ExactSum local_total = 0;
  for (double w : weights) local_total += format.to_fixed(w);
  ExactSum running = comm.exclusive_prefix_sum(local_total);
  std::int64_t found = std::numeric_limits<std::int64_t>::max();
  if (target >= running && target < running + local_total) {
    for (std::size_t i = 0; i < weights.size(); ++i) {
      running += format.to_fixed(weights[i]);
      if (running > target) {
        found = rows.begin + static_cast<std::int64_t>(i);
        break;
      }
    }
  }
  return comm.min(found);
}

CentroidMatrix to_centroid_matrix(const std::vector<double>& flat, int d) {
  const Eigen::Index count = d == 0 ? 0 : static_cast<Eigen::Index>(flat.size()) / d;
  CentroidMatrix m(count, d);
  std::copy(flat.begin(), flat.end(), m.data());
  return m;
}

// Draws a D²-weighted row: a uniform draw is scaled to the exact total weight.
std::int64_t draw_weighted_row(const Communicator& comm, const std::vector<double>& d2,
                               RowRange rows, std::int64_t n, double u) {
  double local_max = 0;
  for (double v : d2) local_max = std::max(local_max, v);
  const FixedPointFormat format = FixedPointFormat::for_bound(comm.max(local_max), n);
  ExactSum local_total = 0;
  for (double v : d2) local_total += format.to_fixed(v);
  const ExactSum total = comm.sum(local_total);
  if (total <= 0) return static_cast<std::int64_t>(u * static_cast<double>(n));  // all covered
  auto target = static_cast<ExactSum>(u * static_cast<double>(total));
  if (target >= total) target = total - 1;
  return find_cumulative_row(comm, d2, rows, format, target);
}

// k-means++ from the centres in `start` (none: the first centre is a uniform draw): centre c is
// a D²-weighted draw keyed by c, so the centres after `start` do not depend on the rank count.
CentroidMatrix init_kmeans_plus_plus(const Communicator& comm, const FeatureMatrix& features,
                                     RowRange rows, int k, std::uint64_t seed,
                                     const CentroidMatrix& start = CentroidMatrix()) {
  const int d = static_cast<int>(features.cols());
  const RowOwners owners = row_owners(comm, rows);
  const std::int64_t n = owners.begins.back() - owners.begins.front();
  std::vector<double> chosen;
  std::vector<double> d2(static_cast<std::size_t>(rows.size()),
                         std::numeric_limits<double>::infinity());
  std::int64_t row = static_cast<std::int64_t>(
      keyed_uniform(seed, RandomStream::init_first_center, 0) * static_cast<double>(n));
  const auto given = static_cast<int>(start.rows());
  if (given > 0) {
    // Row-major, as to_centroid_matrix expects.
    for (int c = 0; c < given; ++c) {
      for (int j = 0; j < d; ++j) chosen.push_back(start(c, j));
    }
    update_min_squared_distances(features, start, d2);
  }
  for (int c = given; c < k; ++c) {
    if (c > 0) {
      row =
          draw_weighted_row(comm, d2, rows, n, keyed_uniform(seed, RandomStream::init_kmeanspp, c));
    }
    std::vector<double> center = broadcast_row(comm, features, rows, owners, row);
    chosen.insert(chosen.end(), center.begin(), center.end());
    update_min_squared_distances(features, to_centroid_matrix(center, d), d2);
  }
  return to_centroid_matrix(chosen, d);
}

// Lowers d2[i] to the squared distance from row i to the nearest of `centers`, by the float
// assignment kernel (‖x‖² + ‖c‖² − 2x·c, the same arithmetic for every row); optionally also
// returns that nearest centre.
// Lowers each row's squared distance d2[i] to its nearest of `centers`, and where it drops,
// nearest[i] becomes that centre's index: `centers` are candidates first .. first + rows - 1 of
// a growing list. An equal distance keeps the earlier candidate.
void lower_squared_distances(const FeatureMatrix& features, const std::vector<float>& row_norms,
                             const CentroidMatrix& centers, std::int32_t first,
                             std::vector<double>& d2, std::vector<std::int32_t>& nearest) {
  std::vector<std::int32_t> labels;
  std::vector<float> partial;
  nearest_centroids(features, AssignmentCentroids(centers), active_kernel(), labels, partial);
  for (std::size_t i = 0; i < d2.size(); ++i) {
    const double distance = static_cast<double>(std::max(0.0f, row_norms[i] + partial[i]));
    if (distance < d2[i]) {
      d2[i] = distance;
      nearest[i] = first + labels[i];
    }
  }
}

CentroidMatrix init_kmeans_parallel(const Communicator& comm, const FeatureMatrix& features,
                                    RowRange rows, int k, std::uint64_t seed) {
  // Bahmani et al.'s k-means|| with Spark's defaults: oversample ℓ = 2k rows per round for 2
  // rounds, weight each candidate by the rows nearest to it, and reduce the ~4k candidates to k
  // on every rank. Each round costs one pass at its new candidates (the weights come from the
  // nearest candidate those passes track), so seeding costs about two Lloyd iterations at
  // k = 2ℓ; the reduction's greedy k-means++ with restarts makes up for the fewer rounds.
  constexpr int rounds = 2;
  const double oversampling = 2.0 * k;
  const int d = static_cast<int>(features.cols());
  const RowOwners owners = row_owners(comm, rows);
  const std::int64_t n = owners.begins.back() - owners.begins.front();
  const std::vector<float> row_norms = row_squared_norms(features);
  const auto first = static_cast<std::int64_t>(
      keyed_uniform(seed, RandomStream::init_first_center, 0) * static_cast<double>(n));
  std::vector<double> candidates = broadcast_row(comm, features, rows, owners, first);
  std::vector<double> d2(static_cast<std::size_t>(rows.size()),
                         std::numeric_limits<double>::infinity());
  // Each row's nearest candidate so far, kept up to date round by round: the weights then need
  // no pass over every candidate at the end (at k = 1000 that pass was a third of the seeding).
  std::vector<std::int32_t> nearest(d2.size(), 0);
  lower_squared_distances(features, row_norms, to_centroid_matrix(candidates, d), 0, d2, nearest);

  for (int round = 1; round <= rounds; ++round) {
    double local_max = 0;
    for (double v : d2) local_max = std::max(local_max, v);
    const FixedPointFormat format = FixedPointFormat::for_bound(comm.max(local_max), n);
    ExactSum local_cost = 0;
    for (double v : d2) local_cost += format.to_fixed(v);
    const double cost = format.to_double(comm.sum(local_cost));
    if (cost <= 0) break;  // every row coincides with a candidate
    std::vector<double> sampled;
    for (std::int64_t i = 0; i < rows.size(); ++i) {
      const double p = oversampling * d2[i] / cost;
      if (keyed_uniform(seed, RandomStream::init_oversample, rows.begin + i, round) < p) {
        for (int j = 0; j < d; ++j) sampled.push_back(features(i, j));
      }
    }
    // Rank order is global row order, so the candidate list is the same for any rank count.
    std::vector<double> round_candidates = comm.all_gather(sampled);
    if (round_candidates.empty()) continue;
    const auto first_new = static_cast<std::int32_t>(candidates.size() / d);
    lower_squared_distances(features, row_norms, to_centroid_matrix(round_candidates, d), first_new,
                            d2, nearest);
    candidates.insert(candidates.end(), round_candidates.begin(), round_candidates.end());
  }

  const CentroidMatrix candidate_matrix = to_centroid_matrix(candidates, d);
  std::vector<std::int64_t> counts(static_cast<std::size_t>(candidate_matrix.rows()), 0);
  for (std::int32_t c : nearest) ++counts[c];
  comm.sum_in_place(counts);
  std::vector<double> weights(counts.begin(), counts.end());
  // The reduction is local and cheap next to a pass over the data, so it is restarted and the
  // lowest weighted potential kept: a single k-means++ run on the candidates sometimes merges two
  // true segments. Restarts shrink as k × candidates grows, to bound its cost.
  const double work = static_cast<double>(k) * static_cast<double>(candidate_matrix.rows());
  const int restarts = static_cast<int>(std::clamp(2e7 / std::max(work, 1.0), 1.0, 10.0));
  // The restarts are shared out, rank r running r, r + P, …; the lowest potential (then the
  // earliest restart) wins, the same choice one rank running them all would make.
  WeightedSeeding mine = best_weighted_kmeans_plus_plus(candidate_matrix, weights, k, seed, 30,
                                                        restarts, comm.rank(), comm.size());
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
  if (comm.rank() == owner)
    centers.assign(mine.centers.data(), mine.centers.data() + mine.centers.size());
  comm.broadcast(centers, owner);
  return to_centroid_matrix(centers, d);
}

// The first `keep` of `count` items in the strict total order `before`, item i being
// item_of(i), in order; a bounded heap holds O(keep) items, never one per row.
template <class Item, class ItemOf, class Before>
std::vector<Item> first_items(std::size_t count, std::size_t keep, ItemOf item_of, Before before) {
  std::vector<Item> heap;
  heap.reserve(std::min(keep, count));
  for (std::size_t i = 0; i < count && keep > 0; ++i) {
    const Item item = item_of(i);
    if (heap.size() < keep) {
      heap.push_back(item);
      std::push_heap(heap.begin(), heap.end(), before);
    } else if (before(item, heap.front())) {
      std::pop_heap(heap.begin(), heap.end(), before);
      heap.back() = item;
      std::push_heap(heap.begin(), heap.end(), before);
    }
  }
  std::sort_heap(heap.begin(), heap.end(), before);
  return heap;
}

// Rows farthest from their centroids, best first: (squared distance descending, global row
// ascending), the same order for any rank count.
struct FarRow {
  float squared_distance;
  std::int64_t global_row;
};

bool farther(const FarRow& a, const FarRow& b) {
  if (a.squared_distance != b.squared_distance) return a.squared_distance > b.squared_distance;
  return a.global_row < b.global_row;
}

void reseed_empty_segments(const Communicator& comm, const FeatureMatrix& features, RowRange rows,
                           const std::vector<float>& squared_distances,
                           const std::vector<std::int64_t>& counts, CentroidMatrix& centroids) {
  std::vector<int> empty;
  for (std::size_t c = 0; c < counts.size(); ++c) {
    if (counts[c] == 0) empty.push_back(static_cast<int>(c));
  }
  if (empty.empty()) return;
  const std::size_t wanted = empty.size();
  const std::vector<FarRow> local = first_items<FarRow>(
      squared_distances.size(), wanted,
      [&](std::size_t i) {
        return FarRow{squared_distances[i], rows.begin + static_cast<std::int64_t>(i)};
      },
      farther);
  std::vector<FarRow> all = comm.all_gather(local);
  std::sort(all.begin(), all.end(), farther);
  const RowOwners owners = row_owners(comm, rows);
  for (std::size_t e = 0; e < wanted && e < all.size(); ++e) {
    std::vector<double> row = broadcast_row(comm, features, rows, owners, all[e].global_row);
    for (Eigen::Index j = 0; j < centroids.cols(); ++j) centroids(empty[e], j) = row[j];
  }
}

}  // namespace

FeatureStatistics feature_statistics(const Communicator& comm, const FeatureMatrix& features) {
  const int d = static_cast<int>(features.cols());
  FeatureStatistics stats;
  stats.count = comm.sum(static_cast<std::int64_t>(features.rows()));
  local_min_max(features, stats.min, stats.max);
  comm.min_in_place(stats.min);
  comm.max_in_place(stats.max);
  std::vector<double> bounds(d), deviation_bounds(d);
  for (int j = 0; j < d; ++j) {
    bounds[j] = std::max(std::abs(stats.min[j]), std::abs(stats.max[j]));
    deviation_bounds[j] = (stats.max[j] - stats.min[j]) * (stats.max[j] - stats.min[j]);
  }
  // Two passes: the mean first, then squared deviations from it, which avoids the cancellation
  // of Σx² − n·mean².
  const auto sum_formats = formats_for_bounds(bounds, stats.count);
  std::vector<ExactSum> sums = local_column_sums(features, sum_formats);
  comm.sum_in_place(sums);
  stats.mean.resize(d);
  for (int j = 0; j < d; ++j) {
    stats.mean[j] =
        stats.count > 0 ? sum_formats[j].to_double(sums[j]) / static_cast<double>(stats.count) : 0;
  }
  const auto deviation_formats = formats_for_bounds(deviation_bounds, stats.count);
  std::vector<ExactSum> deviations =
      local_squared_deviations(features, stats.mean, deviation_formats);
  comm.sum_in_place(deviations);
  stats.std.resize(d);
  for (int j = 0; j < d; ++j) {
    const double variance = stats.count > 0 ? deviation_formats[j].to_double(deviations[j]) /
                                                  static_cast<double>(stats.count)
                                            : 0;
    stats.std[j] = std::sqrt(std::max(0.0, variance));
  }
  return stats;
}

void check_finite(const Communicator& comm, const CustomerBlock& block, const std::string& path) {
  const int d = static_cast<int>(block.features.cols());
  std::vector<std::int64_t> bad_counts(d, 0);
  std::optional<std::pair<std::int64_t, int>> first;  // local row, feature
  for (Eigen::Index i = 0; i < block.features.rows(); ++i) {
    for (int j = 0; j < d; ++j) {
      if (!std::isfinite(block.features(i, j))) {
        ++bad_counts[j];
        if (!first) first = std::make_pair(static_cast<std::int64_t>(i), j);
      }
    }
  }
  comm.sum_in_place(bad_counts);
  const std::int64_t total = std::accumulate(bad_counts.begin(), bad_counts.end(), std::int64_t{0});
  if (total == 0) return;
  std::optional<std::string> error;
  if (first) {  // the lowest rank with a bad value holds the first one in row order
    std::ostringstream message;
    message << "input file '" << path << "': " << total << " feature values are NaN or infinite (";
    bool separator = false;
    for (int j = 0; j < d; ++j) {
      if (bad_counts[j] == 0) continue;
      message << (separator ? ", " : "") << block.feature_names[j] << ": " << bad_counts[j];
      separator = true;
    }
    message << "); the first is feature '" << block.feature_names[first->second]
            << "' of customer id " << block.ids[first->first] << " (row "
            << block.rows.begin + first->first << ")";
    error = message.str();
  }
  comm.agree(error);
}

void check_unique_ids(const Communicator& comm, const std::vector<std::int64_t>& ids,
                      const std::string& path, std::int64_t ids_per_round) {
  // Each id goes to the rank its hash names, in rounds, so the exchange holds a few MiB at a
  // time instead of several copies of every id (the read's peak memory at 10M rows). Equal ids
  // share a hash, hence a round and a rank.
  const std::int64_t rounds = std::max<std::int64_t>(
      1, (comm.max(static_cast<std::int64_t>(ids.size())) + ids_per_round - 1) / ids_per_round);
  const auto ranks = static_cast<std::uint64_t>(comm.size());
  std::int64_t duplicates = 0;
  std::int64_t smallest = std::numeric_limits<std::int64_t>::max();
  for (std::int64_t round = 0; round < rounds; ++round) {
    std::vector<std::vector<std::int64_t>> by_owner(comm.size());
    for (std::int64_t id : ids) {
      const std::uint64_t h =
          keyed_hash(0, RandomStream::id_partition, static_cast<std::uint64_t>(id));
      if ((h / ranks) % static_cast<std::uint64_t>(rounds) != static_cast<std::uint64_t>(round)) {
        continue;
      }
      by_owner[h % ranks].push_back(id);
    }
    std::vector<std::int64_t> mine = comm.all_to_all(by_owner);
    by_owner = {};
    std::sort(mine.begin(), mine.end());
    for (std::size_t i = 1; i < mine.size(); ++i) {
      if (mine[i] == mine[i - 1]) {
        ++duplicates;
        smallest = std::min(smallest, mine[i]);
      }
    }
  }
  duplicates = comm.sum(duplicates);
  smallest = comm.min(smallest);
  if (duplicates > 0) {
    comm.agree("input file '" + path + "': /customers/id has " + std::to_string(duplicates) +
               " duplicate customer ids (smallest duplicated id: " + std::to_string(smallest) +
               "); every customer must appear once");
  }
}

FittedTransform fit_and_apply_transform(const Communicator& comm, CustomerBlock& block,
                                        ScaleKind kind, const std::vector<char>& log1p) {
  comm.run_agreed([&] { apply_log1p(block.features, log1p, block.feature_names, block.ids); });
  FittedTransform transform;
  transform.statistics = feature_statistics(comm, block.features);
  transform.model = ScalingModel::from_statistics(kind, log1p, transform.statistics);
  apply_scaling(block.features, transform.model);
  return transform;
}

double mean_scaled_variance(const FittedTransform& transform) {
  const auto& stats = transform.statistics;
  if (stats.std.empty()) return 0;
  double total = 0;
  for (std::size_t j = 0; j < stats.std.size(); ++j) {
    const double s = stats.std[j] / transform.model.scale[j];
    total += s * s;
  }
  return total / static_cast<double>(stats.std.size());
}

CentroidMatrix extend_centroids(const Communicator& comm, const FeatureMatrix& features,
                                RowRange rows, const CentroidMatrix& start, int k,
                                std::uint64_t seed) {
  if (start.rows() >= k) return start.topRows(k);
  return init_kmeans_plus_plus(comm, features, rows, k, seed, start);
}

CentroidMatrix initial_centroids(const Communicator& comm, const FeatureMatrix& features,
                                 RowRange rows, int k, InitKind kind, std::uint64_t seed) {
  switch (kind) {
    case InitKind::kmeans_plus_plus:
      return init_kmeans_plus_plus(comm, features, rows, k, seed);
    case InitKind::kmeans_parallel:
      return init_kmeans_parallel(comm, features, rows, k, seed);
    case InitKind::file:
      break;
  }
  comm.abort("initial_centroids: centroids from a file are read by the io layer, not drawn");
}

namespace {

// Lloyd iterations first_iteration .. max_iterations from `initial`; after each one,
// after_iteration(iteration, centroids) may end the loop by returning true.
LloydOutcome lloyd_iterations(
    const Communicator& comm, const FeatureMatrix& features, RowRange rows,
    const CentroidMatrix& initial, const LloydSettings& settings, int first_iteration,
    const std::function<void(const IterationReport&)>& on_iteration,
    const std::function<bool(int, const CentroidMatrix&)>& after_iteration) {
  const int k = settings.k;
  const int d = static_cast<int>(features.cols());
  const std::int64_t n = comm.sum(rows.size());
  std::vector<double> bounds(d, 0.0);
  {
    std::vector<double> min, max;
    local_min_max(features, min, max);
    comm.min_in_place(min);
    comm.max_in_place(max);
    for (int j = 0; j < d; ++j) bounds[j] = std::max(std::abs(min[j]), std::abs(max[j]));
  }
  std::vector<FixedPointFormat64> formats;
  for (double bound : bounds) formats.push_back(FixedPointFormat64::for_bound(bound, n));
  const double tolerance = settings.tolerance * settings.mean_variance;

  const std::vector<float> row_norms = row_squared_norms(features);
  const std::unique_ptr<LloydStep> step =
      make_lloyd_step(settings.step, LloydRows{features, row_norms, formats}, k);
  LloydOutcome outcome;
  outcome.centroids = initial;
  outcome.iterations = first_iteration - 1;
  for (int iteration = first_iteration; iteration <= settings.max_iterations; ++iteration) {
    const auto start = Clock::now();
    LloydSums sums(k, d);
    step->step(outcome.centroids, sums);
    const std::vector<float>& squared_distances = step->squared_distances();
    // The inertia is summed exactly per float exponent (a few integer operations per row), and
    // everything integer crosses the ranks in one allreduce: sums, counts, reassigned, inertia.
    FloatExactSum inertia_sum;
    inertia_sum.add(squared_distances.data(), squared_distances.size());
    std::vector<std::int64_t> reassigned{sums.reassigned};
    comm.sum_in_place({&sums.sums, &sums.counts, &reassigned, &inertia_sum.bins});
    const double inertia = inertia_sum.total();
    CentroidMatrix updated = centroids_from_sums(sums, formats, outcome.centroids);
    reseed_empty_segments(comm, features, rows, squared_distances, sums.counts, updated);

    const double shift = total_squared_shift(outcome.centroids, updated);
    outcome.centroids = std::move(updated);
    outcome.iterations = iteration;
    outcome.inertia = inertia;
    if (on_iteration) {
      on_iteration({iteration, inertia,
                    settings.mean_variance > 0 ? shift / settings.mean_variance : shift,
                    reassigned[0], seconds_since(start)});
    }
    maybe_inject_failure(comm, "iteration");
    // Unchanged labels give unchanged centroids (shift 0), so the shift test alone decides; it
    // needs no labels from the previous iteration, which a resumed run does not have.
    if (shift <= tolerance) {
      outcome.converged = true;
      break;
    }
    if (after_iteration && after_iteration(iteration, outcome.centroids)) break;
  }
  return outcome;
}

}  // namespace

LloydOutcome run_lloyd(const Communicator& comm, const FeatureMatrix& features, RowRange rows,
                       const CentroidMatrix& initial, const LloydSettings& settings,
                       const std::function<void(const IterationReport&)>& on_iteration) {
  return lloyd_iterations(comm, features, rows, initial, settings, 1, on_iteration, {});
}

namespace {

// Σ ‖x − nearest centroid‖² in double, summed exactly: the inertia assign_and_measure reports.
double inertia_of(const Communicator& comm, const FeatureMatrix& features,
                  const CentroidMatrix& centroids) {
  const std::int64_t n = comm.sum(static_cast<std::int64_t>(features.rows()));
  const double max_norm = global_max_row_norm(comm, features);
  const FixedPointFormat squared_format = FixedPointFormat::for_bound(4 * max_norm * max_norm, n);
  const NearestTwo nearest = nearest_two(features, centroids);
  ExactSum local = 0;
  for (double distance : nearest.nearest_distance) {
    local += squared_format.to_fixed(distance * distance);
  }
  return squared_format.to_double(comm.sum(local));
}

}  // namespace

FitOutcome fit_kmeans(const Communicator& comm, const FeatureMatrix& features, RowRange rows,
                      InitKind kind, const CentroidMatrix& given, const LloydSettings& settings,
                      std::uint64_t seed, int restarts,
                      const std::function<void(int, const IterationReport&)>& on_iteration,
                      const FitControl& control) {
  FitCheckpoint state;  // the best finished restart so far, and where the current one stands
  if (control.resume) state = *control.resume;
  FitOutcome best;
  const int first_restart = control.resume ? control.resume->restart : 0;
  for (int restart = first_restart; restart < std::max(1, restarts); ++restart) {
    const bool resuming = control.resume && restart == first_restart;
    const std::uint64_t restart_seed =
        restart == 0 ? seed
                     : keyed_hash(seed, RandomStream::restart, static_cast<std::uint64_t>(restart));
    const auto init_start = Clock::now();
    CentroidMatrix initial =
        resuming ? control.resume->initial
        : kind == InitKind::file
            ? given
            : initial_centroids(comm, features, rows, settings.k, kind, restart_seed);
    best.seconds_init += seconds_since(init_start);
    const auto iterate_start = Clock::now();
    bool interrupted = false;
    auto after_iteration = [&](int iteration, const CentroidMatrix& centroids) {
      const bool stop = comm.any(control.stop_requested && control.stop_requested());
      const bool due = control.checkpoint_every > 0 && iteration % control.checkpoint_every == 0;
      if ((stop || due) && control.write_checkpoint) {
        state.restart = restart;
        state.iteration = iteration;
        state.centroids = centroids;
        state.initial = initial;
        control.write_checkpoint(state);
      }
      interrupted = stop;
      return stop;
    };
    LloydOutcome model = lloyd_iterations(
        comm, features, rows, resuming ? control.resume->centroids : initial, settings,
        resuming ? control.resume->iteration + 1 : 1,
        [&](const IterationReport& report) {
          if (on_iteration) on_iteration(restart, report);
        },
        after_iteration);
    best.seconds_iterate += seconds_since(iterate_start);
    if (interrupted) {
      throw FitInterrupted("stopped on request after iteration " + std::to_string(state.iteration) +
                           " of restart " + std::to_string(restart) + "; a checkpoint was written");
    }
    // Compare restarts by the inertia the run will report (exact distances to the final
    // centroids), not the last iteration's, so the winner is never worse by the reported measure.
    if (restarts > 1) model.inertia = inertia_of(comm, features, model.centroids);
    state.restart_inertias.push_back(model.inertia);
    if (state.best_restart < 0 || model.inertia < state.best_model.inertia) {
      state.best_model = std::move(model);
      state.best_initial = std::move(initial);
      state.best_restart = restart;
    }
  }
  best.model = state.best_model;
  best.initial = state.best_initial;
  best.best_restart = state.best_restart;
  best.restart_inertias = state.restart_inertias;
  return best;
}

FinalAssignment assign_and_measure(const Communicator& comm, const FeatureMatrix& features,
                                   RowRange rows, const CentroidMatrix& centroids,
                                   std::int64_t silhouette_sample, std::uint64_t seed) {
  const int k = static_cast<int>(centroids.rows());
  const int d = static_cast<int>(features.cols());
  const std::int64_t n = comm.sum(rows.size());
  FinalAssignment result;

  // The exact inertia and the simplified silhouette need both nearest segments; they are summed
  // here and the second ones freed at once, so the final assignment holds no more per row than
  // the fit did.
  const double max_norm = global_max_row_norm(comm, features);
  const FixedPointFormat distance_format = FixedPointFormat::for_bound(2 * max_norm, n);
  const FixedPointFormat squared_format = FixedPointFormat::for_bound(4 * max_norm * max_norm, n);
  const FixedPointFormat unit_format = FixedPointFormat::for_bound(1.0, n);
  ExactSum inertia = 0, simplified = 0;
  {
    NearestTwo nearest = nearest_two(features, centroids);
    for (std::size_t i = 0; i < nearest.nearest.size(); ++i) {
      const double distance = nearest.nearest_distance[i];
      inertia += squared_format.to_fixed(distance * distance);
      simplified +=
          unit_format.to_fixed(simplified_silhouette(distance, nearest.second_distance[i]));
    }
    result.segments = std::move(nearest.nearest);
    result.distances = std::move(nearest.nearest_distance);
  }

  // Segment means from the labels, as scikit-learn's metrics take them.
  std::vector<double> bounds(d, 0.0);
  {
    std::vector<double> min, max;
    local_min_max(features, min, max);
    comm.min_in_place(min);
    comm.max_in_place(max);
    for (int j = 0; j < d; ++j) bounds[j] = std::max(std::abs(min[j]), std::abs(max[j]));
  }
  const auto sum_formats = formats_for_bounds(bounds, n);
  std::vector<ExactSum> sums(static_cast<std::size_t>(k) * d, 0);
  std::vector<std::int64_t> counts(k, 0);
  for (std::size_t i = 0; i < result.segments.size(); ++i) {
    const int s = result.segments[i];
    ++counts[s];
    for (int j = 0; j < d; ++j) {
      sums[static_cast<std::size_t>(s) * d + j] +=
          sum_formats[j].to_fixed(features(static_cast<Eigen::Index>(i), j));
    }
  }
  comm.sum_in_place(sums);
  comm.sum_in_place(counts);
  for (int s = 0; s < k; ++s) {
    if (counts[s] == 0) {
      comm.agree("segment " + std::to_string(s) + " of k = " + std::to_string(k) +
                 " has no customers nearest to its final centroid: the data has fewer than k "
                 "distinct customers, or the fit stopped at --max-iter long before converging "
                 "(raise --max-iter)");
    }
  }
  CentroidMatrix segment_means(k, d);
  std::vector<double> overall_mean(d, 0.0);
  for (int j = 0; j < d; ++j) {
    ExactSum column_total = 0;
    for (int s = 0; s < k; ++s) {
      const ExactSum sum = sums[static_cast<std::size_t>(s) * d + j];
      column_total += sum;
      segment_means(s, j) = sum_formats[j].to_double(sum) / static_cast<double>(counts[s]);
    }
    overall_mean[j] = sum_formats[j].to_double(column_total) / static_cast<double>(n);
  }

  DispersionSums dispersion(k);
  accumulate_dispersion(features, result.segments, segment_means, distance_format, squared_format,
                        dispersion);
  comm.sum_in_place(dispersion.distance_sums);
  std::vector<ExactSum> within{dispersion.squared_distance_sum, inertia, simplified};
  comm.sum_in_place(within);

  QualityReport& q = result.quality;
  q.inertia = squared_format.to_double(within[1]);
  q.silhouette_simplified = unit_format.to_double(within[2]) / static_cast<double>(n);
  const double nan = std::numeric_limits<double>::quiet_NaN();
  if (k >= 2) {
    q.calinski_harabasz = calinski_harabasz(n, counts, segment_means, overall_mean,
                                            squared_format.to_double(within[0]));
    std::vector<double> mean_distance(k);
    for (int s = 0; s < k; ++s) {
      mean_distance[s] =
          distance_format.to_double(dispersion.distance_sums[s]) / static_cast<double>(counts[s]);
    }
    q.davies_bouldin = davies_bouldin(segment_means, mean_distance);
  } else {
    q.calinski_harabasz = nan;
    q.davies_bouldin = nan;
  }

  // Exact silhouette on a uniform sample: the rows with the smallest keyed hashes. The sample is
  // gathered to every rank (sample × d floats) and each rank scores its own sampled rows against
  // it in sample order, so every sum runs in the same order for any rank count.
  const std::int64_t m = std::min(silhouette_sample, n);
  q.silhouette_sample_size = m;
  if (m < 2 || k < 2) {
    q.silhouette_sampled = nan;
    return result;
  }
  struct KeyedRow {
    std::uint64_t key;
    std::int64_t row;
  };
  auto by_key = [](const KeyedRow& a, const KeyedRow& b) {
    return a.key != b.key ? a.key < b.key : a.row < b.row;
  };
  const auto key_of = [&](std::size_t i) {
    const std::int64_t row = rows.begin + static_cast<std::int64_t>(i);
    return KeyedRow{
        keyed_hash(seed, RandomStream::silhouette_sample, static_cast<std::uint64_t>(row)), row};
  };
  const std::size_t local_rows_count = result.segments.size();
  std::optional<KeyedRow> threshold;  // the m-th smallest key overall; none when m = n
  if (m < n) {
    const std::vector<KeyedRow> smallest =
        first_items<KeyedRow>(local_rows_count, static_cast<std::size_t>(m), key_of, by_key);
    std::vector<KeyedRow> all = comm.all_gather(smallest);
    std::nth_element(all.begin(), all.begin() + (m - 1), all.end(), by_key);
    threshold = all[static_cast<std::size_t>(m - 1)];
  }
  std::vector<float> local_rows;
  std::vector<std::int32_t> local_labels;
  for (std::size_t i = 0; i < local_rows_count; ++i) {
    if (threshold && by_key(*threshold, key_of(i))) continue;
    local_labels.push_back(result.segments[i]);
    for (int j = 0; j < d; ++j) local_rows.push_back(features(static_cast<Eigen::Index>(i), j));
  }
  const std::vector<float> sample_flat = comm.all_gather(local_rows);
  const std::vector<std::int32_t> sample_labels = comm.all_gather(local_labels);
  const auto sample_rows = static_cast<Eigen::Index>(sample_labels.size());
  const FeatureMatrix sample = Eigen::Map<const FeatureMatrix>(sample_flat.data(), sample_rows, d);
  std::vector<std::int64_t> sample_sizes(k, 0);
  for (std::int32_t s : sample_labels) ++sample_sizes[s];

  const FixedPointFormat pair_format = FixedPointFormat::for_bound(2 * max_norm, sample_rows);
  const FeatureMatrix mine = Eigen::Map<const FeatureMatrix>(
      local_rows.data(), static_cast<Eigen::Index>(local_labels.size()), d);
  ExactSum silhouette_total = 0;
  constexpr Eigen::Index chunk = 256;  // bounds the chunk × k sums in memory
  for (Eigen::Index start = 0; start < mine.rows(); start += chunk) {
    const Eigen::Index count = std::min(chunk, mine.rows() - start);
    std::vector<ExactSum> pair_sums(static_cast<std::size_t>(count) * k, 0);
    accumulate_pairwise_distance_sums(mine.middleRows(start, count), sample, sample_labels, k,
                                      pair_format, pair_sums);
    std::vector<std::int32_t> chunk_labels(local_labels.begin() + start,
                                           local_labels.begin() + start + count);
    for (double s :
         silhouette_from_distance_sums(pair_sums, chunk_labels, sample_sizes, pair_format)) {
      silhouette_total += unit_format.to_fixed(s);
    }
  }
  q.silhouette_sampled =
      unit_format.to_double(comm.sum(silhouette_total)) / static_cast<double>(sample_rows);
  return result;
}

SegmentProfiles profile_segments(const Communicator& comm, const FeatureMatrix& scaled,
                                 const std::vector<std::int32_t>& segments, int k,
                                 const FittedTransform& transform) {
  const int d = static_cast<int>(scaled.cols());
  const auto& stats = transform.statistics;
  const std::int64_t n = stats.count;
  // Bounds in original units: the transform is monotone per feature, so the extremes map to
  // the extremes; a small margin covers float rounding on the way back.
  std::vector<double> bounds(d), deviation_bounds(d);
  for (int j = 0; j < d; ++j) {
    double lo = stats.min[j], hi = stats.max[j];
    if (!transform.model.log1p.empty() && transform.model.log1p[j]) {
      lo = std::expm1(lo);
      hi = std::expm1(hi);
    }
    bounds[j] = std::max(std::abs(lo), std::abs(hi)) * (1 + 1e-5) + 1e-30;
    deviation_bounds[j] = (hi - lo) * (hi - lo) * (1 + 1e-4) + 1e-30;
  }
  const auto sum_formats = formats_for_bounds(bounds, n);
  const auto deviation_formats = formats_for_bounds(deviation_bounds, n);
  ProfileSums sums(k, d);
  accumulate_profile_sums(scaled, segments, transform.model, sum_formats, sums);
  comm.sum_in_place(sums.counts);
  comm.sum_in_place(sums.sums);
  comm.min_in_place(sums.min);
  comm.max_in_place(sums.max);
  std::vector<double> group_means(static_cast<std::size_t>(k + 1) * d, 0.0);
  for (int g = 0; g <= k; ++g) {
    if (sums.counts[g] == 0) continue;
    for (int j = 0; j < d; ++j) {
      const std::size_t at = static_cast<std::size_t>(g) * d + j;
      group_means[at] =
          sum_formats[j].to_double(sums.sums[at]) / static_cast<double>(sums.counts[g]);
    }
  }
  accumulate_profile_deviations(scaled, segments, transform.model, group_means, deviation_formats,
                                sums);
  comm.sum_in_place(sums.deviations);
  return profiles_from_sums(sums, sum_formats, deviation_formats);
}

CentroidMatrix centroids_in_original_units(const CentroidMatrix& scaled,
                                           const ScalingModel& model) {
  CentroidMatrix original(scaled.rows(), scaled.cols());
  for (Eigen::Index c = 0; c < scaled.rows(); ++c) {
    for (Eigen::Index j = 0; j < scaled.cols(); ++j) {
      original(c, j) = model.inverse(static_cast<std::size_t>(j), scaled(c, j));
    }
  }
  return original;
}

}  // namespace microseg::distributed
