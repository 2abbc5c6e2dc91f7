#include "microseg/core/pruned_assignment.hpp"

#include <omp.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <stdexcept>

namespace microseg {
namespace {

constexpr double kFloatUnitRoundoff = 0x1p-24;
// Relative slack on every bound computed in double: covers the few double roundings between a
// kernel value and the bound (each ≤ 2^-53 relative), with a wide margin.
constexpr double kDoubleSlack = 1e-12;
constexpr Eigen::Index kChunkRows = 2048;  // rows per OpenMP work item, as assign_and_accumulate
constexpr float kInfinity = std::numeric_limits<float>::infinity();

// The largest float not above v (v ≥ 0 here; negative lower bounds become 0).
float float_at_most(double v) {
  if (!(v > 0)) return 0.0f;
  float f = static_cast<float>(v);
  if (static_cast<double>(f) > v) f = std::nextafter(f, 0.0f);
  return f;
}

// The kernel's per-lane arithmetic for one centroid: acc = ‖c‖², then acc = fma(x_j, −2c_j, acc)
// for j = 0..d−1. std::fma rounds once, like the vector FMAs, so the value is the kernel's.
inline float kernel_value(const float* x, const float* minus_two_c, float norm, int d) {
  float acc = norm;
  for (int j = 0; j < d; ++j) acc = std::fma(x[j], minus_two_c[j], acc);
  return acc;
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

LloydStepKind choose_lloyd_step(int k, int /*d*/) {
  // Measured on this project's benchmark data (docs/benchmarks.md, "Pruned Lloyd"): the
  // register-blocked plain kernel wins at small k, where a pruned evaluation saves little.
  return k >= 48 ? LloydStepKind::pruned : LloydStepKind::plain;
}

int pruning_groups(int k) {
  // Yinyang's k/10, capped so the bounds stay a fraction of the float features in memory.
  return std::clamp(k / 10, 1, 16);
}

double kernel_rounding_bound(int d, double row_norm, double centroid_norm) {
  const double steps = d + 3.0;  // d FMA roundings, ‖c‖² in double then float, and slack
  const double gamma = steps * kFloatUnitRoundoff / (1.0 - steps * kFloatUnitRoundoff);
  return gamma * (centroid_norm * centroid_norm + 2.0 * row_norm * centroid_norm) *
         (1.0 + kDoubleSlack);
}

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
  return lower_bounds_.size() * sizeof(float) + previous_.size() * sizeof(float) +
         local_sums_.sums.size() * sizeof(std::int64_t);
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
    labels.assign(n, 0);
  }
  squared_distances.resize(n);
  const int groups = groups_;

  Layout layout;
  layout.norms.resize(k);
  layout.norm_of.resize(k);
  layout.minus_two_by_col.resize(static_cast<std::size_t>(k) * d);
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
  for (int p = 0; p < k; ++p) {
    const int c = order_[p];
    layout.norms[p] = layout.norm_of[c];
    for (int j = 0; j < d; ++j) {
      layout.minus_two_by_col[static_cast<std::size_t>(j) * k + p] =
          layout.minus_two_rows[static_cast<std::size_t>(c) * d + j];
    }
  }
  // How far each group's centroids moved since the last step: an upper bound on the exact
  // distance between the float centroids, so a lower bound minus it stays a lower bound.
  std::vector<double> group_drift(groups, 0.0);
  if (!first) {
    for (int c = 0; c < k; ++c) {
      double moved = 0;
      for (int j = 0; j < d; ++j) {
        const double delta = static_cast<double>(current[static_cast<std::size_t>(c) * d + j]) -
                             previous_[static_cast<std::size_t>(c) * d + j];
        moved += delta * delta;
      }
      group_drift[group_of_[c]] =
          std::max(group_drift[group_of_[c]], std::sqrt(moved) * (1 + kDoubleSlack));
    }
  }

  const Eigen::Index chunks = (n + kChunkRows - 1) / kChunkRows;
  const int threads = static_cast<int>(
      std::max<Eigen::Index>(1, std::min<Eigen::Index>(omp_get_max_threads(), chunks)));
  std::vector<LloydSums> thread_sums(threads, LloydSums(k, d));
  std::vector<std::int64_t> thread_evaluations(threads, 0);
  const float* by_col = layout.minus_two_by_col.data();

#pragma omp parallel num_threads(threads)
  {
    const int thread = omp_get_thread_num();
    LloydSums& mine = thread_sums[thread];
    std::int64_t evaluations = 0;
    std::vector<float> values(k);
    std::vector<char> open(groups);
    // Kernel values of the centroids of group g into values[position].
    auto evaluate_group = [&](const float* x, int g) {
      const int begin = group_begin_[g], end = group_begin_[g + 1];
      float* v = values.data();
      for (int p = begin; p < end; ++p) v[p] = layout.norms[p];
      for (int j = 0; j < d; ++j) {
        const float xj = x[j];
        const float* column = by_col + static_cast<std::size_t>(j) * k;
        for (int p = begin; p < end; ++p) v[p] = std::fma(xj, column[p], v[p]);
      }
      evaluations += end - begin;
    };
#pragma omp for schedule(static)
    for (Eigen::Index chunk = 0; chunk < chunks; ++chunk) {
      const Eigen::Index chunk_end = std::min(n, (chunk + 1) * kChunkRows);
      for (Eigen::Index i = chunk * kChunkRows; i < chunk_end; ++i) {
        const float* x = features.row(i).data();
        float* bounds = lower_bounds_.data() + static_cast<std::size_t>(i) * groups;
        const double norm = row_norms[i];
        // ‖x‖² is a float of a double sum: within 2u of the exact value (3u with slack).
        const double norm_high = norm * (1 + 3 * kFloatUnitRoundoff);
        const double norm_low = norm * (1 - 3 * kFloatUnitRoundoff);
        const double margin = kernel_rounding_bound(d, std::sqrt(norm_high), max_centroid_norm);
        const double slack = kDoubleSlack * (std::sqrt(norm_high) + max_centroid_norm);
        // A lower bound on the exact distance to a centroid whose kernel value is `value`.
        auto distance_at_least = [&](float value) {
          const double squared = static_cast<double>(value) + norm_low - margin;
          return float_at_most(squared > 0 ? std::sqrt(squared) * (1 - kDoubleSlack) - slack : 0);
        };

        const int old_label = first ? -1 : labels[i];
        float old_value = kInfinity;
        double threshold = 0;  // a centroid farther than this cannot beat old_label
        bool any_open = first;
        if (first) {
          std::fill(open.begin(), open.end(), 1);
        } else {
          old_value = kernel_value(
              x, layout.minus_two_rows.data() + static_cast<std::size_t>(old_label) * d,
              layout.norm_of[old_label], d);
          ++evaluations;
          const double squared = static_cast<double>(old_value) + norm_high + margin;
          threshold = (squared > 0 ? std::sqrt(squared) : 0) * (1 + kDoubleSlack) + slack;
          for (int g = 0; g < groups; ++g) {
            const float moved =
                float_at_most(static_cast<double>(bounds[g]) - group_drift[g] - slack);
            bounds[g] = moved;
            open[g] = moved <= threshold;
            any_open |= open[g] != 0;
          }
        }
        int best = old_label;
        float best_value = old_value;
        if (any_open) {
          for (int g = 0; g < groups; ++g) {
            if (!open[g]) continue;
            evaluate_group(x, g);
            for (int p = group_begin_[g]; p < group_begin_[g + 1]; ++p) {
              const int c = order_[p];
              if (best < 0 || values[p] < best_value || (values[p] == best_value && c < best)) {
                best = c;
                best_value = values[p];
              }
            }
          }
          // Fresh bounds for the groups evaluated: the nearest centroid other than the label.
          for (int g = 0; g < groups; ++g) {
            if (!open[g]) continue;
            float nearest_other = kInfinity;
            for (int p = group_begin_[g]; p < group_begin_[g + 1]; ++p) {
              if (order_[p] != best) nearest_other = std::min(nearest_other, values[p]);
            }
            bounds[g] = nearest_other == kInfinity ? kInfinity : distance_at_least(nearest_other);
          }
          // The old label joins its group's bound when it was not evaluated again.
          if (!first && best != old_label && !open[group_of_[old_label]]) {
            float& b = bounds[group_of_[old_label]];
            b = std::min(b, distance_at_least(old_value));
          }
        }
        squared_distances[i] = std::max(0.0f, row_norms[i] + best_value);
        if (first || best != old_label) {
          const float* row = x;
          std::int64_t* to = mine.sums.data() + static_cast<std::size_t>(best) * d;
          for (int j = 0; j < d; ++j) to[j] += formats[j].to_fixed(row[j]);
          ++mine.counts[best];
          if (!first) {
            std::int64_t* from = mine.sums.data() + static_cast<std::size_t>(old_label) * d;
            for (int j = 0; j < d; ++j) from[j] -= formats[j].to_fixed(row[j]);
            --mine.counts[old_label];
          }
          labels[i] = best;
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
  }
  sums.sums = local_sums_.sums;
  sums.counts = local_sums_.counts;
  previous_ = std::move(current);
  started_ = true;
}

}  // namespace microseg
