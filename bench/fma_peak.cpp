// Measures this machine's FP32 FMA peak: every thread runs many independent AVX-512 (or AVX2)
// FMA chains, long enough for the clock to settle. Prints GFLOP/s (2 flops per lane per FMA).
#include <immintrin.h>
#include <omp.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>

namespace {

constexpr int kChains = 16;  // more than FMA latency × ports, so the units never wait

#if defined(__AVX512F__)
using Vector = __m512;
constexpr int kLanes = 16;
inline Vector splat(float v) {
  return _mm512_set1_ps(v);
}
inline Vector fma(Vector a, Vector b, Vector c) {
  return _mm512_fmadd_ps(a, b, c);
}
inline float sum(Vector v) {
  alignas(64) float lanes[16];
  _mm512_store_ps(lanes, v);
  float total = 0;
  for (float x : lanes) total += x;
  return total;
}
#else
using Vector = __m256;
constexpr int kLanes = 8;
inline Vector splat(float v) {
  return _mm256_set1_ps(v);
}
inline Vector fma(Vector a, Vector b, Vector c) {
  return _mm256_fmadd_ps(a, b, c);
}
inline float sum(Vector v) {
  alignas(32) float lanes[8];
  _mm256_store_ps(lanes, v);
  float total = 0;
  for (float x : lanes) total += x;
  return total;
}
#endif

float run_chains(long iterations, float seed) {
  Vector acc[kChains];
  for (int c = 0; c < kChains; ++c) acc[c] = splat(seed + c);
  const Vector a = splat(0.999999f), b = splat(1e-7f);
  for (long i = 0; i < iterations; ++i) {
    for (int c = 0; c < kChains; ++c) acc[c] = fma(acc[c], a, b);
  }
  Vector total = acc[0];
  for (int c = 1; c < kChains; ++c) total = fma(acc[c], splat(1.0f), total);
  return sum(total);
}

}  // namespace

int main(int argc, char** argv) {
  const long iterations = argc > 1 ? std::atol(argv[1]) : 400'000'000L / kChains;
  const int threads = omp_get_max_threads();
  float sink = 0;
  run_chains(iterations / 10, 1.0f);  // warm up the clock
  const auto start = std::chrono::steady_clock::now();
#pragma omp parallel reduction(+ : sink)
  sink += run_chains(iterations, 1.0f + omp_get_thread_num());
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  const double flops = 2.0 * kLanes * kChains * static_cast<double>(iterations) * threads;
  std::printf("threads %d  lanes %d  GFLOP/s %.1f  (sink %g)\n", threads, kLanes,
              flops / seconds / 1e9, static_cast<double>(sink));
  return 0;
}
