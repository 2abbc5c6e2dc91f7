#!/usr/bin/python3
"""Runs the same microseg commands with two builds and compares what they write.

For refactors that must not change behaviour: every output of the candidate build must equal the
reference build's. HDF5 files are compared with h5diff (no tolerance) except what records the
run rather than its result: the /run group (timings, rank count, versions) and a root attribute
`seconds` (sweep models); CSV files byte for byte; manifest.json is skipped (it holds the digests
of files that carry timings). Both builds write to the same paths, one after the other, so paths
recorded in the outputs agree. An object named with
--tolerate PATH=RTOL (an HDF5 path such as /profiles, or a CSV file name such as profiles.csv)
is compared with that relative tolerance instead (h5diff -p; CSV numbers field by field).

Usage:
  scripts/dev/compare_outputs.py --reference OLD/microseg --candidate NEW/microseg \
      [--work DIR] [--ranks 2] [--only NAME ...] [--tolerate /profiles=1e-6 ...]

Inputs: synthetic customer tables (written once by the reference build's `generate`), the demo's
job file at 200,000 customers, CSV tables ingested by both builds, and the h5py fixtures of
tests/fixtures/make_inputs.py. Exit status 0 only when every output of every scenario agrees.
"""
import argparse
import math
import os
import shutil
import subprocess
import sys

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
ENV = dict(os.environ, OMPI_ALLOW_RUN_AS_ROOT="1", OMPI_ALLOW_RUN_AS_ROOT_CONFIRM="1",
           OMPI_MCA_rmaps_base_oversubscribe="1")


def scenarios(work):
    """(name, command after `microseg`, output directory or file). Later ones may read earlier
    outputs of the same build, so they run in order."""
    c1, c2 = f"{work}/in/c1.h5", f"{work}/in/c2.h5"
    fx = f"{work}/in/fixtures"
    return [
        ("demo", ["segment", "--config", f"{ROOT}/jobs/demo.ini", "--input",
                  f"{work}/in/demo.h5", "--output", "{out}"]),
        ("plain", ["segment", "--input", c1, "--k", "8", "--output", "{out}"]),
        ("kmeanspp-restarts", ["segment", "--input", c1, "--k", "8", "--init", "kmeans++",
                               "--restarts", "3", "--log1p", "monetary,income",
                               "--scale", "minmax", "--seed", "5", "--output", "{out}"]),
        ("robust-weights", ["segment", "--input", c1, "--k", "6", "--scale", "robust",
                            "--weights", "monetary=2,age=0.5", "--clip-quantiles", "0.01,0.99",
                            "--output", "{out}"]),
        ("previous", ["segment", "--input", c2, "--k", "8", "--previous", "{plain}",
                      "--output", "{out}"]),
        ("warm-start", ["segment", "--input", c2, "--k", "10", "--previous", "{plain}",
                        "--warm-start", "--output", "{out}"]),
        ("warm-start-fewer", ["segment", "--input", c2, "--k", "5", "--previous", "{plain}",
                              "--warm-start", "--match-max-distance", "none",
                              "--output", "{out}"]),
        ("merge-small", ["segment", "--input", c1, "--k", "14", "--min-segment-size", "5%",
                         "--merge-small", "--output", "{out}"]),
        ("pruned-k100", ["segment", "--input", c1, "--k", "100", "--lloyd", "pruned",
                         "--max-iter", "30", "--output", "{out}"]),
        ("init-file", ["segment", "--input", c1, "--k", "3", "--features", "age,income",
                       "--init-centroids", f"{fx}/centroids_3x2.h5", "--output", "{out}"]),
        ("sweep", ["sweep", "--input", c1, "--k", "3:7:2", "--restarts", "2", "--output",
                   "{out}"]),
        ("sweep-halves", ["sweep", "--input", c1, "--k", "4,6", "--restarts", "1",
                          "--log1p", "monetary", "--output", "{out}"]),
        ("promote", ["promote", "--sweep", "{sweep}", "--k", "5", "--output", "{out}"]),
        ("assign", ["assign", "--model", "{previous}", "--input", c1, "--output", "{out}"]),
        ("ingest-features", ["ingest", "features", "--csv", f"{work}/in/features.csv",
                             "--id-column", "customer", "--categorical", "region,channel",
                             "--output", "{out}/customers.h5"]),
        ("ingest-transactions", ["ingest", "transactions", "--csv", f"{work}/in/tx.csv",
                                 "--customer-column", "customer", "--date-column", "date",
                                 "--amount-column", "amount", "--quantity-column", "quantity",
                                 "--as-of", "2026-06-30", "--output", "{out}/rfm.h5"]),
        ("one-hot-missing", ["segment", "--input", "{ingest-features}/customers.h5", "--k", "4",
                             "--one-hot", "region,channel", "--missing", "median",
                             "--output", "{out}"]),
        ("missing-drop", ["segment", "--input", "{ingest-features}/customers.h5", "--k", "4",
                          "--features", "age,spend,visits", "--missing", "drop",
                          "--output", "{out}"]),
        ("rfm-table", ["segment", "--input", "{ingest-transactions}/rfm.h5", "--k", "5",
                       "--features", "recency_days,frequency,monetary_total,tenure_days",
                       "--log1p", "frequency,monetary_total", "--output", "{out}"]),
        ("fixture-columns", ["segment", "--input", f"{fx}/columns_gzip.h5", "--k", "4",
                             "--output", "{out}"]),
        ("fixture-matrix", ["segment", "--input", f"{fx}/matrix_float64.h5", "--k", "3",
                            "--scale", "none", "--output", "{out}"]),
    ]


def write_csv_inputs(directory):
    """Deterministic CSV tables for the two ingest commands (with gaps and categories)."""
    with open(f"{directory}/features.csv", "w") as f:
        f.write("customer,age,spend,visits,region,channel\n")
        for i in range(3000):
            age = "" if i % 97 == 0 else str(18 + (i * 7) % 60)
            spend = "" if i % 89 == 5 else f"{(i * 37) % 1000 / 3:.3f}"
            region = ["north", "south", "east", "west"][(i * 5) % 4]
            channel = "" if i % 53 == 1 else ["app", "web", "store"][(i * 11) % 3]
            f.write(f"C{i:05d},{age},{spend},{i % 17},{region},{channel}\n")
    with open(f"{directory}/tx.csv", "w") as f:
        f.write("customer,date,amount,quantity\n")
        for t in range(20000):
            customer = (t * 7919) % 2500
            day = 1 + (t * 13) % 28
            month = 1 + (t * 3) % 7
            f.write(f"{customer},2026-{month:02d}-{day:02d},{(t * 31) % 500 / 4:.2f},"
                    f"{1 + t % 3}\n")


def run(binary, ranks, args):
    command = ["mpiexec", "-n", str(ranks), binary] + args
    proc = subprocess.run(command, env=ENV, capture_output=True, text=True)
    return proc


def prepare_inputs(work, reference, ranks):
    inputs = f"{work}/in"
    if os.path.exists(f"{inputs}/done"):
        return
    shutil.rmtree(inputs, ignore_errors=True)
    os.makedirs(inputs)
    for name, args in [("c1", ["--customers", "20000", "--segments", "8", "--separation", "4",
                               "--seed", "11"]),
                       ("c2", ["--customers", "21000", "--segments", "8", "--separation", "4",
                               "--seed", "11"]),
                       ("demo", ["--customers", "200000", "--segments", "12", "--separation",
                                 "5", "--seed", "2026"])]:
        proc = run(reference, ranks, ["generate"] + args + ["--output", f"{inputs}/{name}.h5"])
        if proc.returncode != 0:
            sys.exit(f"generate failed: {proc.stderr}")
    subprocess.run(["/usr/bin/python3", f"{ROOT}/tests/fixtures/make_inputs.py",
                    f"{inputs}/fixtures"], check=True)
    write_csv_inputs(inputs)
    open(f"{inputs}/done", "w").close()


def tolerance_for(path, tolerances):
    for pattern, rtol in tolerances:
        if path == pattern or path.startswith(pattern.rstrip("/") + "/"):
            return rtol
    return None


def h5_objects(path):
    import h5py
    names = []
    with h5py.File(path, "r") as f:
        f.visit(lambda name: names.append("/" + name))
    return names


def sanitized_copy(path, directory):
    """A copy without what records the run rather than its result."""
    import h5py
    copy = os.path.join(directory, os.path.basename(os.path.dirname(path)) + "-" +
                        os.path.basename(path))
    shutil.copyfile(path, copy)
    with h5py.File(copy, "r+") as f:
        if "run" in f:
            del f["run"]
        if "seconds" in f.attrs:
            del f.attrs["seconds"]
    return copy


def empty_datasets_agree(a, b):
    """h5diff cannot compare empty datasets; they agree when shape and type do."""
    import h5py
    problems = []
    with h5py.File(a, "r") as fa, h5py.File(b, "r") as fb:
        def visit(name, obj):
            if isinstance(obj, h5py.Dataset) and obj.size == 0:
                other = fb[name]
                if other.shape != obj.shape or other.dtype != obj.dtype:
                    problems.append(f"/{name}: {obj.shape} {obj.dtype} against "
                                    f"{other.shape} {other.dtype}")
        fa.visititems(visit)
    return problems


def h5diff_problems(command):
    proc = subprocess.run(command, capture_output=True, text=True)
    lines = [line for line in (proc.stdout + proc.stderr).splitlines()
             if not line.startswith("Not comparable:") or "empty dataset" not in line]
    differences = [line for line in lines if line.strip()]
    # Exit 1 with only "Not comparable: … empty dataset" lines: nothing else differed.
    if proc.returncode == 0:
        return []
    return differences


def compare_h5(a, b, tolerances, scratch):
    problems = empty_datasets_agree(a, b)
    a, b = sanitized_copy(a, scratch + "/a"), sanitized_copy(b, scratch + "/b")
    names_a, names_b = h5_objects(a), h5_objects(b)
    if names_a != names_b:
        only_a = sorted(set(names_a) - set(names_b))
        only_b = sorted(set(names_b) - set(names_a))
        return [f"objects differ: only in reference {only_a}, only in candidate {only_b}"]
    command = ["h5diff", "-c"]
    for path, _ in tolerances:
        command += ["--exclude-path", path]
    found = h5diff_problems(command + [a, b])
    if found:
        problems.append("h5diff: " + "\n    ".join(found[:40]))
    for pattern, rtol in tolerances:
        if pattern in names_a:
            problems += tolerated_h5_differences(a, b, pattern, rtol)
    return problems


def arrays_close(x, y, rtol):
    import numpy as np
    x, y = np.asarray(x), np.asarray(y)
    if x.shape != y.shape:
        return False
    if x.dtype.kind not in "fiu":
        return bool(np.array_equal(x, y))
    x, y = x.astype(np.float64), y.astype(np.float64)
    finite = np.isfinite(x) & np.isfinite(y)
    if not np.array_equal(np.isfinite(x), np.isfinite(y)) or not np.array_equal(x[~finite],
                                                                                y[~finite]):
        return bool(np.array_equal(np.isnan(x), np.isnan(y)) and
                    np.array_equal(x[~np.isnan(x) & ~finite], y[~np.isnan(y) & ~finite]))
    scale = max(np.abs(x[finite]).max(initial=1.0), np.abs(y[finite]).max(initial=1.0))
    return bool(np.all(np.abs(x[finite] - y[finite]) <= rtol * scale))


def tolerated_h5_differences(a, b, pattern, rtol):
    import h5py
    problems = []
    with h5py.File(a, "r") as fa, h5py.File(b, "r") as fb:
        def visit(name, obj):
            if not isinstance(obj, h5py.Dataset):
                return
            other = fb[obj.name]
            if not arrays_close(obj[()], other[()], rtol):
                problems.append(f"{obj.name} differs beyond {rtol} of its largest value")
        target = fa[pattern]
        if isinstance(target, h5py.Dataset):
            visit(pattern, target)
        else:
            target.visititems(visit)
    return problems


def numbers_close(x, y, rtol):
    try:
        fx, fy = float(x), float(y)
    except ValueError:
        return x == y
    if math.isnan(fx) or math.isnan(fy):
        return math.isnan(fx) and math.isnan(fy)
    return abs(fx - fy) <= rtol * max(abs(fx), abs(fy)) or fx == fy


def compare_csv(a, b, rtol):
    with open(a) as fa, open(b) as fb:
        text_a, text_b = fa.read(), fb.read()
    if text_a == text_b:
        return []
    if rtol is None:
        return ["differs byte for byte"]
    import csv
    rows_a, rows_b = list(csv.reader(text_a.splitlines())), list(csv.reader(text_b.splitlines()))
    if len(rows_a) != len(rows_b):
        return [f"{len(rows_a)} rows against {len(rows_b)}"]
    if rows_a[0] != rows_b[0]:
        return ["the header differs"]
    for c in range(len(rows_a[0])):
        column_a = [row[c] for row in rows_a[1:]]
        column_b = [row[c] for row in rows_b[1:]]
        try:
            values_a, values_b = [float(v) for v in column_a], [float(v) for v in column_b]
        except ValueError:
            if column_a != column_b:
                return [f"text column {rows_a[0][c]} differs"]
            continue
        if not arrays_close(values_a, values_b, rtol):
            return [f"column {rows_a[0][c]} differs beyond {rtol} of its largest value"]
    return []


def compare_trees(a, b, tolerances, scratch):
    problems = []
    files_a = sorted(os.path.relpath(os.path.join(d, f), a) for d, _, fs in os.walk(a)
                     for f in fs)
    files_b = sorted(os.path.relpath(os.path.join(d, f), b) for d, _, fs in os.walk(b)
                     for f in fs)
    if files_a != files_b:
        problems.append(f"files differ: {files_a} against {files_b}")
    for name in sorted(set(files_a) & set(files_b)):
        if name.endswith("manifest.json"):
            continue
        pa, pb = os.path.join(a, name), os.path.join(b, name)
        if name.endswith(".h5"):
            found = compare_h5(pa, pb, tolerances, scratch)
        elif name.endswith(".csv"):
            found = compare_csv(pa, pb, tolerance_for(os.path.basename(name), tolerances))
        else:
            found = [] if open(pa, "rb").read() == open(pb, "rb").read() else ["differs"]
        problems += [f"{name}: {p}" for p in found]
    return problems


def main():
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--reference", required=True)
    parser.add_argument("--candidate", required=True)
    parser.add_argument("--work", default="/tmp/microseg-compare")
    parser.add_argument("--ranks", type=int, default=2)
    parser.add_argument("--only", nargs="*", default=[])
    parser.add_argument("--tolerate", nargs="*", default=[],
                        help="PATH=RTOL: compare this HDF5 object or CSV file with a tolerance")
    args = parser.parse_args()
    tolerances = [(t.split("=")[0], float(t.split("=")[1])) for t in args.tolerate]
    work = os.path.abspath(args.work)
    prepare_inputs(work, os.path.abspath(args.reference), args.ranks)
    failures = 0
    chosen = [(name, command) for name, command in scenarios(work)
              if not args.only or name in args.only]
    live = f"{work}/run"
    for side, binary in (("reference", args.reference), ("candidate", args.candidate)):
        shutil.rmtree(live, ignore_errors=True)
        os.makedirs(live)
        for name, command in chosen:
            out = f"{live}/{name}"
            os.makedirs(out, exist_ok=True)
            substituted = [part.replace("{out}", out) for part in command]
            for earlier, _ in scenarios(work):
                substituted = [part.replace("{" + earlier + "}", f"{live}/{earlier}")
                               for part in substituted]
            proc = run(os.path.abspath(binary), args.ranks, substituted)
            with open(f"{work}/{side}-{name}.status", "w") as f:
                f.write(f"{proc.returncode}\n{proc.stderr}")
        shutil.rmtree(f"{work}/{side}", ignore_errors=True)
        shutil.move(live, f"{work}/{side}")
    scratch = f"{work}/scratch"
    for name, _ in chosen:
        shutil.rmtree(scratch, ignore_errors=True)
        os.makedirs(scratch + "/a")
        os.makedirs(scratch + "/b")
        status = {}
        for side in ("reference", "candidate"):
            code, _, stderr = open(f"{work}/{side}-{name}.status").read().partition("\n")
            status[side] = (int(code), stderr.strip())
        (ref_code, ref_err), (new_code, new_err) = status["reference"], status["candidate"]
        if ref_code != new_code or ref_code != 0:
            print(f"FAIL {name}: exit {ref_code} against {new_code}\n"
                  f"  reference: {ref_err[:500]}\n  candidate: {new_err[:500]}")
            failures += 1
            continue
        problems = compare_trees(f"{work}/reference/{name}", f"{work}/candidate/{name}",
                                 tolerances, scratch)
        if problems:
            failures += 1
            print(f"FAIL {name}:")
            for problem in problems:
                print("  " + problem)
        else:
            print(f"same {name}")
    print(f"{failures} scenario(s) differ" if failures else "every scenario agrees")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
