#!/usr/bin/env python3
"""Side-by-side benchmark of microseg and scikit-learn on the same data and the same cores.

Called by bench/run.sh. For each size (n, d, k) it generates float32 data and k initial
centroids (bench/make_data.py), then measures in one session:
  - the machine's FP32 FMA peak (bench/fma_peak, 2 threads);
  - microseg Lloyd at 2 ranks x 1 thread, 1 rank x 2 threads and 1 rank x 1 thread, from the
    same initial centroids, fixed iteration count, tol 0, no scaling: median ms per iteration,
    GFLOP/s, fraction of peak, end-to-end seconds, read and write seconds, peak RSS per rank;
  - scikit-learn lloyd and elkan with the same centroids, iterations and tol, 2 threads;
  - (first size) k-means|| against scikit-learn's k-means++: seeding time and the inertia after
    convergence at tol 1e-4.
Timings are medians of repeated runs where stated; compare ratios from one run only.
"""
import argparse
import os
import re
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
PY = "/usr/bin/python3"


def sh(cmd, env=None):
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env)
    if proc.returncode != 0:
        sys.exit(f"failed: {' '.join(cmd)}\n{proc.stdout}\n{proc.stderr}")
    return proc


def microseg(build, ranks, threads, args):
    """Runs microseg under /usr/bin/time per rank; returns (log, wall seconds, RSS MiB per rank)."""
    env = dict(os.environ, OMP_NUM_THREADS=str(threads))
    cmd = ["mpiexec", "--oversubscribe", "--bind-to", "none", "-n", str(ranks), "/usr/bin/time",
           "-f", "RSS_KB %M", os.path.join(build, "microseg")] + [str(a) for a in args]
    start = time.perf_counter()
    proc = sh(cmd, env)
    wall = time.perf_counter() - start
    rss = [int(m) / 1024 for m in re.findall(r"RSS_KB (\d+)", proc.stderr)]
    return proc.stdout, wall, rss


def parse_log(log):
    iterations = [float(m) for m in re.findall(r"^iteration\s+\d+ .* ([0-9.]+) s$", log, re.M)]
    seconds = dict(re.findall(r"(\w+) ([0-9.]+)", log.split("seconds:")[1].splitlines()[0]))
    inertia = float(re.search(r"quality: inertia ([0-9.e+]+)", log).group(1))
    return iterations, {k: float(v) for k, v in seconds.items()}, inertia


def sklearn(data, init, iterations, tol=0.0, algorithms="lloyd,elkan", kmeanspp=False):
    cmd = [PY, os.path.join(HERE, "sklearn_kmeans.py"), data, init, "--iterations",
           str(iterations), "--tol", str(tol), "--algorithms", algorithms]
    if kmeanspp:
        cmd.append("--kmeanspp")
    out = sh(cmd).stdout
    return {k: float(v) for k, v in re.findall(r"^(\w+) (\S+)$", out, re.M)}


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--build", required=True)
    parser.add_argument("--dir", required=True)
    parser.add_argument("--sizes", default="2000000x24x64,2000000x24x1000,10000000x32x100")
    parser.add_argument("--iterations", default="20,10,10")
    args = parser.parse_args()
    os.makedirs(args.dir, exist_ok=True)
    peak_out = sh([os.path.join(args.build, "bench", "fma_peak")],
                  dict(os.environ, OMP_NUM_THREADS="2")).stdout
    peak = float(re.search(r"GFLOP/s ([0-9.]+)", peak_out).group(1))
    print(f"# FP32 FMA peak, 2 threads: {peak:.1f} GFLOP/s")
    print(f"# load average at start: {os.getloadavg()[0]:.2f}")
    sizes = [tuple(int(v) for v in s.split("x")) for s in args.sizes.split(",")]
    iteration_counts = [int(v) for v in args.iterations.split(",")]
    for index, ((n, d, k), iters) in enumerate(zip(sizes, iteration_counts)):
        data = os.path.join(args.dir, f"x-{n}-{d}.h5")
        init = os.path.join(args.dir, f"init-{n}-{d}-{k}.h5")
        if not (os.path.exists(data) and os.path.exists(init)):
            sh([PY, os.path.join(HERE, "make_data.py"), data, init, "--n", str(n), "--d", str(d),
                "--k", str(k)])
        gflop = 2.0 * n * k * d / 1e9
        print(f"\n## n = {n:,}, d = {d}, k = {k}: {gflop:.2f} GFLOP per Lloyd iteration, "
              f"{n * d * 4 / 2**20:.0f} MiB of float32 features\n")
        print("| configuration | ms/iteration (median) | GFLOP/s | % of peak | end-to-end s "
              "| read s | write s | peak RSS MiB per rank | final inertia |")
        print("|---|---|---|---|---|---|---|---|---|")
        results = {}
        for ranks, threads in ((2, 1), (1, 2), (1, 1)):
            out = os.path.join(args.dir, f"run-{n}-{d}-{k}-{ranks}x{threads}")
            log, wall, rss = microseg(args.build, ranks, threads, [
                "segment", "--input", data, "--k", k, "--output", out, "--init-centroids", init,
                "--scale", "none", "--max-iter", iters, "--tol", 0, "--silhouette-sample", 1000])
            per_iter, seconds, inertia = parse_log(log)
            ms = 1e3 * statistics.median(per_iter)
            results[(ranks, threads)] = ms
            print(f"| microseg {ranks} rank(s) x {threads} thread(s) | {ms:.1f} | "
                  f"{gflop / ms * 1e3:.1f} | {100 * gflop / ms * 1e3 / peak:.0f} | {wall:.2f} | "
                  f"{seconds.get('read', 0):.2f} | {seconds.get('write', 0):.2f} | "
                  f"{', '.join(f'{r:.0f}' for r in rss)} | {inertia:.8g} |")
        sk = sklearn(data, init, iters)
        for algorithm in ("lloyd", "elkan"):
            ms = sk[f"{algorithm}_ms_per_iteration"]
            print(f"| scikit-learn {algorithm}, 2 threads | {ms:.1f} | {gflop / ms * 1e3:.1f} | "
                  f"{100 * gflop / ms * 1e3 / peak:.0f} | {sk[f'{algorithm}_seconds']:.2f} "
                  f"(fit only) | | | | {sk[f'{algorithm}_inertia']:.8g} |")
        best = min(results[(2, 1)], results[(1, 2)])
        print(f"\nratios: scikit-learn lloyd / microseg best = "
              f"{sk['lloyd_ms_per_iteration'] / best:.2f}x; elkan / microseg best = "
              f"{sk['elkan_ms_per_iteration'] / best:.2f}x; strong scaling 1 -> 2 ranks = "
              f"{results[(1, 1)] / results[(2, 1)]:.2f}x; 1 -> 2 threads = "
              f"{results[(1, 1)] / results[(1, 2)]:.2f}x")
        if index == 0:
            out = os.path.join(args.dir, f"seed-{n}-{d}-{k}")
            log, wall, _ = microseg(args.build, 2, 1, [
                "segment", "--input", data, "--k", k, "--output", out, "--scale", "none",
                "--init", "kmeans-parallel", "--tol", "1e-4", "--max-iter", 300,
                "--silhouette-sample", 1000])
            _, seconds, inertia = parse_log(log)
            sk = sklearn(data, init, 1, algorithms="lloyd", kmeanspp=True)
            print(f"\nseeding: microseg k-means|| (2 ranks) {seconds['init']:.2f} s, inertia after "
                  f"convergence {inertia:.8g}; scikit-learn k-means++ (2 threads) "
                  f"{sk['kmeanspp_seconds']:.2f} s, inertia after convergence "
                  f"{sk['kmeanspp_converged_inertia']:.8g}; speed-up "
                  f"{sk['kmeanspp_seconds'] / max(seconds['init'], 1e-9):.1f}x, inertia ratio "
                  f"{inertia / sk['kmeanspp_converged_inertia']:.4f}")
        sys.stdout.flush()


if __name__ == "__main__":
    main()
