"""Bad uses of the options that compare runs and size segments: one clear message naming what is
wrong, exit status 2, nothing written, no hung rank."""
import os
import sys
import unittest

import h5py
import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "support"))
from microseg_run import run, temp_dir, write_columns  # noqa: E402

RANKS = 3


def columns(n=300, seed=0):
    rng = np.random.default_rng(seed)
    return np.arange(n, dtype=np.int64) + 700, {
        "age": rng.uniform(18, 80, n), "monetary": rng.lognormal(3, 1, n),
        "frequency": rng.poisson(4, n).astype(np.float64)}


class PreviousRunAndSizeOptions(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        d = cls.dir = temp_dir()
        ids, cols = columns()
        cls.data = os.path.join(d, "in.h5")
        write_columns(cls.data, ids, cols)
        cls.previous = os.path.join(d, "previous")
        run(2, "segment", "--input", cls.data, "--k", 3, "--output", cls.previous)

    def segment(self, *extra, k=3):
        self.out = os.path.join(self.dir, f"out-{self.id().split('.')[-1]}")
        args = ["segment", "--input", self.data, "--output", self.out, *extra]
        if k is not None:
            args += ["--k", k]
        return run(RANKS, *args, check=False)

    def assert_fails(self, proc, *fragments):
        self.assertEqual(proc.returncode, 2, proc.stdout + proc.stderr)
        for fragment in fragments:
            self.assertIn(fragment, proc.stderr)
        self.assertEqual(proc.stderr.count("microseg: error:"), 1, proc.stderr)
        self.assertNotIn("MPI_ABORT", proc.stderr)
        if os.path.exists(self.out):
            self.assertEqual(os.listdir(self.out), [], "output written despite the error")

    def test_previous_directory_missing(self):
        missing = os.path.join(self.dir, "no-such-run")
        self.assert_fails(self.segment("--previous", missing), missing, "does not exist")

    def test_previous_directory_without_segments_file(self):
        empty = os.path.join(self.dir, "empty")
        os.makedirs(empty, exist_ok=True)
        self.assert_fails(self.segment("--previous", empty), empty, "segments.h5")

    def test_previous_run_without_a_saved_model(self):
        old = os.path.join(self.dir, "old")
        run(2, "segment", "--input", self.data, "--k", 3, "--output", old)
        with h5py.File(os.path.join(old, "segments.h5"), "a") as f:
            del f["model/scaling"]
        self.assert_fails(self.segment("--previous", old), old, "/model/scaling")

    def test_previous_run_on_other_features(self):
        self.assert_fails(self.segment("--previous", self.previous, "--features", "age,frequency"),
                          self.previous, "only in that run: monetary")

    def test_warm_start_without_previous(self):
        self.assert_fails(self.segment("--warm-start"), "--warm-start needs --previous")

    def test_warm_start_with_init_centroids(self):
        self.assert_fails(self.segment("--previous", self.previous, "--warm-start", "--init",
                                       "kmeans++"), "--warm-start", "--init")

    def test_merge_small_without_a_minimum(self):
        self.assert_fails(self.segment("--merge-small"), "--merge-small needs --min-segment-size")

    def test_invalid_minimum_segment_sizes(self):
        for value in ("-5", "lots", "150%", "2.5"):
            with self.subTest(value=value):
                self.assert_fails(self.segment("--min-segment-size", value),
                                  "--min-segment-size", f"'{value}'")

    def test_minimum_larger_than_the_customer_base(self):
        self.assert_fails(self.segment("--min-segment-size", "301"), "301 customers", "300")

    def test_unknown_value_feature(self):
        self.assert_fails(self.segment("--value-feature", "lifetime_value"), "lifetime_value",
                          "in.h5")

    def test_invalid_switch_value(self):
        self.assert_fails(self.segment("--previous", self.previous, "--warm-start=maybe"),
                          "--warm-start", "maybe")

    def test_value_feature_with_nan_is_named(self):
        ids, cols = columns()
        cols["spend"] = cols["monetary"].copy()
        cols["spend"][290] = np.nan  # the value feature, not a segmentation feature
        path = os.path.join(self.dir, "nan-value.h5")
        write_columns(path, ids, cols)
        self.out = os.path.join(self.dir, "out-nan-value")
        proc = run(RANKS, "segment", "--input", path, "--k", 3, "--output", self.out,
                   "--features", "age,monetary,frequency", "--value-feature", "spend",
                   check=False)
        self.assert_fails(proc, "spend", f"customer id {ids[290]}")

    def test_an_unrequested_value_column_with_nan_is_left_out_not_fatal(self):
        # monetary is only the default value column here, not a segmentation feature.
        ids, cols = columns()
        cols["monetary"][17] = np.nan
        path = os.path.join(self.dir, "nan-monetary.h5")
        write_columns(path, ids, cols)
        out = os.path.join(self.dir, "out-nan-monetary")
        proc = run(RANKS, "segment", "--input", path, "--k", 3, "--features", "age,frequency",
                   "--output", out)
        self.assertIn("column 'monetary' holds 1 NaN or infinite values", proc.stdout)
        with h5py.File(os.path.join(out, "segments.h5"), "r") as f:
            self.assertNotIn("value_total", f["profiles"])
            self.assertNotIn("value", f["assignments"])
            self.assertEqual(f["model"].attrs["value_feature"], "")


if __name__ == "__main__":
    unittest.main(verbosity=2)
