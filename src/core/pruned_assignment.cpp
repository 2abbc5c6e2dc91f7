#include "microseg/core/pruned_assignment.hpp"

#include <omp.h>

#include <algorithm>
#include <stdexcept>

#include "pruned_bounds.hpp"
#include "pruned_centroids.hpp"
#include "pruned_chunk.hpp"

namespace microseg {
namespace {

constexpr Eigen::Index kChunkRows = 2048;  // rows per OpenMP work item, as assign_and_accumulate

}  // namespace

double kernel_rounding_bound(int d, double row_norm, double centroid_norm) {
  return pruned::rounding_bound(pruned::step_margins(d, centroid_norm), row_norm);
}

PrunedLloydStep::PrunedLloydStep(const LloydRows& rows, int k, int groups)
    : LloydStep(rows),
      k_(k),
      d_(static_cast<int>(rows.features.cols())),
      requested_groups_(std::clamp(groups, 1, std::max(k, 1))),
      local_sums_(k, d_, rows.weights != nullptr) {
  if (k < 1 || d_ < 1) throw std::invalid_argument("PrunedLloydStep: k and d must be positive");
  if (rows.row_norms.size() != labels_.size() ||
      rows.formats.size() != static_cast<std::size_t>(d_) ||
      (rows.weights && rows.weights->size() != labels_.size())) {
    throw std::invalid_argument(
        "PrunedLloydStep: row norms, formats or weights do not match the rows");
  }
}

std::size_t PrunedLloydStep::bytes() const {
  return lower_bounds_.size() * sizeof(float) + label_values_.size() * sizeof(float) +
         previous_.size() * sizeof(float) +
         (local_sums_.sums.size() + local_sums_.weights.size()) * sizeof(std::int64_t);
}

void PrunedLloydStep::check_shapes(const CentroidMatrix& centroids, const LloydSums& sums) const {
  if (centroids.rows() != k_ || centroids.cols() != d_ ||
      sums.counts.size() != static_cast<std::size_t>(k_) ||
      sums.sums.size() != static_cast<std::size_t>(k_) * d_ ||
      sums.weights.size() != local_sums_.weights.size()) {
    throw std::invalid_argument("PrunedLloydStep::step: centroids or sums do not match");
  }
}

// The groups, from the first step's centroids, and the per-row state they size.
void PrunedLloydStep::start(const std::vector<float>& centroids) {
  groups_ = pruned::group_centroids(centroids, k_, d_, requested_groups_);
  lower_bounds_.assign(labels_.size() * groups_.count(), 0.0f);
  label_values_.assign(labels_.size(), pruned::kInfinity);
}

void PrunedLloydStep::step(const CentroidMatrix& centroids, LloydSums& sums) {
  check_shapes(centroids, sums);
  const bool first = !started_;
  std::vector<float> floats = pruned::float_centroids(centroids);
  if (first) start(floats);
  pruned::StepCentroids current(centroids, std::move(floats), groups_);
  const pruned::CentroidDrift drift(current, previous_, groups_);
  const pruned::StepInputs inputs{rows_,
                                  current,
                                  groups_,
                                  drift,
                                  pruned::step_margins(d_, current.max_norm),
                                  first,
                                  active_kernel() == KernelIsa::avx512};
  const pruned::RowState state{labels_.data(), squared_distances_.data(), lower_bounds_.data(),
                               label_values_.data()};

  const Eigen::Index n = rows_.features.rows();
  const Eigen::Index chunks = (n + kChunkRows - 1) / kChunkRows;
  const int threads = static_cast<int>(
      std::max<Eigen::Index>(1, std::min<Eigen::Index>(omp_get_max_threads(), chunks)));
  const int chunk_capacity = static_cast<int>(std::min(n, kChunkRows));
  std::vector<LloydSums> thread_sums(threads, LloydSums(k_, d_, rows_.weights != nullptr));
  std::vector<std::int64_t> thread_evaluations(threads, 0);
#pragma omp parallel num_threads(threads)
  {
    const int thread = omp_get_thread_num();
    pruned::ChunkWork work(inputs, state, chunk_capacity);
#pragma omp for schedule(static)
    for (Eigen::Index chunk = 0; chunk < chunks; ++chunk) {
      const Eigen::Index begin = chunk * kChunkRows;
      work.assign(begin, static_cast<int>(std::min(n, begin + kChunkRows) - begin),
                  thread_sums[thread]);
    }
    thread_evaluations[thread] = work.evaluations();
  }
  // Integer sums: the rank's sums equal the ones a fresh pass would give, in any merge order.
  last_evaluations_ = 0;
  for (int t = 0; t < threads; ++t) {
    for (std::size_t i = 0; i < local_sums_.sums.size(); ++i)
      local_sums_.sums[i] += thread_sums[t].sums[i];
    for (int c = 0; c < k_; ++c) local_sums_.counts[c] += thread_sums[t].counts[c];
    for (std::size_t c = 0; c < local_sums_.weights.size(); ++c) {
      local_sums_.weights[c] += thread_sums[t].weights[c];
    }
    last_evaluations_ += thread_evaluations[t];
    sums.reassigned += thread_sums[t].reassigned;
  }
  sums.sums = local_sums_.sums;
  sums.counts = local_sums_.counts;
  sums.weights = local_sums_.weights;
  previous_ = std::move(current.floats);
  started_ = true;
}

}  // namespace microseg
