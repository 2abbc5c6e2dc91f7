"""`microseg assign` scores customers against a saved run: on the run's own training data it
reproduces the run's assignments exactly, on any rank count and in any customer order; it
reports the runner-up segment and the margin; and it refuses input that lacks a feature the model
needs, with a clear message, exit status 2 and nothing written."""
import os
import sys
import unittest

import h5py
import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "support"))
from microseg_run import (manifest_problems, read_table, run, temp_dir, write_columns,  # noqa: E402
                          write_matrix)


def scores(out):
    with h5py.File(os.path.join(out, "assignments.h5"), "r") as f:
        return {key: f["assignments"][key][...] for key in f["assignments"]}, dict(f["run"].attrs)


class AssignAgainstASavedRun(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        d = cls.dir = temp_dir()
        cls.data = os.path.join(d, "customers.h5")
        run(2, "generate", "--customers", 5000, "--segments", 6, "--separation", 3, "--seed", 4,
            "--output", cls.data)
        # A second run with --previous, so the model's ids are not simply 0 … k−1 in row order.
        first = os.path.join(d, "first")
        run(2, "segment", "--input", cls.data, "--k", 5, "--seed", 1, "--output", first,
            "--log1p", "income,monetary")
        cls.model = os.path.join(d, "model")
        run(3, "segment", "--input", cls.data, "--k", 7, "--seed", 9, "--output", cls.model,
            "--log1p", "income,monetary,frequency", "--scale", "minmax", "--previous", first)
        with h5py.File(os.path.join(cls.model, "segments.h5"), "r") as f:
            cls.trained = {key: f["assignments"][key][...] for key in ("id", "segment", "distance")}
            cls.centroids = f["centroids/scaled"][...]
            cls.segment_ids = f["model/segment_ids"][...]
            scaling = f["model/scaling"]
            cls.scaling = {key: scaling[key][...] for key in ("log1p", "offset", "scale")}

    def test_training_data_gets_the_runs_own_assignments_on_any_rank_count(self):
        for ranks in (1, 4):
            out = os.path.join(self.dir, f"scored-{ranks}")
            run(ranks, "assign", "--model", self.model, "--input", self.data, "--output", out)
            got, attrs = scores(out)
            with self.subTest(ranks=ranks):
                np.testing.assert_array_equal(got["id"], self.trained["id"])
                np.testing.assert_array_equal(got["segment"], self.trained["segment"])
                np.testing.assert_array_equal(got["distance"], self.trained["distance"])
                self.assertEqual(attrs["k"], 7)
                self.assertEqual(attrs["customers"], 5000)

    def test_segment_and_assign_write_a_manifest_checked_by_sha256sum(self):
        out = os.path.join(self.dir, "scored-1")
        if not os.path.exists(out):
            run(1, "assign", "--model", self.model, "--input", self.data, "--output", out)
        # The model run had --previous, so its manifest lists the migration files as well.
        self.assertEqual(manifest_problems(self.model, "segment"), [])
        self.assertEqual(manifest_problems(out, "assign"), [])

    def test_runner_up_and_margin_follow_from_the_saved_model(self):
        out = os.path.join(self.dir, "scored-margin")
        run(2, "assign", "--model", self.model, "--input", self.data, "--output", out)
        got, _ = scores(out)
        ids, raw, _ = read_table(self.data)
        with h5py.File(self.data, "r") as f:
            names = list(f["customers/features"].attrs["feature_names"])
        with h5py.File(os.path.join(self.model, "segments.h5"), "r") as f:
            model_names = [n.decode() if isinstance(n, bytes) else n
                           for n in f["model/scaling"].attrs["feature_names"]]
        x = raw[:, [names.index(n) for n in model_names]].astype(np.float32).astype(np.float64)
        x = np.where(self.scaling["log1p"].astype(bool), np.log1p(x), x)
        x = (x - self.scaling["offset"]) / self.scaling["scale"]
        distance = np.linalg.norm(x[:, None, :] - self.centroids[None, :, :], axis=2)
        order = np.argsort(distance, axis=1)
        runner_up = self.segment_ids[order[:, 1]]
        # Exact ties aside (none in continuous data), the runner-up is the second nearest.
        np.testing.assert_array_equal(got["second_segment"], runner_up)
        np.testing.assert_allclose(got["second_distance"],
                                   np.take_along_axis(distance, order[:, 1:2], axis=1)[:, 0],
                                   rtol=1e-5, atol=1e-6)
        np.testing.assert_array_equal(got["margin"], got["second_distance"] - got["distance"])
        self.assertTrue(np.all(got["margin"] >= 0))
        self.assertTrue(np.all(got["second_segment"] != got["segment"]))

    def test_new_customers_in_another_order_and_layout_are_scored_by_id(self):
        ids, raw, names = read_table(self.data)
        rng = np.random.default_rng(3)
        subset = rng.permutation(len(ids))[:1200]
        path = os.path.join(self.dir, "new.h5")
        # Columns layout, features in reverse order, an extra column the model does not use.
        columns = {n: raw[subset, j] for j, n in reversed(list(enumerate(names)))}
        columns["loyalty_points"] = rng.uniform(0, 1, len(subset))
        write_columns(path, ids[subset], columns)
        out = os.path.join(self.dir, "scored-new")
        run(3, "assign", "--model", self.model, "--input", path, "--output", out)
        got, _ = scores(out)
        expected = dict(zip(self.trained["id"], self.trained["segment"]))
        np.testing.assert_array_equal(got["id"], ids[subset])
        np.testing.assert_array_equal(got["segment"], [expected[i] for i in ids[subset]])

    def test_a_single_segment_model_has_no_runner_up(self):
        model = os.path.join(self.dir, "one-segment")
        run(2, "segment", "--input", self.data, "--k", 1, "--output", model)
        out = os.path.join(self.dir, "scored-one")
        run(2, "assign", "--model", model, "--input", self.data, "--output", out)
        got, _ = scores(out)
        self.assertTrue(np.all(got["segment"] == 0))
        self.assertTrue(np.all(got["second_segment"] == -1))
        self.assertTrue(np.all(np.isinf(got["margin"])))


class AssignBadInput(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        d = cls.dir = temp_dir()
        rng = np.random.default_rng(0)
        n = 400
        cls.ids = np.arange(n) + 10
        cls.columns = {"age": rng.uniform(18, 80, n), "monetary": rng.lognormal(3, 1, n),
                       "frequency": rng.poisson(4, n).astype(float)}
        cls.data = os.path.join(d, "train.h5")
        write_columns(cls.data, cls.ids, cls.columns)
        cls.model = os.path.join(d, "model")
        run(2, "segment", "--input", cls.data, "--k", 3, "--output", cls.model,
            "--log1p", "monetary")

    def assign(self, input_path, model=None):
        self.out = os.path.join(self.dir, f"out-{self.id().split('.')[-1]}")
        return run(3, "assign", "--model", model or self.model, "--input", input_path,
                   "--output", self.out, check=False)

    def assert_fails(self, proc, *fragments):
        self.assertEqual(proc.returncode, 2, proc.stdout + proc.stderr)
        for fragment in fragments:
            self.assertIn(fragment, proc.stderr)
        self.assertEqual(proc.stderr.count("microseg: error:"), 1, proc.stderr)
        if os.path.exists(self.out):
            self.assertEqual(os.listdir(self.out), [], "output written despite the error")

    def test_input_lacking_a_model_feature_is_named(self):
        path = os.path.join(self.dir, "no-monetary.h5")
        write_columns(path, self.ids, {k: v for k, v in self.columns.items() if k != "monetary"})
        self.assert_fails(self.assign(path), "no-monetary.h5", "lacks feature 'monetary'",
                          self.model)

    def test_model_directory_without_a_run(self):
        empty = os.path.join(self.dir, "empty-run")
        os.makedirs(empty, exist_ok=True)
        self.assert_fails(self.assign(self.data, model=empty), empty, "segments.h5")

    def test_run_written_without_a_model_is_explained(self):
        old = os.path.join(self.dir, "old-run")
        run(2, "segment", "--input", self.data, "--k", 3, "--output", old)
        with h5py.File(os.path.join(old, "segments.h5"), "a") as f:
            del f["model"]
        self.assert_fails(self.assign(self.data, model=old), "/model", "run the segmentation again")

    def test_values_the_model_log1p_cannot_take(self):
        columns = dict(self.columns)
        columns["monetary"] = columns["monetary"].copy()
        columns["monetary"][350] = -2.0  # on the last rank's rows
        path = os.path.join(self.dir, "negative.h5")
        write_columns(path, self.ids, columns)
        self.assert_fails(self.assign(path), "monetary", f"customer id {self.ids[350]}")

    def test_nan_and_duplicate_ids(self):
        columns = dict(self.columns)
        columns["age"] = columns["age"].copy()
        columns["age"][5] = np.nan
        path = os.path.join(self.dir, "nan.h5")
        write_columns(path, self.ids, columns)
        self.assert_fails(self.assign(path), "missing values (NaN) in column 'age': 1",
                          f"customer id {self.ids[5]}", "--missing reject")
        ids = self.ids.copy()
        ids[300] = ids[2]
        path = os.path.join(self.dir, "dup.h5")
        write_columns(path, ids, self.columns)
        self.assert_fails(self.assign(path), "duplicate customer ids")

    def test_missing_required_option(self):
        proc = run(2, "assign", "--model", self.model, "--input", self.data, check=False)
        self.out = os.path.join(self.dir, "never")
        self.assert_fails(proc, "--output")


if __name__ == "__main__":
    unittest.main(verbosity=2)
