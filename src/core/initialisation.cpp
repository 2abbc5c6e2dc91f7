#include "microseg/core/initialisation.hpp"

#include <immintrin.h>

#include <cmath>
#include <limits>
#include <stdexcept>

#include "microseg/core/assignment.hpp"
#include "microseg/core/random.hpp"
#include "multiply_add.hpp"

namespace microseg {
namespace {

// Centres per SIMD block (one AVX-512 register of doubles) and rows sharing each centre load.
constexpr int kLanes = 8;
constexpr int kRowBlock = 4;

// Shared with squared_distance() in assignment.cpp, so the blocked kernel below gives
// bit-identical squared distances.
using detail::multiply_add;

// Centres transposed to [j * padded + c] with zero padding lanes (never scanned).
struct TransposedCenters {
  explicit TransposedCenters(const CentroidMatrix& centers, KernelIsa isa = active_kernel())
      : count(static_cast<int>(centers.rows())),
        d(static_cast<int>(centers.cols())),
        padded((count + kLanes - 1) / kLanes * kLanes),
        values(static_cast<std::size_t>(d) * padded, 0.0),
        wide(isa != KernelIsa::portable),
        widest(isa == KernelIsa::avx512) {
    for (int c = 0; c < count; ++c) {
      for (int j = 0; j < d; ++j) values[static_cast<std::size_t>(j) * padded + c] = centers(c, j);
    }
  }
  int count, d, padded;
  std::vector<double> values;
  // Which distance code runs: AVX2 (wide) or AVX-512 (widest), else the baseline.
  bool wide, widest;
};

// Squared distances of `Rows` rows to every centre lane, into out[r * padded + c], with the same
// per-pair sequence as squared_distance(): Σ_j (x_j − c_j)² accumulated in j order.
template <int Rows, class Scalar>
void squared_distances_block(const Scalar* const* rows, const TransposedCenters& centers,
                             double* out) {
  for (int block = 0; block < centers.padded; block += kLanes) {
    double acc[Rows][kLanes] = {};
    for (int j = 0; j < centers.d; ++j) {
      const double* column =
          centers.values.data() + static_cast<std::size_t>(j) * centers.padded + block;
#pragma GCC unroll 8
      for (int r = 0; r < Rows; ++r) {
        const double x = static_cast<double>(rows[r][j]);
        for (int l = 0; l < kLanes; ++l) {
          const double delta = x - column[l];
          acc[r][l] = multiply_add(delta, delta, acc[r][l]);
        }
      }
    }
    for (int r = 0; r < Rows; ++r) {
      for (int l = 0; l < kLanes; ++l) {
        out[static_cast<std::size_t>(r) * centers.padded + block + l] = acc[r][l];
      }
    }
  }
}

// The block above with explicit vectors, chosen at run time like the assignment kernels (the
// compiler's own vectorisation of it shuffles lanes and ran 4x slower than a -march=native
// build). Each lane does what multiply_add does in this build (FMA only where the whole build has
// it; the _round_ forms are never fused), so the baseline, AVX2 and AVX-512 code give equal sums
// bit for bit on every node.
template <int Rows, class Scalar>
__attribute__((target("avx2"))) void squared_distances_avx2(const Scalar* const* rows,
                                                            const TransposedCenters& centers,
                                                            double* out) {
  for (int block = 0; block < centers.padded; block += kLanes) {
    __m256d low[Rows], high[Rows];
    for (int r = 0; r < Rows; ++r) low[r] = high[r] = _mm256_setzero_pd();
    const double* column = centers.values.data() + block;
    for (int j = 0; j < centers.d; ++j, column += centers.padded) {
      const __m256d column_low = _mm256_loadu_pd(column), column_high = _mm256_loadu_pd(column + 4);
      for (int r = 0; r < Rows; ++r) {
        const __m256d x = _mm256_set1_pd(static_cast<double>(rows[r][j]));
        const __m256d delta_low = _mm256_sub_pd(x, column_low);
        const __m256d delta_high = _mm256_sub_pd(x, column_high);
#if defined(FP_FAST_FMA) || defined(__FP_FAST_FMA)
        low[r] = _mm256_fmadd_pd(delta_low, delta_low, low[r]);
        high[r] = _mm256_fmadd_pd(delta_high, delta_high, high[r]);
#else
        low[r] = _mm256_add_pd(_mm256_mul_pd(delta_low, delta_low), low[r]);
        high[r] = _mm256_add_pd(_mm256_mul_pd(delta_high, delta_high), high[r]);
#endif
      }
    }
    for (int r = 0; r < Rows; ++r) {
      double* lanes = out + static_cast<std::size_t>(r) * centers.padded + block;
      _mm256_storeu_pd(lanes, low[r]);
      _mm256_storeu_pd(lanes + 4, high[r]);
    }
  }
}

template <int Rows, class Scalar>
__attribute__((target("avx512f"))) void squared_distances_avx512(const Scalar* const* rows,
                                                                 const TransposedCenters& centers,
                                                                 double* out) {
  static_assert(kLanes == 8, "one AVX-512 register of doubles per block");
  for (int block = 0; block < centers.padded; block += kLanes) {
    __m512d acc[Rows];
    for (int r = 0; r < Rows; ++r) acc[r] = _mm512_setzero_pd();
    const double* column = centers.values.data() + block;
    for (int j = 0; j < centers.d; ++j, column += centers.padded) {
      const __m512d lanes = _mm512_loadu_pd(column);
      for (int r = 0; r < Rows; ++r) {
        const __m512d delta = _mm512_sub_pd(_mm512_set1_pd(static_cast<double>(rows[r][j])), lanes);
#if defined(FP_FAST_FMA) || defined(__FP_FAST_FMA)
        acc[r] = _mm512_fmadd_pd(delta, delta, acc[r]);
#else
        // The masked forms (all lanes) keep GCC 12 from warning about the unmasked ones' unset
        // pass-through operand.
        const __m512d square =
            _mm512_maskz_mul_round_pd(0xFF, delta, delta, _MM_FROUND_CUR_DIRECTION);
        acc[r] = _mm512_maskz_add_round_pd(0xFF, square, acc[r], _MM_FROUND_CUR_DIRECTION);
#endif
      }
    }
    for (int r = 0; r < Rows; ++r) {
      _mm512_storeu_pd(out + static_cast<std::size_t>(r) * centers.padded + block, acc[r]);
    }
  }
}

// The squared distances of `count` (1 or kRowBlock) rows by the widest code the CPU runs.
template <class Scalar>
void squared_distances(const Scalar* const* rows, int count, const TransposedCenters& centers,
                       double* out) {
  const bool four = count == kRowBlock;
  if (centers.widest) {
    return four ? squared_distances_avx512<kRowBlock>(rows, centers, out)
                : squared_distances_avx512<1>(rows, centers, out);
  }
  if (centers.wide) {
    return four ? squared_distances_avx2<kRowBlock>(rows, centers, out)
                : squared_distances_avx2<1>(rows, centers, out);
  }
  four ? squared_distances_block<kRowBlock>(rows, centers, out)
       : squared_distances_block<1>(rows, centers, out);
}

// Calls visit(i, squared distances of row i to every centre) for every row of `rows`.
template <class Matrix, class Visit>
void for_each_row_distances(const Matrix& rows, const TransposedCenters& centers, Visit&& visit) {
  using Scalar = typename Matrix::Scalar;
  const Eigen::Index n = rows.rows();
  const std::size_t padded = static_cast<std::size_t>(centers.padded);
  std::vector<double> buffer(kRowBlock * padded);
  Eigen::Index i = 0;
  for (; i + kRowBlock <= n; i += kRowBlock) {
    const Scalar* block_rows[kRowBlock];
    for (int r = 0; r < kRowBlock; ++r) block_rows[r] = rows.row(i + r).data();
    squared_distances(block_rows, kRowBlock, centers, buffer.data());
    for (int r = 0; r < kRowBlock; ++r) visit(i + r, buffer.data() + r * padded);
  }
  for (; i < n; ++i) {
    const Scalar* block_rows[1] = {rows.row(i).data()};
    squared_distances(block_rows, 1, centers, buffer.data());
    visit(i, buffer.data());
  }
}

template <class Matrix>
std::vector<std::int32_t> nearest_of(const Matrix& rows, const TransposedCenters& centers) {
  std::vector<std::int32_t> nearest(rows.rows());
  for_each_row_distances(rows, centers, [&](Eigen::Index i, const double* distances) {
    int best = 0;
    for (int c = 1; c < centers.count; ++c) {
      if (distances[c] < distances[best]) best = c;
    }
    nearest[i] = best;
  });
  return nearest;
}

// The first index whose running sum of the positive values exceeds `target`; rounding can leave
// target at the total, then the last positive value is taken.
Eigen::Index sample_index(const std::vector<double>& values, double target) {
  double cumulative = 0;
  Eigen::Index last_positive = -1;
  for (std::size_t i = 0; i < values.size(); ++i) {
    if (!(values[i] > 0)) continue;
    cumulative += values[i];
    last_positive = static_cast<Eigen::Index>(i);
    if (cumulative > target) break;
  }
  return last_positive;
}

double total_of(const std::vector<double>& values) {
  double total = 0;
  for (double value : values) total += value;
  return total;
}

}  // namespace

InitKind parse_init_kind(const std::string& text) {
  if (text == "kmeans-parallel" || text == "kmeans||") return InitKind::kmeans_parallel;
  if (text == "kmeans++") return InitKind::kmeans_plus_plus;
  if (text == "file") return InitKind::file;
  throw InputError("unknown initialisation '" + text +
                   "'; valid values are kmeans-parallel (or kmeans||), kmeans++, file");
}

std::string to_string(InitKind kind) {
  switch (kind) {
    case InitKind::kmeans_parallel:
      return "kmeans-parallel";
    case InitKind::kmeans_plus_plus:
      return "kmeans++";
    case InitKind::file:
      return "file";
  }
  throw std::invalid_argument("to_string: invalid InitKind");
}

void update_min_squared_distances(const FeatureMatrix& features, const CentroidMatrix& centers,
                                  std::vector<double>& min_squared_distances, KernelIsa isa) {
  if (min_squared_distances.size() != static_cast<std::size_t>(features.rows())) {
    throw std::invalid_argument("update_min_squared_distances: one distance per row expected");
  }
  if (centers.rows() == 0) return;
  if (centers.cols() != features.cols()) {
    throw std::invalid_argument("update_min_squared_distances: centres and rows differ in width");
  }
  const TransposedCenters transposed(centers, isa);
  for_each_row_distances(features, transposed, [&](Eigen::Index i, const double* distances) {
    double& current = min_squared_distances[i];
    for (int c = 0; c < transposed.count; ++c) {
      if (distances[c] < current) current = distances[c];
    }
  });
}

std::vector<std::int32_t> nearest_center(const FeatureMatrix& features,
                                         const CentroidMatrix& centers) {
  if (centers.rows() == 0) throw std::invalid_argument("nearest_center: no centres");
  if (centers.cols() != features.cols()) {
    throw std::invalid_argument("nearest_center: centres and rows differ in width");
  }
  return nearest_of(features, TransposedCenters(centers));
}

CentroidMatrix weighted_kmeans_plus_plus(const CentroidMatrix& candidates,
                                         const std::vector<double>& weights, int k,
                                         std::uint64_t seed, int lloyd_iterations) {
  const Eigen::Index m = candidates.rows(), d = candidates.cols();
  if (k < 1 || m < 1) {
    throw std::invalid_argument(
        "weighted_kmeans_plus_plus: needs k >= 1 and at least one candidate");
  }
  if (weights.size() != static_cast<std::size_t>(m)) {
    throw std::invalid_argument("weighted_kmeans_plus_plus: one weight per candidate expected");
  }
  for (double weight : weights) {
    if (!(weight >= 0) || !std::isfinite(weight)) {
      throw std::invalid_argument("weighted_kmeans_plus_plus: weights must be finite and >= 0");
    }
  }

  // Candidates as "centres" so the distances from one new centre to all candidates vectorise.
  const TransposedCenters candidate_lanes(candidates);
  std::vector<double> distance_buffer(candidate_lanes.padded);
  std::vector<double> min_squared(m, std::numeric_limits<double>::infinity());
  std::vector<char> chosen(m, 0);
  CentroidMatrix centers(k, d);
  Eigen::Index last = -1;
  auto choose = [&](int center, Eigen::Index index) {
    centers.row(center) = candidates.row(index);
    chosen[index] = 1;
    last = index;
    const double* rows[1] = {candidates.row(index).data()};
    squared_distances(rows, 1, candidate_lanes, distance_buffer.data());
    for (Eigen::Index i = 0; i < m; ++i) {
      if (distance_buffer[i] < min_squared[i]) min_squared[i] = distance_buffer[i];
    }
  };

  // Greedy k-means++ (as scikit-learn does): each new centre is the best of 2 + ⌊ln k⌋
  // D²-weighted draws, the one that lowers the weighted potential most. Plain k-means++ too often
  // puts two centres in one true segment and none in another.
  const int trials = 2 + static_cast<int>(std::log(static_cast<double>(k)));
  std::vector<double> probability(weights);
  std::vector<double> trial_distances(candidate_lanes.padded);
  for (int center = 0; center < k; ++center) {
    if (center > 0) {
      for (Eigen::Index i = 0; i < m; ++i) probability[i] = weights[i] * min_squared[i];
    }
    const double total = total_of(probability);
    Eigen::Index index = -1;
    if (total > 0 && std::isfinite(total)) {
      double best_potential = std::numeric_limits<double>::infinity();
      const int draws = center == 0 ? 1 : trials;
      for (int trial = 0; trial < draws; ++trial) {
        const Eigen::Index drawn =
            sample_index(probability, keyed_uniform(seed, RandomStream::local_kmeans,
                                                    static_cast<std::uint64_t>(center),
                                                    static_cast<std::uint64_t>(trial)) *
                                          total);
        if (draws == 1) {
          index = drawn;
          break;
        }
        const double* rows[1] = {candidates.row(drawn).data()};
        squared_distances(rows, 1, candidate_lanes, trial_distances.data());
        double potential = 0;
        for (Eigen::Index i = 0; i < m; ++i) {
          potential += weights[i] * std::min(min_squared[i], trial_distances[i]);
        }
        if (potential < best_potential) {
          best_potential = potential;
          index = drawn;
        }
      }
    } else if (std::isinf(total)) {
      index = 0;  // overflowed weights: take the farthest candidate
      for (Eigen::Index i = 1; i < m; ++i) {
        if (probability[i] > probability[index]) index = i;
      }
    } else {
      // Every positive-weight candidate sits on a chosen centre (or all weights are 0).
      for (Eigen::Index i = 0; i < m && index < 0; ++i) {
        if (!chosen[i] && weights[i] > 0) index = i;
      }
      if (index < 0) index = last >= 0 ? last : 0;
    }
    choose(center, index);
  }

  std::vector<std::int32_t> previous;
  for (int iteration = 0; iteration < lloyd_iterations; ++iteration) {
    std::vector<std::int32_t> nearest = nearest_of(candidates, TransposedCenters(centers));
    if (nearest == previous) break;  // the centres would not move
    CentroidMatrix weighted_sums = CentroidMatrix::Zero(k, d);
    std::vector<double> weight_sums(k, 0.0);
    for (Eigen::Index i = 0; i < m; ++i) {
      weighted_sums.row(nearest[i]) += weights[i] * candidates.row(i);
      weight_sums[nearest[i]] += weights[i];
    }
    for (int c = 0; c < k; ++c) {
      if (weight_sums[c] > 0) centers.row(c) = weighted_sums.row(c) / weight_sums[c];
    }
    previous = std::move(nearest);
  }
  return centers;
}

double weighted_potential(const CentroidMatrix& candidates, const std::vector<double>& weights,
                          const CentroidMatrix& centers) {
  const TransposedCenters transposed(centers);
  double potential = 0;
  for_each_row_distances(candidates, transposed, [&](Eigen::Index i, const double* distances) {
    double nearest = std::numeric_limits<double>::infinity();
    for (int c = 0; c < transposed.count; ++c) nearest = std::min(nearest, distances[c]);
    potential += weights[i] * nearest;
  });
  return potential;
}

WeightedSeeding best_weighted_kmeans_plus_plus(const CentroidMatrix& candidates,
                                               const std::vector<double>& weights, int k,
                                               std::uint64_t seed, int lloyd_iterations,
                                               const RestartShare& share) {
  WeightedSeeding best;
  for (int restart = share.first; restart < std::max(1, share.count);
       restart += std::max(1, share.step)) {
    const std::uint64_t restart_seed =
        restart == 0 ? seed
                     : keyed_hash(seed, RandomStream::local_kmeans, static_cast<std::uint64_t>(k),
                                  static_cast<std::uint64_t>(restart));
    CentroidMatrix centers =
        weighted_kmeans_plus_plus(candidates, weights, k, restart_seed, lloyd_iterations);
    const double potential = weighted_potential(candidates, weights, centers);
    if (best.restart < 0 || potential < best.potential) {
      best = {std::move(centers), potential, restart};
    }
  }
  return best;
}

}  // namespace microseg
