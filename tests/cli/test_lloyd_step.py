"""`segment --lloyd plain` and `--lloyd pruned` write the same assignments, centroids, quality
and iteration count (h5py, exact comparison), and a bad --lloyd value is an input error."""
import os
import sys
import unittest

import h5py
import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "support"))
from microseg_run import run, temp_dir  # noqa: E402


class PlainAndPrunedLloydAgree(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.dir = temp_dir()
        cls.data = os.path.join(cls.dir, "customers.h5")
        run(2, "generate", "--customers", 6000, "--segments", 40, "--seed", 4, "--output", cls.data)

    def segment(self, step):
        out = os.path.join(self.dir, f"run-{step}")
        proc = run(2, "--threads", 2, "segment", "--input", self.data, "--k", 80, "--seed", 3,
                   "--lloyd", step, "--silhouette-sample", 500, "--output", out,
                   "--verbose")  # every iteration line, not one every few seconds
        with h5py.File(os.path.join(out, "segments.h5"), "r") as f:
            values = {name: f[name][...] for name in ("assignments/segment",
                                                      "assignments/distance",
                                                      "centroids/scaled")}
            values.update({f"quality@{k}": v for k, v in f["quality"].attrs.items()})
        iterations = [line for line in proc.stdout.splitlines() if line.startswith("iteration")]
        return values, iterations

    def test_same_outputs_and_iterations(self):
        plain, plain_log = self.segment("plain")
        pruned, pruned_log = self.segment("pruned")
        self.assertGreater(len(plain_log), 2)
        # Every iteration line but its timing: inertia, shift and reassigned count.
        strip = [line.rsplit(None, 2)[0] for line in plain_log]
        self.assertEqual(strip, [line.rsplit(None, 2)[0] for line in pruned_log])
        self.assertEqual(plain.keys(), pruned.keys())
        for name in plain:
            np.testing.assert_array_equal(plain[name], pruned[name], err_msg=name)

    def test_bad_value_is_an_input_error(self):
        proc = run(1, "segment", "--input", self.data, "--k", 5, "--lloyd", "elkan",
                   "--output", os.path.join(self.dir, "bad"), check=False)
        self.assertEqual(proc.returncode, 2)
        self.assertIn("--lloyd", proc.stdout + proc.stderr)
        self.assertIn("elkan", proc.stdout + proc.stderr)
        self.assertFalse(os.path.exists(os.path.join(self.dir, "bad", "segments.h5")))


if __name__ == "__main__":
    unittest.main()
