#!/usr/bin/env python3
"""Two-level against flat segmentation, and the rules that share k out, in one session.

  bench/two_level.py --build BUILD [--dir /tmp/microseg-bench] [--repeats 3]
      [--size 2000000x24x1000] [--macro-k 8]

1. Speed: a whole flat run (k-means|| seeding, --lloyd auto, tol 1e-4, 2 ranks x 1 thread)
   against a two-level run with --macro-k M and the same total k (--micro-k-rule inertia):
   median wall, seeding and Lloyd seconds, and the final (micro) inertia of each, runs taking
   turns; on bench/make_data.py's data (n customers around k planted centres, no macro
   structure) and on a generated two-level base (M planted macro segments of k/M each).
2. The rules: on generated two-level bases (microseg generate --macro-segments), the adjusted
   Rand index of each --micro-k-rule against the planted macro and micro segments, and the micro
   inertia each reaches with the same total k.
Output is markdown; record it in docs/benchmarks.md with the command.
"""
import argparse
import os
import statistics
import sys

import h5py
from sklearn.metrics import adjusted_rand_score

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
for variable in ("OMPI_ALLOW_RUN_AS_ROOT", "OMPI_ALLOW_RUN_AS_ROOT_CONFIRM",
                 "OMPI_MCA_rmaps_base_oversubscribe"):
    os.environ.setdefault(variable, "1")
from run import PY, microseg, parse_log, sh, warm_page_cache  # noqa: E402


def timed_run(build, data, k, out, extra):
    warm_page_cache(data)
    log, wall, _ = microseg(build, 2, 1, [
        "segment", "--input", data, "--k", k, "--output", out, "--scale", "none",
        "--max-iter", 300, "--tol", "1e-4", "--silhouette-sample", 1000] + extra)
    _, seconds, inertia = parse_log(log)
    return {"whole run s": wall, "seeding s": seconds["init"], "Lloyd s": seconds["iterate"],
            "metrics s": seconds["metrics"]}, inertia


def speed(args, build, generated):
    n, d, k = (int(v) for v in args.size.split("x"))
    if generated:
        data = os.path.join(args.dir, f"generated-{n}-{args.macro_k}x{k // args.macro_k}.h5")
        if not os.path.exists(data):
            microseg(build, 2, 1, ["generate", "--customers", n, "--segments", k,
                                   "--macro-segments", args.macro_k, "--separation", 4,
                                   "--macro-separation", 14, "--seed", 5, "--output", data])
        d = 17
        title = f"a generated two-level base ({args.macro_k} macro x {k // args.macro_k} planted)"
    else:
        data = os.path.join(args.dir, f"x-{n}-{d}-{k}.h5")
        init = os.path.join(args.dir, f"init-{n}-{d}-{k}.h5")
        if not os.path.exists(data):
            sh([PY, os.path.join(HERE, "make_data.py"), data, init, "--n", str(n), "--d",
                str(d), "--k", str(k)])
        title = "bench/make_data.py's data (no macro structure)"
    runs = {"flat": [], "two-level": []}
    inertia = {}
    for _ in range(args.repeats):
        for name, extra in (("flat", []), ("two-level", ["--macro-k", args.macro_k])):
            figures, inertia[name] = timed_run(build, data, k, os.path.join(args.dir, f"tl-{name}"),
                                               extra)
            runs[name].append(figures)
    print(f"## n = {n:,}, d = {d}, k = {k}, {title}: flat against --macro-k {args.macro_k} "
          f"(2 ranks x 1 thread, median of {args.repeats})\n")
    print("| figure | flat | two-level | two-level / flat |")
    print("|---|---|---|---|")
    for figure in runs["flat"][0]:
        flat = statistics.median(r[figure] for r in runs["flat"])
        two = statistics.median(r[figure] for r in runs["two-level"])
        print(f"| {figure} | {flat:.2f} | {two:.2f} | {two / flat:.2f} |")
    print(f"| final inertia (micro level) | {inertia['flat']:.8g} | {inertia['two-level']:.8g} | "
          f"{inertia['two-level'] / inertia['flat']:.4f} |\n")


def rules(args, build):
    print("## --micro-k-rule on planted two-level bases (2 ranks, --restarts 2, log1p on the "
          "skewed features)\n")
    print("| base | rule | micro-segments per macro segment | macro ARI | micro ARI | "
          "micro inertia |")
    print("|---|---|---|---|---|---|")
    bases = [(4, 3, 8, 16), (4, 6, 6, 14), (6, 10, 5, 14)]
    for macro, per_macro, separation, macro_separation in bases:
        data = os.path.join(args.dir, f"two-level-{macro}x{per_macro}.h5")
        if not os.path.exists(data):
            microseg(build, 2, 1, ["generate", "--customers", 60000, "--segments",
                                   macro * per_macro, "--macro-segments", macro, "--separation",
                                   separation, "--macro-separation", macro_separation,
                                   "--seed", 11, "--output", data])
        with h5py.File(data, "r") as f:
            planted = f["customers/planted_segment"][()]
            planted_macro = f["customers/planted_macro_segment"][()]
        for rule in ("inertia", "proportional", "sweep"):
            out = os.path.join(args.dir, f"rule-{macro}x{per_macro}-{rule}")
            log, _, _ = microseg(build, 2, 1, [
                "segment", "--input", data, "--macro-k", macro, "--k", macro * per_macro,
                "--micro-k-rule", rule, "--restarts", 2, "--log1p",
                "monetary,income,avg_basket,frequency", "--output", out])
            _, _, inertia = parse_log(log)
            with h5py.File(os.path.join(out, "segments.h5"), "r") as f:
                segment = f["assignments/segment"][()]
                macro_segment = f["assignments/macro_segment"][()]
                macro_of = f["model/macro_of_segment"][()]
            counts = [int((macro_of == m).sum()) for m in sorted(set(macro_of))]
            print(f"| {macro} macro x {per_macro} (sep. {separation}, macro {macro_separation}) | "
                  f"{rule} | {counts} | {adjusted_rand_score(planted_macro, macro_segment):.3f} | "
                  f"{adjusted_rand_score(planted, segment):.3f} | {inertia:.8g} |")
    print()


def main():
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--build", required=True)
    parser.add_argument("--dir", default="/tmp/microseg-bench")
    parser.add_argument("--size", default="2000000x24x1000")
    parser.add_argument("--macro-k", type=int, default=8)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--no-rules", action="store_true")
    args = parser.parse_args()
    os.makedirs(args.dir, exist_ok=True)
    print(f"# load average at start {os.getloadavg()[0]:.2f}\n")
    speed(args, args.build, generated=False)
    speed(args, args.build, generated=True)
    if not args.no_rules:
        rules(args, args.build)
    print(f"# load average at the end {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
