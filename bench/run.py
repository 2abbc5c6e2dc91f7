#!/usr/bin/env python3
"""Side-by-side benchmark of microseg and scikit-learn on the same data and the same cores.

Called by bench/run.sh. For each size (n, d, k) it generates float32 data and k initial
centroids (bench/make_data.py), then measures in one session:
  - the machine's FP32 FMA peak (bench/fma_peak, 2 threads);
  - microseg Lloyd at 2 ranks x 1 thread, 1 rank x 2 threads and 1 rank x 1 thread, from the
    same initial centroids, fixed iteration count, tol 0, no scaling: median ms per iteration,
    GFLOP/s, fraction of peak, end-to-end seconds, read and write seconds, peak RSS per rank;
  - scikit-learn lloyd and elkan with the same centroids, iterations and tol, 2 threads;
  - the phases of each microseg run (read, scale, init, Lloyd, metrics, write) and their share
    of the run, so the HDF5 read and write shares are visible;
  - (sizes in --full-fit, by default those with k >= 500) a full fit to convergence at tol 1e-4
    from the same initial centroids: microseg with --lloyd auto (pruned at such k) and plain, on
    2 ranks x 1 thread, against scikit-learn lloyd and elkan, and the ratio to the faster of them;
  - (first size) k-means|| against scikit-learn's k-means++ over several seeds: seeding time
    and the inertia after convergence at tol 1e-4 (microseg's Lloyd from both seedings), with
    the inertia from the planted centres as a reference.
Every microseg run starts with its input file in the page cache (read once just before), as
scikit-learn's fit starts with the data in memory.
The fixed-iteration rows use --lloyd plain: they measure the distance kernel (GFLOP/s count
2·n·k·d per iteration, which a pruned step does not perform).
Timings are medians of repeated runs where stated; compare ratios from one run only.

Examples:
  bench/run.sh                                   the three sizes of issue 3 (quiet machine!)
  bench/run.sh --sizes 2000000x24x64 --iterations 20
  bench/run.sh --sizes 2000000x24x1000 --iterations 10      includes the full fit (k >= 500)
  bench/run.sh --sizes 100000x24x64,100000x24x1000 --iterations 5,5 --no-seeding   a quick check
"""
import argparse
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
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
    # Every iteration's line (the log is rate-limited by default); older builds ignore it.
    env = dict(os.environ, OMP_NUM_THREADS=str(threads), MICROSEG_PROGRESS_SECONDS="0")
    # Each rank's /usr/bin/time writes its own file: on a shared stderr the ranks' lines can
    # interleave and lose a figure.
    rss_prefix = os.path.join(tempfile.mkdtemp(prefix="microseg-rss-"), "rank")
    wrapper = 'exec /usr/bin/time -o "$0.$OMPI_COMM_WORLD_RANK" -f "%M" "$@"'
    cmd = ["mpiexec", "--oversubscribe", "--bind-to", "none", "-n", str(ranks), "bash", "-c",
           wrapper, rss_prefix, os.path.join(build, "microseg")] + [str(a) for a in args]
    start = time.perf_counter()
    proc = sh(cmd, env)
    wall = time.perf_counter() - start
    rss = []
    for rank in range(ranks):
        with open(f"{rss_prefix}.{rank}") as f:
            rss.append(int(f.read().split()[-1]) / 1024)
    shutil.rmtree(os.path.dirname(rss_prefix))
    return proc.stdout, wall, rss


PHASES = ("read", "scale", "init", "iterate", "metrics", "write")


def parse_log(log):
    iterations = [float(m) for m in re.findall(r"^iteration\s+\d+ .* ([0-9.]+) s$", log, re.M)]
    seconds = dict(re.findall(r"(\w+) ([0-9.]+)", log.split("seconds:")[1].splitlines()[0]))
    inertia = float(re.search(r"quality: inertia ([0-9.e+]+)", log).group(1))
    return iterations, {k: float(v) for k, v in seconds.items()}, inertia


def sklearn(data, init, iterations, tol=0.0, algorithms="lloyd,elkan", extra=()):
    cmd = [PY, os.path.join(HERE, "sklearn_kmeans.py"), data, init, "--iterations",
           str(iterations), "--tol", str(tol), "--algorithms", algorithms] + list(extra)
    out = sh(cmd).stdout
    return {k: float(v) for k, v in re.findall(r"^(\w+) (\S+)$", out, re.M)}


def warm_page_cache(path):
    """Reads the file once so every microseg run starts as scikit-learn's fit does: with the
    data in memory (the OS page cache), not behind whatever ran before."""
    with open(path, "rb") as f:
        while f.read(1 << 24):
            pass


def seeding_comparison(args, data, init, n, d, k):
    """k-means|| (microseg, 2 ranks) against scikit-learn's k-means++ (2 threads) over several
    seeds: seeding time, and the inertia after Lloyd converges (tol 1e-4) from each seeding,
    always with microseg's Lloyd so only the seeding differs; next to the inertia Lloyd reaches
    from the planted centres the data were drawn around (a near-optimal reference)."""
    import h5py
    from make_data import planted_centres

    seeds = [int(v) for v in args.seeding_seeds.split(",")]
    converge = ["--scale", "none", "--tol", "1e-4", "--max-iter", 300, "--silhouette-sample",
                1000, "--k", k, "--input", data]
    prefix = os.path.join(args.dir, f"kmeanspp-{n}-{d}-{k}")
    sk = sklearn(data, init, 0, algorithms="",
                 extra=["--kmeanspp-seeds", args.seeding_seeds, "--centres-prefix", prefix])
    planted = os.path.join(args.dir, f"planted-{n}-{d}-{k}.h5")
    with h5py.File(planted, "w") as f:
        f["centroids"] = planted_centres(1, k, d)[:k].astype("float64")
    out = os.path.join(args.dir, f"seed-{n}-{d}-{k}")
    warm_page_cache(data)
    _, _, _, planted_inertia = converge_from(args, converge + ["--init-centroids", planted], out)
    print(f"\nseeding at n = {n:,}, d = {d}, k = {k}: microseg k-means|| (2 ranks x 1 thread) "
          f"against scikit-learn k-means++ (2 threads), then Lloyd to tol 1e-4 (microseg, same "
          f"for both) from each seeding; Lloyd from the {k} planted centres reaches inertia "
          f"{planted_inertia:.8g}\n")
    print("| seed | k-means\\|\\| s | k-means++ s | speed-up | iterations (\\|\\| / ++) | "
          "inertia after k-means\\|\\| | after k-means++ | \\|\\| / ++ | \\|\\| / planted |")
    print("|---|---|---|---|---|---|---|---|---|")
    ratios, speedups, to_planted = [], [], []
    for seed in seeds:
        parallel_seconds, parallel_iterations, _, parallel = converge_from(
            args, converge + ["--init", "kmeans-parallel", "--seed", seed], out)
        _, pp_iterations, _, plus_plus = converge_from(
            args, converge + ["--init-centroids", f"{prefix}-{seed}.h5"], out)
        pp_seconds = sk[f"kmeanspp_seconds_{seed}"]
        ratios.append(parallel / plus_plus)
        speedups.append(pp_seconds / max(parallel_seconds, 1e-9))
        to_planted.append(parallel / planted_inertia)
        print(f"| {seed} | {parallel_seconds:.2f} | {pp_seconds:.2f} | {speedups[-1]:.1f}x | "
              f"{parallel_iterations} / {pp_iterations} | {parallel:.8g} | {plus_plus:.8g} | "
              f"{ratios[-1]:.4f} | {to_planted[-1]:.4f} |")
    print(f"\nmedians over {len(seeds)} seeds: speed-up {statistics.median(speedups):.1f}x, "
          f"inertia k-means|| / k-means++ {statistics.median(ratios):.4f} (range "
          f"{min(ratios):.4f}-{max(ratios):.4f}), k-means|| / planted "
          f"{statistics.median(to_planted):.4f}")


def converge_from(args, options, out):
    """A microseg fit to convergence on 2 ranks: (seeding s, iterations, end-to-end s, inertia)."""
    log, wall, _ = microseg(args.build, 2, 1, ["segment", "--output", out] + options)
    per_iteration, seconds, inertia = parse_log(log)
    return seconds["init"], len(per_iteration), wall, inertia


def full_fit_comparison(args, data, init, n, d, k):
    """Fits to convergence (tol 1e-4, at most 300 iterations) from the same initial centroids."""
    print(f"\nfull fit to convergence at n = {n:,}, d = {d}, k = {k} (tol 1e-4, same initial "
          "centroids, 2 ranks x 1 thread for microseg, 2 threads for scikit-learn):\n")
    print("| configuration | iterations | Lloyd s | end-to-end s | final inertia |")
    print("|---|---|---|---|---|")
    times = {}
    for step in ("auto", "plain"):
        out = os.path.join(args.dir, f"fit-{n}-{d}-{k}-{step}")
        warm_page_cache(data)
        log, wall, _ = microseg(args.build, 2, 1, [
            "segment", "--input", data, "--k", k, "--output", out, "--init-centroids", init,
            "--scale", "none", "--max-iter", 300, "--tol", "1e-4", "--silhouette-sample", 1000,
            "--lloyd", step])
        _, seconds, inertia = parse_log(log)
        iterations = int(re.search(r"after (\d+) iterations", log).group(1))
        times[step] = seconds["iterate"]
        print(f"| microseg --lloyd {step} | {iterations} | {seconds['iterate']:.2f} | {wall:.2f} "
              f"| {inertia:.8g} |")
    sk = sklearn(data, init, 300, tol=1e-4)
    for algorithm in ("lloyd", "elkan"):
        print(f"| scikit-learn {algorithm} | {int(sk[f'{algorithm}_iterations'])} | "
              f"{sk[f'{algorithm}_seconds']:.2f} | (fit only) | {sk[f'{algorithm}_inertia']:.8g} |")
    faster = min(("lloyd", "elkan"), key=lambda a: sk[f"{a}_seconds"])
    print(f"\nfull-fit ratios: scikit-learn {faster} (the faster) / microseg auto = "
          f"{sk[f'{faster}_seconds'] / times['auto']:.2f}x; microseg plain / auto = "
          f"{times['plain'] / times['auto']:.2f}x (Lloyd phase only; scikit-learn's fit "
          "includes its own input checks)")
    # The whole run a user starts at this k: k-means|| seeding, then the pruned fit.
    out = os.path.join(args.dir, f"fit-{n}-{d}-{k}-seeded")
    warm_page_cache(data)
    log, wall, _ = microseg(args.build, 2, 1, [
        "segment", "--input", data, "--k", k, "--output", out, "--init", "kmeans-parallel",
        "--scale", "none", "--max-iter", 300, "--tol", "1e-4", "--silhouette-sample", 1000])
    _, seconds, inertia = parse_log(log)
    iterations = int(re.search(r"after (\d+) iterations", log).group(1))
    print(f"\nk-means|| at k = {k} in a whole run (2 ranks x 1 thread, --lloyd auto, tol 1e-4): "
          f"seeding {seconds['init']:.2f} s = {100 * seconds['init'] / wall:.0f} % of the "
          f"{wall:.2f} s run; Lloyd {seconds['iterate']:.2f} s ({iterations} iterations); "
          f"inertia {inertia:.8g}")


def measure_peak(build):
    """The 2-thread FP32 FMA peak (bench/fma_peak): the median of five runs, and their range.
    Single runs on this shared machine ranged from 148 to 229 GFLOP/s; the median is compared
    with the medians of the kernel, as every other figure here."""
    runs = []
    for _ in range(5):
        out = sh([os.path.join(build, "bench", "fma_peak")],
                 dict(os.environ, OMP_NUM_THREADS="2")).stdout
        runs.append(float(re.search(r"GFLOP/s ([0-9.]+)", out).group(1)))
    return statistics.median(runs), min(runs), max(runs)


def main():
    parser = argparse.ArgumentParser(
        prog="bench/run.sh", description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--build", required=True, help="build directory (bench/run.sh sets it)")
    parser.add_argument("--dir", required=True,
                        help="data and run directory (bench/run.sh: $MICROSEG_BENCH_DIR or "
                             "/tmp/microseg-bench); generated data is reused")
    parser.add_argument("--sizes", default="2000000x24x64,2000000x24x1000,10000000x32x100",
                        help="comma-separated NxDxK sizes (default: the three of issue 3)")
    parser.add_argument("--iterations", default="20,10,10",
                        help="fixed Lloyd iterations per size for the per-iteration rows "
                             "(one value per size, or one for all)")
    parser.add_argument("--full-fit", default=None,
                        help="comma-separated NxDxK sizes that also get a full fit to "
                             "convergence (default: every size with k >= 500; 'none' for none)")
    parser.add_argument("--no-seeding", action="store_true",
                        help="skip the k-means|| against k-means++ comparison")
    parser.add_argument("--seeding-seeds", default="1,2,3,4,5",
                        help="seeds of the seeding comparison (default 1,2,3,4,5)")
    args = parser.parse_args()
    os.makedirs(args.dir, exist_ok=True)
    peak, low, high = measure_peak(args.build)
    print(f"# FP32 FMA peak, 2 threads: {peak:.1f} GFLOP/s (median of 5 runs, range "
          f"{low:.1f}-{high:.1f})")
    print(f"# load average at start: {os.getloadavg()[0]:.2f}")
    sizes = [tuple(int(v) for v in s.split("x")) for s in args.sizes.split(",")]
    iteration_counts = [int(v) for v in args.iterations.split(",")]
    if len(iteration_counts) == 1:
        iteration_counts *= len(sizes)
    if len(iteration_counts) != len(sizes):
        sys.exit(f"--iterations: {len(iteration_counts)} values for {len(sizes)} sizes")
    if args.full_fit is None:
        full_fit = {size for size in sizes if size[2] >= 500}
    elif args.full_fit == "none":
        full_fit = set()
    else:
        full_fit = {tuple(int(v) for v in s.split("x")) for s in args.full_fit.split(",")}
    for index, ((n, d, k), iters) in enumerate(zip(sizes, iteration_counts)):
        data = os.path.join(args.dir, f"x-{n}-{d}-{k}.h5")  # the planted centres depend on k
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
        phase_rows = []
        for ranks, threads in ((2, 1), (1, 2), (1, 1)):
            out = os.path.join(args.dir, f"run-{n}-{d}-{k}-{ranks}x{threads}")
            warm_page_cache(data)
            log, wall, rss = microseg(args.build, ranks, threads, [
                "segment", "--input", data, "--k", k, "--output", out, "--init-centroids", init,
                "--scale", "none", "--max-iter", iters, "--tol", 0, "--silhouette-sample", 1000,
                "--lloyd", "plain"])
            per_iter, seconds, inertia = parse_log(log)
            phase_rows.append((f"{ranks} rank(s) x {threads} thread(s), {iters} iterations",
                               seconds, wall))
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
        print("\nphases of the runs above (seconds, and share of the end-to-end wall time "
              "including MPI start-up):\n")
        print("| run | " + " | ".join(PHASES) + " | end-to-end |")
        print("|---|" + "---|" * (len(PHASES) + 1))
        for name, seconds, wall in phase_rows:
            cells = [f"{seconds.get(p, 0):.2f} ({100 * seconds.get(p, 0) / wall:.0f}%)"
                     for p in PHASES]
            print(f"| {name} | " + " | ".join(cells) + f" | {wall:.2f} |")
        best = min(results[(2, 1)], results[(1, 2)])
        print(f"\nratios: scikit-learn lloyd / microseg best = "
              f"{sk['lloyd_ms_per_iteration'] / best:.2f}x; elkan / microseg best = "
              f"{sk['elkan_ms_per_iteration'] / best:.2f}x; strong scaling 1 -> 2 ranks = "
              f"{results[(1, 1)] / results[(2, 1)]:.2f}x; 1 -> 2 threads = "
              f"{results[(1, 1)] / results[(1, 2)]:.2f}x")
        if (n, d, k) in full_fit:
            full_fit_comparison(args, data, init, n, d, k)
        if index == 0 and not args.no_seeding:
            seeding_comparison(args, data, init, n, d, k)
        sys.stdout.flush()
    end_peak, low, high = measure_peak(args.build)
    print(f"\n# FP32 FMA peak again at the end: {end_peak:.1f} GFLOP/s (range {low:.1f}-"
          f"{high:.1f}); load average {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
