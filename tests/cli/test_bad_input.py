"""Bad input: a clear message naming what is wrong and where, a non-zero exit, no output, and no
hung rank (every run has a timeout). Problems are placed on the last rank's rows where it
matters, so the rank that finds them is not the one that reports."""
import os
import stat
import sys
import unittest

import h5py
import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "support"))
from microseg_run import run, temp_dir, write_columns, write_matrix  # noqa: E402

RANKS = 3


def good_columns(n=300, seed=0):
    rng = np.random.default_rng(seed)
    ids = np.arange(n, dtype=np.int64) + 500
    cols = {"age": rng.uniform(18, 80, n), "monetary": rng.lognormal(3, 1, n),
            "frequency": rng.poisson(4, n).astype(np.float64)}
    return ids, cols


class BadInput(unittest.TestCase):
    def setUp(self):
        self.dir = temp_dir()
        self.out = os.path.join(self.dir, "out")

    def segment(self, input_path, *extra, k=3):
        return run(RANKS, "segment", "--input", input_path, "--k", k, "--output", self.out,
                   *extra, check=False)

    def assert_fails(self, proc, *fragments):
        self.assertNotEqual(proc.returncode, 0, proc.stdout + proc.stderr)
        message = proc.stderr
        for fragment in fragments:
            self.assertIn(fragment, message)
        # One clear message, not one per rank, and no MPI_Abort noise for agreed errors.
        self.assertEqual(message.count("microseg: error:"), 1, message)
        self.assertNotIn("MPI_ABORT", message)
        # No partial output.
        if os.path.exists(self.out):
            self.assertEqual(os.listdir(self.out), [], "output written despite the error")

    def table(self, name="in.h5", **changes):
        ids, cols = good_columns()
        for key, value in changes.items():
            cols[key] = value
        path = os.path.join(self.dir, name)
        write_columns(path, ids, cols)
        return path

    def test_missing_input_file(self):
        missing = os.path.join(self.dir, "nope.h5")
        self.assert_fails(self.segment(missing), "nope.h5", "does not exist")

    def test_file_that_is_not_hdf5(self):
        path = os.path.join(self.dir, "text.h5")
        with open(path, "w") as f:
            f.write("customer_id,age\n1,30\n")
        self.assert_fails(self.segment(path), "text.h5", "HDF5")

    def test_missing_customer_id_dataset(self):
        path = os.path.join(self.dir, "noid.h5")
        with h5py.File(path, "w") as f:
            f["customers/age"] = np.arange(10.0)
        self.assert_fails(self.segment(path), "noid.h5", "/customers/id")

    def test_unknown_feature_name(self):
        path = self.table()
        proc = self.segment(path, "--features", "age,shoe_size")
        self.assert_fails(proc, "shoe_size", "in.h5")

    def test_text_dataset_is_no_feature(self):
        # Text (external ids, names) is skipped; asking for it as a feature is an error.
        path = self.table(region=np.array([b"north"] * 300))
        self.assert_fails(self.segment(path, "--features", "region,monetary"), "'region'",
                          "holds text")

    def test_id_and_feature_lengths_differ(self):
        path = self.table(monetary=np.ones(299))
        self.assert_fails(self.segment(path), "monetary", "299", "300")

    def test_k_below_one(self):
        self.assert_fails(self.segment(self.table(), k=0), "--k", "'0'")

    def test_k_larger_than_customer_count(self):
        self.assert_fails(self.segment(self.table(), k=301), "k = 301", "300 customers")

    def test_nan_in_a_feature_names_count_and_first_customer(self):
        ids, cols = good_columns()
        cols["monetary"][[250, 260, 299]] = np.nan  # on the last rank's rows
        path = os.path.join(self.dir, "nan.h5")
        write_columns(path, ids, cols)
        self.assert_fails(self.segment(path), "nan.h5",
                          "missing values (NaN) in column 'monetary': 3",
                          f"customer id {ids[250]}", "--missing mean, median or drop")

    def test_infinity_in_a_feature(self):
        ids, cols = good_columns()
        cols["age"][120] = np.inf
        cols["frequency"][5] = -np.inf
        path = os.path.join(self.dir, "inf.h5")
        write_columns(path, ids, cols)
        self.assert_fails(self.segment(path), "2 feature values", f"customer id {ids[5]}")

    def test_duplicate_customer_ids(self):
        ids, cols = good_columns()
        ids[299] = ids[3]
        ids[200] = ids[4]
        path = os.path.join(self.dir, "dup.h5")
        write_columns(path, ids, cols)
        self.assert_fails(self.segment(path), "dup.h5", "2 duplicate customer ids",
                          f"smallest duplicated id: {ids[3]}")

    def test_output_directory_cannot_be_written(self):
        blocker = os.path.join(self.dir, "a-file")
        with open(blocker, "w") as f:
            f.write("x")
        self.out = os.path.join(blocker, "out")
        self.assert_fails(self.segment(self.table()), blocker)

    def test_read_only_output_directory(self):
        if os.geteuid() == 0:
            self.skipTest("root writes into read-only directories")
        ro = os.path.join(self.dir, "ro")
        os.mkdir(ro)
        os.chmod(ro, stat.S_IRUSR | stat.S_IXUSR)
        self.out = ro
        self.assert_fails(self.segment(self.table()), ro)

    def test_invalid_option_values(self):
        path = self.table()
        for extra, fragment in [(["--scale", "log"], "log"), (["--tol", "-1"], "--tol"),
                                (["--max-iter", "many"], "--max-iter"),
                                (["--init", "random"], "random"),
                                (["--seed", "-4"], "--seed"), (["--bogus", "1"], "bogus")]:
            with self.subTest(extra=extra):
                self.assert_fails(self.segment(path, *extra), fragment)

    def test_missing_required_option(self):
        proc = run(RANKS, "segment", "--input", self.table(), "--output", self.out, check=False)
        self.assert_fails(proc, "--k")

    def test_log1p_of_values_at_or_below_minus_one(self):
        ids, cols = good_columns()
        cols["monetary"][290] = -3.0
        path = os.path.join(self.dir, "neg.h5")
        write_columns(path, ids, cols)
        self.assert_fails(self.segment(path, "--log1p", "monetary"), "monetary",
                          f"customer id {ids[290]}")

    def test_feature_names_attribute_of_wrong_length(self):
        path = os.path.join(self.dir, "names.h5")
        write_matrix(path, np.arange(50), np.ones((50, 3)), ["a", "b"])
        self.assert_fails(self.segment(path), "feature_names")

    def test_initial_centroids_of_wrong_shape(self):
        init = os.path.join(self.dir, "init.h5")
        with h5py.File(init, "w") as f:
            f["centroids"] = np.zeros((2, 3))
        proc = self.segment(self.table(), "--init-centroids", init, k=3)
        self.assert_fails(proc, "init.h5", "3 × 3")

    def test_a_failed_run_keeps_the_previous_good_output(self):
        good = self.segment(self.table(), k=2)
        self.assertEqual(good.returncode, 0, good.stderr)
        before = open(os.path.join(self.out, "segments.h5"), "rb").read()
        ids, cols = good_columns()
        cols["age"][10] = np.nan
        bad = os.path.join(self.dir, "bad.h5")
        write_columns(bad, ids, cols)
        proc = self.segment(bad, k=2)
        self.assertNotEqual(proc.returncode, 0)
        self.assertEqual(open(os.path.join(self.out, "segments.h5"), "rb").read(), before)
        self.assertEqual(sorted(os.listdir(self.out)),
                         ["manifest.json", "profiles.csv", "quality.csv", "segments.h5"])


if __name__ == "__main__":
    unittest.main(verbosity=2)
