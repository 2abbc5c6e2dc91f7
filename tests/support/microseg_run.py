"""Helpers for the script tests: run the microseg binary under mpiexec and make input files.

The tests run under Debian's /usr/bin/python3 (python3-h5py, python3-sklearn, python3-pandas).
CTest passes MICROSEG_BIN (the binary) and MPIEXEC; the Open MPI root/oversubscribe variables
come from the environment as well.
"""
import os
import signal
import subprocess
import tempfile
import time

import h5py
import numpy as np

MICROSEG = os.environ.get("MICROSEG_BIN", "microseg")
MPIEXEC = os.environ.get("MPIEXEC", "mpiexec")
# A run that hangs is a failure, not a wait.
RUN_TIMEOUT = float(os.environ.get("MICROSEG_TEST_TIMEOUT", "120"))


def run(ranks, *args, check=True, env=None):
    """Runs `mpiexec -n ranks microseg args...` (with the variables `env` added to the
    environment); returns the CompletedProcess (text output)."""
    cmd = [MPIEXEC, "--oversubscribe", "--bind-to", "none", "-n", str(ranks), MICROSEG]
    cmd += [str(a) for a in args]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=RUN_TIMEOUT,
                          env=dict(os.environ, **(env or {})))
    if check and proc.returncode != 0:
        raise AssertionError(
            f"{' '.join(cmd)} failed with {proc.returncode}\nstdout:\n{proc.stdout}\n"
            f"stderr:\n{proc.stderr}")
    return proc


def assert_drawn_png(case, path, min_height, min_width, min_spread=0.05):
    """The PNG at `path` reads back with matplotlib, is larger than min_height × min_width pixels
    and is drawn: its colours vary by more than min_spread (a blank canvas has 0). Returns it."""
    import matplotlib.image
    image = matplotlib.image.imread(path)
    case.assertGreater(image.shape[0], min_height, path)
    case.assertGreater(image.shape[1], min_width, path)
    case.assertGreater(float(np.std(image[..., :3])), min_spread, f"{path} looks blank")
    return image


def directory_bytes(directory):
    """{file name: its bytes} of every file in `directory`, hidden ones too: what a failed run
    must leave as it was."""
    contents = {}
    for name in sorted(os.listdir(directory)):
        with open(os.path.join(directory, name), "rb") as f:
            contents[name] = f.read()
    return contents


def temp_dir():
    """A fresh directory removed when the test process ends."""
    holder = tempfile.TemporaryDirectory(prefix="microseg-test-")
    _keep.append(holder)
    return holder.name


_keep = []


def write_columns(path, ids, columns, chunks=None, compression=None):
    """A columnar customer table: /customers/id plus one 1-D dataset per feature (dict order)."""
    with h5py.File(path, "w") as f:
        g = f.create_group("customers")
        g.create_dataset("id", data=np.asarray(ids, dtype=np.int64))
        for name, values in columns.items():
            kwargs = {}
            if chunks:
                kwargs["chunks"] = (min(chunks, len(values)),)
            if compression:
                kwargs["compression"] = compression
            g.create_dataset(name, data=np.asarray(values), **kwargs)


def write_matrix(path, ids, features, names, dtype=np.float64):
    """A matrix customer table: /customers/id and /customers/features with feature_names."""
    with h5py.File(path, "w") as f:
        g = f.create_group("customers")
        g.create_dataset("id", data=np.asarray(ids, dtype=np.int64))
        d = g.create_dataset("features", data=np.asarray(features, dtype=dtype))
        d.attrs["feature_names"] = np.array(names, dtype=h5py.string_dtype())


def read_planted(path):
    """The planted segment of every customer of a table written by `microseg generate`."""
    with h5py.File(path, "r") as f:
        return f["customers/planted_segment"][...]


def read_table(path):
    """(ids, features float64 n × d, names) of a customer table in either layout."""
    with h5py.File(path, "r") as f:
        g = f["customers"]
        ids = g["id"][...]
        if "features" in g:
            names = [n.decode() if isinstance(n, bytes) else str(n)
                     for n in g["features"].attrs["feature_names"]]
            return ids, g["features"][...].astype(np.float64), names
        names = [k for k in g.keys() if k not in ("id", "planted_segment")]
        return ids, np.column_stack([g[k][...].astype(np.float64) for k in names]), names


def zscore_like_microseg(features):
    """The scaled matrix microseg clusters: float32 input, population z-score, float32 result."""
    x = features.astype(np.float32).astype(np.float64)
    mean = x.mean(axis=0)
    std = x.std(axis=0)
    std[std == 0] = 1.0
    return ((x - mean) / std).astype(np.float32).astype(np.float64)


def manifest_problems(directory, command):
    """What is wrong with DIR/manifest.json (docs/file-format.md), checked against the files
    themselves with coreutils' sha256sum: [] when it lists every file of the directory (hidden
    temporaries aside; a sweep's models/ too) with its size and sha256, names `command`, and
    every listed file and the manifest have mode 0640."""
    import json
    import stat
    path = os.path.join(directory, "manifest.json")
    if not os.path.exists(path):
        return [f"{path} is missing"]
    with open(path) as f:
        manifest = json.load(f)
    problems = []
    if manifest.get("command") != command:
        problems.append(f"command {manifest.get('command')!r}, expected {command!r}")
    present = set()
    for root, _, files in os.walk(directory):
        for name in files:
            if not name.startswith(".") and name != "manifest.json":
                present.add(os.path.relpath(os.path.join(root, name), directory))
    listed = {entry["file"]: entry for entry in manifest["outputs"]}
    if set(listed) != present:
        problems.append(f"lists {sorted(listed)}, the directory holds {sorted(present)}")
    for name, entry in listed.items():
        output = os.path.join(directory, name)
        if not os.path.exists(output):
            continue
        # On standard input: sha256sum escapes a file name holding a backslash or a newline
        # and then marks the digest with a leading backslash.
        with open(output, "rb") as content:
            sha = subprocess.run(["sha256sum"], stdin=content, capture_output=True, text=True,
                                 check=True).stdout.split()[0]
        if entry["sha256"] != sha:
            problems.append(f"{name}: sha256 {entry['sha256']}, sha256sum says {sha}")
        if entry["bytes"] != os.path.getsize(output):
            problems.append(f"{name}: {entry['bytes']} bytes listed, {os.path.getsize(output)} there")
        if stat.S_IMODE(os.stat(output).st_mode) != 0o640:
            problems.append(f"{name}: mode {oct(os.stat(output).st_mode)}")
    if stat.S_IMODE(os.stat(path).st_mode) != 0o640:
        problems.append(f"manifest.json: mode {oct(os.stat(path).st_mode)}")
    return problems


def h5diff(reference, other, exclude_attributes=()):
    """(exit status, report) of `h5diff` between two HDF5 files without any tolerance option:
    0 when every dataset and attribute is bit-identical. Attributes are left out only on the
    objects named in exclude_attributes (e.g. "/run", which records the rank count and timings;
    tests compare the rest of it themselves)."""
    options = [option for path in exclude_attributes for option in ("--exclude-attribute", path)]
    proc = subprocess.run(["h5diff", *options, reference, other], capture_output=True, text=True)
    return proc.returncode, proc.stdout + proc.stderr


def run_facts(path):
    """/run's attributes but the timings, the rank count and the configuration text."""
    with h5py.File(path, "r") as f:
        return {key: value for key, value in f["run"].attrs.items()
                if not key.startswith("seconds_") and key not in ("ranks", "configuration")}


def run_and_signal(cmd, ranks, after, signum, to, env=None, timeout=60):
    """Starts `cmd` (an mpiexec command line for `ranks` ranks); when a line containing `after`
    appears, sends `signum` to mpiexec (to="mpiexec"), to the rank processes (to="ranks") or to
    both (to="all"). Returns (exit status, combined output). Progress is not rate-limited
    (MICROSEG_PROGRESS_SECONDS=0), so the line waited for is printed whenever it happens."""
    env = dict(os.environ, MICROSEG_PROGRESS_SECONDS="0", **(env or {}))
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            env=env, start_new_session=True)
    lines = []
    deadline = time.monotonic() + timeout
    try:
        for line in proc.stdout:
            lines.append(line)
            if after in line:
                # mpiexec puts its ranks in process groups of their own, so they are found as
                # its children.
                rank_pids = [int(pid) for pid in subprocess.run(
                    ["pgrep", "-P", str(proc.pid)], text=True, capture_output=True).stdout.split()]
                assert len(rank_pids) == ranks, rank_pids
                for pid in ([proc.pid] if to in ("mpiexec", "all") else []) + \
                        (rank_pids if to in ("ranks", "all") else []):
                    os.kill(pid, signum)
                break
            if time.monotonic() > deadline:
                break
        lines += proc.stdout.readlines()
        status = proc.wait(timeout=timeout)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
        proc.stdout.close()
    return status, "".join(lines)


def start_ranks(cmd, ranks, env=None, timeout=30):
    """Starts `cmd` (an mpiexec command line for `ranks` ranks) in a session of its own, with
    stdout and stderr piped; returns (the Popen, the rank processes' pids) once mpiexec has
    started them all. Pass both to kill_ranks() in a finally: a stopped rank (SIGSTOP) would
    outlive the test otherwise."""
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env=dict(os.environ, **(env or {})), start_new_session=True)
    deadline = time.monotonic() + timeout
    pids = []
    while time.monotonic() < deadline and proc.poll() is None:
        # mpiexec puts its ranks in process groups of their own, so they are found as its
        # children.
        pids = [int(pid) for pid in subprocess.run(
            ["pgrep", "-P", str(proc.pid)], text=True, capture_output=True).stdout.split()]
        if len(pids) == ranks:
            break
        time.sleep(0.01)
    return proc, pids


def kill_ranks(proc, pids):
    """SIGKILL to mpiexec's session and to each rank of start_ranks() still alive (stopped ones
    too)."""
    for pid in pids:
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()


def stop_sweep_after_first_model(cmd, models, timeout=60):
    """Starts a sweep (`cmd`, an mpiexec command line) with rank 0 sleeping in every Lloyd
    iteration, sends mpiexec SIGUSR1 once the first model file is in `models`, and returns
    (exit status, stderr)."""
    env = dict(os.environ, MICROSEG_INJECT_FAILURE="0:iteration:stall")
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env=env, start_new_session=True)
    deadline = time.time() + timeout
    while time.time() < deadline and proc.poll() is None:
        if os.path.isdir(models) and any(n.endswith(".h5") for n in os.listdir(models)):
            break
        time.sleep(0.005)
    proc.send_signal(signal.SIGUSR1)
    _, stderr = proc.communicate(timeout=timeout)
    return proc.returncode, stderr


def assert_resumed_like_reference(case, reference, out, log, csv_outputs):
    """Asserts on `case` that the run resumed into `out` said so and wrote what the uninterrupted
    run in `reference` wrote (assert_same_segmentation)."""
    case.assertIn("resuming from " + os.path.join(out, "checkpoint.h5"), log)
    assert_same_segmentation(case, reference, out, csv_outputs)


def assert_same_segmentation(case, reference, out, csv_outputs):
    """Asserts on `case` that the `segment` run in `out` wrote what the run in `reference` wrote:
    segments.h5 by h5diff without /run's attributes (timings, rank count, the configuration text
    naming the output directory and --resume) and the rest of /run by run_facts(), the CSVs byte
    for byte, no checkpoint left, a sound manifest."""
    status, diff = h5diff(os.path.join(reference, "segments.h5"),
                          os.path.join(out, "segments.h5"), exclude_attributes=["/run"])
    case.assertEqual(status, 0, diff)
    case.assertEqual(run_facts(os.path.join(reference, "segments.h5")),
                     run_facts(os.path.join(out, "segments.h5")))
    for name in csv_outputs:
        with open(os.path.join(reference, name), "rb") as a, \
                open(os.path.join(out, name), "rb") as b:
            case.assertEqual(a.read(), b.read(), name)
    case.assertFalse(os.path.exists(os.path.join(out, "checkpoint.h5")))
    case.assertEqual(manifest_problems(out, "segment"), [])
