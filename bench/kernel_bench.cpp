// Times the nearest-centroid kernel variants and the full assign_and_accumulate step on random
// data in one process: GFLOP/s counted as 2·n·k·d per pass, and as a share of this thread's
// FP32 FMA peak measured in the same process just before (16 independent AVX-512 FMA chains),
// so the ratio survives a loaded machine better than either figure alone.
// It also prices the exact (fixed-point) centroid sums: the same step with the kernel followed
// by the double sums an inexact implementation would keep, against assign_and_accumulate.
//   kernel_bench N D K [repeats]
#include <immintrin.h>
#include <omp.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <random>
#include <string>
#include <vector>

#include "microseg/core/assignment.hpp"

using namespace microseg;

namespace {

struct Timing {
  double median, best;
};

// Median and best of `repeats` runs: on a shared machine the best is the run least disturbed.
template <class Work>
Timing time_runs(int repeats, const Work& work) {
  std::vector<double> times;
  for (int r = 0; r < repeats; ++r) {
    const auto start = std::chrono::steady_clock::now();
    work();
    times.push_back(
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
  }
  std::sort(times.begin(), times.end());
  return {times[times.size() / 2], times.front()};
}

// One thread's FP32 FMA rate: the best of a few short runs of 16 independent chains.
__attribute__((target("avx512f"))) double fma_peak_gflops() {
  double best = 0;
  for (int attempt = 0; attempt < 5; ++attempt) {
    __m512 acc[16];
    for (int c = 0; c < 16; ++c) acc[c] = _mm512_set1_ps(1.0f + c);
    const __m512 a = _mm512_set1_ps(0.999999f), b = _mm512_set1_ps(1e-7f);
    constexpr long kSteps = 2'000'000;
    const auto start = std::chrono::steady_clock::now();
    for (long i = 0; i < kSteps; ++i) {
      for (int c = 0; c < 16; ++c) acc[c] = _mm512_fmadd_ps(acc[c], a, b);
      // Keeps the chains in registers and alive without a store per step.
      __asm__ volatile(""
                       : "+v"(acc[0]), "+v"(acc[1]), "+v"(acc[2]), "+v"(acc[3]), "+v"(acc[4]),
                         "+v"(acc[5]), "+v"(acc[6]), "+v"(acc[7]));
      __asm__ volatile(""
                       : "+v"(acc[8]), "+v"(acc[9]), "+v"(acc[10]), "+v"(acc[11]), "+v"(acc[12]),
                         "+v"(acc[13]), "+v"(acc[14]), "+v"(acc[15]));
    }
    const double s =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    best = std::max(best, 2.0 * 16 * 16 * kSteps / s / 1e9);
  }
  return best;
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
  const bool avx512 = supported_kernels().back() == KernelIsa::avx512;
  const double peak = avx512 ? fma_peak_gflops() : 0;
  if (avx512) std::printf("FP32 FMA peak, 1 thread  %7.1f GFLOP/s\n", peak);
  // Share of one thread's peak (per thread when several run).
  const auto share = [&](double gflops) { return avx512 ? 100 * gflops / peak : 0.0; };
  const auto report = [&](const std::string& what, int threads, const Timing& t) {
    std::printf(
        "%-34s %d thread(s)  median %8.2f ms (%3.0f %% of peak)  best %8.2f ms (%3.0f %%)\n",
        what.c_str(), threads, t.median * 1e3, share(flops / t.median / 1e9 / threads),
        t.best * 1e3, share(flops / t.best / 1e9 / threads));
  };
  for (KernelIsa isa : supported_kernels()) {
    report("kernel " + to_string(isa), 1,
           time_runs(repeats, [&] { nearest_centroids(rows, layout, isa, labels, values); }));
  }
  const std::vector<float> norms = row_squared_norms(rows);
  const std::vector<FixedPointFormat64> formats(d, FixedPointFormat64::for_bound(30.0, n));
  const LloydRows lloyd_rows{rows, norms, formats};
  // What the exact sums cost, on one thread: assign_and_accumulate (kernel, squared distances,
  // int64 fixed-point sums) against the kernel, the same squared distances and plain double
  // sums, whose result would depend on the order of the rows (and so on the rank count).
  omp_set_num_threads(1);
  const Timing exact = time_runs(repeats, [&] {
    LloydSums sums(k, d);
    assign_and_accumulate(lloyd_rows, layout, labels, values, sums);
  });
  std::vector<double> double_sums;
  const Timing inexact = time_runs(repeats, [&] {
    nearest_centroids(rows, layout, active_kernel(), labels, values);
    double_sums.assign(static_cast<std::size_t>(k) * d, 0.0);
    std::vector<std::int64_t> counts(k, 0);
    for (long i = 0; i < n; ++i) {
      values[i] = std::max(0.0f, values[i] + norms[i]);
      double* sum = double_sums.data() + static_cast<std::size_t>(labels[i]) * d;
      for (int j = 0; j < d; ++j) sum[j] += rows(i, j);
      ++counts[labels[i]];
    }
  });
  report("step with exact int64 sums", 1, exact);
  report("step with plain double sums", 1, inexact);
  std::printf("exact sums overhead: %+.1f %% (median), %+.1f %% (best)\n",
              100 * (exact.median / inexact.median - 1), 100 * (exact.best / inexact.best - 1));
  for (int threads : {1, 2}) {
    omp_set_num_threads(threads);
    report("assign_and_accumulate (" + to_string(active_kernel()) + ")", threads,
           time_runs(repeats, [&] {
             LloydSums sums(k, d);
             assign_and_accumulate(lloyd_rows, layout, labels, values, sums);
           }));
  }
  return 0;
}
