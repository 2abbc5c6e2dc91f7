"""`microseg forecast` as a user runs it: the same forecast.h5 and CSV files at 1 and 3 ranks, a
manifest, a broken chain (or a missing run, a run without /migration, a horizon below 1) refused
naming the run with nothing written, customers' churn probabilities ordered as the model says,
at_risk_forecast.csv equal to the N largest of /customers/churn_probability, and
scripts/plot_forecast.py drawing a PNG."""
import os
import subprocess
import sys
import unittest

import h5py
import numpy as np
import pandas as pd

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "support"))
from microseg_run import (assert_drawn_png, h5diff, manifest_problems, run,  # noqa: E402
                          run_facts, temp_dir)
from quarter_chain import make_quarters, segment_chain  # noqa: E402

PLOT = os.path.join(os.path.dirname(__file__), "..", "..", "scripts", "plot_forecast.py")
TOP = 40


class Forecast(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        d = cls.dir = temp_dir()
        cls.paths, _ = make_quarters(d, 2500, 4, 3, seed=7, migration=0.1, churn=0.05,
                                     factor=3.0, new=150)
        cls.runs = segment_chain(d, cls.paths, 4)
        cls.one, cls.three = os.path.join(d, "one"), os.path.join(d, "three")
        cls.log = run(1, "forecast", "--runs", *cls.runs, "--horizon", 2, "--top", TOP,
                      "--output", cls.one).stdout
        run(3, "forecast", "--runs", ",".join(cls.runs), "--horizon", 2, "--top", TOP,
            "--output", cls.three)

    def assert_fails(self, proc, out, *fragments):
        self.assertNotEqual(proc.returncode, 0, proc.stdout + proc.stderr)
        for fragment in fragments:
            self.assertIn(fragment, proc.stderr)
        self.assertEqual(proc.stderr.count("microseg: error:"), 1, proc.stderr)
        self.assertNotIn("MPI_ABORT", proc.stderr)
        self.assertFalse(os.path.exists(out) and os.listdir(out), "output written despite error")

    def test_one_and_three_ranks_write_identical_outputs(self):
        status, report = h5diff(os.path.join(self.one, "forecast.h5"),
                                os.path.join(self.three, "forecast.h5"),
                                exclude_attributes=("/run",))
        self.assertEqual(status, 0, report)
        self.assertEqual(run_facts(os.path.join(self.one, "forecast.h5")),
                         run_facts(os.path.join(self.three, "forecast.h5")))
        for name in ("segments_forecast.csv", "at_risk_forecast.csv"):
            with open(os.path.join(self.one, name)) as a, open(os.path.join(self.three, name)) as b:
                self.assertEqual(a.read(), b.read(), name)
        self.assertEqual(manifest_problems(self.one, "forecast"), [])
        self.assertEqual(manifest_problems(self.three, "forecast"), [])

    def test_broken_chain_is_refused_naming_the_link(self):
        out = os.path.join(self.dir, "broken")
        proc = run(2, "forecast", "--runs", self.runs[0], self.runs[2], "--horizon", 1,
                   "--output", out, check=False)
        self.assert_fails(proc, out, "run-q3 was not made with --previous run-q1",
                          "its previous run is '" + self.runs[1] + "'")

    def test_missing_run_first_run_later_and_bad_horizon_are_refused(self):
        out = os.path.join(self.dir, "refused")
        missing = os.path.join(self.dir, "run-q9")
        proc = run(2, "forecast", "--runs", self.runs[0], missing, "--horizon", 1, "--output",
                   out, check=False)
        self.assert_fails(proc, out, "run '" + missing + "' does not exist")
        proc = run(2, "forecast", "--runs", self.runs[1], self.runs[0], "--horizon", 1,
                   "--output", out, check=False)
        self.assert_fails(proc, out, "run '" + self.runs[0] + "' has no /migration")
        proc = run(2, "forecast", "--runs", *self.runs, "--horizon", 0, "--output", out,
                   check=False)
        self.assert_fails(proc, out, "--horizon", "'0'")

    def test_churn_probabilities_are_ordered_as_the_model_says(self):
        with h5py.File(os.path.join(self.one, "forecast.h5"), "r") as f:
            c = pd.DataFrame({k: f["customers"][k][...] for k in f["customers"]})
            ids = f["transition/segment_ids"][...]
            ordinary = dict(zip(ids, f["chain/churn_ordinary"][...]))
            down = dict(zip(ids, f["chain/churn_moved_down"][...]))
            multiplier = f["run"].attrs["hazard_multiplier"]
            self.assertEqual(f["run"].attrs["hazard_estimated"], 1)
        self.assertGreater(multiplier, 1.0)
        self.assertGreater(c["moved_down"].sum(), 0)
        for segment, group in c.groupby("segment"):
            for flag, want in ((0, ordinary[segment]), (1, down[segment])):
                values = group.loc[group["moved_down"] == flag, "churn_probability"]
                self.assertTrue(np.all(values == want), (segment, flag))
            self.assertGreater(down[segment], ordinary[segment])
        self.assertIn("moved-down customers lose at", self.log)

    def test_two_runs_give_movers_down_no_adjustment_and_say_why(self):
        out = os.path.join(self.dir, "two-runs")
        proc = run(2, "forecast", "--runs", *self.runs[1:], "--horizon", 1, "--estimate", "last",
                   "--output", out)
        self.assertIn("note: the chain has 2 runs", proc.stdout)
        with h5py.File(os.path.join(out, "forecast.h5"), "r") as f:
            self.assertEqual(f["run"].attrs["hazard_estimated"], 0)
            self.assertEqual(f["run"].attrs["hazard_multiplier"], 1.0)
            np.testing.assert_allclose(f["chain/churn_moved_down"][...],
                                       f["chain/churn_ordinary"][...], rtol=1e-12)
            self.assertEqual(f["transition/inflow_per_link"].shape, (1,))
        self.assertEqual(manifest_problems(out, "forecast"), [])

    def test_runs_without_a_value_feature_forecast_sizes_without_values(self):
        runs = []
        for q, path in enumerate(self.paths, start=1):
            runs.append(os.path.join(self.dir, f"no-value-q{q}"))
            previous = ["--previous", runs[-2]] if q > 1 else []
            run(2, "segment", "--input", path, "--k", 4, "--seed", 3, "--value-feature", "none",
                *previous, "--output", runs[-1])
        out = os.path.join(self.dir, "no-value")
        proc = run(3, "forecast", "--runs", *runs, "--horizon", 1, "--output", out)
        self.assertIn("note: the moved-down effect cannot be estimated", proc.stdout)
        with h5py.File(os.path.join(out, "forecast.h5"), "r") as f:
            self.assertTrue(np.all(np.isnan(f["chain/lifetime_value"][...])))
            self.assertEqual(f["customers/moved_down"][...].sum(), 0)
            with h5py.File(os.path.join(self.one, "forecast.h5"), "r") as g:
                np.testing.assert_array_equal(f["transition/counts"][...],
                                              g["transition/counts"][...])

    def test_top_csv_is_the_largest_churn_probabilities(self):
        with h5py.File(os.path.join(self.one, "forecast.h5"), "r") as f:
            c = pd.DataFrame({k: f["customers"][k][...] for k in f["customers"]})
        want = c.sort_values(["churn_probability", "id"], ascending=[False, True]).head(TOP)
        top = pd.read_csv(os.path.join(self.one, "at_risk_forecast.csv"),
                          float_precision="round_trip")
        self.assertEqual(list(top["rank"]), list(range(1, TOP + 1)))
        np.testing.assert_array_equal(top["id"], want["id"])
        np.testing.assert_array_equal(top["segment"], want["segment"])
        np.testing.assert_array_equal(top["churn_probability"], want["churn_probability"])
        np.testing.assert_array_equal(top["moved_down"], want["moved_down"])

    def test_plot_script_draws_the_forecast(self):
        png = os.path.join(self.dir, "forecast.png")
        proc = subprocess.run([sys.executable, PLOT, self.one, "--output", png],
                              capture_output=True, text=True, timeout=120)
        self.assertEqual(proc.returncode, 0, proc.stderr)
        assert_drawn_png(self, png, 200, 300, min_spread=0.01)
        proc = subprocess.run([sys.executable, PLOT, self.dir, "--output", png],
                              capture_output=True, text=True, timeout=120)
        self.assertEqual(proc.returncode, 2, proc.stderr)
        self.assertIn("forecast.h5", proc.stderr)


if __name__ == "__main__":
    unittest.main()
