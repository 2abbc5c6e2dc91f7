"""The HDF5 input fuzz run (issue 14): mutated copies of a valid customers.h5 give a clear error
or a correct result, under AddressSanitizer and UndefinedBehaviorSanitizer, never a crash or a
hang.

Two valid base files come from `microseg generate` (600 customers × 17 features): the file as
written (matrix layout, one chunk per dataset) and the same values rewritten by h5py in the
columnar layout with 64-row chunks (many chunks, so two ranks read different ones). Each mutant
changes 1-4 bytes of one region of its base (hdf5_regions.py): the superblock, the object
headers, the chunk index (B-trees), the group index (B-trees, symbol table nodes, local heaps of
link names), the global heap (feature_names strings) or the raw data. The mutants are seeded
(case i of a run draws from numpy's PCG64 seeded with (SEED, i)), so a run is repeatable.

Each mutant is read by the real program, `microseg segment --k 1` (the sanitizer build's binary,
MICROSEG_BIN), at 1 rank, and every third one also at 2 ranks, each under a deadline. With k = 1
the result is checkable without k-means: every customer in segment 0, whose profile holds each
feature's exact min and max (float32 values) and mean. A case passes when it ends with
- exit 0 and a correct result: the ids and profile equal to what an independent reading of the
  mutant gives (for a data mutant: the base's values with the flipped bytes applied by numpy,
  which also tells whether the values are valid input; otherwise h5py's reading of the mutant,
  or the base's values when h5py cannot read it), and a sound manifest; or
- exit 2 with one `microseg: error:` message naming the mutant file and no output; for a data
  mutant only when the changed values are invalid input (a NaN or ±Inf feature, a duplicate id);
and at 2 ranks with the same status (and the same segments.h5) as at 1 rank. A signal, a
sanitizer report, another status or the deadline fails the case, except a crash inside the HDF5
library that KNOWN_HDF5_CRASHES classifies (none so far).

Run by CTest in the sanitizer build ("sanitize: hdf5 input fuzz"); it writes the counts to
MICROSEG_HDF5_FUZZ_REPORT (default: the working directory) as hdf5-fuzz.json and keeps failing
mutants there. `python3 tests/fuzz/hdf5_fuzz.py update-doc REPORT.json docs/reliability.md`
puts the counts into docs/reliability.md between its hdf5-fuzz markers.
"""
import concurrent.futures
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import unittest

import h5py
import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "support"))
sys.path.insert(0, os.path.dirname(__file__))
from hdf5_regions import find_regions  # noqa: E402
from microseg_run import MICROSEG, MPIEXEC, run  # noqa: E402

SEED = 20261204
REGIONS = ("superblock", "object_header", "chunk_index", "group_index", "global_heap", "data")
# Mutants per (base, region); the columnar base has no global heap (no string attribute).
PER_REGION = int(os.environ.get("MICROSEG_HDF5_FUZZ_PER_REGION", "9"))
# The read path built with the sanitizers (tests/fuzz/read_customers.cpp).
PROBE = os.environ.get("MICROSEG_READ_PROBE", "hdf5_read_probe")
# Leak checking stays with the unit and MPI sanitizer tests: with the slow unwinder it needs
# through Open MPI's plugins it makes a run 5-10 times longer. handle_abort prints where a rank
# was when it is stopped at the deadline.
# fast_unwind_on_fatal=0: libhdf5 has no frame pointers, so the fast unwinder faults inside it
# ("nested bug") and a crash there would be reported without a stack.
# allocator_may_return_null=1: an impossible size read from a damaged file (libhdf5 asked for
# 0xff0000000160 bytes in H5C_protect) makes malloc return NULL, as glibc's does in production,
# where libhdf5 then reports an error and the run ends with a clear message; by default ASan
# aborts on such a request instead, which is not what the program does.
ASAN_OPTIONS = ("detect_leaks=0:handle_abort=1:fast_unwind_on_fatal=0:"
                "detect_stack_use_after_return=1:allocator_may_return_null=1")
TWO_RANK_EVERY = 4
DEADLINE_SECONDS = 15  # above the 10 s a rank waits for the others to agree on its error
ORACLE_SECONDS = 10
WORKERS = 2
# Crashes and hangs inside libhdf5 itself that our io layer cannot prevent, each known by the
# libhdf5 functions on the stack the sanitizer prints (for a hang: where the rank was when it was
# stopped). A case is tolerated only when its stack passes through all of them; the report counts
# these cases apart, and docs/reliability.md lists them.
KNOWN_HDF5_BUGS = {
    "vlen-attribute-heap-reference": {
        # H5Aread converts each variable-length string of an attribute by following its global
        # heap reference (collection address, object index, length) as stored, unchecked:
        # H5HG_read then copies from outside the heap object (ASan: memcpy-param-overlap, SEGV)
        # and H5T__conv_vlen loops on a damaged length. The reference is in the attribute's
        # raw data and the heap collection, which HDF5's API does not let a reader check first.
        "kinds": ("sanitizer", "hang", "status"),
        "through": ("H5T__conv_vlen", "H5Aread"),
        "description": "HDF5 1.10.8 follows a damaged variable-length string reference of an "
                       "attribute (feature_names) unchecked: a crash in H5HG_read or a loop in "
                       "H5T__conv_vlen, under H5Aread",
    },
}
DOC_BEGIN, DOC_END = "<!-- hdf5-fuzz:begin -->", "<!-- hdf5-fuzz:end -->"


def run_bounded(ranks, args, deadline):
    """(status or None on the deadline, stdout, stderr) of `mpiexec -n ranks PROBE args`.
    Past the deadline the ranks get SIGABRT, on which the sanitizers print where each one was
    (handle_abort), and then the whole process group (mpiexec and the ranks) is killed."""
    cmd = [MPIEXEC, "--oversubscribe", "--bind-to", "none", "-n", str(ranks), PROBE]
    env = dict(os.environ, ASAN_OPTIONS=ASAN_OPTIONS)
    proc = subprocess.Popen(cmd + [str(a) for a in args], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, errors="replace", env=env,
                            start_new_session=True)
    try:
        out, err = proc.communicate(timeout=deadline)
        return proc.returncode, out, err
    except subprocess.TimeoutExpired:
        ranks_pids = subprocess.run(["pgrep", "-P", str(proc.pid)], capture_output=True,
                                    text=True).stdout.split()
        for pid in ranks_pids:
            try:
                os.kill(int(pid), signal.SIGABRT)
            except ProcessLookupError:
                pass
        try:
            out, err = proc.communicate(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            out, err = proc.communicate()
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        return None, out, err


# ---------------------------------------------------------------------------------------------
# The base files and what a reading of them should give

def make_bases(workdir):
    generated = os.path.join(workdir, "generated.h5")
    run(1, "generate", "--customers", 600, "--segments", 4, "--seed", SEED, "--output",
        generated, "--quiet", env={"ASAN_OPTIONS": ASAN_OPTIONS})
    columns = os.path.join(workdir, "columns64.h5")
    with h5py.File(generated, "r") as f, h5py.File(columns, "w") as out:
        g = out.create_group("customers")
        g.create_dataset("id", data=f["customers/id"][...], chunks=(64,))
        names = [n.decode() if isinstance(n, bytes) else n
                 for n in f["customers/features"].attrs["feature_names"]]
        values = f["customers/features"][...]
        for j, name in enumerate(names):
            g.create_dataset(name, data=values[:, j], chunks=(64,))
        g.create_dataset("planted_segment", data=f["customers/planted_segment"][...],
                         chunks=(64,))
    return {"generated": generated, "columns64": columns}


def as_bytes(name):
    return name if isinstance(name, bytes) else str(name).encode("utf-8", "surrogateescape")


def read_expected(path):
    """(ids, float32 features n × d, names as bytes) as microseg's schema takes them from `path`,
    read by h5py; raises whatever h5py raises on a file it cannot read."""
    with h5py.File(path, "r") as f:
        g = f["customers"]
        ids = np.asarray(g["id"][...]).astype(np.int64)
        if "features" in g:
            ds = g["features"]
            if "feature_names" in ds.attrs:
                names = [as_bytes(n) for n in ds.attrs["feature_names"]]
            else:
                names = [b"feature_%d" % j for j in range(ds.shape[1])]
            return ids, np.asarray(ds[...]).astype(np.float32), names
        names, columns = [], []
        for name in g:
            obj = g[name]
            if name in ("id", "planted_segment", "planted_macro_segment"):
                continue
            if isinstance(obj, h5py.Dataset) and obj.dtype.kind in "iuf":
                names.append(as_bytes(name))
                columns.append(np.asarray(obj[...]).astype(np.float32))
        return ids, np.column_stack(columns), names


def patched_values(base, base_values, regions, mutations):
    """The values of a data mutant, from the base's values and the changed bytes: each stored
    chunk is uncompressed, its elements in row-major order of the chunk's extent."""
    ids, features, names = base_values
    ids, features = ids.copy(), features.copy()
    stored = {"generated": "matrix", "columns64": "columns"}[base]
    for offset, value in mutations:
        for name, chunk_offset, address, size in regions.chunks:
            if not address <= offset < address + size:
                continue
            with h5py.File(BASES[base], "r") as f:
                ds = f[name]
                chunk_rows = ds.chunks[0]
                dtype = ds.dtype
            raw = bytearray(np.ascontiguousarray(
                _chunk_values(name, stored, ids, features, names, chunk_offset[0], chunk_rows,
                              dtype)).tobytes())
            raw[offset - address] = value
            _put_chunk(name, stored, ids, features, names, chunk_offset[0],
                       np.frombuffer(bytes(raw), dtype=dtype))
    return ids, features, names


def _chunk_values(name, stored, ids, features, names, row, rows, dtype):
    if name == "/customers/id":
        block = ids[row:row + rows]
    elif name == "/customers/features":
        block = features[row:row + rows]
    elif name == "/customers/planted_segment":
        return np.zeros(rows, dtype=dtype)  # not read by segment: its values do not matter
    else:
        block = features[row:row + rows, names.index(as_bytes(name.rsplit("/", 1)[1]))]
    padded = np.zeros((rows,) + block.shape[1:], dtype=dtype)
    padded[:len(block)] = block
    return padded


def _put_chunk(name, stored, ids, features, names, row, values):
    if name == "/customers/id":
        ids[row:row + len(values)] = values[:len(ids) - row]
    elif name == "/customers/features":
        block = values.reshape(-1, features.shape[1])
        features[row:row + len(block)] = block[:len(features) - row]
    elif name != "/customers/planted_segment":
        column = names.index(as_bytes(name.rsplit("/", 1)[1]))
        features[row:row + len(values), column] = values[:len(features) - row]


# ---------------------------------------------------------------------------------------------
# Mutants

INTERESTING = [0, 0xFFFFFFFFFFFFFFFF, 1 << 31, 1 << 32, 1 << 62, 0x7FFFFFFF, 4096]


def draw_mutations(rng, regions, region, data):
    """1-4 changed bytes [(offset, new value)] inside `region`: mostly single bit flips, some
    random or extreme bytes, and some 8-byte words set to values that break addresses and
    lengths (outside the data)."""
    ranges = regions.ranges[region]
    weights = np.array([end - begin for begin, end in ranges], dtype=float)
    changes = {}
    for _ in range(int(rng.choice([1, 1, 1, 2, 3, 4]))):
        begin, end = ranges[int(rng.choice(len(ranges), p=weights / weights.sum()))]
        at = int(rng.integers(begin, end))
        kind = rng.random()
        if kind < 0.1 and region != "data":
            word = int(rng.choice(INTERESTING)).to_bytes(8, "little")
            for i, byte in enumerate(word[:max(0, min(8, end - at))]):
                changes[at + i] = byte
            continue
        old = changes.get(at, data[at])
        if kind < 0.6:
            new = old ^ (1 << int(rng.integers(8)))
        elif kind < 0.85:
            new = int(rng.integers(256))
        else:
            new = 0xFF if old != 0xFF else 0x00
        changes[at] = new
    return sorted((at, value) for at, value in changes.items() if value != data[at])


def plan_cases():
    """Every case: (index, base, region, mutations), the same for every run."""
    cases = []
    for base in BASES:
        regions = REGION_MAPS[base]
        with open(BASES[base], "rb") as f:
            data = f.read()
        for region in REGIONS:
            if not regions.ranges[region]:
                continue
            for _ in range(PER_REGION):
                index = len(cases)
                rng = np.random.Generator(np.random.PCG64([SEED, index]))
                mutations = []
                while not mutations:
                    mutations = draw_mutations(rng, regions, region, data)
                cases.append((index, base, region, mutations))
    return cases


def write_mutant(base, mutations, path):
    with open(BASES[base], "rb") as f:
        data = bytearray(f.read())
    for at, value in mutations:
        data[at] = value
    with open(path, "wb") as f:
        f.write(data)


# ---------------------------------------------------------------------------------------------
# Judging one run

SANITIZER = re.compile(r"ERROR: AddressSanitizer[^\n]*|runtime error:[^\n]*")
# A libhdf5 frame as AddressSanitizer prints it ("#3 0x... in H5HG_read (/lib/.../libhdf5...")
# or as Open MPI's signal handler does ("[ 1] /lib/.../libhdf5_openmpi.so.103(H5HG_read+0x95)").
HDF5_FRAME = re.compile(r"#\d+ 0x[0-9a-f]+ in (\w+) \(\S*libhdf5|libhdf5\S*\((\w+)\+0x")


def crash_kind(status, err):
    """None for an end by exit 0 or 2; else ('hang'|'sanitizer'|'status', detail)."""
    if status is None:
        return "hang", f"no end within {DEADLINE_SECONDS} s"
    found = SANITIZER.search(err)
    if found:
        return "sanitizer", found.group(0)
    if status not in (0, 2):
        return "status", f"exit status {status}"
    return None


def hdf5_frames(err):
    """The libhdf5 functions on the reported stacks, innermost first."""
    return [a or b for a, b in HDF5_FRAME.findall(err)]


def known_hdf5_bug(kind, err):
    """The KNOWN_HDF5_BUGS entry that a crash or hang matches, or None."""
    frames = hdf5_frames(err)
    for name, bug in KNOWN_HDF5_BUGS.items():
        if kind in bug["kinds"] and all(frame in frames for frame in bug["through"]):
            return name
    return None


def read_outputs(prefix, ranks):
    """(ids, features, names) the probe wrote, its ranks' blocks joined in rank order."""
    ids, features, names = [], [], None
    for rank in range(ranks):
        with open(f"{prefix}.{rank}", "rb") as f:
            rows, columns, _ = (int(v) for v in f.readline().split())
            block_names = [bytes.fromhex(f.readline().decode()) for _ in range(columns)]
            names = block_names if names is None else names
            if block_names != names:
                raise AssertionError(f"rank {rank} names the features {block_names}")
            ids.append(np.frombuffer(f.read(8 * rows), dtype=np.int64))
            features.append(np.frombuffer(f.read(4 * rows * columns),
                                          dtype=np.float32).reshape(rows, columns))
    return np.concatenate(ids), np.concatenate(features), names


def same_values(got, expected):
    """Bit for bit: NaN payloads and signed zeros count."""
    return (np.array_equal(got[0], expected[0]) and got[2] == list(expected[2])
            and got[1].shape == expected[1].shape
            and np.array_equal(got[1].view(np.uint32), expected[1].view(np.uint32)))


def judge(case, ranks, status, err, prefix, mutant):
    """(outcome, detail): outcome 'correct', 'error', 'known_hdf5_bug' or 'failed'."""
    index, base, region, mutations = case
    crash = crash_kind(status, err)
    if crash:
        known = known_hdf5_bug(crash[0], err)
        if known:
            return "known_hdf5_bug", known
        return "failed", f"{crash[0]}: {crash[1]}; HDF5 frames {hdf5_frames(err)[:6]}"
    written = [n for n in os.listdir(os.path.dirname(prefix))
               if n.startswith(os.path.basename(prefix) + ".")]
    if status == 2:
        problems = []
        if err.count("microseg: error:") != 1 or os.path.basename(mutant) not in err:
            problems.append("not one message naming the file")
        if written:
            problems.append(f"wrote {written} despite the error")
        if region == "data":
            problems.append("a file with only its values changed was refused")
        return ("failed", "; ".join(problems)) if problems else ("error", "")
    got = read_outputs(prefix, ranks)
    if region == "data":
        expected = patched_values(base, BASE_VALUES[base], REGION_MAPS[base], mutations)
        if not same_values(got, expected):
            return "failed", "values differ from the base's with the changed bytes applied"
        return "correct", ""
    expected = h5py_reading(case)
    if expected is None and not same_values(got, BASE_VALUES[base]):
        return "failed", "h5py cannot read the file, and the values differ from the base's"
    if expected is not None and not same_values(got, expected):
        return "failed", "values differ from h5py's reading of the same file"
    return "correct", ""


def h5py_reading(case):
    """h5py's reading of a case's mutant, in a process of its own (libhdf5 itself crashes or
    loops on some damaged files); None when it cannot read it within ORACLE_SECONDS."""
    index, base, region, mutations = case
    path = os.path.join(WORKDIR, f"oracle-{index}.h5")
    write_mutant(base, mutations, path)
    script = ("import sys, numpy; sys.path.insert(0, sys.argv[1]); import hdf5_fuzz; "
              "ids, x, names = hdf5_fuzz.read_expected(sys.argv[2]); "
              "numpy.savez(sys.argv[3], ids, x); "
              "open(sys.argv[3] + '.names', 'w').write(' '.join(n.hex() for n in names))")
    try:
        proc = subprocess.run([sys.executable, "-c", script, os.path.dirname(__file__), path,
                               path + ".npz"], capture_output=True, timeout=ORACLE_SECONDS)
        if proc.returncode != 0:
            return None
        with np.load(path + ".npz") as saved, open(path + ".npz.names") as names:
            return (saved["arr_0"], saved["arr_1"],
                    [bytes.fromhex(n) for n in names.read().split(" ")])
    except subprocess.TimeoutExpired:
        return None
    finally:
        for leftover in (path, path + ".npz", path + ".npz.names"):
            if os.path.exists(leftover):
                os.remove(leftover)


def run_case(case):
    index, base, region, mutations = case
    case_dir = tempfile.mkdtemp(prefix=f"case-{index}-", dir=WORKDIR)
    mutant = os.path.join(case_dir, f"mutant-{index}.h5")
    write_mutant(base, mutations, mutant)
    outcomes = {}
    for ranks in (1, 2) if index % TWO_RANK_EVERY == 0 else (1,):
        prefix = os.path.join(case_dir, f"read{ranks}")
        started = time.monotonic()
        status, _, err = run_bounded(ranks, [mutant, prefix], DEADLINE_SECONDS)
        try:
            outcome, detail = judge(case, ranks, status, err, prefix, mutant)
        except Exception as e:  # noqa: BLE001 - a case the driver cannot judge is a failure
            outcome, detail = "failed", f"cannot judge: {type(e).__name__}: {e}"
        outcomes[ranks] = {"outcome": outcome, "detail": detail, "status": status,
                           "seconds": round(time.monotonic() - started, 2),
                           "stderr": err[-4000:]}
    if 2 in outcomes and outcomes[2]["outcome"] != "failed" and \
            outcomes[2]["status"] != outcomes[1]["status"]:
        outcomes[2].update(outcome="failed", detail="exit status differs from 1 rank's")
    if any(o["outcome"] == "failed" for o in outcomes.values()):
        keep = os.path.join(REPORT_DIR, "hdf5-fuzz-failures")
        os.makedirs(keep, exist_ok=True)
        shutil.copy(mutant, keep)
    shutil.rmtree(case_dir, ignore_errors=True)
    return {"index": index, "base": base, "region": region, "mutations": mutations,
            "ranks": outcomes}


# ---------------------------------------------------------------------------------------------
# The campaign and its report

def summarise(results, seconds):
    counts = {}
    for r in results:
        for ranks, o in r["ranks"].items():
            key = f"{r['region']}"
            row = counts.setdefault(key, {"mutants": 0, "runs_1_rank": 0, "runs_2_ranks": 0,
                                          "correct": 0, "error": 0, "known_hdf5_bug": 0,
                                          "failed": 0})
            if ranks == 1:
                row["mutants"] += 1
            row["runs_1_rank" if ranks == 1 else "runs_2_ranks"] += 1
            row[o["outcome"]] += 1
    failures = [dict(r, ranks={k: v for k, v in r["ranks"].items()}) for r in results
                if any(o["outcome"] == "failed" for o in r["ranks"].values())]
    version = re.search(r"HDF5:? ([0-9.]+)", subprocess.run(
        [MICROSEG, "--version"], capture_output=True, text=True).stdout)
    return {"seed": SEED, "per_region": PER_REGION, "bases": list(BASES),
            "hdf5": version.group(1) if version else "unknown", "seconds": round(seconds, 1),
            "counts": counts, "known_hdf5_bugs": KNOWN_HDF5_BUGS, "failures": failures}


def markdown(summary):
    lines = [DOC_BEGIN,
             f"Last run: {sum(c['mutants'] for c in summary['counts'].values())} mutants "
             f"(seed {summary['seed']}, {summary['per_region']} per region and base file), "
             f"HDF5 {summary['hdf5']}, {summary['seconds']} s. The outcome columns count runs.",
             "",
             "| region | mutants | runs at 1 rank | runs at 2 ranks | correct result | clear error "
             "(exit 2) | known HDF5 bug | crash, hang or wrong |",
             "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"]
    total = {}
    for region in REGIONS:
        row = summary["counts"].get(region)
        if not row:
            continue
        for key, value in row.items():
            total[key] = total.get(key, 0) + value
        lines.append(_row(region.replace("_", " "), row))
    lines.append(_row("**all**", total))
    lines.append(DOC_END)
    return "\n".join(lines) + "\n"


def _row(label, row):
    keys = ("mutants", "runs_1_rank", "runs_2_ranks", "correct", "error", "known_hdf5_bug",
            "failed")
    return "| " + label + " | " + " | ".join(str(row.get(k, 0)) for k in keys) + " |"


def update_doc(report, doc):
    with open(report) as f:
        table = markdown(json.load(f))
    with open(doc) as f:
        text = f.read()
    begin, end = text.index(DOC_BEGIN), text.index(DOC_END) + len(DOC_END) + 1
    with open(doc, "w") as f:
        f.write(text[:begin] + table + text[end:])


REPORT_DIR = os.path.abspath(os.environ.get("MICROSEG_HDF5_FUZZ_REPORT", "."))
WORKDIR = BASES = REGION_MAPS = BASE_VALUES = None


class Hdf5InputFuzz(unittest.TestCase):
    def test_every_mutant_ends_in_a_clear_error_or_a_correct_result(self):
        global WORKDIR, BASES, REGION_MAPS, BASE_VALUES
        holder = tempfile.TemporaryDirectory(prefix="microseg-hdf5-fuzz-")
        WORKDIR = holder.name
        BASES = make_bases(WORKDIR)
        REGION_MAPS = {base: find_regions(path) for base, path in BASES.items()}
        BASE_VALUES = {base: read_expected(path) for base, path in BASES.items()}
        started = time.monotonic()
        cases = plan_cases()
        with concurrent.futures.ThreadPoolExecutor(WORKERS) as pool:
            results = list(pool.map(run_case, cases))
        os.makedirs(REPORT_DIR, exist_ok=True)
        with open(os.path.join(REPORT_DIR, "hdf5-fuzz-cases.json"), "w") as f:
            json.dump(results, f, indent=1, default=int)
        summary = summarise(results, time.monotonic() - started)
        with open(os.path.join(REPORT_DIR, "hdf5-fuzz.json"), "w") as f:
            json.dump(summary, f, indent=1, default=int)
        with open(os.path.join(REPORT_DIR, "hdf5-fuzz.md"), "w") as f:
            f.write(markdown(summary))
        print(markdown(summary))
        holder.cleanup()
        details = "\n\n".join(
            f"case {r['index']} ({r['base']}, {r['region']}, bytes {r['mutations']}): " +
            "; ".join(f"{k} rank(s): {v['detail']}\n{v['stderr'][-1500:]}"
                      for k, v in r["ranks"].items() if v["outcome"] == "failed")
            for r in summary["failures"])
        self.assertEqual(summary["failures"], [], details)


if __name__ == "__main__":
    if len(sys.argv) == 4 and sys.argv[1] == "update-doc":
        update_doc(sys.argv[2], sys.argv[3])
    else:
        unittest.main()
