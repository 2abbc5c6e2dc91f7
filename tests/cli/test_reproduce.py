"""`microseg reproduce RUN_DIR` replays a run from its manifest into a scratch directory and
compares every output's canonical content digest with the recorded one: a 2-rank run reproduces
at 1 and 3 ranks, and so do a --previous run, an assign run, a sweep and a promote. A changed
input, a changed previous run, a tampered output and a manifest of an earlier version are
reported naming the file (and the first differing dataset), with a non-zero exit. (Also: a
bare --match-max-distance, a distance rather than a multiple of the spread, is said to be one.)

The manifest's content_sha256 is checked against an independent implementation of the digest
in docs/file-format.md ("Canonical content digest"), written here with h5py and hashlib."""
import hashlib
import json
import os
import shutil
import sys
import unittest

import h5py
import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "support"))
from microseg_run import run, temp_dir  # noqa: E402

EXCLUDED = {"ranks", "threads", "job_file", "input", "output", "model", "previous_run",
            "promoted_from", "created_utc", "date"}
PATH_KEYS = {"previous", "input", "output", "job_file", "model", "init-centroids",
             "promoted-from"}


def _count(n):
    return int(n).to_bytes(8, "little")


def _text(b):
    return _count(len(b)) + b


def _type_name(dtype):
    if dtype.kind in "SUO":
        return "string"
    if dtype.kind == "i":
        return f"int{8 * dtype.itemsize}"
    if dtype.kind == "u":
        return f"uint{8 * dtype.itemsize}"
    if dtype.kind == "f":
        return f"float{8 * dtype.itemsize}"
    if dtype.kind == "V":
        return f"compound{8 * dtype.itemsize}"
    raise ValueError(dtype)


def _item(name, dtype, shape, values, attribute=None):
    h = hashlib.sha256()
    h.update(_text(name.encode()) + _text(_type_name(dtype).encode()) + _count(len(shape)))
    for extent in shape:
        h.update(_count(extent))
    if dtype.kind in "SUO":
        for value in np.asarray(values, dtype=object).reshape(-1):
            text = value.decode() if isinstance(value, bytes) else str(value)
            if attribute == "configuration":
                text = "".join(line + "\n" for line in text.split("\n")[:-1]
                               if line.split(" = ")[0] not in PATH_KEYS or " = " not in line)
            h.update(_text(text.encode()))
    else:
        h.update(np.ascontiguousarray(values, dtype=dtype.newbyteorder("<")).tobytes())
    return name, h.hexdigest()


def oracle_items(path):
    """The digest items of an output file, from the format's description."""
    if not path.endswith(".h5"):
        with open(path, "rb") as f:
            return [(os.path.basename(path), hashlib.sha256(f.read()).hexdigest())]
    items = []

    def attributes(obj, where):
        for key in obj.attrs:
            if key in EXCLUDED or key.startswith("seconds") or key.startswith("version_"):
                continue
            space = obj.attrs.get_id(key)
            items.append(_item(f"{where}@{key}", space.dtype, space.shape, obj.attrs[key], key))

    with h5py.File(path, "r") as f:
        attributes(f, "/")

        def visit(name, obj):
            attributes(obj, "/" + name)
            if isinstance(obj, h5py.Dataset):
                items.append(_item("/" + name, obj.dtype, obj.shape, obj[()]))
        f.visititems(visit)
    return items


def oracle_digest(path):
    lines = "".join(f"{name}\t{sha}\n" for name, sha in sorted(oracle_items(path)))
    return hashlib.sha256(lines.encode()).hexdigest()


def manifest(directory):
    with open(os.path.join(directory, "manifest.json")) as f:
        return json.load(f)


class Reproduce(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        d = cls.dir = temp_dir()
        cls.data = os.path.join(d, "customers.h5")
        run(2, "generate", "--customers", 3000, "--segments", 5, "--separation", 3, "--seed", 7,
            "--output", cls.data)
        cls.first = os.path.join(d, "q1")
        run(2, "segment", "--input", cls.data, "--k", 5, "--seed", 3, "--output", cls.first,
            "--log1p", "income,monetary")
        cls.second = os.path.join(d, "q2")
        run(2, "segment", "--input", cls.data, "--k", 6, "--seed", 4, "--output", cls.second,
            "--previous", cls.first, "--warm-start")
        cls.scored = os.path.join(d, "scored")
        run(2, "assign", "--model", cls.first, "--input", cls.data, "--output", cls.scored)
        cls.sweep = os.path.join(d, "sweep")
        run(2, "sweep", "--input", cls.data, "--k", "3:4", "--restarts", 1, "--seed", 2,
            "--output", cls.sweep)
        cls.promoted = os.path.join(d, "promoted")
        run(2, "promote", "--sweep", cls.sweep, "--k", 4, "--output", cls.promoted)

    def reproduce(self, ranks, run_dir, *extra, check=True):
        return run(ranks, "reproduce", run_dir, *extra, check=check)

    def assert_equal_everywhere(self, proc, run_dir):
        outputs = [entry["file"] for entry in manifest(run_dir)["outputs"]]
        self.assertGreater(len(outputs), 0)
        table = proc.stdout[proc.stdout.index("output "):]
        for name in outputs:
            line = next(line for line in table.splitlines() if line.startswith(name + " "))
            self.assertTrue(line.rstrip().endswith("yes"), line)
        self.assertFalse(os.path.exists(run_dir + ".reproduce"), "scratch left behind")

    def test_manifest_content_digests_match_an_independent_implementation(self):
        for run_dir in (self.first, self.second, self.sweep):
            for entry in manifest(run_dir)["outputs"]:
                with self.subTest(run=run_dir, output=entry["file"]):
                    self.assertEqual(entry["content_sha256"],
                                     oracle_digest(os.path.join(run_dir, entry["file"])))

    def test_a_two_rank_run_reproduces_at_one_and_three_ranks(self):
        self.assertEqual(manifest(self.first)["ranks"], 2)
        for ranks in (1, 3):
            with self.subTest(ranks=ranks):
                self.assert_equal_everywhere(self.reproduce(ranks, self.first), self.first)

    def test_a_previous_run_an_assign_run_a_sweep_and_a_promote_reproduce(self):
        for ranks, run_dir in ((3, self.second), (1, self.scored), (1, self.sweep),
                               (3, self.promoted)):
            with self.subTest(run=os.path.basename(run_dir)):
                self.assert_equal_everywhere(self.reproduce(ranks, run_dir), run_dir)

    def test_keep_leaves_the_replayed_outputs_in_the_scratch_directory(self):
        scratch = os.path.join(self.dir, "audit")
        self.reproduce(1, self.scored, "--scratch", scratch, "--keep")
        self.assertTrue(os.path.exists(os.path.join(scratch, "assignments.h5")))
        self.assertEqual(manifest(scratch)["command"], "assign")

    def copy_run(self, run_dir, name):
        copy = os.path.join(self.dir, name)
        shutil.copytree(run_dir, copy)
        return copy

    def test_one_changed_input_value_is_refused_naming_the_input(self):
        data = os.path.join(self.dir, "changed.h5")
        shutil.copy(self.data, data)
        out = os.path.join(self.dir, "on-changed")
        run(1, "segment", "--input", data, "--k", 4, "--seed", 1, "--output", out)
        with h5py.File(data, "r+") as f:
            f["customers/features"][17, 1] += 1.0
        proc = self.reproduce(2, out, check=False)
        self.assertNotEqual(proc.returncode, 0)
        self.assertIn(f"the input '{data}' is not the data the run read", proc.stderr)
        self.assertIn("content_digest", proc.stderr)
        self.assertFalse(os.path.exists(out + ".reproduce"))
        os.remove(data)
        proc = self.reproduce(1, out, check=False)
        self.assertEqual(proc.returncode, 2)
        self.assertIn(f"the input '{data}'", proc.stderr)
        self.assertIn("is missing", proc.stderr)

    def test_a_changed_previous_run_is_refused_naming_it(self):
        first = self.copy_run(self.first, "q1-copy")
        second = os.path.join(self.dir, "q2-on-copy")
        run(1, "segment", "--input", self.data, "--k", 5, "--output", second, "--previous", first)
        with h5py.File(os.path.join(first, "segments.h5"), "r+") as f:
            f["centroids/scaled"][0, 0] += 0.5
        proc = self.reproduce(1, second, check=False)
        self.assertEqual(proc.returncode, 2)
        self.assertIn(f"the previous file '{os.path.join(first, 'segments.h5')}' has changed",
                      proc.stderr)

    def test_a_bare_match_max_distance_is_said_to_be_a_distance_not_a_multiple(self):
        out = os.path.join(self.dir, "q2-cutoff")
        proc = run(1, "segment", "--input", self.data, "--k", 5, "--output", out,
                   "--previous", self.first, "--match-max-distance", "3")
        self.assertIn("note: --match-max-distance 3 is an absolute distance in the previous run's "
                      "scaled space; write 3x for that many times its customer spread", proc.stdout)
        proc = run(1, "segment", "--input", self.data, "--k", 5, "--output", out,
                   "--previous", self.first, "--match-max-distance", "3x")
        self.assertNotIn("--match-max-distance", proc.stdout)

    def test_a_tampered_output_is_reported_naming_it_and_the_dataset(self):
        copy = self.copy_run(self.first, "q1-tampered")
        with h5py.File(os.path.join(copy, "segments.h5"), "r+") as f:
            f["assignments/distance"][5] *= 1.5
        proc = self.reproduce(2, copy, check=False)
        self.assertEqual(proc.returncode, 2)
        self.assertRegex(proc.stdout, r"segments\.h5 +[0-9a-f]{16} +[0-9a-f]{16} +NO")
        self.assertIn("segments.h5: the file in the run directory has changed", proc.stdout)
        self.assertIn("segments.h5: first differing dataset or attribute: /assignments/distance",
                      proc.stdout)
        self.assertIn("segments.h5 differs", proc.stderr)
        # The other outputs are reproduced and said to be.
        self.assertRegex(proc.stdout, r"profiles\.csv +[0-9a-f]{16} +[0-9a-f]{16} +yes")

    def test_a_manifest_of_an_earlier_version_says_what_is_missing(self):
        copy = self.copy_run(self.first, "q1-old")
        path = os.path.join(copy, "manifest.json")
        old = manifest(copy)
        old["format_version"] = 1
        del old["options"]
        del old["references"]
        for entry in old["outputs"]:
            del entry["content_sha256"]
        with open(path, "w") as f:
            json.dump(old, f)
        proc = self.reproduce(1, copy, check=False)
        self.assertEqual(proc.returncode, 2)
        for fragment in (path, "earlier microseg", "format_version 1", "no content_sha256",
                         "no options"):
            self.assertIn(fragment, proc.stderr)
        self.assertFalse(os.path.exists(copy + ".reproduce"))


if __name__ == "__main__":
    unittest.main(verbosity=2)
