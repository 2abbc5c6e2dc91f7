#include "pruned_chunk.hpp"

#include <immintrin.h>

#include <algorithm>
#include <cmath>
#include <cstddef>

#include "avx512_tile.hpp"

namespace microseg::pruned {
namespace {

constexpr int kPackedBlock = AssignmentCentroids::kPackedBlock;
using detail::kTileRows;

// The rows a group is evaluated for: entry r is the row at base + index[r] · d.
struct RowList {
  const float* base;
  const int* index;
  int count;
};

// Kernel values of the listed rows against positions [begin, end), each with the kernel's
// per-lane sequence, folded into per-row minima.
void group_minima_portable(const RowList& rows, const StepCentroids& centroids, int begin, int end,
                           GroupMinima* out) {
  const int d = centroids.d, columns = centroids.columns, count = rows.count;
  const float* base = rows.base;
  const int* index = rows.index;
  const float* norms = centroids.norms.data();
  const float* by_col = centroids.minus_two_by_col.data();
  const int* centroid_at = centroids.centroid_at.data();
  for (int r = 0; r < count; ++r) {
    const float* x = base + static_cast<std::size_t>(index[r]) * d;
    GroupMinima m{kInfinity, -1, kInfinity};
    for (int p = begin; p < end; ++p) {
      float acc = norms[p];
      for (int j = 0; j < d; ++j) {
        acc = std::fma(x[j], by_col[static_cast<std::size_t>(j) * columns + p], acc);
      }
      // Positions within a group ascend with the centroid index, so strictly less keeps the
      // lowest index among equal values.
      if (m.first_index < 0 || acc < m.first) {
        m.second = m.first;
        m.first = acc;
        m.first_index = centroid_at[p];
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

// The same as the portable version with the plain kernel's tile: lanes are rows (32 listed
// rows transposed once), 8 packed centroids per block, and each lane runs the portable
// sequence over the group's positions in order (running first, its index, running second), so
// no fold across lanes is needed and the minima are the portable ones bit for bit. Padding
// positions are +inf and change nothing: the index starts at the group's first centroid, which
// an all-+inf group reports as the portable loop does. Out of line on purpose: inlined into its
// caller (as it was in the single-function step before), GCC 12 keeps one of the 16
// accumulators on the stack, a load and a store per feature in the FMA chain; out of line the
// pruned step takes 4-20 % less time at d = 24, k = 64-1000 (bench/lloyd_step_bench).
__attribute__((target("avx512f"), noinline)) void group_minima_avx512(
    const RowList& rows, const StepCentroids& centroids, int group, GroupMinima* out) {
  constexpr int B = kPackedBlock;
  const int d = centroids.d, count = rows.count;
  const float* base = rows.base;
  const int* index = rows.index;
  const int begin = centroids.packed_begin[group], end = centroids.packed_begin[group + 1];
  const float* packed = centroids.packed.data();
  const float* packed_norms = centroids.packed_norms.data();
  const int* packed_centroid = centroids.packed_centroid.data();
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
      row[r] = base + static_cast<std::size_t>(index[r0 + (r < rows_here ? r : 0)]) * d;
    }
    for (int half = 0; half < 2; ++half) {
      for (int jb = 0; jb < d; jb += 16) detail::transpose_into_tile(row, d, half, jb, x_by_column);
    }
    __m512 first[2], second[2];
    __m512i first_index[2];
    for (int h = 0; h < 2; ++h) {
      first[h] = second[h] = infinity;
      first_index[h] = _mm512_set1_epi32(packed_centroid[begin]);
    }
    for (int block = begin; block < end; block += B) {
      __m512 acc[2][B];
      detail::tile_kernel_values<B>(x_by_column, d, packed + static_cast<std::size_t>(block) * d,
                                    packed_norms + block, acc);
      for (int c = 0; c < B; ++c) {
        const __m512i centroid = _mm512_set1_epi32(packed_centroid[block + c]);
        for (int h = 0; h < 2; ++h) {
          const __mmask16 less = _mm512_cmp_ps_mask(acc[h][c], first[h], _CMP_LT_OQ);
          second[h] = _mm512_mask_blend_ps(less, blend_min(second[h], acc[h][c]), first[h]);
          first[h] = _mm512_mask_mov_ps(first[h], less, acc[h][c]);
          first_index[h] = _mm512_mask_mov_epi32(first_index[h], less, centroid);
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

// The per-row numbers of open_groups for `count` rows, 8 at a time: the threshold U (a centroid
// farther than U has a kernel value above the label's) and the absolute slack of the row's
// bounds, by row_margins' formulas. Bounds need only be safe, not equal to the scalar path's:
// the relative slack covers any difference in rounding (here FMAs).
__attribute__((target("avx512f,avx512vl"))) void row_thresholds_avx512(
    const float* row_norms, const float* label_values, int count, const StepMargins& step,
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

ChunkWork::ChunkWork(const StepInputs& step, const RowState& state, int chunk_capacity)
    : step_(step),
      state_(state),
      groups_(step.groups.count()),
      capacity_(chunk_capacity),
      open_(static_cast<std::size_t>(chunk_capacity) * groups_),
      group_rows_(static_cast<std::size_t>(chunk_capacity) * groups_),
      group_size_(groups_),
      thresholds_(chunk_capacity),
      slacks_(chunk_capacity),
      minima_(static_cast<std::size_t>(chunk_capacity) * groups_),
      group_out_(chunk_capacity),
      old_values_(chunk_capacity),
      recompute_(chunk_capacity) {}

void ChunkWork::assign(Eigen::Index begin, int count, LloydSums& sums) {
  std::fill(group_size_.begin(), group_size_.end(), 0);
  if (step_.first) {
    open_every_group(begin, count);
  } else {
    compute_label_values(begin, count);
    compute_thresholds(begin, count);
    open_groups(begin, count);
  }
  evaluate_groups(begin);
  fold(begin, count, sums);
}

// The first step: no label and no bounds yet, so every row evaluates every group.
void ChunkWork::open_every_group(Eigen::Index begin, int count) {
  const int groups = groups_;
  const std::size_t capacity = capacity_;
  std::fill(open_.begin(), open_.begin() + static_cast<std::size_t>(count) * groups, 1);
  int* group_rows = group_rows_.data();
  for (int r = 0; r < count; ++r) {
    const int i = static_cast<int>(begin + r);
    for (int g = 0; g < groups; ++g) group_rows[g * capacity + group_size_[g]++] = i;
  }
  std::fill(old_values_.begin(), old_values_.begin() + count, kInfinity);
}

// The label's kernel value: kept from the last step when the label's centroid did not move,
// else computed for 8 rows at a time (independent FMA chains overlap), with the kernel's
// sequence.
void ChunkWork::compute_label_values(Eigen::Index begin, int count) {
  const int d = step_.centroids.d;
  const float* base = step_.rows.features.data();
  const float* minus_two_rows = step_.centroids.minus_two_rows.data();
  const float* norm_of = step_.centroids.norm_of.data();
  const char* unmoved = step_.drift.unmoved.data();
  const std::int32_t* labels = state_.labels;
  const float* label_values = state_.label_values;
  float* old_values = old_values_.data();
  int* recompute = recompute_.data();
  int to_compute = 0;
  for (int r = 0; r < count; ++r) {
    const Eigen::Index i = begin + r;
    old_values[r] = label_values[i];
    recompute[to_compute] = r;
    to_compute += !unmoved[labels[i]];
  }
  for (int r0 = 0; r0 < to_compute; r0 += 8) {
    const float* xs[8];
    const float* cs[8];
    float acc[8];
    for (int q = 0; q < 8; ++q) {
      const Eigen::Index i = begin + recompute[r0 + (r0 + q < to_compute ? q : 0)];
      const int label = labels[i];
      xs[q] = base + i * d;
      cs[q] = minus_two_rows + static_cast<std::size_t>(label) * d;
      acc[q] = norm_of[label];
    }
    for (int j = 0; j < d; ++j) {
      for (int q = 0; q < 8; ++q) acc[q] = std::fma(xs[q][j], cs[q][j], acc[q]);
    }
    for (int q = 0; q < 8 && r0 + q < to_compute; ++q) old_values[recompute[r0 + q]] = acc[q];
  }
  evaluations_ += to_compute;
}

void ChunkWork::compute_thresholds(Eigen::Index begin, int count) {
  const float* row_norms = step_.rows.row_norms.data() + begin;
  if (step_.use_avx512) {
    row_thresholds_avx512(row_norms, old_values_.data(), count, step_.margins, thresholds_.data(),
                          slacks_.data());
    return;
  }
  for (int r = 0; r < count; ++r) {
    const RowMargins m = row_margins(row_norms[r], step_.margins);
    // A centroid whose exact distance exceeds this has a kernel value above the label's.
    const double squared = static_cast<double>(old_values_[r]) + m.norm_high + m.margin;
    thresholds_[r] = (squared > 0 ? std::sqrt(squared) : 0) * (1 + kDoubleSlack) + m.slack;
    slacks_[r] = m.slack;
  }
}

// Each bound drops by its group's drift; a group whose bound is at most the row's threshold
// may hold the new label, and the row joins the group's list.
void ChunkWork::open_groups(Eigen::Index begin, int count) {
  const int groups = groups_;
  const std::size_t capacity = capacity_;
  const double* drift = step_.drift.of_group.data();
  const double* thresholds = thresholds_.data();
  const double* slacks = slacks_.data();
  char* open = open_.data();
  int* group_rows = group_rows_.data();
  int* group_size = group_size_.data();
  float* lower_bounds = state_.lower_bounds;
  for (int r = 0; r < count; ++r) {
    const Eigen::Index i = begin + r;
    char* row_open = open + static_cast<std::size_t>(r) * groups;
    float* bounds = lower_bounds + static_cast<std::size_t>(i) * groups;
    for (int g = 0; g < groups; ++g) {
      const float moved = float_at_most(static_cast<double>(bounds[g]) - drift[g] - slacks[r]);
      bounds[g] = moved;
      row_open[g] = moved <= thresholds[r];
      // Appended without a branch: the row is written, the list grows by the open flag.
      group_rows[g * capacity + group_size[g]] = static_cast<int>(i);
      group_size[g] += row_open[g];
    }
  }
}

// Each group against the rows that opened it, register-blocked as the plain kernel.
void ChunkWork::evaluate_groups(Eigen::Index begin) {
  const int groups = groups_;
  const std::size_t capacity = capacity_;
  const int* group_begin = step_.groups.begin.data();
  const float* base = step_.rows.features.data();
  GroupMinima* minima = minima_.data();
  GroupMinima* group_out = group_out_.data();
  for (int g = 0; g < groups; ++g) {
    const RowList list{base, group_rows_.data() + g * capacity, group_size_[g]};
    if (list.count == 0) continue;
    if (step_.use_avx512) {
      group_minima_avx512(list, step_.centroids, g, group_out);
    } else {
      group_minima_portable(list, step_.centroids, group_begin[g], group_begin[g + 1], group_out);
    }
    evaluations_ += static_cast<std::int64_t>(list.count) * (group_begin[g + 1] - group_begin[g]);
    for (int q = 0; q < list.count; ++q) {
      minima[static_cast<std::size_t>(list.index[q] - begin) * groups + g] = group_out[q];
    }
  }
}

// Per row: the nearest centroid (value, then lowest index) over the label and the opened
// groups, fresh bounds for the opened groups, and the row moved between segments if it changed.
void ChunkWork::fold(Eigen::Index begin, int count, LloydSums& sums) {
  const int groups = groups_;
  const bool first = step_.first;
  const float* row_norms = step_.rows.row_norms.data();
  const int* group_of = step_.groups.group_of.data();
  const StepMargins margins_of_step = step_.margins;
  const char* open = open_.data();
  const GroupMinima* minima = minima_.data();
  const float* old_values = old_values_.data();
  const RowState state = state_;
  for (int r = 0; r < count; ++r) {
    const Eigen::Index i = begin + r;
    const char* row_open = open + static_cast<std::size_t>(r) * groups;
    const GroupMinima* row_minima = minima + static_cast<std::size_t>(r) * groups;
    const int old_label = first ? -1 : state.labels[i];
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
      float* bounds = state.lower_bounds + static_cast<std::size_t>(i) * groups;
      for (int g = 0; g < groups; ++g) {
        if (!row_open[g]) continue;
        const GroupMinima& m = row_minima[g];
        bounds[g] = margins.distance_at_least(m.first_index == best ? m.second : m.first);
      }
      // The old label joins its group's bound when that group was not evaluated.
      if (!first && best != old_label && !row_open[group_of[old_label]]) {
        float& b = bounds[group_of[old_label]];
        b = std::min(b, margins.distance_at_least(old_values[r]));
      }
    }
    state.squared_distances[i] = std::max(0.0f, row_norms[i] + best_value);
    state.label_values[i] = best_value;
    if (first || best != old_label) {
      move_row(i, first ? -1 : old_label, best, sums);
      state.labels[i] = best;
      ++sums.reassigned;
    }
  }
}

// Row i into segment `to` of the sums and, unless `from` is −1, out of segment `from`: the
// terms the plain step's accumulators add (x, or with weights x·w and w), so the kept sums
// equal a fresh pass's.
void ChunkWork::move_row(Eigen::Index i, int from, int to, LloydSums& sums) const {
  const int d = step_.centroids.d;
  const float* row = step_.rows.features.data() + i * d;
  const FixedPointFormat64* formats = step_.rows.formats.data();
  std::int64_t* into = sums.sums.data() + static_cast<std::size_t>(to) * d;
  std::int64_t* out_of = from < 0 ? nullptr : sums.sums.data() + static_cast<std::size_t>(from) * d;
  ++sums.counts[to];
  if (from >= 0) --sums.counts[from];
  if (const std::vector<float>* weights = step_.rows.weights) {
    const float w = (*weights)[static_cast<std::size_t>(i)];
    for (int j = 0; j < d; ++j) {
      const std::int64_t term = formats[j].to_fixed_product(row[j], w);
      into[j] += term;
      if (out_of) out_of[j] -= term;
    }
    const std::int64_t weight = step_.rows.weight_format.to_fixed(w);
    sums.weights[to] += weight;
    if (from >= 0) sums.weights[from] -= weight;
    return;
  }
  for (int j = 0; j < d; ++j) {
    const std::int64_t term = formats[j].to_fixed(row[j]);
    into[j] += term;
    if (out_of) out_of[j] -= term;
  }
}

}  // namespace microseg::pruned
