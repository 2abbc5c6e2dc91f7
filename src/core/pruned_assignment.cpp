#include "microseg/core/pruned_assignment.hpp"

#include <immintrin.h>
#include <omp.h>

#include <algorithm>
#include <climits>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <stdexcept>

#include "avx512_tile.hpp"

namespace microseg {
namespace {

constexpr double kFloatUnitRoundoff = 0x1p-24;
// Relative slack on every bound computed in double: covers the few double roundings between a
// kernel value and the bound (each ≤ 2^-53 relative), with a wide margin.
constexpr double kDoubleSlack = 1e-12;
constexpr Eigen::Index kChunkRows = 2048;  // rows per OpenMP work item, as assign_and_accumulate
constexpr float kInfinity = std::numeric_limits<float>::infinity();

// The largest float not above v (v ≥ 0 here; negative lower bounds become 0). For f > 0 the
// next float towards 0 is the bit pattern minus one (std::nextafter, without the library call).
inline float float_at_most(double v) {
  if (!(v > 0)) return 0.0f;
  float f = static_cast<float>(v);
  if (static_cast<double>(f) > v) {
    std::uint32_t bits;
    std::memcpy(&bits, &f, sizeof bits);
    --bits;
    std::memcpy(&f, &bits, sizeof f);
  }
  return f;
}

// What a row's bounds need: ‖x‖² from above and below (its float is within 2u of the exact
// value of a double sum; 3u with slack), the kernel's rounding margin, and an absolute slack for
// the double arithmetic of the bounds.
struct RowMargins {
  double norm_high, norm_low, margin, slack;
  // A lower bound on the exact distance to a centroid whose kernel value is `value` (+inf stays
  // +inf: a group with no other centroid bounds nothing).
  float distance_at_least(float value) const {
    if (value == kInfinity) return kInfinity;
    const double squared = static_cast<double>(value) + norm_low - margin;
    return float_at_most(squared > 0 ? std::sqrt(squared) * (1 - kDoubleSlack) - slack : 0);
  }
};

double kernel_rounding_bound_impl(int d, double row_norm, double centroid_norm);

// What every row's margins share in one step: kernel_rounding_bound_impl's factors that do not
// depend on the row (the same arithmetic, hoisted out of the row loop).
struct StepMargins {
  double gamma, centroid_norm, centroid_norm_squared;
};

double rounding_gamma(int d) {
  const double steps = d + 3.0;  // d FMA roundings, ‖c‖² in double then float, and slack
  return steps * kFloatUnitRoundoff / (1.0 - steps * kFloatUnitRoundoff);
}

StepMargins step_margins(int d, double max_centroid_norm) {
  return {rounding_gamma(d), max_centroid_norm, max_centroid_norm * max_centroid_norm};
}

inline double rounding_bound(const StepMargins& step, double row_norm) {
  return step.gamma * (step.centroid_norm_squared + 2.0 * row_norm * step.centroid_norm) *
         (1.0 + kDoubleSlack);
}

inline RowMargins row_margins(float squared_norm, const StepMargins& step) {
  const double max_centroid_norm = step.centroid_norm;
  RowMargins m;
  m.norm_high = squared_norm * (1 + 3 * kFloatUnitRoundoff);
  m.norm_low = squared_norm * (1 - 3 * kFloatUnitRoundoff);
  const double norm = std::sqrt(m.norm_high);
  m.margin = rounding_bound(step, norm);
  m.slack = kDoubleSlack * (norm + max_centroid_norm);
  return m;
}

// Positions evaluated together by the vector code (two AVX-512 registers).
constexpr int kEvaluationBlock = 32;

// The nearest and second-nearest kernel value of one row among a group's centroids.
struct GroupMinima {
  float first;      // smallest value
  int first_index;  // its centroid, the lowest index among equal values
  float second;     // smallest value among the other centroids of the group
};

// Centroids in the order of their groups (positions), in the float form the kernel uses; the
// columns are padded so vector code may read whole blocks past a group's end.
struct GroupedCentroids {
  int d = 0, columns = 0;
  const float* norms;   // by position
  const float* by_col;  // −2c, d × columns, [j * columns + position]
  const int* centroid;  // centroid index by position (padded with the last one)
  // For the AVX-512 tile: each group's positions padded to whole blocks of kPackedBlock, with
  // +inf norms and zero coefficients past the group's end; group g holds padded positions
  // [packed_begin[g], packed_begin[g + 1]), −2c at [(p / B) · d · B + j · B + p % B].
  const int* packed_begin;
  const float* packed_norms;
  const int* packed_centroid;  // centroid index by padded position (padding: the group's last)
  const float* packed;
};

constexpr int kPackedBlock = AssignmentCentroids::kPackedBlock;

// Kernel values of `count` rows (base + local_rows[r] · d) against positions [begin, end), each
// lane with the kernel's per-lane sequence, folded into per-row minima.
void group_minima_portable(const float* base, const int* local_rows, int count,
                           const GroupedCentroids& layout, int begin, int end, GroupMinima* out) {
  const int d = layout.d;
  for (int r = 0; r < count; ++r) {
    const float* x = base + static_cast<std::size_t>(local_rows[r]) * d;
    GroupMinima m{kInfinity, -1, kInfinity};
    for (int p = begin; p < end; ++p) {
      float acc = layout.norms[p];
      for (int j = 0; j < d; ++j) {
        acc = std::fma(x[j], layout.by_col[static_cast<std::size_t>(j) * layout.columns + p], acc);
      }
      // Positions within a group ascend with the centroid index, so strictly less keeps the
      // lowest index among equal values.
      if (m.first_index < 0 || acc < m.first) {
        m.second = m.first;
        m.first = acc;
        m.first_index = layout.centroid[p];
      } else {
        m.second = std::min(m.second, acc);
      }
    }
    out[r] = m;
  }
}

// min(a, b) as a compare and blend: GCC 12's unmasked _mm512_min_ps (and shuffles, below) trip
// -Wmaybe-uninitialized in its header.
__attribute__((target("avx512f"))) inline __m512 blend_min(__m512 a, __m512 b) {
  return _mm512_mask_blend_ps(_mm512_cmp_ps_mask(b, a, _CMP_LT_OQ), a, b);
}

using detail::kTileRows;

// The same as the portable version with the plain kernel's tile: lanes are rows (32 listed
// rows transposed once), 8 packed centroids per block, and each lane runs the portable
// sequence over the group's positions in order (running first, its index, running second), so
// no fold across lanes is needed and the minima are the portable ones bit for bit. Padding
// positions are +inf and change nothing: the index starts at the group's first centroid, which
// an all-+inf group reports as the portable loop does.
__attribute__((target("avx512f"))) void group_minima_avx512(const float* base,
                                                            const int* local_rows, int count,
                                                            const GroupedCentroids& layout,
                                                            int group, GroupMinima* out) {
  constexpr int B = kPackedBlock;
  const int d = layout.d;
  const int begin = layout.packed_begin[group], end = layout.packed_begin[group + 1];
  const __m512 infinity = _mm512_set1_ps(kInfinity);
  struct alignas(64) Lanes {
    float value[16];
  };
  std::vector<Lanes> x_storage(2 * static_cast<std::size_t>(d));
  float* x_by_column = x_storage.data()->value;
  for (int r0 = 0; r0 < count; r0 += kTileRows) {
    const int rows_here = std::min(kTileRows, count - r0);
    const float* row[kTileRows];
    for (int r = 0; r < kTileRows; ++r) {
      row[r] = base + static_cast<std::size_t>(local_rows[r0 + (r < rows_here ? r : 0)]) * d;
    }
    for (int half = 0; half < 2; ++half) {
      for (int jb = 0; jb < d; jb += 16) detail::transpose_into_tile(row, d, half, jb, x_by_column);
    }
    __m512 first[2], second[2];
    __m512i first_index[2];
    for (int h = 0; h < 2; ++h) {
      first[h] = second[h] = infinity;
      first_index[h] = _mm512_set1_epi32(layout.packed_centroid[begin]);
    }
    for (int block = begin; block < end; block += B) {
      __m512 acc[2][B];
      detail::tile_kernel_values<B>(x_by_column, d,
                                    layout.packed + static_cast<std::size_t>(block) * d,
                                    layout.packed_norms + block, acc);
      for (int c = 0; c < B; ++c) {
        const __m512i index = _mm512_set1_epi32(layout.packed_centroid[block + c]);
        for (int h = 0; h < 2; ++h) {
          const __mmask16 less = _mm512_cmp_ps_mask(acc[h][c], first[h], _CMP_LT_OQ);
          second[h] = _mm512_mask_blend_ps(less, blend_min(second[h], acc[h][c]), first[h]);
          first[h] = _mm512_mask_mov_ps(first[h], less, acc[h][c]);
          first_index[h] = _mm512_mask_mov_epi32(first_index[h], less, index);
        }
      }
    }
    alignas(64) float firsts[kTileRows], seconds[kTileRows];
    alignas(64) std::int32_t indices[kTileRows];
    for (int h = 0; h < 2; ++h) {
      _mm512_store_ps(firsts + 16 * h, first[h]);
      _mm512_store_ps(seconds + 16 * h, second[h]);
      _mm512_store_si512(indices + 16 * h, first_index[h]);
    }
    for (int r = 0; r < rows_here; ++r) out[r0 + r] = {firsts[r], indices[r], seconds[r]};
  }
}

// Step 1's per-row numbers for `count` rows, 8 at a time: the threshold U (a centroid farther
// than U has a kernel value above the label's) and the absolute slack of the row's bounds, by
// row_margins' formulas. Bounds need only be safe, not equal to the scalar path's: the relative
// slack covers any difference in rounding (here FMAs).
__attribute__((target("avx512f"))) void row_thresholds_avx512(const float* row_norms,
                                                              const float* label_values, int count,
                                                              const StepMargins& step,
                                                              double* threshold, double* slack) {
  const __m512d high = _mm512_set1_pd(1 + 3 * kFloatUnitRoundoff);
  const __m512d gamma = _mm512_set1_pd(step.gamma);
  const __m512d c = _mm512_set1_pd(step.centroid_norm);
  const __m512d c2 = _mm512_set1_pd(step.centroid_norm_squared);
  const __m512d relative = _mm512_set1_pd(1 + kDoubleSlack);
  const __m512d absolute = _mm512_set1_pd(kDoubleSlack);
  const __m512d zero = _mm512_setzero_pd();
  for (int r = 0; r < count; r += 8) {
    const __mmask8 valid = static_cast<__mmask8>(count - r >= 8 ? 0xFF : (1u << (count - r)) - 1);
    const __m512d squared_norm =
        _mm512_maskz_cvtps_pd(valid, _mm256_maskz_loadu_ps(valid, row_norms + r));
    const __m512d value =
        _mm512_maskz_cvtps_pd(valid, _mm256_maskz_loadu_ps(valid, label_values + r));
    const __m512d norm_high = _mm512_mul_pd(squared_norm, high);
    // (Masked forms: GCC 12 warns on the unmasked sqrt's undefined pass-through.)
    const __m512d norm = _mm512_maskz_sqrt_pd(valid, norm_high);
    const __m512d margin = _mm512_mul_pd(
        _mm512_mul_pd(gamma, _mm512_fmadd_pd(_mm512_add_pd(norm, norm), c, c2)), relative);
    const __m512d row_slack = _mm512_mul_pd(absolute, _mm512_add_pd(norm, c));
    const __m512d squared = _mm512_add_pd(_mm512_add_pd(value, norm_high), margin);
    const __mmask8 positive = _mm512_cmp_pd_mask(squared, zero, _CMP_GT_OQ);
    const __m512d root = _mm512_maskz_sqrt_pd(positive, squared);
    _mm512_mask_storeu_pd(threshold + r, valid, _mm512_fmadd_pd(root, relative, row_slack));
    _mm512_mask_storeu_pd(slack + r, valid, row_slack);
  }
}

}  // namespace

std::string to_string(LloydStepKind kind) {
  switch (kind) {
    case LloydStepKind::automatic:
      return "auto";
    case LloydStepKind::plain:
      return "plain";
    case LloydStepKind::pruned:
      return "pruned";
  }
  throw std::invalid_argument("to_string: invalid LloydStepKind");
}

LloydStepKind parse_lloyd_step(const std::string& text) {
  for (LloydStepKind kind :
       {LloydStepKind::automatic, LloydStepKind::plain, LloydStepKind::pruned}) {
    if (to_string(kind) == text) return kind;
  }
  throw InputError("option --lloyd: invalid value '" + text + "' (expected auto, plain or pruned)");
}

LloydStepKind choose_lloyd_step(int k, int d) {
  // Measured with bench/lloyd_step_bench at d = 8, 16, 24, 32, 64, 128 (docs/benchmarks.md, "Plain
  // or pruned Lloyd"): a plain step costs k·d per row, the bounds' bookkeeping about the same per
  // row whatever k·d, so the crossover follows k·d. Pruned with k·d >= 2048 and k >= 64 was never
  // slower than plain on clustered or unclustered data (worst 1.00x at d = 8, k = 256); below
  // k = 64 it lost on unclustered data even at large d (0.82x at d = 128, k = 16; 0.88x at d =
  // 64, k = 32), and at k·d = 1536 (d = 24, k = 64) it lost 0.79x there.
  return k >= 64 && static_cast<std::int64_t>(k) * d >= 2048 ? LloydStepKind::pruned
                                                             : LloydStepKind::plain;
}

int pruning_groups(int k) {
  // Measured as above: one bound (Hamerly) was fastest up to k = 128; at k = 256 two groups were
  // the best on clustered and unclustered data; at k = 512 two and four tied, and at k = 1000
  // four were ahead (1.04x clustered, 1.12x unclustered) once the bookkeeping got cheaper;
  // eight never won. More groups prune more, but each costs per-row bookkeeping.
  if (k >= 512) return 4;
  return k >= 256 ? 2 : 1;
}

double kernel_rounding_bound(int d, double row_norm, double centroid_norm) {
  return kernel_rounding_bound_impl(d, row_norm, centroid_norm);
}

namespace {
double kernel_rounding_bound_impl(int d, double row_norm, double centroid_norm) {
  return rounding_bound(step_margins(d, centroid_norm), row_norm);
}
}  // namespace

// Centroids in the order of their groups, in the float form the kernel uses.
struct PrunedAssignment::Layout {
  std::vector<float> norms;             // by position in order_
  std::vector<float> minus_two_by_col;  // d × k, [j * k + position]
  std::vector<float> minus_two_rows;    // k × d by centroid index
  std::vector<float> norm_of;           // by centroid index
};

PrunedAssignment::PrunedAssignment(Eigen::Index rows, int k, int d, int groups)
    : rows_(rows), k_(k), d_(d), groups_(std::clamp(groups, 1, std::max(k, 1))), local_sums_(k, d) {
  if (k < 1 || d < 1) throw std::invalid_argument("PrunedAssignment: k and d must be positive");
}

std::size_t PrunedAssignment::bytes() const {
  return lower_bounds_.size() * sizeof(float) + label_values_.size() * sizeof(float) +
         previous_.size() * sizeof(float) + local_sums_.sums.size() * sizeof(std::int64_t);
}

void PrunedAssignment::form_groups(const std::vector<float>& c) {
  // A few deterministic Lloyd iterations on the centroids themselves (Yinyang's grouping), seeded
  // with evenly spaced centroids: the same groups on every rank.
  const int k = k_, d = d_;
  int g_count = groups_;
  std::vector<double> centres(static_cast<std::size_t>(g_count) * d);
  for (int g = 0; g < g_count; ++g) {
    const int c0 = static_cast<int>(static_cast<std::int64_t>(g) * k / g_count);
    for (int j = 0; j < d; ++j) centres[static_cast<std::size_t>(g) * d + j] = c[c0 * d + j];
  }
  group_of_.assign(k, 0);
  for (int iteration = 0; iteration < 5; ++iteration) {
    for (int i = 0; i < k; ++i) {
      double best = std::numeric_limits<double>::infinity();
      for (int g = 0; g < g_count; ++g) {
        double dist = 0;
        for (int j = 0; j < d; ++j) {
          const double delta = c[i * d + j] - centres[static_cast<std::size_t>(g) * d + j];
          dist += delta * delta;
        }
        if (dist < best) {
          best = dist;
          group_of_[i] = g;
        }
      }
    }
    std::vector<double> sums(centres.size(), 0.0);
    std::vector<int> counts(g_count, 0);
    for (int i = 0; i < k; ++i) {
      ++counts[group_of_[i]];
      for (int j = 0; j < d; ++j)
        sums[static_cast<std::size_t>(group_of_[i]) * d + j] += c[i * d + j];
    }
    for (int g = 0; g < g_count; ++g) {
      if (counts[g] == 0) continue;
      for (int j = 0; j < d; ++j) {
        centres[static_cast<std::size_t>(g) * d + j] =
            sums[static_cast<std::size_t>(g) * d + j] / counts[g];
      }
    }
  }
  // Drop empty groups and lay the centroids out group by group.
  std::vector<int> renumber(g_count, -1);
  int used = 0;
  for (int i = 0; i < k; ++i) {
    if (renumber[group_of_[i]] < 0) renumber[group_of_[i]] = 0;
  }
  for (int g = 0; g < g_count; ++g) {
    if (renumber[g] == 0) renumber[g] = used++;
  }
  for (int i = 0; i < k; ++i) group_of_[i] = renumber[group_of_[i]];
  groups_ = used;
  order_.resize(k);
  group_begin_.assign(groups_ + 1, 0);
  for (int i = 0; i < k; ++i) ++group_begin_[group_of_[i] + 1];
  for (int g = 0; g < groups_; ++g) group_begin_[g + 1] += group_begin_[g];
  std::vector<int> next(group_begin_.begin(), group_begin_.end() - 1);
  for (int i = 0; i < k; ++i) order_[next[group_of_[i]]++] = i;
}

void PrunedAssignment::assign(const FeatureMatrix& features, const std::vector<float>& row_norms,
                              const CentroidMatrix& centroids,
                              const std::vector<FixedPointFormat64>& formats,
                              std::vector<std::int32_t>& labels,
                              std::vector<float>& squared_distances, LloydSums& sums) {
  const int k = k_, d = d_;
  const Eigen::Index n = features.rows();
  if (n != rows_ || features.cols() != d || centroids.rows() != k || centroids.cols() != d ||
      row_norms.size() != static_cast<std::size_t>(n) ||
      formats.size() != static_cast<std::size_t>(d) ||
      sums.counts.size() != static_cast<std::size_t>(k) ||
      sums.sums.size() != static_cast<std::size_t>(k) * d) {
    throw std::invalid_argument("PrunedAssignment::assign: shapes do not match");
  }
  // The kernel's float centroids and norms (AssignmentCentroids computes ‖c‖² the same way).
  const AssignmentCentroids kernel_layout(centroids);
  std::vector<float> current(static_cast<std::size_t>(k) * d);
  for (int c = 0; c < k; ++c) {
    for (int j = 0; j < d; ++j)
      current[static_cast<std::size_t>(c) * d + j] = static_cast<float>(centroids(c, j));
  }
  const bool first = !started_;
  if (first) {
    form_groups(current);
    lower_bounds_.assign(static_cast<std::size_t>(n) * groups_, 0.0f);
    label_values_.assign(n, kInfinity);
    labels.assign(n, 0);
  }
  squared_distances.resize(n);
  const int groups = groups_;

  Layout layout;
  // Columns padded so the vector code may read whole blocks past a group's end.
  const int k_columns = k + kEvaluationBlock;
  layout.norms.assign(k_columns, 0.0f);
  layout.norm_of.resize(k);
  layout.minus_two_by_col.assign(static_cast<std::size_t>(k_columns) * d, 0.0f);
  layout.minus_two_rows.resize(static_cast<std::size_t>(k) * d);
  double max_centroid_norm = 0;
  for (int c = 0; c < k; ++c) {
    layout.norm_of[c] = kernel_layout.squared_norms()[c];
    double norm = 0;
    for (int j = 0; j < d; ++j) {
      const float v = current[static_cast<std::size_t>(c) * d + j];
      layout.minus_two_rows[static_cast<std::size_t>(c) * d + j] = -2.0f * v;
      norm += static_cast<double>(v) * v;
    }
    max_centroid_norm = std::max(max_centroid_norm, std::sqrt(norm));
  }
  max_centroid_norm *= 1 + kDoubleSlack;
  const StepMargins margins_of_step = step_margins(d, max_centroid_norm);
  for (int p = 0; p < k; ++p) {
    const int c = order_[p];
    layout.norms[p] = layout.norm_of[c];
    for (int j = 0; j < d; ++j) {
      layout.minus_two_by_col[static_cast<std::size_t>(j) * k_columns + p] =
          layout.minus_two_rows[static_cast<std::size_t>(c) * d + j];
    }
  }
  // How far each group's centroids moved since the last step: an upper bound on the exact
  // distance between the float centroids, so a lower bound minus it stays a lower bound.
  std::vector<double> group_drift(groups, 0.0);
  // Centroids identical to the previous step's (no row entered or left the segment): a row
  // labelled with one keeps the kernel value it had, bit for bit.
  std::vector<char> unmoved(k, 0);
  if (!first) {
    for (int c = 0; c < k; ++c) {
      double moved = 0;
      bool same = true;
      for (int j = 0; j < d; ++j) {
        same = same && current[static_cast<std::size_t>(c) * d + j] ==
                           previous_[static_cast<std::size_t>(c) * d + j];
        const double delta = static_cast<double>(current[static_cast<std::size_t>(c) * d + j]) -
                             previous_[static_cast<std::size_t>(c) * d + j];
        moved += delta * delta;
      }
      unmoved[c] = same;
      group_drift[group_of_[c]] =
          std::max(group_drift[group_of_[c]], std::sqrt(moved) * (1 + kDoubleSlack));
    }
  }

  const Eigen::Index chunks = (n + kChunkRows - 1) / kChunkRows;
  const int threads = static_cast<int>(
      std::max<Eigen::Index>(1, std::min<Eigen::Index>(omp_get_max_threads(), chunks)));
  std::vector<LloydSums> thread_sums(threads, LloydSums(k, d));
  std::vector<std::int64_t> thread_evaluations(threads, 0);
  std::vector<int> centroid_at(k_columns, order_[k - 1]);
  std::copy(order_.begin(), order_.end(), centroid_at.begin());
  std::vector<int> packed_begin(groups + 1, 0);
  for (int g = 0; g < groups; ++g) {
    const int size = group_begin_[g + 1] - group_begin_[g];
    packed_begin[g + 1] = packed_begin[g] + (size + kPackedBlock - 1) / kPackedBlock * kPackedBlock;
  }
  std::vector<float> packed_norms(packed_begin[groups], kInfinity);
  std::vector<int> packed_centroid(packed_begin[groups]);
  std::vector<float> packed(static_cast<std::size_t>(packed_begin[groups]) * d, 0.0f);
  for (int g = 0; g < groups; ++g) {
    for (int q = packed_begin[g]; q < packed_begin[g + 1]; ++q) {
      const int p = std::min(group_begin_[g] + (q - packed_begin[g]), group_begin_[g + 1] - 1);
      packed_centroid[q] = order_[p];
      if (group_begin_[g] + (q - packed_begin[g]) != p) continue;  // padding
      packed_norms[q] = layout.norms[p];
      float* block = packed.data() + static_cast<std::size_t>(q / kPackedBlock) * d * kPackedBlock;
      for (int j = 0; j < d; ++j) {
        block[j * kPackedBlock + q % kPackedBlock] =
            layout.minus_two_rows[static_cast<std::size_t>(order_[p]) * d + j];
      }
    }
  }
  GroupedCentroids grouped{d,
                           k_columns,
                           layout.norms.data(),
                           layout.minus_two_by_col.data(),
                           centroid_at.data(),
                           packed_begin.data(),
                           packed_norms.data(),
                           packed_centroid.data(),
                           packed.data()};
  const bool use_avx512 = active_kernel() == KernelIsa::avx512;
  const float* base = features.data();
  const auto chunk_capacity = static_cast<std::size_t>(std::min<Eigen::Index>(n, kChunkRows));

#pragma omp parallel num_threads(threads)
  {
    const int thread = omp_get_thread_num();
    LloydSums& mine = thread_sums[thread];
    std::int64_t evaluations = 0;
    // Per chunk: which groups each row must evaluate, the rows of each group, their minima.
    std::vector<char> open(chunk_capacity * groups);
    // Rows that opened each group: group g's at [g · chunk_capacity, + group_size[g]).
    std::vector<int> group_rows(chunk_capacity * groups);
    std::vector<int> group_size(groups);
    std::vector<double> thresholds(chunk_capacity), slacks(chunk_capacity);
    std::vector<GroupMinima> minima(chunk_capacity * groups);
    std::vector<GroupMinima> group_out(chunk_capacity);
    std::vector<float> old_values(chunk_capacity);
    std::vector<int> recompute(chunk_capacity);
#pragma omp for schedule(static)
    for (Eigen::Index chunk = 0; chunk < chunks; ++chunk) {
      const Eigen::Index chunk_begin = chunk * kChunkRows;
      const int rows_here = static_cast<int>(std::min(n, chunk_begin + kChunkRows) - chunk_begin);
      std::fill(group_size.begin(), group_size.end(), 0);
      // The label's kernel value: kept from the last step when the label's centroid did not
      // move, else computed for 8 rows at a time (independent FMA chains overlap).
      if (!first) {
        int to_compute = 0;
        for (int r = 0; r < rows_here; ++r) {
          const Eigen::Index i = chunk_begin + r;
          old_values[r] = label_values_[i];
          recompute[to_compute] = r;
          to_compute += !unmoved[labels[i]];
        }
        for (int r0 = 0; r0 < to_compute; r0 += 8) {
          const float* xs[8];
          const float* cs[8];
          float acc[8];
          for (int q = 0; q < 8; ++q) {
            const Eigen::Index i = chunk_begin + recompute[r0 + (r0 + q < to_compute ? q : 0)];
            const int label = labels[i];
            xs[q] = features.row(i).data();
            cs[q] = layout.minus_two_rows.data() + static_cast<std::size_t>(label) * d;
            acc[q] = layout.norm_of[label];
          }
          for (int j = 0; j < d; ++j) {
            for (int q = 0; q < 8; ++q) acc[q] = std::fma(xs[q][j], cs[q][j], acc[q]);
          }
          for (int q = 0; q < 8 && r0 + q < to_compute; ++q) old_values[recompute[r0 + q]] = acc[q];
        }
        evaluations += to_compute;
      }
      // 1. The label's own value, the bounds moved by the centroids' drift, the groups to open.
      if (!first && use_avx512) {
        row_thresholds_avx512(row_norms.data() + chunk_begin, old_values.data(), rows_here,
                              margins_of_step, thresholds.data(), slacks.data());
      } else if (!first) {
        for (int r = 0; r < rows_here; ++r) {
          const RowMargins m = row_margins(row_norms[chunk_begin + r], margins_of_step);
          // A centroid whose exact distance exceeds this has a kernel value above the label's.
          const double squared = static_cast<double>(old_values[r]) + m.norm_high + m.margin;
          thresholds[r] = (squared > 0 ? std::sqrt(squared) : 0) * (1 + kDoubleSlack) + m.slack;
          slacks[r] = m.slack;
        }
      }
      for (int r = 0; r < rows_here; ++r) {
        const Eigen::Index i = chunk_begin + r;
        char* row_open = open.data() + static_cast<std::size_t>(r) * groups;
        if (first) {
          std::fill(row_open, row_open + groups, 1);
          for (int g = 0; g < groups; ++g) {
            group_rows[g * chunk_capacity + group_size[g]++] = static_cast<int>(i);
          }
          old_values[r] = kInfinity;
          continue;
        }
        float* bounds = lower_bounds_.data() + static_cast<std::size_t>(i) * groups;
        for (int g = 0; g < groups; ++g) {
          const float moved =
              float_at_most(static_cast<double>(bounds[g]) - group_drift[g] - slacks[r]);
          bounds[g] = moved;
          row_open[g] = moved <= thresholds[r];
          // Appended without a branch: the row is written, the list grows by the open flag.
          group_rows[g * chunk_capacity + group_size[g]] = static_cast<int>(i);
          group_size[g] += row_open[g];
        }
      }
      // 2. Each group against the rows that opened it, register-blocked as the plain kernel.
      for (int g = 0; g < groups; ++g) {
        const int* list = group_rows.data() + g * chunk_capacity;
        const int count = group_size[g];
        if (count == 0) continue;
        if (use_avx512) {
          group_minima_avx512(base, list, count, grouped, g, group_out.data());
        } else {
          group_minima_portable(base, list, count, grouped, group_begin_[g], group_begin_[g + 1],
                                group_out.data());
        }
        evaluations += static_cast<std::int64_t>(count) * (group_begin_[g + 1] - group_begin_[g]);
        for (int q = 0; q < count; ++q) {
          minima[static_cast<std::size_t>(list[q] - chunk_begin) * groups + g] = group_out[q];
        }
      }
      // 3. The nearest centroid (value, then lowest index), fresh bounds, the sums.
      for (int r = 0; r < rows_here; ++r) {
        const Eigen::Index i = chunk_begin + r;
        const char* row_open = open.data() + static_cast<std::size_t>(r) * groups;
        const GroupMinima* row_minima = minima.data() + static_cast<std::size_t>(r) * groups;
        const int old_label = first ? -1 : labels[i];
        int best = old_label;
        float best_value = old_values[r];
        bool any_open = false;
        for (int g = 0; g < groups; ++g) {
          if (!row_open[g]) continue;
          any_open = true;
          const GroupMinima& m = row_minima[g];
          if (best < 0 || m.first < best_value || (m.first == best_value && m.first_index < best)) {
            best = m.first_index;
            best_value = m.first;
          }
        }
        if (any_open) {
          const RowMargins margins = row_margins(row_norms[i], margins_of_step);
          float* bounds = lower_bounds_.data() + static_cast<std::size_t>(i) * groups;
          for (int g = 0; g < groups; ++g) {
            if (!row_open[g]) continue;
            const GroupMinima& m = row_minima[g];
            const float nearest_other = m.first_index == best ? m.second : m.first;
            bounds[g] = margins.distance_at_least(nearest_other);
          }
          // The old label joins its group's bound when that group was not evaluated.
          if (!first && best != old_label && !row_open[group_of_[old_label]]) {
            float& b = bounds[group_of_[old_label]];
            b = std::min(b, margins.distance_at_least(old_values[r]));
          }
        }
        squared_distances[i] = std::max(0.0f, row_norms[i] + best_value);
        label_values_[i] = best_value;
        if (first || best != old_label) {
          const float* row = features.row(i).data();
          std::int64_t* to = mine.sums.data() + static_cast<std::size_t>(best) * d;
          for (int j = 0; j < d; ++j) to[j] += formats[j].to_fixed(row[j]);
          ++mine.counts[best];
          if (!first) {
            std::int64_t* from = mine.sums.data() + static_cast<std::size_t>(old_label) * d;
            for (int j = 0; j < d; ++j) from[j] -= formats[j].to_fixed(row[j]);
            --mine.counts[old_label];
          }
          labels[i] = best;
          ++mine.reassigned;
        }
      }
    }
    thread_evaluations[thread] = evaluations;
  }
  // Integer sums: the rank's sums equal the ones a fresh pass would give, in any merge order.
  if (first) {
    std::fill(local_sums_.sums.begin(), local_sums_.sums.end(), 0);
    std::fill(local_sums_.counts.begin(), local_sums_.counts.end(), 0);
  }
  last_evaluations_ = 0;
  for (int t = 0; t < threads; ++t) {
    for (std::size_t i = 0; i < local_sums_.sums.size(); ++i)
      local_sums_.sums[i] += thread_sums[t].sums[i];
    for (int c = 0; c < k; ++c) local_sums_.counts[c] += thread_sums[t].counts[c];
    last_evaluations_ += thread_evaluations[t];
    sums.reassigned += thread_sums[t].reassigned;
  }
  sums.sums = local_sums_.sums;
  sums.counts = local_sums_.counts;
  previous_ = std::move(current);
  started_ = true;
}

}  // namespace microseg
