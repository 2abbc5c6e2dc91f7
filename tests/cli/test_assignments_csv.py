"""--assignments-csv: DIR/assignments.csv holds what /assignments holds, one row per customer,
with the customers' own text keys when the input has /customers/external_id.

Customers with text keys (some with commas and quotes) are ingested from a CSV; segment, promote
and assign then write the CSV. Checked: the CSV equals the HDF5 datasets (pandas); 1 and 3 ranks
write byte-identical files; the margin is the second-nearest minus the nearest distance to
/centroids/scaled, computed with numpy from the source CSV and /model/scaling; joining the CSV
back to the source CSV on its own key gives per-segment means equal to /profiles/mean (so every
key sits on its customer's row, with --missing drop too); a two-level run has macro_segment;
the switch is off by default, a later run without it removes the CSV, and the manifest lists it;
variable-length keys (h5py's default) are carried too, and keys of the wrong length are refused.
"""
import json
import os
import sys
import unittest

import h5py
import numpy as np
import pandas as pd

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "support"))
from microseg_run import manifest_problems, run, temp_dir  # noqa: E402

FEATURES = ["spend", "visits", "tenure"]


def key(i):
    # Keys a CRM might hold: mostly plain, some with a comma, a quote or leading zeros.
    if i % 50 == 7:
        return f'ACME, Inc "{i}"'
    return f"C-{i:06d}" if i % 3 else f"00{i}"


def read_csv(path):
    return pd.read_csv(path, dtype={"external_id": str}, keep_default_na=False,
                       float_precision="round_trip",
                       na_values={"distance": ["nan"], "margin": ["nan"]})


def h5_assignments(path):
    with h5py.File(path, "r") as f:
        g = f["assignments"]
        out = {name: g[name][...] for name in g}
    if "external_id" in out:
        out["external_id"] = np.array([s.decode("utf-8") for s in out["external_id"]])
    return out


def manifest_files(directory):
    with open(os.path.join(directory, "manifest.json")) as f:
        return {entry["file"] for entry in json.load(f)["outputs"]}


class AssignmentsCsv(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.dir = temp_dir()
        rng = np.random.default_rng(16)
        n = 1200
        centers = rng.normal(0, 4, size=(4, 3))
        values = centers[rng.integers(0, 4, size=n)] + rng.normal(size=(n, 3))
        values = np.round(values, 4)
        cls.source = pd.DataFrame(values, columns=FEATURES)
        cls.source.insert(0, "key", [key(i) for i in range(n)])
        missing = np.arange(n) % 101 == 5  # dropped with --missing drop
        cls.source.loc[missing, "visits"] = np.nan
        cls.source_csv = os.path.join(cls.dir, "customers.csv")
        cls.source.to_csv(cls.source_csv, index=False, float_format="%.4f", na_rep="")
        cls.data = os.path.join(cls.dir, "customers.h5")
        run(2, "ingest", "features", "--csv", cls.source_csv, "--id-column", "key",
            "--output", cls.data)
        cls.runs = {}
        for ranks in (1, 3):
            out = os.path.join(cls.dir, f"run{ranks}")
            run(ranks, "segment", "--input", cls.data, "--k", 4, "--seed", 3, "--missing", "drop",
                "--assignments-csv", "--output", out)
            cls.runs[ranks] = out

    def test_the_csv_holds_the_assignments_of_segments_h5(self):
        out = self.runs[3]
        csv = read_csv(os.path.join(out, "assignments.csv"))
        self.assertEqual(list(csv.columns),
                         ["id", "external_id", "segment", "distance", "margin"])
        h5 = h5_assignments(os.path.join(out, "segments.h5"))
        self.assertEqual(len(csv), len(h5["id"]))
        for column in ("id", "external_id", "segment", "distance"):
            np.testing.assert_array_equal(csv[column].to_numpy(), h5[column], err_msg=column)

    def test_one_and_three_ranks_write_the_same_bytes(self):
        with open(os.path.join(self.runs[1], "assignments.csv"), "rb") as a, \
                open(os.path.join(self.runs[3], "assignments.csv"), "rb") as b:
            self.assertEqual(a.read(), b.read())

    def test_external_ids_join_back_to_the_source_rows(self):
        out = self.runs[3]
        csv = read_csv(os.path.join(out, "assignments.csv"))
        kept = self.source.dropna()
        self.assertEqual(sorted(csv["external_id"]), sorted(kept["key"]))
        joined = kept.merge(csv, left_on="key", right_on="external_id", validate="one_to_one")
        self.assertEqual(len(joined), len(kept))
        with h5py.File(os.path.join(out, "segments.h5"), "r") as f:
            segment_id = f["profiles/segment_id"][...]
            mean = pd.DataFrame(f["profiles/mean"][...], index=segment_id,
                                columns=list(f["profiles"].attrs["feature_names"]))
            # /assignments/external_id is the input's key of each kept row, in input order.
            with h5py.File(self.data, "r") as source:
                ids = source["customers/id"][...]
                keys = np.array([s.decode() for s in source["customers/external_id"][...]])
            row = {customer: i for i, customer in enumerate(ids)}
            expected = keys[[row[c] for c in f["assignments/id"][...]]]
            stored = [s.decode() for s in f["assignments/external_id"][...]]
            np.testing.assert_array_equal(stored, expected)
            width = f["assignments/external_id"].dtype.itemsize
        self.assertEqual(width, max(len(k.encode()) for k in self.source["key"]))
        by_segment = joined.groupby("segment")[FEATURES].mean()
        np.testing.assert_allclose(by_segment.loc[segment_id].to_numpy(),
                                   mean[FEATURES].to_numpy(), rtol=1e-5)

    def test_the_margin_is_second_nearest_minus_nearest_distance(self):
        out = self.runs[1]
        csv = read_csv(os.path.join(out, "assignments.csv")).set_index("external_id")
        with h5py.File(os.path.join(out, "segments.h5"), "r") as f:
            offset = f["model/scaling/offset"][...]
            scale = f["model/scaling/scale"][...]
            centroids = f["centroids/scaled"][...]
            order = list(f["centroids/scaled"].attrs["feature_names"])
        kept = self.source.dropna().set_index("key").loc[csv.index]
        scaled = (kept[order].to_numpy(np.float32).astype(np.float64) - offset) / scale
        distances = np.sqrt(((scaled[:, None, :] - centroids[None, :, :]) ** 2).sum(axis=2))
        two = np.sort(distances, axis=1)[:, :2]
        np.testing.assert_allclose(csv["distance"], two[:, 0], rtol=1e-5, atol=1e-5)
        np.testing.assert_allclose(csv["margin"], two[:, 1] - two[:, 0], rtol=1e-4, atol=1e-5)
        self.assertTrue((csv["margin"] >= 0).all())

    def test_the_manifest_lists_it_and_a_later_run_without_the_switch_removes_it(self):
        out = os.path.join(self.dir, "again")
        run(2, "segment", "--input", self.data, "--k", 3, "--missing", "drop",
            "--assignments-csv", "--output", out)
        self.assertIn("assignments.csv", manifest_files(out))
        self.assertEqual(manifest_problems(out, "segment"), [])
        run(2, "segment", "--input", self.data, "--k", 3, "--missing", "drop", "--output", out)
        self.assertFalse(os.path.exists(os.path.join(out, "assignments.csv")))
        self.assertNotIn("assignments.csv", manifest_files(out))
        self.assertEqual(manifest_problems(out, "segment"), [])

    def test_two_level_runs_add_the_macro_segment(self):
        out = os.path.join(self.dir, "two-level")
        run(2, "segment", "--input", self.data, "--macro-k", 2, "--k", 5, "--missing", "drop",
            "--assignments-csv", "--output", out)
        csv = read_csv(os.path.join(out, "assignments.csv"))
        self.assertEqual(list(csv.columns), ["id", "external_id", "segment", "macro_segment",
                                             "distance", "margin"])
        h5 = h5_assignments(os.path.join(out, "segments.h5"))
        for column in ("id", "external_id", "segment", "macro_segment", "distance"):
            np.testing.assert_array_equal(csv[column].to_numpy(), h5[column], err_msg=column)
        # Every micro-segment lies inside one macro segment.
        self.assertTrue((csv.groupby("segment")["macro_segment"].nunique() == 1).all())

    def test_promote_and_assign_write_it_too(self):
        sweep = os.path.join(self.dir, "sweep")
        run(2, "sweep", "--input", self.data, "--k", "3,4", "--missing", "drop", "--output", sweep)
        promoted = os.path.join(self.dir, "promoted")
        run(2, "promote", "--sweep", sweep, "--k", 4, "--assignments-csv", "--output", promoted)
        csv = read_csv(os.path.join(promoted, "assignments.csv"))
        self.assertEqual(list(csv.columns),
                         ["id", "external_id", "segment", "distance", "margin"])
        h5 = h5_assignments(os.path.join(promoted, "segments.h5"))
        for column in ("id", "external_id", "segment", "distance"):
            np.testing.assert_array_equal(csv[column].to_numpy(), h5[column], err_msg=column)
        self.assertEqual(manifest_problems(promoted, "promote"), [])

        scored = os.path.join(self.dir, "scored")
        run(3, "assign", "--model", self.runs[1], "--input", self.data, "--assignments-csv",
            "--output", scored)
        csv = read_csv(os.path.join(scored, "assignments.csv"))
        self.assertEqual(list(csv.columns),
                         ["id", "external_id", "segment", "distance", "margin"])
        h5 = h5_assignments(os.path.join(scored, "assignments.h5"))
        for column in ("id", "external_id", "segment", "distance", "margin"):
            np.testing.assert_array_equal(csv[column].to_numpy(), h5[column], err_msg=column)
        self.assertIn("assignments.csv", manifest_files(scored))
        self.assertEqual(manifest_problems(scored, "assign"), [])
        # Scoring the training data reproduces the run's rows, keys and margins.
        with open(os.path.join(self.runs[1], "assignments.csv"), "rb") as a, \
                open(os.path.join(scored, "assignments.csv"), "rb") as b:
            self.assertEqual(a.read(), b.read())
        run(2, "assign", "--model", self.runs[1], "--input", self.data, "--output", scored)
        self.assertFalse(os.path.exists(os.path.join(scored, "assignments.csv")))
        self.assertEqual(manifest_problems(scored, "assign"), [])

    def test_off_by_default_and_integer_ids_have_no_external_id(self):
        plain = os.path.join(self.dir, "plain.h5")
        run(2, "generate", "--customers", 400, "--segments", 3, "--seed", 2, "--output", plain)
        out = os.path.join(self.dir, "plain-run")
        run(2, "segment", "--input", plain, "--k", 3, "--output", out)
        self.assertFalse(os.path.exists(os.path.join(out, "assignments.csv")))
        self.assertNotIn("external_id", h5_assignments(os.path.join(out, "segments.h5")))
        run(2, "segment", "--input", plain, "--k", 3, "--assignments-csv", "--output", out)
        csv = read_csv(os.path.join(out, "assignments.csv"))
        self.assertEqual(list(csv.columns), ["id", "segment", "distance", "margin"])

    def test_variable_length_keys_as_h5py_writes_them_are_carried(self):
        data = os.path.join(self.dir, "vlen.h5")
        keys = [f"k{i}" if i % 7 else f"Zoë-{i}" for i in range(60)]
        with h5py.File(data, "w") as f:
            g = f.create_group("customers")
            g["id"] = np.arange(60, dtype=np.int64)
            g["spend"] = np.linspace(0, 1, 60)
            g["external_id"] = np.array(keys, dtype=object)  # h5py: variable-length UTF-8
        out = os.path.join(self.dir, "vlen-run")
        run(3, "segment", "--input", data, "--k", 2, "--assignments-csv", "--output", out)
        with h5py.File(os.path.join(out, "segments.h5"), "r") as f:
            stored = f["assignments/external_id"]
            self.assertEqual(stored.dtype.itemsize, max(len(k.encode()) for k in keys))
            self.assertEqual([s.decode() for s in stored[...]], keys)
        self.assertEqual(list(read_csv(os.path.join(out, "assignments.csv"))["external_id"]),
                         keys)

    def test_external_ids_of_the_wrong_length_are_refused_by_name(self):
        bad = os.path.join(self.dir, "short.h5")
        with h5py.File(bad, "w") as f:
            g = f.create_group("customers")
            g["id"] = np.arange(50, dtype=np.int64)
            g["spend"] = np.linspace(0, 1, 50)
            g["external_id"] = np.array([f"k{i}".encode() for i in range(49)])
        out = os.path.join(self.dir, "short-run")
        proc = run(2, "segment", "--input", bad, "--k", 2, "--output", out, check=False)
        self.assertEqual(proc.returncode, 2, proc.stderr)
        self.assertIn("/customers/external_id", proc.stderr)
        self.assertIn("one string per customer", proc.stderr)
        self.assertNotIn("customers ×", proc.stdout)  # refused before the read, not after a fit
        self.assertFalse(os.path.exists(os.path.join(out, "segments.h5")))


if __name__ == "__main__":
    unittest.main()
