// Times the nearest-centroid kernel variants and the full assign_and_accumulate step on random
// data in one process: GFLOP/s counted as 2·n·k·d per pass.
//   kernel_bench N D K [repeats]
#include <omp.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <random>
#include <vector>

#include "microseg/core/assignment.hpp"

using namespace microseg;

namespace {

template <class Work>
double median_seconds(int repeats, const Work& work) {
  std::vector<double> times;
  for (int r = 0; r < repeats; ++r) {
    const auto start = std::chrono::steady_clock::now();
    work();
    times.push_back(
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
  }
  std::sort(times.begin(), times.end());
  return times[times.size() / 2];
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 4) {
    std::fprintf(stderr, "usage: kernel_bench N D K [repeats]\n");
    return 2;
  }
  const long n = std::atol(argv[1]);
  const int d = std::atoi(argv[2]), k = std::atoi(argv[3]);
  const int repeats = argc > 4 ? std::atoi(argv[4]) : 5;
  std::mt19937_64 engine(1);
  std::normal_distribution<float> value(0.0f, 3.0f);
  FeatureMatrix rows(n, d);
  for (long i = 0; i < n; ++i) {
    for (int j = 0; j < d; ++j) rows(i, j) = value(engine);
  }
  CentroidMatrix centroids(k, d);
  for (int c = 0; c < k; ++c) centroids.row(c) = rows.row(c * (n / k)).cast<double>();
  const AssignmentCentroids layout(centroids);
  const double flops = 2.0 * n * k * d;
  std::vector<std::int32_t> labels;
  std::vector<float> values;
  for (KernelIsa isa : supported_kernels()) {
    const double s =
        median_seconds(repeats, [&] { nearest_centroids(rows, layout, isa, labels, values); });
    std::printf("kernel %-8s 1 thread  %8.2f ms  %7.1f GFLOP/s\n", to_string(isa).c_str(), s * 1e3,
                flops / s / 1e9);
  }
  const std::vector<float> norms = row_squared_norms(rows);
  const std::vector<FixedPointFormat64> formats(d, FixedPointFormat64::for_bound(30.0, n));
  for (int threads : {1, 2}) {
    omp_set_num_threads(threads);
    const double s = median_seconds(repeats, [&] {
      LloydSums sums(k, d);
      assign_and_accumulate(rows, norms, layout, formats, labels, values, sums);
    });
    std::printf("assign_and_accumulate (%s) %d threads  %8.2f ms  %7.1f GFLOP/s\n",
                to_string(active_kernel()).c_str(), threads, s * 1e3, flops / s / 1e9);
  }
  return 0;
}
