#include "microseg/core/assignment.hpp"

#include <omp.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <limits>
#include <stdexcept>
#include <string>

#include "multiply_add.hpp"
#include "nearest_centroid_kernels.hpp"

namespace microseg {
namespace {

// Centroids are padded to a multiple of this many lanes (one AVX-512 register of floats).
constexpr int kLanes = 16;
// Rows processed together so each centroid load feeds several independent FMA chains.
constexpr int kRowBlock = 4;

using detail::multiply_add;

// ‖c‖² − 2 x·c for `Rows` rows and every padded centroid lane, into out[r * k_padded + c]. Each
// lane accumulates over j = 0..d-1 in the same order whatever the block, so a row's values do
// not depend on its neighbours.
template <int Rows>
void partial_distances(const float* const* rows, const AssignmentCentroids& centroids, float* out) {
  const int d = centroids.d(), k_padded = centroids.k_padded();
  const float* transposed = centroids.transposed();
  const float* norms = centroids.squared_norms();
  for (int block = 0; block < k_padded; block += kLanes) {
    float acc[Rows][kLanes];
    for (int r = 0; r < Rows; ++r) {
      for (int l = 0; l < kLanes; ++l) acc[r][l] = norms[block + l];
    }
    for (int j = 0; j < d; ++j) {
      const float* column = transposed + static_cast<std::size_t>(j) * k_padded + block;
#pragma GCC unroll 8
      for (int r = 0; r < Rows; ++r) {
        const float factor = -2.0f * rows[r][j];
        for (int l = 0; l < kLanes; ++l) acc[r][l] = multiply_add(factor, column[l], acc[r][l]);
      }
    }
    for (int r = 0; r < Rows; ++r) {
      for (int l = 0; l < kLanes; ++l)
        out[static_cast<std::size_t>(r) * k_padded + block + l] = acc[r][l];
    }
  }
}

// Runs the kernel over all rows in blocks and hands each row's partial distances to `visit`.
template <class Visit>
void for_each_row_distances(const FeatureMatrix& features, const AssignmentCentroids& centroids,
                            Visit&& visit) {
  const Eigen::Index n = features.rows();
  const std::size_t k_padded = static_cast<std::size_t>(centroids.k_padded());
  std::vector<float> buffer(kRowBlock * k_padded);
  Eigen::Index i = 0;
  for (; i + kRowBlock <= n; i += kRowBlock) {
    const float* rows[kRowBlock];
    for (int r = 0; r < kRowBlock; ++r) rows[r] = features.row(i + r).data();
    partial_distances<kRowBlock>(rows, centroids, buffer.data());
    for (int r = 0; r < kRowBlock; ++r) visit(i + r, buffer.data() + r * k_padded);
  }
  for (; i < n; ++i) {
    const float* rows[1] = {features.row(i).data()};
    partial_distances<1>(rows, centroids, buffer.data());
    visit(i, buffer.data());
  }
}

void check_shapes(const FeatureMatrix& features, const AssignmentCentroids& centroids,
                  const char* caller) {
  if (centroids.k() < 1) throw std::invalid_argument(std::string(caller) + ": no centroids");
  if (features.cols() != centroids.d()) {
    throw std::invalid_argument(std::string(caller) + ": rows have " +
                                std::to_string(features.cols()) + " features, centroids " +
                                std::to_string(centroids.d()));
  }
}

}  // namespace

AssignmentCentroids::AssignmentCentroids(const CentroidMatrix& centroids)
    : k_(static_cast<int>(centroids.rows())),
      d_(static_cast<int>(centroids.cols())),
      k_padded_((k_ + kLanes - 1) / kLanes * kLanes),
      transposed_(static_cast<std::size_t>(d_) * k_padded_, 0.0f),
      minus_two_transposed_(static_cast<std::size_t>(d_) * k_padded_, 0.0f),
      minus_two_packed_(static_cast<std::size_t>(d_) * k_padded_, 0.0f),
      // Padding lanes: zero coordinates and an infinite norm, so their distance is +inf for any
      // finite row (never NaN) and they are never scanned by the argmin anyway.
      squared_norms_(k_padded_, std::numeric_limits<float>::infinity()) {
  for (int c = 0; c < k_; ++c) {
    double norm = 0;
    for (int j = 0; j < d_; ++j) {
      const float value = static_cast<float>(centroids(c, j));
      transposed_[static_cast<std::size_t>(j) * k_padded_ + c] = value;
      minus_two_transposed_[static_cast<std::size_t>(j) * k_padded_ + c] = -2.0f * value;
      minus_two_packed_[static_cast<std::size_t>(c / kPackedBlock) * d_ * kPackedBlock +
                        static_cast<std::size_t>(j) * kPackedBlock + c % kPackedBlock] =
          -2.0f * value;
      norm += static_cast<double>(value) * value;
    }
    squared_norms_[c] = static_cast<float>(norm);
  }
}

std::vector<float> row_squared_norms(const FeatureMatrix& features) {
  std::vector<float> norms(features.rows());
  for (Eigen::Index i = 0; i < features.rows(); ++i) {
    double norm = 0;
    for (Eigen::Index j = 0; j < features.cols(); ++j) {
      const double x = features(i, j);
      norm += x * x;
    }
    norms[i] = static_cast<float>(norm);
  }
  return norms;
}

std::string to_string(KernelIsa isa) {
  switch (isa) {
    case KernelIsa::portable:
      return "portable";
    case KernelIsa::avx2:
      return "avx2";
    case KernelIsa::avx512:
      return "avx512";
  }
  throw std::invalid_argument("to_string: invalid KernelIsa");
}

std::vector<KernelIsa> supported_kernels() {
  std::vector<KernelIsa> supported{KernelIsa::portable};
  __builtin_cpu_init();
  if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) {
    supported.push_back(KernelIsa::avx2);
  }
  // The AVX-512 kernels also use the 256-bit masked forms (VL) and float→int64 conversions
  // (DQ), which every AVX-512 server core since Skylake has; a core without them uses AVX2.
  if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512vl") &&
      __builtin_cpu_supports("avx512dq")) {
    supported.push_back(KernelIsa::avx512);
  }
  return supported;
}

KernelIsa active_kernel() {
  static const KernelIsa chosen = [] {
    const auto supported = supported_kernels();
    if (const char* wanted = std::getenv("MICROSEG_KERNEL")) {
      for (KernelIsa isa : supported) {
        if (to_string(isa) == wanted) return isa;
      }
    }
    return supported.back();
  }();
  return chosen;
}

namespace {

kernels::NearestCentroidKernel kernel_for(KernelIsa isa) {
  switch (isa) {
    case KernelIsa::avx512:
      return kernels::nearest_centroid_avx512;
    case KernelIsa::avx2:
      return kernels::nearest_centroid_avx2;
    case KernelIsa::portable:
      break;
  }
  return kernels::nearest_centroid_portable;
}

// Rows per chunk handed to one thread: large enough to amortise scheduling, small enough to
// balance two threads on modest blocks.
constexpr Eigen::Index kChunkRows = 2048;

}  // namespace

void nearest_centroids(const FeatureMatrix& features, const AssignmentCentroids& centroids,
                       KernelIsa isa, std::vector<std::int32_t>& nearest,
                       std::vector<float>& partial_distances) {
  check_shapes(features, centroids, "nearest_centroids");
  const Eigen::Index n = features.rows();
  nearest.resize(n);
  partial_distances.resize(n);
  const kernels::NearestCentroidKernel kernel = kernel_for(isa);
  const Eigen::Index chunks = (n + kChunkRows - 1) / kChunkRows;
#pragma omp parallel for schedule(static)
  for (Eigen::Index chunk = 0; chunk < chunks; ++chunk) {
    const Eigen::Index begin = chunk * kChunkRows, end = std::min(n, begin + kChunkRows);
    kernel({features.row(begin).data(), end - begin, centroids.d()}, centroids,
           nearest.data() + begin, partial_distances.data() + begin);
  }
}

void assign_and_accumulate(const LloydRows& rows, const AssignmentCentroids& centroids,
                           std::vector<std::int32_t>& labels, std::vector<float>& squared_distances,
                           LloydSums& sums) {
  const FeatureMatrix& features = rows.features;
  const std::vector<float>& row_norms = rows.row_norms;
  const std::vector<FixedPointFormat64>& formats = rows.formats;
  check_shapes(features, centroids, "assign_and_accumulate");
  const int k = centroids.k(), d = centroids.d();
  const Eigen::Index n = features.rows();
  if (row_norms.size() != static_cast<std::size_t>(n) ||
      formats.size() != static_cast<std::size_t>(d) ||
      sums.counts.size() != static_cast<std::size_t>(k) ||
      sums.sums.size() != static_cast<std::size_t>(k) * d) {
    throw std::invalid_argument("assign_and_accumulate: row norms, formats or sums do not match");
  }
  labels.resize(n);
  squared_distances.resize(n);
  const KernelIsa isa = active_kernel();
  const kernels::NearestCentroidKernel kernel = kernel_for(isa);
  const kernels::FixedPointAccumulator accumulate = isa == KernelIsa::avx512
                                                        ? kernels::accumulate_fixed_avx512
                                                        : kernels::accumulate_fixed_portable;
  std::vector<double> scales(d);
  for (int j = 0; j < d; ++j) scales[j] = formats[j].scale();
  const bool weighted = rows.weights != nullptr;
  if (weighted && (sums.weights.size() != static_cast<std::size_t>(k) ||
                   rows.weights->size() != static_cast<std::size_t>(n))) {
    throw std::invalid_argument("assign_and_accumulate: weights do not match the rows or sums");
  }
  const Eigen::Index chunks = (n + kChunkRows - 1) / kChunkRows;
  const int threads = static_cast<int>(std::min<Eigen::Index>(omp_get_max_threads(), chunks));
  std::vector<LloydSums> thread_sums(std::max(threads, 1), LloydSums(k, d, weighted));
#pragma omp parallel num_threads(std::max(threads, 1))
  {
    // The chunk's labels before the step, to count the changes without a copy of every label.
    std::vector<std::int32_t> old_labels(static_cast<std::size_t>(kChunkRows));
#pragma omp for schedule(static)
    for (Eigen::Index chunk = 0; chunk < chunks; ++chunk) {
      LloydSums& mine = thread_sums[omp_get_thread_num()];
      const Eigen::Index begin = chunk * kChunkRows, end = std::min(n, begin + kChunkRows);
      std::copy(labels.begin() + begin, labels.begin() + end, old_labels.begin());
      const kernels::RowBlock block{features.row(begin).data(), end - begin, d};
      kernel(block, centroids, labels.data() + begin, squared_distances.data() + begin);
      for (Eigen::Index i = begin; i < end; ++i) {
        squared_distances[i] = std::max(0.0f, row_norms[i] + squared_distances[i]);
        mine.reassigned += labels[i] != old_labels[i - begin];
      }
      // Weighted rows take the scalar accumulator: the unweighted path keeps its vector one.
      if (weighted) {
        kernels::accumulate_fixed_weighted(block, labels.data() + begin,
                                           rows.weights->data() + begin, scales.data(),
                                           rows.weight_format.scale(), mine);
      } else {
        accumulate(block, labels.data() + begin, scales.data(), mine);
      }
    }
  }
  // Integer sums: the merge order cannot change the result.
  for (const LloydSums& partial : thread_sums) {
    sums.reassigned += partial.reassigned;
    for (std::size_t i = 0; i < partial.sums.size(); ++i) sums.sums[i] += partial.sums[i];
    for (std::size_t c = 0; c < partial.counts.size(); ++c) sums.counts[c] += partial.counts[c];
    for (std::size_t c = 0; c < partial.weights.size(); ++c) sums.weights[c] += partial.weights[c];
  }
}

CentroidMatrix centroids_from_sums(const LloydSums& global_sums,
                                   const std::vector<FixedPointFormat64>& formats,
                                   const CentroidMatrix& previous,
                                   const FixedPointFormat64& weight_format) {
  const Eigen::Index k = previous.rows(), d = previous.cols();
  const bool weighted = !global_sums.weights.empty();
  if (global_sums.counts.size() != static_cast<std::size_t>(k) ||
      global_sums.sums.size() != static_cast<std::size_t>(k * d) ||
      formats.size() != static_cast<std::size_t>(d) ||
      (weighted && global_sums.weights.size() != static_cast<std::size_t>(k))) {
    throw std::invalid_argument("centroids_from_sums: sums, formats and centroids do not match");
  }
  CentroidMatrix next = previous;
  for (Eigen::Index c = 0; c < k; ++c) {
    if (segment_is_empty(global_sums, static_cast<std::size_t>(c))) continue;
    const double divisor = weighted ? weight_format.to_double(global_sums.weights[c])
                                    : static_cast<double>(global_sums.counts[c]);
    for (Eigen::Index j = 0; j < d; ++j) {
      next(c, j) = formats[j].to_double(global_sums.sums[c * d + j]) / divisor;
    }
  }
  return next;
}

double total_squared_shift(const CentroidMatrix& old_centroids,
                           const CentroidMatrix& new_centroids) {
  if (old_centroids.rows() != new_centroids.rows() ||
      old_centroids.cols() != new_centroids.cols()) {
    throw std::invalid_argument("total_squared_shift: centroid shapes differ");
  }
  double shift = 0;
  for (Eigen::Index c = 0; c < old_centroids.rows(); ++c) {
    for (Eigen::Index j = 0; j < old_centroids.cols(); ++j) {
      const double delta = new_centroids(c, j) - old_centroids(c, j);
      shift += delta * delta;
    }
  }
  return shift;
}

NearestTwo nearest_two(const FeatureMatrix& features, const CentroidMatrix& centroids) {
  const AssignmentCentroids layout(centroids);
  check_shapes(features, layout, "nearest_two");
  const int k = layout.k(), d = layout.d();
  const Eigen::Index n = features.rows();
  NearestTwo result;
  result.nearest.resize(n);
  result.second.resize(n);
  result.nearest_distance.resize(n);
  result.second_distance.resize(n);
  if (active_kernel() == KernelIsa::avx512) {
    // The same scan as below on the AVX-512 tile, rows split over threads in fixed chunks.
    const Eigen::Index chunks = (n + kChunkRows - 1) / kChunkRows;
#pragma omp parallel for schedule(static)
    for (Eigen::Index chunk = 0; chunk < chunks; ++chunk) {
      const Eigen::Index begin = chunk * kChunkRows, end = std::min(n, begin + kChunkRows);
      kernels::nearest_two_avx512({features.row(begin).data(), end - begin, d}, layout,
                                  result.nearest.data() + begin, result.second.data() + begin);
    }
  } else {
    for_each_row_distances(features, layout, [&](Eigen::Index i, const float* partial) {
      int first = 0, second = -1;
      float first_value = partial[0];
      float second_value = std::numeric_limits<float>::infinity();
      for (int c = 1; c < k; ++c) {
        const float value = partial[c];
        if (value < first_value) {
          second = first;
          second_value = first_value;
          first = c;
          first_value = value;
        } else if (second < 0 || value < second_value) {
          second = c;
          second_value = value;
        }
      }
      result.nearest[i] = first;
      result.second[i] = second;
    });
  }
  // The two double distances of 4 rows at a time: 8 independent chains, each the sequence of
  // squared_distance, so the values are the same as one call per distance.
  constexpr Eigen::Index kRowsTogether = 4;
  const Eigen::Index groups = (n + kRowsTogether - 1) / kRowsTogether;
#pragma omp parallel for schedule(static)
  for (Eigen::Index group = 0; group < groups; ++group) {
    const Eigen::Index i0 = group * kRowsTogether;
    const int rows_here = static_cast<int>(std::min(kRowsTogether, n - i0));
    const float* row[2 * kRowsTogether];
    const double* center[2 * kRowsTogether];
    double sum[2 * kRowsTogether];
    for (int q = 0; q < 2 * kRowsTogether; ++q) {
      const Eigen::Index i = i0 + std::min(q / 2, rows_here - 1);
      const int c = q % 2 == 0 ? result.nearest[i] : std::max(result.second[i], 0);
      row[q] = features.row(i).data();
      center[q] = centroids.row(c).data();
      sum[q] = 0;
    }
    for (int j = 0; j < d; ++j) {
      for (int q = 0; q < 2 * kRowsTogether; ++q) {
        const double delta = static_cast<double>(row[q][j]) - center[q][j];
        sum[q] = multiply_add(delta, delta, sum[q]);
      }
    }
    for (int r = 0; r < rows_here; ++r) {
      result.nearest_distance[i0 + r] = std::sqrt(sum[2 * r]);
      result.second_distance[i0 + r] = result.second[i0 + r] < 0
                                           ? std::numeric_limits<double>::infinity()
                                           : std::sqrt(sum[2 * r + 1]);
    }
  }
  return result;
}

double squared_distance(const float* row, const double* center, int d) {
  double sum = 0;
  for (int j = 0; j < d; ++j) {
    const double delta = static_cast<double>(row[j]) - center[j];
    sum = multiply_add(delta, delta, sum);
  }
  return sum;
}

}  // namespace microseg
