"""Every JSON file microseg writes (the manifest.json of segment, promote, assign, sweep and
sweep-merge) is strict JSON that Python's json module parses, and its values round-trip: text
comes back exactly, even paths with quotes, backslashes, a tab and non-ASCII letters; counts
are JSON numbers; and each value equals what an independent source says: sha256sum and
os.stat for the outputs, segments.h5's /run attribute for the configuration, the mpiexec rank
count, the path given on the command line."""
import json
import os
import sys
import unittest

import h5py

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "support"))
from microseg_run import manifest_problems, run, temp_dir  # noqa: E402


def strict_json(path):
    """The parsed file; fails on bytes that are not UTF-8, on NaN or Infinity (which Python
    accepts but JSON does not) and on a key given twice in one object."""
    def no_constants(name):
        raise ValueError(f"{path}: {name} is not JSON")

    def unique_keys(pairs):
        keys = [key for key, _ in pairs]
        if len(keys) != len(set(keys)):
            raise ValueError(f"{path}: a key appears twice in {keys}")
        return dict(pairs)

    with open(path, "rb") as f:
        text = f.read().decode("utf-8", errors="strict")
    return json.loads(text, parse_constant=no_constants, object_pairs_hook=unique_keys)


class EveryJsonFileRoundTrips(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        # A directory name holding every character a hand-written writer gets wrong.
        base = cls.base = os.path.join(temp_dir(), 'odd "name" \\ with\ttab é€ ✓')
        os.makedirs(base)
        cls.data = os.path.join(base, "customers ü.h5")
        run(1, "generate", "--customers", 900, "--segments", 3, "--seed", 3, "--output", cls.data)
        cls.runs = {}  # directory -> (command, ranks)

        def add(name, command, ranks, *args):
            out = os.path.join(base, name)
            run(ranks, *(command.split()), *args, "--output", out)
            cls.runs[out] = (command, ranks)
            return out

        cls.segment = add("segment", "segment", 2, "--input", cls.data, "--k", 3, "--seed", 5)
        sweep = add("sweep", "sweep", 2, "--input", cls.data, "--k", "2:3", "--restarts", 1)
        add("promoted", "promote", 1, "--sweep", sweep, "--k", 3)
        add("scored", "assign", 3, "--model", cls.segment, "--input", cls.data)
        parts = [add(f"part{t}", "sweep", 1, "--input", cls.data, "--k", "2:3", "--restarts", 1,
                     "--task", f"{t}/2") for t in (0, 1)]
        add("merged", "sweep-merge", 1, "--parts", ",".join(parts), "--k", "2:3")

    def json_files(self):
        return sorted(os.path.join(root, name) for root, _, names in os.walk(self.base)
                      for name in names if name.endswith(".json"))

    def test_every_json_file_parses_as_strict_json(self):
        files = self.json_files()
        # One manifest per run, nothing else: the test sees every JSON file there is.
        self.assertEqual(files, sorted(os.path.join(d, "manifest.json") for d in self.runs))
        for path in files:
            with self.subTest(path=path):
                manifest = strict_json(path)
                self.assertEqual(manifest["format"], "microseg-manifest")
                self.assertIs(type(manifest["format_version"]), int)

    def test_values_round_trip_to_what_independent_sources_say(self):
        for directory, (command, ranks) in self.runs.items():
            with self.subTest(run=directory):
                manifest = strict_json(os.path.join(directory, "manifest.json"))
                self.assertEqual(manifest["command"], command)
                self.assertEqual(manifest_problems(directory, command), [])
                self.assertIs(type(manifest["ranks"]), int)
                self.assertEqual(manifest["ranks"], ranks)
                self.assertEqual(manifest["threads_per_rank"], 1)
                for entry in manifest["outputs"]:
                    self.assertIs(type(entry["bytes"]), int)
                # The quote, backslash, tab, é, € and ✓ of the path come back as given.
                self.assertEqual(manifest["input"]["path"], os.path.abspath(self.data))
                self.assertEqual(manifest["input"]["fingerprint"]["customers"], "900")

    def test_the_configuration_is_the_one_segments_h5_records(self):
        manifest = strict_json(os.path.join(self.segment, "manifest.json"))
        with h5py.File(os.path.join(self.segment, "segments.h5"), "r") as f:
            text = f["run"].attrs["configuration"]
        text = text.decode() if isinstance(text, bytes) else text
        recorded = dict(line.split(" = ", 1) for line in text.splitlines() if " = " in line)
        self.assertEqual(manifest["configuration"], recorded)
        self.assertEqual(manifest["configuration"]["input"], self.data)
        self.assertEqual(manifest["configuration"]["seed"], "5")


if __name__ == "__main__":
    unittest.main()
