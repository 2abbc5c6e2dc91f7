#pragma once
/// \file Seeding policies: where a fit's Lloyd iterations start. Each is built once per fit and
/// asked for the seeds of every restart with seed(rows, k, seed). Draws are keyed by global row
/// index, never by rank, so the seeds do not depend on the rank count.
#include <cstdint>
#include <functional>
#include <memory>

#include "microseg/core/initialisation.hpp"
#include "microseg/core/types.hpp"
#include "microseg/distributed/rank_rows.hpp"

namespace microseg::distributed {

/// One oversampling round of k-means||, for a line of progress (the same on every rank).
struct SeedingRound {
  int round = 0;
  int rounds = 0;
  std::int64_t candidates = 0;  ///< candidate centres after this round
  double seconds = 0;           ///< of this round
};

/// Called after each round of a seeding that has rounds (k-means||); may be empty.
using SeedingProgress = std::function<void(const SeedingRound&)>;

class Seeding {
 public:
  virtual ~Seeding() = default;
  /// Collective: k initial centroids (scaled space) drawn with `seed`.
  virtual CentroidMatrix seed(const RankRows& rows, int k, std::uint64_t seed,
                              const SeedingProgress& on_round = {}) const = 0;
};

/// k-means++: one D²-weighted draw per centre; the draw is a target in the exact total of D²,
/// found with an exclusive prefix sum across ranks.
class KMeansPlusPlusSeeding final : public Seeding {
 public:
  CentroidMatrix seed(const RankRows& rows, int k, std::uint64_t seed,
                      const SeedingProgress& on_round = {}) const override;
};

/// k-means|| (Bahmani et al.) with Spark's defaults: two rounds oversampling 2k rows each, then
/// the weighted candidates reduced to k on every rank (docs/architecture.md, "Seeding").
class KMeansParallelSeeding final : public Seeding {
 public:
  CentroidMatrix seed(const RankRows& rows, int k, std::uint64_t seed,
                      const SeedingProgress& on_round = {}) const override;
};

/// Centroids given by the caller (a file, or a previous run's for a warm start), the same for
/// every restart.
class GivenCentroids final : public Seeding {
 public:
  explicit GivenCentroids(CentroidMatrix centroids) : centroids_(std::move(centroids)) {}
  CentroidMatrix seed(const RankRows&, int, std::uint64_t,
                      const SeedingProgress& = {}) const override {
    return centroids_;
  }
  const CentroidMatrix& centroids() const { return centroids_; }

 private:
  CentroidMatrix centroids_;
};

/// The policy `kind` names; `given` is used by InitKind::file only.
std::unique_ptr<Seeding> make_seeding(InitKind kind, CentroidMatrix given = CentroidMatrix());

/// `start` (scaled space) completed to k centres by k-means++: each further centre is a
/// D²-weighted draw (distances to every centre so far, `start` included) keyed by its index, so
/// the result does not depend on the rank count. With start.rows() ≥ k, its first k rows.
CentroidMatrix extend_centroids(const RankRows& rows, const CentroidMatrix& start, int k,
                                std::uint64_t seed);

}  // namespace microseg::distributed
