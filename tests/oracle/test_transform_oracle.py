"""The transform options of `microseg segment` against numpy/pandas (Debian's python3) on a CRM
table with missing values and categorical columns ingested by `microseg ingest features`:
imputed means and medians, quantile clipping bounds, robust scaling, one-hot columns and their
shares, dropped customers; the same files at 1 and 3 ranks; `assign` reproducing the run with
the saved transform; a sweep fitting the same model; and bad options named clearly."""
import os
import sys
import unittest

import h5py
import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "support"))
from microseg_run import run, temp_dir  # noqa: E402

N = 900
REGIONS = ["east", "north", "south", "west"]
CHANNELS = ["app", "store", "web"]
OPTIONS = ["--one-hot", "region,channel", "--clip-quantiles", "0.05,0.95", "--scale", "robust",
           "--weights", "income=2,region=0.5", "--log1p", "spend", "--k", 4, "--seed", 3]


def write_crm(path):
    rng = np.random.default_rng(2026)
    lines = ["customer_id,age,region,income,channel,spend"]
    for i in range(N):
        age = "" if rng.random() < 0.05 else str(int(rng.integers(18, 90)))
        region = "" if rng.random() < 0.04 else REGIONS[int(rng.integers(0, 4))]
        income = "" if rng.random() < 0.1 else f"{rng.lognormal(10, 0.6):.2f}"
        channel = CHANNELS[int(rng.integers(0, 3))]
        lines.append(f"K{i:05d},{age},{region},{income},{channel},{rng.exponential(80):.3f}")
    with open(path, "w") as f:
        f.write("\n".join(lines) + "\n")


def quantile(values, q):
    values = np.asarray(values, dtype=np.float64)
    return np.quantile(values[~np.isnan(values)], q)


class TransformOracle(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.dir = temp_dir()
        d = cls.dir
        csv = os.path.join(d, "crm.csv")
        write_crm(csv)
        cls.table = os.path.join(d, "crm.h5")
        run(2, "ingest", "features", "--csv", csv, "--id-column", "customer_id",
            "--categorical", "region,channel", "--output", cls.table)
        with h5py.File(cls.table, "r") as f:
            g = f["customers"]
            cls.ids = g["id"][...]
            # microseg reads float32; the oracle works on the same values.
            cls.col = {k: g[k][...].astype(np.float32).astype(np.float64)
                       for k in ("age", "region", "income", "channel", "spend")}
            cls.external = [s.decode() for s in g["external_id"][...]]
        cls.runs = {}
        for name, ranks, extra in (("median-1", 1, ["--missing", "median"]),
                                   ("median-3", 3, ["--missing", "median"]),
                                   ("mean", 2, ["--missing", "mean"]),
                                   ("drop", 3, ["--missing", "drop"])):
            out = os.path.join(d, name)
            run(ranks, "segment", "--input", cls.table, "--output", out, *OPTIONS, *extra)
            cls.runs[name] = out
        cls.scored = os.path.join(d, "scored")
        run(2, "assign", "--model", cls.runs["median-1"], "--input", cls.table,
            "--output", cls.scored)
        cls.sweep = os.path.join(d, "sweep")
        run(2, "sweep", "--input", cls.table, "--output", cls.sweep, "--restarts", 1,
            *OPTIONS, "--missing", "median")

    def segments(self, name):
        return h5py.File(os.path.join(self.runs[name], "segments.h5"), "r")

    def test_text_ids_stay_out_of_the_features(self):
        self.assertEqual(len(self.external), N)
        with self.segments("median-1") as f:
            self.assertEqual(list(f["model/transform"].attrs["sources"]),
                             ["age", "region", "income", "channel", "spend"])

    def test_imputed_medians_clipping_bounds_and_robust_scaling(self):
        with self.segments("median-1") as f:
            names = list(f["model/transform"].attrs["feature_names"])
            t = {k: f["model/transform"][k][...] for k in ("fill", "clip_low", "clip_high",
                                                           "weight", "source", "category")}
            offset = f["model/scaling/offset"][...]
            scale = f["model/scaling/scale"][...]
        self.assertEqual(names, ["age"] + [f"region={r}" for r in REGIONS] + ["income"] +
                         [f"channel={c}" for c in CHANNELS] + ["spend"])
        for name in ("age", "income", "spend"):
            j = names.index(name)
            x = self.col[name]
            median = quantile(x, 0.5)
            self.assertEqual(t["fill"][j], median, name)
            imputed = np.where(np.isnan(x), np.float32(median), x)
            low, high = np.quantile(imputed, [0.05, 0.95])
            self.assertEqual(t["clip_low"][j], low, name)
            self.assertEqual(t["clip_high"][j], high, name)
            # Robust scaling of the clipped (and for spend log1p'd) column; clipping at 5%/95%
            # leaves the quartiles alone.
            v = imputed if name != "spend" else np.log1p(imputed).astype(np.float32)
            q1, q2, q3 = np.quantile(v.astype(np.float64), [0.25, 0.5, 0.75])
            self.assertEqual(offset[j], q2, name)
            weight = 2.0 if name == "income" else 1.0
            self.assertAlmostEqual(scale[j] * weight / (q3 - q1), 1.0, places=12, msg=name)
            self.assertEqual(t["weight"][j], weight)
        # Indicators: unscaled, weighted, imputed with the median (0, the majority) when missing.
        for c, region in enumerate(REGIONS):
            j = names.index(f"region={region}")
            self.assertEqual((t["source"][j], t["category"][j]), (1, c))
            self.assertEqual((offset[j], scale[j], t["weight"][j], t["fill"][j]), (0, 2, 0.5, 0))
            self.assertEqual((t["clip_low"][j], t["clip_high"][j]), (-np.inf, np.inf))

    def test_one_hot_profiles_show_the_share_per_category(self):
        with self.segments("median-1") as f:
            names = list(f["profiles"].attrs["feature_names"])
            population = f["profiles/population_mean"][...]
            means = f["profiles/mean"][...]
            sizes = f["profiles/size"][...]
            labels = f["assignments/segment"][...]
            ids = f["assignments/id"][...]
        np.testing.assert_array_equal(ids, self.ids)
        for c, region in enumerate(REGIONS):
            j = names.index(f"region={region}")
            share = np.mean(self.col["region"] == c)
            self.assertAlmostEqual(population[j], share, places=12)
            for s in range(len(sizes)):  # rows of /profiles are segment ids 0..k-1 in a first run
                in_segment = labels == s
                self.assertAlmostEqual(means[s, j], np.mean(self.col["region"][in_segment] == c),
                                       places=12)

    def test_mean_imputation(self):
        with self.segments("mean") as f:
            names = list(f["model/transform"].attrs["feature_names"])
            fill = f["model/transform/fill"][...]
        for name in ("age", "income", "spend"):
            x = self.col[name]
            self.assertAlmostEqual(fill[names.index(name)] / np.nanmean(x), 1.0, places=13)
        share = np.mean(self.col["region"][~np.isnan(self.col["region"])] == 1)
        self.assertAlmostEqual(fill[names.index("region=north")], share, places=13)

    def test_drop_leaves_dropped_customers_out_of_the_assignments(self):
        complete = ~np.isnan(self.col["age"]) & ~np.isnan(self.col["region"]) & \
            ~np.isnan(self.col["income"])
        with self.segments("drop") as f:
            np.testing.assert_array_equal(f["assignments/id"][...], self.ids[complete])
            self.assertEqual(f["run"].attrs["dropped_customers"], np.sum(~complete))
            self.assertEqual(f["run"].attrs["customers"], np.sum(complete))
            self.assertEqual(f["profiles/size"][...].sum(), np.sum(complete))

    def test_one_and_three_ranks_write_identical_runs(self):
        with self.segments("median-1") as a, self.segments("median-3") as b:
            paths = []
            a.visititems(lambda p, o: paths.append(p) if isinstance(o, h5py.Dataset) else None)
            self.assertIn("model/transform/fill", paths)
            for p in paths:
                self.assertEqual(a[p][...].tobytes(), b[p][...].tobytes(), p)

    def test_assign_applies_the_saved_transform(self):
        with self.segments("median-1") as f, \
                h5py.File(os.path.join(self.scored, "assignments.h5"), "r") as s:
            for name in ("id", "segment", "distance"):
                np.testing.assert_array_equal(s["assignments/" + name][...],
                                              f["assignments/" + name][...], name)

    def test_sweep_fits_the_same_model(self):
        with self.segments("median-1") as f, \
                h5py.File(os.path.join(self.sweep, "models", "k-0004.h5"), "r") as m:
            np.testing.assert_array_equal(m["centroids"][...], f["centroids/scaled"][...])
            np.testing.assert_array_equal(m["scaling/scale"][...], f["model/scaling/scale"][...])
            self.assertEqual(m["settings"].attrs["one_hot"], "region,channel")

    def test_bad_options_and_inputs_are_named(self):
        out = os.path.join(self.dir, "bad")
        cases = [(["--missing", "zero"], ["--missing", "'zero'", "reject, mean, median or drop"]),
                 (["--missing", "mean", "--weights", "wealth=2"],
                  ["--weights", "'wealth'", "age, region, income, channel, spend"]),
                 (["--missing", "mean", "--clip-quantiles", "0.9,0.1"],
                  ["--clip-quantiles", "0.9,0.1"]),
                 (["--missing", "mean", "--one-hot", "age"], ["--one-hot", "'age'",
                                                              "no category names"]),
                 ([], ["missing values (NaN) in column 'age': ", "'region': ", "'income': ",
                       "--missing mean, median or drop"])]
        for extra, fragments in cases:
            with self.subTest(extra=extra):
                proc = run(2, "segment", "--input", self.table, "--output", out, "--k", 3,
                           *extra, check=False)
                self.assertEqual(proc.returncode, 2, proc.stderr)
                for fragment in fragments:
                    self.assertIn(fragment, proc.stderr)
                self.assertFalse(os.path.exists(os.path.join(out, "segments.h5")))
        # assign: a column the model needs is missing from the input.
        lacking = os.path.join(self.dir, "lacking.h5")
        with h5py.File(self.table, "r") as src, h5py.File(lacking, "w") as dst:
            for name in ("id", "age", "region", "channel", "spend"):
                src.copy(src["customers"][name], dst.require_group("customers"), name)
            src.copy(src["categories"], dst, "categories")
        proc = run(2, "assign", "--model", self.runs["median-1"], "--input", lacking,
                   "--output", os.path.join(self.dir, "bad-assign"), check=False)
        self.assertEqual(proc.returncode, 2, proc.stderr)
        self.assertIn("lacks feature 'income'", proc.stderr)


if __name__ == "__main__":
    unittest.main()
