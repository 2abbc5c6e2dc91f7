#pragma once
/// \file The per-rank pieces of k-means++ and k-means|| seeding, and the small local k-means
/// that k-means|| runs on its weighted candidates.
#include <cstdint>
#include <string>
#include <vector>

#include "microseg/core/assignment.hpp"
#include "microseg/core/types.hpp"

namespace microseg {

enum class InitKind { kmeans_parallel, kmeans_plus_plus, file };
InitKind parse_init_kind(const std::string& text);  ///< throws InputError
std::string to_string(InitKind kind);

/// Lowers min_squared_distances[i] to the squared distance from row i to any of `centers`
/// (double precision, same arithmetic for every row), with the vector code of `isa` (every
/// variant gives the same values bit for bit; the seeding uses active_kernel()'s).
void update_min_squared_distances(const FeatureMatrix& features, const CentroidMatrix& centers,
                                  std::vector<double>& min_squared_distances,
                                  KernelIsa isa = active_kernel());

/// For each row, the index of the nearest of `centers` (tie → lowest index).
std::vector<std::int32_t> nearest_center(const FeatureMatrix& features,
                                         const CentroidMatrix& centers);

/// Greedy weighted k-means++ (best of 2 + ⌊ln k⌋ draws per centre) over a small candidate set,
/// then weighted Lloyd iterations on it: the reduction step of k-means||. Deterministic for a given
/// seed; every rank may run it and get the same answer. If there are fewer distinct candidates than
/// k, the missing centres repeat the last chosen candidate and the distributed Lloyd step re-seeds
/// them.
CentroidMatrix weighted_kmeans_plus_plus(const CentroidMatrix& candidates,
                                         const std::vector<double>& weights, int k,
                                         std::uint64_t seed, int lloyd_iterations);

/// Σ weight_i · min_c ‖candidate_i − centre_c‖²: what the reduction step minimises.
double weighted_potential(const CentroidMatrix& candidates, const std::vector<double>& weights,
                          const CentroidMatrix& centers);

/// The best of several runs of the reduction step.
struct WeightedSeeding {
  CentroidMatrix centers;
  double potential = 0;  ///< weighted_potential of the centres
  int restart = -1;      ///< which restart they came from; -1 when no restart ran
};

/// Which restarts of the reduction step one caller runs: first, first + step, … below count.
/// A restart's result does not depend on which others run, so the restarts can be shared out
/// (the distributed layer gives rank r of P the share {count, r, P}) and the best of the bests
/// is the best of all.
struct RestartShare {
  int count;      ///< restarts in all (below 1 counts as 1)
  int first = 0;  ///< the first this caller runs
  int step = 1;   ///< the distance between the ones it runs (below 1 counts as 1)
};

/// The reduction step of k-means|| run for the restarts of `share`, each with its own draws
/// (restart 0 with `seed` itself, so one restart equals weighted_kmeans_plus_plus); returns the
/// centres of lowest weighted potential, ties to the earliest restart.
WeightedSeeding best_weighted_kmeans_plus_plus(const CentroidMatrix& candidates,
                                               const std::vector<double>& weights, int k,
                                               std::uint64_t seed, int lloyd_iterations,
                                               const RestartShare& share);

}  // namespace microseg
