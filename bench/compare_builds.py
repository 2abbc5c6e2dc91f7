#!/usr/bin/env python3
"""Before/after benchmark of two microseg builds on the same data, in one session.

For refactors that must not slow anything down: the same runs as bench/run.py's rows, with the
reference build and the candidate build taking turns (A, B, A, B, …) so drift in the machine's
load hits both alike, and the medians compared as ratios.

  bench/compare_builds.py --reference OLD_BUILD --candidate NEW_BUILD [--repeats 5]
      [--sizes 2000000x24x64,2000000x24x1000,10000000x32x100] [--dir /tmp/microseg-bench]
      [--reference-options "..."] [--candidate-options "..."]

The same build with different options is compared the same way: e.g. the stall watchdog's cost,
`--reference BUILD --candidate BUILD --reference-options "--stall-timeout 0"` (docs/benchmarks.md,
"Stall watchdog").

Per size: Lloyd ms per iteration (2 ranks x 1 thread, --lloyd plain, fixed iterations, from the
same initial centroids), the phases of that run (read, scale, metrics, write) and its end-to-end
wall time and summed peak RSS; at k >= 500 also a whole run from k-means|| to convergence
(--lloyd auto, tol 1e-4): its seeding and Lloyd seconds; at the sizes of --zscore-sizes (default:
the largest) the same fixed-iteration run with --scale zscore, whose profiles read the input a
second time (docs/architecture.md). Output is markdown; record it in docs/benchmarks.md with the
command.
"""
import argparse
import os
import statistics
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
# Open MPI refuses root without both (scripts/common.sh sets them for bench/run.sh).
for variable in ("OMPI_ALLOW_RUN_AS_ROOT", "OMPI_ALLOW_RUN_AS_ROOT_CONFIRM",
                 "OMPI_MCA_rmaps_base_oversubscribe"):
    os.environ.setdefault(variable, "1")
sys.path.insert(0, HERE)
from run import PY, microseg, parse_log, sh, warm_page_cache  # noqa: E402


def fixed_iterations(build, data, init, k, iterations, out, scale="none", extra=()):
    warm_page_cache(data)
    # Centroids from a file live in the scaled space; z-scored runs seed with k-means++ instead.
    seeds = ["--init-centroids", init] if scale == "none" else ["--init", "kmeans++"]
    log, wall, rss = microseg(build, 2, 1, [
        "segment", "--input", data, "--k", k, "--output", out, "--scale", scale, "--max-iter",
        iterations, "--tol", 0, "--silhouette-sample", 1000, "--lloyd", "plain"] + seeds
        + list(extra))
    per_iteration, seconds, inertia = parse_log(log)
    label = "" if scale == "none" else f" (--scale {scale})"
    figures = {f"Lloyd ms/iteration{label}": 1e3 * statistics.median(per_iteration),
               f"end-to-end s{label}": wall, f"peak RSS MiB (sum of ranks){label}": sum(rss)}
    for phase in ("read", "scale", "metrics", "write"):
        figures[f"{phase} s{label}"] = seconds.get(phase, 0.0)
    return figures, inertia


def whole_run(build, data, k, out, extra=()):
    warm_page_cache(data)
    log, wall, _ = microseg(build, 2, 1, [
        "segment", "--input", data, "--k", k, "--output", out, "--init", "kmeans-parallel",
        "--scale", "none", "--max-iter", 300, "--tol", "1e-4", "--silhouette-sample", 1000]
        + list(extra))
    _, seconds, inertia = parse_log(log)
    return {"k-means|| seeding s": seconds["init"], "Lloyd to tol 1e-4 s": seconds["iterate"],
            "whole run s": wall}, inertia


def main():
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--reference", required=True, help="build directory of the old code")
    parser.add_argument("--candidate", required=True, help="build directory of the new code")
    parser.add_argument("--dir", default="/tmp/microseg-bench")
    parser.add_argument("--sizes", default="2000000x24x64,2000000x24x1000,10000000x32x100")
    parser.add_argument("--iterations", default="20,10,10")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--reference-options", default="",
                        help="options added to every run of the reference (split on spaces)")
    parser.add_argument("--candidate-options", default="",
                        help="options added to every run of the candidate (split on spaces)")
    parser.add_argument("--zscore-sizes", default=None,
                        help="sizes that also get a --scale zscore run (default: the largest; "
                             "'none' for none)")
    args = parser.parse_args()
    os.makedirs(args.dir, exist_ok=True)
    sizes = [tuple(int(v) for v in s.split("x")) for s in args.sizes.split(",")]
    iteration_counts = [int(v) for v in args.iterations.split(",")]
    if len(iteration_counts) == 1:
        iteration_counts *= len(sizes)
    builds = {"reference": args.reference, "candidate": args.candidate}
    extras = {"reference": args.reference_options.split(),
              "candidate": args.candidate_options.split()}
    if args.zscore_sizes is None:
        zscore = {max(sizes, key=lambda size: size[0] * size[1])}
    elif args.zscore_sizes == "none":
        zscore = set()
    else:
        zscore = {tuple(int(v) for v in s.split("x")) for s in args.zscore_sizes.split(",")}
    print(f"# {args.repeats} runs per build, taking turns; load average at start "
          f"{os.getloadavg()[0]:.2f}")
    for name in builds:
        print(f"# {name}: {builds[name]} {' '.join(extras[name])}".rstrip())
    for (n, d, k), iterations in zip(sizes, iteration_counts):
        data = os.path.join(args.dir, f"x-{n}-{d}-{k}.h5")
        init = os.path.join(args.dir, f"init-{n}-{d}-{k}.h5")
        if not (os.path.exists(data) and os.path.exists(init)):
            sh([PY, os.path.join(HERE, "make_data.py"), data, init, "--n", str(n), "--d", str(d),
                "--k", str(k)])
        samples = {name: {} for name in builds}
        inertias = {name: set() for name in builds}
        for _ in range(args.repeats):
            for name, build in builds.items():
                out = os.path.join(args.dir, f"compare-{name}-{n}-{d}-{k}")
                extra = extras[name]
                runs = [fixed_iterations(build, data, init, k, iterations, out, extra=extra)]
                if k >= 500:
                    runs.append(whole_run(build, data, k, out + "-whole", extra))
                if (n, d, k) in zscore:
                    runs.append(fixed_iterations(build, data, init, k, iterations, out + "-z",
                                                 "zscore", extra))
                for figures, inertia in runs:
                    inertias[name].add(f"{inertia:.10g}")
                    for metric, value in figures.items():
                        samples[name].setdefault(metric, []).append(value)
        print(f"\n## n = {n:,}, d = {d}, k = {k} ({iterations} fixed iterations; 2 ranks x 1 "
              f"thread)\n")
        print("| figure | reference (median) | candidate (median) | candidate / reference |")
        print("|---|---|---|---|")
        for metric in samples["reference"]:
            ref = statistics.median(samples["reference"][metric])
            new = statistics.median(samples["candidate"][metric])
            ratio = new / ref if ref > 0 else float("nan")
            print(f"| {metric} | {ref:.3f} | {new:.3f} | {ratio:.3f} |")
        same = inertias["reference"] == inertias["candidate"]
        print(f"\nfinal inertias {'equal' if same else 'DIFFER'}: reference "
              f"{sorted(inertias['reference'])}, candidate {sorted(inertias['candidate'])}")
        sys.stdout.flush()
    print(f"\n# load average at the end {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
