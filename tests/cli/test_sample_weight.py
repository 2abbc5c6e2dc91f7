"""`segment --sample-weight COLUMN`: weighted outputs bit-identical on 1-4 ranks and any thread
count, the pruned step equal to the plain one, restarts, k-means++ and --previous with weights,
what a weighted run records, the job file, and bad weights (negative, NaN, infinite, all zero, a
missing or malformed column) or unsupported combinations stopping every rank with one message
naming the file, the column and the first customer, nothing written."""
import json
import os
import shutil
import signal
import sys
import unittest

import h5py
import numpy as np
import pandas as pd

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "support"))
from microseg_run import (MICROSEG, MPIEXEC, h5diff, run, run_and_signal,  # noqa: E402
                          temp_dir, write_columns, write_matrix)

RANKS = 3


def add_weights(path, name, values):
    with h5py.File(path, "a") as f:
        if name in f["customers"]:
            del f["customers"][name]
        f["customers"].create_dataset(name, data=values)


def same_outputs(test, a, b):
    """segments.h5 identical but for /run's attributes (ranks, timings, configuration), CSVs byte
    for byte."""
    status, report = h5diff(os.path.join(a, "segments.h5"), os.path.join(b, "segments.h5"),
                            exclude_attributes=["/run"])
    test.assertEqual(status, 0, report)
    for name in ("profiles.csv", "quality.csv"):
        with open(os.path.join(a, name), "rb") as fa, open(os.path.join(b, name), "rb") as fb:
            test.assertEqual(fa.read(), fb.read(), name)


class WeightedRuns(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.dir = temp_dir()
        cls.data = os.path.join(cls.dir, "customers.h5")
        run(2, "generate", "--customers", 4001, "--segments", 6, "--seed", 12,
            "--output", cls.data)
        rng = np.random.default_rng(3)
        weights = rng.lognormal(0, 1, 4001)
        weights[rng.choice(4001, 300, replace=False)] = 0
        cls.weights = weights
        add_weights(cls.data, "weight", weights)

    def segment(self, ranks, out, *extra, threads=None):
        args = ["segment", "--input", self.data, "--output", out, "--sample-weight", "weight",
                "--log1p", "income,monetary", "--silhouette-sample", 700, *extra]
        if threads:
            args = ["--threads", threads] + args
        return run(ranks, *args)

    def test_outputs_are_bit_identical_on_1_to_4_ranks_and_2_threads(self):
        outs = {}
        for ranks in (1, 2, 3, 4):
            outs[ranks] = os.path.join(self.dir, f"ranks-{ranks}")
            self.segment(ranks, outs[ranks], "--k", 7, "--seed", 5, "--restarts", 2)
        threads = os.path.join(self.dir, "threads-2")
        self.segment(2, threads, "--k", 7, "--seed", 5, "--restarts", 2, threads=2)
        for ranks in (2, 3, 4):
            with self.subTest(ranks=ranks):
                same_outputs(self, outs[1], outs[ranks])
        same_outputs(self, outs[1], threads)

    def test_kmeanspp_seeding_is_bit_identical_on_1_and_3_ranks(self):
        a, b = os.path.join(self.dir, "pp-1"), os.path.join(self.dir, "pp-3")
        self.segment(1, a, "--k", 6, "--init", "kmeans++", "--seed", 8, "--scale", "minmax")
        self.segment(3, b, "--k", 6, "--init", "kmeans++", "--seed", 8, "--scale", "minmax")
        same_outputs(self, a, b)

    def test_pruned_step_gives_the_plain_result(self):
        outs = {}
        for step in ("plain", "pruned"):
            outs[step] = os.path.join(self.dir, f"lloyd-{step}")
            self.segment(RANKS, outs[step], "--k", 70, "--seed", 2, "--lloyd", step,
                         "--max-iter", 40)
        same_outputs(self, outs["plain"], outs["pruned"])

    def test_weights_change_the_result_and_are_recorded(self):
        weighted, plain = os.path.join(self.dir, "rec-w"), os.path.join(self.dir, "rec-p")
        self.segment(RANKS, weighted, "--k", 6, "--seed", 1)
        run(RANKS, "segment", "--input", self.data, "--output", plain, "--k", 6, "--seed", 1,
            "--log1p", "income,monetary", "--silhouette-sample", 700)
        with h5py.File(os.path.join(weighted, "segments.h5"), "r") as f:
            self.assertEqual(f["run"].attrs["sample_weight"], "weight")
            self.assertIn("sample-weight = weight", f["run"].attrs["configuration"])
            names = [n.decode() if isinstance(n, bytes) else n
                     for n in f["profiles"].attrs["feature_names"]]
            self.assertNotIn("weight", names)  # the weight column is no feature
            weight = f["profiles/weight"][...]
            # Weights are read as float32, as features are.
            total = self.weights.astype(np.float32).astype(np.float64).sum()
            self.assertAlmostEqual(weight.sum() / total, 1, delta=1e-12)
            self.assertAlmostEqual(f["profiles"].attrs["total_weight"] / total, 1, delta=1e-12)
            np.testing.assert_allclose(f["profiles/share"][...], weight / weight.sum())
            self.assertEqual(f["profiles/size"][...].sum(), 4001)
            inertia = f["quality"].attrs["inertia"]
        with h5py.File(os.path.join(plain, "segments.h5"), "r") as f:
            self.assertNotIn("sample_weight", f["run"].attrs)
            self.assertNotIn("weight", f["profiles"])
            self.assertNotEqual(f["quality"].attrs["inertia"], inertia)
        profiles = pd.read_csv(os.path.join(weighted, "profiles.csv"))
        self.assertEqual(list(profiles.columns[:4]), ["segment", "size", "share", "weight"])
        self.assertNotIn("weight", pd.read_csv(os.path.join(plain, "profiles.csv")).columns)
        with open(os.path.join(weighted, "manifest.json")) as f:
            fingerprint = json.load(f)["input"]["fingerprint"]
        self.assertEqual(fingerprint["sample_weight"], "weight")
        self.assertRegex(fingerprint["sample_weight_digest"], "^[0-9a-f]{16}$")

    def test_previous_and_warm_start_with_weights(self):
        first = os.path.join(self.dir, "prev-first")
        self.segment(2, first, "--k", 6, "--seed", 3)
        outs = {}
        for ranks in (1, 4):
            outs[ranks] = os.path.join(self.dir, f"prev-second-{ranks}")
            self.segment(ranks, outs[ranks], "--k", 7, "--previous", first, "--warm-start")
        same_outputs(self, outs[1], outs[4])
        with h5py.File(os.path.join(outs[1], "segments.h5"), "r") as f:
            self.assertIn("migration", f)
            self.assertEqual(f["run"].attrs["warm_start"], 1)

    def test_job_file_accepts_sample_weight(self):
        out = os.path.join(self.dir, "job")
        job = os.path.join(self.dir, "job.ini")
        with open(job, "w") as f:
            f.write(f"input = {self.data}\noutput = {out}\nk = 4\nsample-weight = weight\n")
        run(2, "segment", "--config", job)
        with h5py.File(os.path.join(out, "segments.h5"), "r") as f:
            self.assertEqual(f["run"].attrs["sample_weight"], "weight")


class WeightedResume(unittest.TestCase):
    """A weighted fit stopped by SIGUSR1 resumes bit-identical to one that never stopped, on
    another rank count; the checkpoint is refused once the weights changed."""

    FIT = ["--k", 8, "--restarts", 2, "--seed", 7, "--sample-weight", "weight",
           "--silhouette-sample", 500]

    @classmethod
    def setUpClass(cls):
        cls.dir = temp_dir()
        cls.data = os.path.join(cls.dir, "customers.h5")
        run(2, "generate", "--customers", 4000, "--segments", 8, "--separation", 1.5, "--seed",
            3, "--output", cls.data)
        add_weights(cls.data, "weight", np.random.default_rng(5).uniform(0, 4, 4000))
        cls.reference = os.path.join(cls.dir, "reference")
        run(2, "segment", "--input", cls.data, "--output", cls.reference, *cls.FIT)

    def interrupt(self, out):
        """Runs the fit on 2 ranks, iterations slowed by fault injection, and sends SIGUSR1 to
        mpiexec after the second iteration; returns (exit status, output)."""
        cmd = [MPIEXEC, "--oversubscribe", "--bind-to", "none", "-n", "2", MICROSEG, "segment",
               "--input", self.data, "--output", out] + [str(a) for a in self.FIT]
        return run_and_signal(cmd, 2, "restart 0  iteration    2 ", signal.SIGUSR1, "mpiexec",
                              env={"MICROSEG_INJECT_FAILURE": "0:iteration:stall"})

    def test_resume_is_bit_identical_and_refused_with_other_weights(self):
        out = os.path.join(self.dir, "stopped")
        status, log = self.interrupt(out)
        self.assertEqual(status, 75, log)
        self.assertEqual(os.listdir(out), ["checkpoint.h5"])
        with h5py.File(os.path.join(out, "checkpoint.h5"), "r") as f:
            self.assertIn("sample-weight = weight", f.attrs["configuration_fingerprint"])
            self.assertIn("sample_weight_digest = ", f.attrs["input_fingerprint"])
        # Other weights: refused, naming the digest, and the checkpoint left as it was.
        changed = os.path.join(self.dir, "changed.h5")
        shutil.copyfile(self.data, changed)
        add_weights(changed, "weight", np.ones(4000))
        proc = run(3, "segment", "--input", changed, "--output", out, "--resume", *self.FIT,
                   check=False)
        self.assertEqual(proc.returncode, 2, proc.stderr)
        self.assertIn("sample_weight_digest", proc.stderr)
        self.assertEqual(os.listdir(out), ["checkpoint.h5"])
        log = run(3, "segment", "--input", self.data, "--output", out, "--resume",
                  *self.FIT).stdout
        self.assertIn("resuming from", log)
        same_outputs(self, self.reference, out)
        self.assertFalse(os.path.exists(os.path.join(out, "checkpoint.h5")))


class BadWeights(unittest.TestCase):
    """Every bad weight sits on the last rank's rows, so the rank that finds it is not the one
    that reports."""

    def setUp(self):
        self.dir = temp_dir()
        self.out = os.path.join(self.dir, "out")
        rng = np.random.default_rng(0)
        self.ids = np.arange(300, dtype=np.int64) + 500
        self.columns = {"age": rng.uniform(18, 80, 300), "monetary": rng.lognormal(3, 1, 300),
                        "w": rng.uniform(0.5, 2, 300)}

    def table(self, name="in.h5"):
        path = os.path.join(self.dir, name)
        write_columns(path, self.ids, self.columns)
        return path

    def segment(self, path, *extra, weight="w"):
        return run(RANKS, "segment", "--input", path, "--k", 3, "--output", self.out,
                   "--sample-weight", weight, *extra, check=False)

    def assert_fails(self, proc, *fragments):
        self.assertNotEqual(proc.returncode, 0, proc.stdout + proc.stderr)
        for fragment in fragments:
            self.assertIn(fragment, proc.stderr)
        self.assertEqual(proc.stderr.count("microseg: error:"), 1, proc.stderr)
        self.assertNotIn("MPI_ABORT", proc.stderr)
        if os.path.exists(self.out):
            self.assertEqual(os.listdir(self.out), [], "output written despite the error")

    def test_negative_weight(self):
        self.columns["w"][[250, 280]] = [-1.5, -2]
        self.assert_fails(self.segment(self.table("neg.h5")), "neg.h5", "'w'",
                          "2 weights that are negative, NaN or infinite",
                          f"customer id {self.ids[250]}", "has weight -1.5")

    def test_nan_weight(self):
        self.columns["w"][[260, 299]] = np.nan
        self.assert_fails(self.segment(self.table("nan.h5")), "nan.h5", "'w'",
                          f"customer id {self.ids[260]}", "has weight nan")

    def test_infinite_weight(self):
        self.columns["w"][270] = np.inf
        self.assert_fails(self.segment(self.table("inf.h5")), "inf.h5", "'w'",
                          f"customer id {self.ids[270]}", "has weight inf")

    def test_all_weights_zero(self):
        self.columns["w"][:] = 0
        self.assert_fails(self.segment(self.table("zero.h5")), "zero.h5", "'w'",
                          "only weights of 0", f"id {self.ids[0]}")

    def test_weights_left_after_missing_drop_all_zero(self):
        self.columns["age"][self.columns["w"] > 0] = np.nan
        self.columns["w"][:150] = 0
        self.columns["age"][:150] = 30.0
        self.columns["w"][150:] = 1
        self.assert_fails(self.segment(self.table("dropped.h5"), "--missing", "drop"),
                          "dropped.h5", "only weights of 0")

    def test_missing_weight_column(self):
        self.assert_fails(self.segment(self.table(), weight="nope"),
                          "--sample-weight", "/customers/nope", "in.h5")

    def test_weight_column_of_wrong_length_or_type(self):
        # In the matrix layout the weight column is a dataset beside /customers/features.
        matrix = os.path.join(self.dir, "matrix.h5")
        write_matrix(matrix, self.ids, np.column_stack([self.columns["age"],
                                                        self.columns["monetary"]]),
                     ["age", "monetary"])
        add_weights(matrix, "short", np.ones(299))
        self.assert_fails(self.segment(matrix, weight="short"), "matrix.h5", "/customers/short",
                          "one value per customer")
        text = self.table("text.h5")
        add_weights(text, "names", np.array([b"x"] * 300))
        self.assert_fails(self.segment(text, weight="names"), "text.h5", "/customers/names",
                          "numeric")

    def test_matrix_layout_reads_the_weight_beside_the_features(self):
        matrix = os.path.join(self.dir, "matrix-good.h5")
        write_matrix(matrix, self.ids, np.column_stack([self.columns["age"],
                                                        self.columns["monetary"]]),
                     ["age", "monetary"])
        add_weights(matrix, "w", self.columns["w"])
        proc = self.segment(matrix)
        self.assertEqual(proc.returncode, 0, proc.stderr)
        with h5py.File(os.path.join(self.out, "segments.h5"), "r") as f:
            self.assertAlmostEqual(f["profiles"].attrs["total_weight"],
                                   self.columns["w"].astype(np.float32).astype(float).sum(),
                                   delta=1e-9)

    def test_customer_ids_are_no_weights(self):
        self.assert_fails(self.segment(self.table(), weight="id"), "--sample-weight",
                          "/customers/id")

    def test_weight_column_named_as_a_feature(self):
        self.assert_fails(self.segment(self.table(), "--features", "age,w"), "--sample-weight",
                          "'w'", "--features")

    def test_unsupported_combinations_are_refused_with_the_reason(self):
        path = self.table()
        for extra, fragment in [(["--macro-k", "2"], "--macro-k"),
                                (["--method", "bisecting"], "--method bisecting"),
                                (["--min-segment-size", "5", "--merge-small"], "--merge-small"),
                                (["--scale", "robust"], "weighted quantiles"),
                                (["--clip-quantiles", "0.01,0.99"], "--clip-quantiles"),
                                (["--missing", "median"], "--missing median")]:
            with self.subTest(extra=extra):
                self.assert_fails(self.segment(path, *extra), "--sample-weight", fragment)

    def test_empty_column_name(self):
        self.assert_fails(self.segment(self.table(), weight=""), "--sample-weight")


if __name__ == "__main__":
    unittest.main(verbosity=2)
