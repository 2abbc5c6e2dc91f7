"""What is published must not expose a customer (issue 14): suppression, percentiles, pseudonyms.

Two quarters of one base are written with h5py: three large clusters and, far from them, a planted
segment of 3 customers whose values are distinctive (about 500 in every feature, where the other
segments lie below 300). The second quarter moves 5 customers between two large segments (a
migration cell below 10), 40 between two others, drops 6 and adds 20. Both quarters are segmented
with k = 4, the second with --previous, --assignments-csv and --pseudonymise-ids on 1 and on 3
ranks, then scored with `assign`, and the run is drawn with scripts/plot_run.py.

Checked: the planted segment's size, means, standard deviations, min, max, 5th and 95th
percentiles and value statistics appear in no CSV, no stdout line and no plotted data (while a run
with --privacy-min-count 1 does show them, so the scan can fail); small migration cells read "<10";
the shared profiles' p05/p95 equal numpy's percentile (method 'linear') per segment and feature;
every pseudonym equals Python's hmac.new(key, str(id), sha256); no CSV holds a raw id; the manifest
records a fingerprint of the key, never the key; 1 and 3 ranks write identical files; bad key
files are refused naming the file, with nothing written.
"""
import csv
import hashlib
import hmac
import importlib.util
import json
import os
import stat
import subprocess
import sys
import unittest

import h5py
import numpy as np
import pandas as pd

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "support"))
from microseg_run import h5diff, manifest_problems, run, temp_dir, write_columns  # noqa: E402

ROOT = os.path.join(os.path.dirname(__file__), "..", "..")
FEATURES = ["recency", "visits", "monetary", "tenure"]
PER_CLUSTER = 300
CENTRES = np.array([[5.0, 2.0, 100.0, 10.0], [15.0, 8.0, 180.0, 20.0], [25.0, 14.0, 260.0, 30.0]])
PLANTED = np.array([[500.125, 517.375, 533.625, 541.0625],
                    [503.5, 519.75, 538.25, 544.875],
                    [507.875, 522.5, 536.0, 549.5]])
# In the second quarter the first planted customer leaves and this one joins the planted segment
# (a forecast needs every segment to lose someone), so it holds 3 customers in both quarters.
JOINS_PLANTED = np.array([501.25, 518.5, 534.75, 542.125])
PLANTED_Q2 = np.vstack([PLANTED[1:], JOINS_PLANTED])
SCALE = np.array([1.0, 0.7, 8.0, 1.5])
MIN_COUNT = 10


def quarter_tables(seed=14):
    """(q1 ids, q1 features, q2 ids, q2 features, planted ids of either quarter)."""
    rng = np.random.default_rng(seed)
    n_big = 3 * PER_CLUSTER
    ids = np.unique(rng.integers(10**9, 10**12, size=2 * (n_big + 3 + 21)))
    ids = rng.permutation(ids)[:n_big + 3 + 21]
    cluster = np.repeat(np.arange(3), PER_CLUSTER)
    big = CENTRES[cluster] + rng.normal(size=(n_big, 4)) * SCALE
    q1 = np.vstack([big, PLANTED])
    q1_ids = ids[:n_big + 3]
    q2 = q1.copy()
    moved_small = np.flatnonzero(cluster == 2)[:5]   # 5 customers: highest → middle value
    moved_large = np.flatnonzero(cluster == 1)[:40]  # 40 customers: middle → lowest value
    q2[moved_small] = CENTRES[1] + rng.normal(size=(5, 4)) * SCALE
    q2[moved_large] = CENTRES[0] + rng.normal(size=(40, 4)) * SCALE
    dropped = np.append(np.flatnonzero(cluster == 0)[-6:], n_big)  # and the first planted one
    keep = np.setdiff1d(np.arange(len(q1)), dropped)
    added = CENTRES[rng.integers(0, 3, size=20)] + rng.normal(size=(20, 4)) * SCALE
    q2_ids = np.concatenate([q1_ids[keep], ids[n_big + 3:]])
    q2 = np.vstack([q2[keep], added, JOINS_PLANTED])
    order = rng.permutation(len(q2_ids))
    return q1_ids, q1, q2_ids[order], q2[order], ids[n_big:n_big + 3].tolist() + [ids[-1]]


def write_table(path, ids, features):
    write_columns(path, ids, {name: features[:, j] for j, name in enumerate(FEATURES)})


def csv_files(*directories):
    for directory in directories:
        for name in sorted(os.listdir(directory)):
            if name.endswith(".csv"):
                yield os.path.join(directory, name)


def csv_fields(path):
    with open(path, newline="") as f:
        for row in csv.reader(f):
            yield from row


def numbers_in(fields):
    """Every field (or whitespace-separated word) that reads as a finite number."""
    for field in fields:
        for word in field.replace("(", " ").replace(")", " ").replace(",", " ").split():
            try:
                value = float(word.rstrip("%σ"))
            except ValueError:
                continue
            if np.isfinite(value):
                yield value


def load_plot_run():
    spec = importlib.util.spec_from_file_location(
        "plot_run", os.path.join(ROOT, "scripts", "plot_run.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


class PrivacyTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.dir = temp_dir()
        q1_ids, q1, q2_ids, q2, cls.planted_ids = quarter_tables()
        cls.q1_path = os.path.join(cls.dir, "q1.h5")
        cls.q2_path = os.path.join(cls.dir, "q2.h5")
        write_table(cls.q1_path, q1_ids, q1)
        write_table(cls.q2_path, q2_ids, q2)
        cls.q2_ids, cls.q2 = q2_ids, q2
        cls.all_ids = np.union1d(q1_ids, q2_ids)
        cls.key = os.urandom(32) + b"\n"  # every byte counts, a trailing newline too
        cls.key_path = os.path.join(cls.dir, "pseudonym.key")
        with open(cls.key_path, "wb") as f:
            f.write(cls.key)
        os.chmod(cls.key_path, 0o600)
        common = ["--k", 4, "--seed", 3, "--restarts", 2]
        cls.q1_run = os.path.join(cls.dir, "run-q1")
        cls.q1_log = run(1, "segment", "--input", cls.q1_path, "--output", cls.q1_run,
                         *common).stdout
        cls.runs, cls.logs = {}, {}
        for ranks in (1, 3):
            out = os.path.join(cls.dir, f"run-q2-{ranks}")
            cls.runs[ranks] = out
            cls.logs[ranks] = run(ranks, "segment", "--input", cls.q2_path, "--output", out,
                                  "--previous", cls.q1_run, "--assignments-csv",
                                  "--pseudonymise-ids", cls.key_path, *common).stdout
        cls.scored = os.path.join(cls.dir, "scored")
        cls.assign_log = run(2, "assign", "--model", cls.runs[1], "--input", cls.q2_path,
                             "--output", cls.scored, "--assignments-csv", "--pseudonymise-ids",
                             cls.key_path).stdout
        cls.forecast = os.path.join(cls.dir, "forecast")
        cls.forecast_log = run(2, "forecast", "--runs", cls.q1_run, cls.runs[1], "--horizon", 1,
                               "--top", 50, "--output", cls.forecast, "--pseudonymise-ids",
                               cls.key_path).stdout
        cls.open_run = os.path.join(cls.dir, "run-q1-open")
        cls.open_log = run(1, "segment", "--input", cls.q1_path, "--output", cls.open_run,
                           "--privacy-min-count", 1, *common).stdout
        cls.plot = load_plot_run()

    def segment_of(self, run_dir):
        """Each customer's segment (by id) and the planted customers' segment."""
        with h5py.File(os.path.join(run_dir, "segments.h5"), "r") as f:
            segments = pd.Series(f["assignments/segment"][...], index=f["assignments/id"][...])
        planted = set(segments[[i for i in self.planted_ids if i in segments.index]])
        self.assertEqual(len(planted), 1, "the 3 planted customers share one segment")
        (tiny,) = planted
        self.assertEqual(int((segments == tiny).sum()), 3, "and nobody else is in it")
        return segments, int(tiny)

    def planted_statistics(self):
        """Every statistic of the planted segment, in either quarter, that a profile could show
        (of the float32 values, as read)."""
        values = []
        for rows in (PLANTED, PLANTED_Q2):
            x = rows.astype(np.float32).astype(np.float64)
            values += [x.mean(axis=0), x.std(axis=0), x.min(axis=0), x.max(axis=0),
                       np.percentile(x, 5, axis=0), np.percentile(x, 95, axis=0),
                       [x[:, 2].sum()]]
        return np.concatenate([np.ravel(v) for v in values])

    def assert_no_planted_statistic(self, numbers, where):
        planted = self.planted_statistics()
        for value in numbers:
            close = np.isclose(planted, value, rtol=1e-9, atol=0)
            self.assertFalse(close.any(), f"{where} shows {value!r}, a statistic of the planted "
                                          f"segment of 3 customers")

    def test_the_planted_segment_of_3_is_suppressed_in_profiles(self):
        for out in (self.q1_run, self.runs[1]):
            _, tiny = self.segment_of(out)
            profiles = pd.read_csv(os.path.join(out, "profiles.csv"), dtype={"size": str})
            row = profiles[profiles["segment"] == tiny].iloc[0]
            self.assertEqual(row["size"], f"<{MIN_COUNT}")
            self.assertEqual(row["suppressed"], f"fewer than {MIN_COUNT} customers")
            statistics = [c for c in profiles.columns
                          if c not in ("segment", "size", "suppressed", "undersized")]
            self.assertTrue(row[statistics].isna().all(), row[statistics].dropna())
            others = profiles[profiles["segment"] != tiny]
            self.assertTrue(others["suppressed"].isna().all())
            self.assertTrue((others["size"].astype(int) >= MIN_COUNT).all())
            for feature in FEATURES:
                self.assertNotIn(f"{feature}_min", profiles.columns)
                self.assertNotIn(f"{feature}_max", profiles.columns)
        # The internal file keeps every number, min and max included, with mode 0640.
        with h5py.File(os.path.join(self.q1_run, "segments.h5"), "r") as f:
            row = list(f["profiles/segment_id"][...]).index(tiny)
            names = [n.decode() if isinstance(n, bytes) else str(n)
                     for n in f["profiles"].attrs["feature_names"]]
            order = [FEATURES.index(name) for name in names]
            self.assertEqual(int(f["profiles/size"][row]), 3)
            np.testing.assert_array_equal(f["profiles/min"][row],
                                          PLANTED.astype(np.float32).min(axis=0)[order])
            np.testing.assert_array_equal(f["profiles/max"][row],
                                          PLANTED.astype(np.float32).max(axis=0)[order])
        self.assertEqual(stat.S_IMODE(os.stat(os.path.join(self.q1_run, "segments.h5")).st_mode),
                         0o640)

    def test_no_export_shows_a_statistic_or_the_count_of_the_planted_segment(self):
        directories = [self.q1_run, self.runs[1], self.runs[3], self.scored, self.forecast]
        for path in csv_files(*directories):
            self.assert_no_planted_statistic(numbers_in(csv_fields(path)), path)
            with open(path, newline="") as f:
                widths = {len(row) for row in csv.reader(f)}
            self.assertEqual(len(widths), 1, f"{path}: rows of {sorted(widths)} fields")
        for name, log in [("q1 stdout", self.q1_log), ("q2 stdout", self.logs[1]),
                          ("assign stdout", self.assign_log),
                          ("forecast stdout", self.forecast_log)]:
            self.assert_no_planted_statistic(numbers_in(log.split()), name)
        # The exact count: no field of the planted segment's rows says 3.
        for out in (self.q1_run, self.runs[1]):
            _, tiny = self.segment_of(out)
            with open(os.path.join(out, "profiles.csv"), newline="") as f:
                rows = [r for r in csv.reader(f) if r[0] == str(tiny)]
            self.assertEqual(len(rows), 1)
            self.assertNotIn("3", rows[0][1:])
        _, tiny = self.segment_of(self.runs[1])
        with open(os.path.join(self.runs[1], "migration.csv"), newline="") as f:
            rows = [r for r in csv.reader(f) if r[0] == str(tiny)]
        self.assertEqual(len(rows), 1)
        self.assertNotIn("3", rows[0][3:])  # after the id and the two 0/1 flags
        for log in (self.q1_log, self.logs[1], self.assign_log, self.forecast_log):
            lines = [line for line in log.splitlines() if line.split()[:1] == [str(tiny)]]
            self.assertTrue(lines, log)
            for line in lines:
                self.assertIn(f"<{MIN_COUNT}", line)
                self.assertNotIn("3", line.split()[1:])

    def test_the_scan_finds_the_planted_statistics_when_nothing_is_suppressed(self):
        # --privacy-min-count 1 publishes everything: the same scan must then fail.
        found = list(numbers_in(csv_fields(os.path.join(self.open_run, "profiles.csv"))))
        with self.assertRaises(AssertionError):
            self.assert_no_planted_statistic(found, "profiles.csv")
        _, tiny = self.segment_of(self.open_run)
        profiles = pd.read_csv(os.path.join(self.open_run, "profiles.csv"))
        self.assertEqual(int(profiles.loc[profiles["segment"] == tiny, "size"].iloc[0]), 3)

    def test_the_forecast_of_the_planted_segment_is_suppressed(self):
        _, tiny = self.segment_of(self.runs[1])
        table = pd.read_csv(os.path.join(self.forecast, "segments_forecast.csv"),
                            dtype={"size_now": str})
        row = table[table["segment"] == tiny].iloc[0]
        self.assertEqual(row["size_now"], f"<{MIN_COUNT}")
        self.assertEqual(row["suppressed"], f"fewer than {MIN_COUNT} customers")
        blank = [c for c in table.columns
                 if c not in ("segment", "size_now", "has_history", "suppressed")]
        self.assertTrue(row[blank].isna().all(), row[blank].dropna())
        self.assertTrue(table.loc[table["segment"] != tiny, "suppressed"].isna().all())

    def test_plotted_data_respects_suppression(self):
        out = os.path.join(self.dir, "plots")
        proc = subprocess.run([sys.executable, os.path.join(ROOT, "scripts", "plot_run.py"),
                               self.runs[1], "--output", out], capture_output=True, text=True)
        self.assertEqual(proc.returncode, 0, proc.stderr)
        self.assertEqual(sorted(os.listdir(out)), ["migration_matrix.png", "profile_lift.png"])
        _, tiny = self.segment_of(self.runs[1])
        with h5py.File(os.path.join(self.runs[1], "segments.h5"), "r") as f:
            self.assertEqual(self.plot.run_min_count(self.runs[1]), MIN_COUNT)
            lift, labels = self.plot.lift_rows(f, MIN_COUNT)
            ids = sorted(f["profiles/segment_id"][...])
            row = ids.index(tiny)
            self.assertTrue(np.isnan(lift[row]).all())
            self.assertIn(f"<{MIN_COUNT}, suppressed", labels[row])
            self.assertTrue(np.isfinite(np.delete(lift, row, axis=0)).all())
            _, _, shares, notes = self.plot.migration_cells(f, MIN_COUNT)
            counts = f["migration/counts"][...]
        shown = [int(n) for n in notes.ravel() if n and not n.startswith("<")]
        self.assertTrue(all(n >= MIN_COUNT for n in shown), shown)
        self.assertEqual(sum(1 for n in notes.ravel() if n == f"<{MIN_COUNT}"),
                         int(((counts > 0) & (counts < MIN_COUNT)).sum()))
        self.assertTrue(np.isnan(shares[notes == f"<{MIN_COUNT}"]).all())

    def test_small_migration_cells_read_less_than_the_minimum(self):
        matrix = pd.read_csv(os.path.join(self.runs[1], "migration_matrix.csv"), dtype=str)
        with h5py.File(os.path.join(self.runs[1], "segments.h5"), "r") as f:
            counts = f["migration/counts"][...]
        self.assertTrue(((counts > 0) & (counts < MIN_COUNT)).any(), "the data plant small cells")
        cells = matrix.drop(columns=matrix.columns[0]).to_numpy().ravel()
        self.assertEqual(sorted(c for c in cells if c.startswith("<")),
                         [f"<{MIN_COUNT}"] * int(((counts > 0) & (counts < MIN_COUNT)).sum()))
        for cell in cells:
            if not cell.startswith("<"):
                self.assertTrue(int(cell) == 0 or int(cell) >= MIN_COUNT, cell)
        flows = pd.read_csv(os.path.join(self.runs[1], "migration.csv"), dtype=str)
        for _, row in flows.iterrows():
            hidden = [c for c in ("previous_size", "new_size", "stayed", "moved_in",
                                  "new_customers", "moved_out", "lost_customers", "inflow",
                                  "outflow") if str(row[c]).startswith("<")]
            if hidden:
                self.assertEqual(row["suppressed"], f"fewer than {MIN_COUNT} customers")
            else:
                self.assertTrue(pd.isna(row["suppressed"]))

    def test_percentiles_match_numpy_per_segment_and_feature(self):
        for out in (self.runs[1], self.open_run):
            segments, _ = self.segment_of(out)
            path = self.q2_path if out == self.runs[1] else self.q1_path
            with h5py.File(path, "r") as f:
                ids = f["customers/id"][...]
                x = np.column_stack([f["customers"][n][...] for n in FEATURES])
            x = x.astype(np.float32).astype(np.float64)
            labels = segments[ids].to_numpy()
            profiles = pd.read_csv(os.path.join(out, "profiles.csv"), dtype={"size": str},
                                   float_precision="round_trip")
            with h5py.File(os.path.join(out, "segments.h5"), "r") as f:
                h5_ids = list(f["profiles/segment_id"][...])
                names = [n.decode() if isinstance(n, bytes) else str(n)
                         for n in f["profiles"].attrs["feature_names"]]
                p05, p95 = f["profiles/p05"][...], f["profiles/p95"][...]
            x_in_order = x[:, [FEATURES.index(name) for name in names]]
            for segment in np.unique(labels):
                values = x_in_order[labels == segment]
                expected = np.percentile(values, [5, 95], axis=0, method="linear")
                row = h5_ids.index(segment)
                np.testing.assert_array_equal(p05[row], expected[0])
                np.testing.assert_array_equal(p95[row], expected[1])
                shared = profiles[profiles["segment"] == segment].iloc[0]
                if len(values) < MIN_COUNT and out == self.runs[1]:
                    continue
                for j, feature in enumerate(names):
                    self.assertEqual(shared[f"{feature}_p05"], expected[0, j])
                    self.assertEqual(shared[f"{feature}_p95"], expected[1, j])

    def test_one_and_three_ranks_write_identical_files(self):
        for name in sorted(os.listdir(self.runs[1])):
            if not name.endswith(".csv"):
                continue
            with open(os.path.join(self.runs[1], name), "rb") as a, \
                    open(os.path.join(self.runs[3], name), "rb") as b:
                self.assertEqual(a.read(), b.read(), name)
        status, report = h5diff(os.path.join(self.runs[1], "segments.h5"),
                                os.path.join(self.runs[3], "segments.h5"),
                                exclude_attributes=["/run"])
        self.assertEqual(status, 0, report)

    def test_pseudonyms_are_hmac_sha256_of_the_decimal_id(self):
        expected = {hmac.new(self.key, str(i).encode(), hashlib.sha256).hexdigest(): i
                    for i in self.q2_ids}
        for out in (self.runs[1], self.scored):
            table = pd.read_csv(os.path.join(out, "assignments.csv"), dtype={"pseudonym": str})
            self.assertNotIn("id", table.columns)
            self.assertEqual(set(table["pseudonym"]), set(expected))
        at_risk = pd.read_csv(os.path.join(self.runs[1], "at_risk.csv"), dtype={"pseudonym": str})
        self.assertGreaterEqual(len(at_risk), 40)
        self.assertTrue(set(at_risk["pseudonym"]) <= set(expected))
        top = pd.read_csv(os.path.join(self.forecast, "at_risk_forecast.csv"),
                          dtype={"pseudonym": str})
        self.assertEqual(len(top), 50)
        self.assertTrue(set(top["pseudonym"]) <= set(expected))

    def test_no_exported_csv_holds_a_raw_id(self):
        raw = {str(i) for i in self.all_ids}
        for path in csv_files(*self.runs.values(), self.scored, self.forecast):
            leaked = raw.intersection(csv_fields(path))
            self.assertFalse(leaked, f"{path} holds raw ids, e.g. {sorted(leaked)[:3]}")
        # The internal file keeps them.
        with h5py.File(os.path.join(self.runs[1], "segments.h5"), "r") as f:
            self.assertEqual(set(f["assignments/id"][...]), set(self.q2_ids))

    def test_the_manifest_records_a_fingerprint_never_the_key(self):
        fingerprint = hashlib.sha256(
            hmac.new(self.key, b"microseg-key-id", hashlib.sha256).digest()).hexdigest()
        for out, command in ((self.runs[1], "segment"), (self.scored, "assign"),
                             (self.forecast, "forecast")):
            self.assertEqual(manifest_problems(out, command), [])
            with open(os.path.join(out, "manifest.json")) as f:
                privacy = json.load(f)["privacy"]
            self.assertEqual(privacy, {"min_count": str(MIN_COUNT), "pseudonymised_ids": "true",
                                       "key_fingerprint": fingerprint})
            for name in os.listdir(out):
                with open(os.path.join(out, name), "rb") as f:
                    content = f.read()
                self.assertNotIn(self.key.strip(), content, name)
                self.assertNotIn(self.key.strip().hex().encode(), content, name)
        with open(os.path.join(self.q1_run, "manifest.json")) as f:
            self.assertEqual(json.load(f)["privacy"]["pseudonymised_ids"], "false")

    def test_bad_key_files_are_refused_naming_the_file(self):
        empty = os.path.join(self.dir, "empty.key")
        open(empty, "wb").close()
        os.chmod(empty, 0o600)
        shared = os.path.join(self.dir, "shared.key")
        with open(shared, "wb") as f:
            f.write(b"secret")
        os.chmod(shared, 0o644)
        missing = os.path.join(self.dir, "missing.key")
        for key, words in ((empty, "is empty"), (shared, "readable or writable by every user"),
                           (missing, "No such file")):
            for command in (["segment", "--input", self.q1_path, "--k", 4],
                            ["assign", "--model", self.q1_run, "--input", self.q1_path]):
                out = os.path.join(self.dir, "refused-" + os.path.basename(key) + command[0])
                proc = run(2, *command, "--output", out, "--pseudonymise-ids", key, check=False)
                self.assertEqual(proc.returncode, 2, proc.stdout + proc.stderr)
                self.assertIn(f"key file '{key}'", proc.stderr)
                self.assertIn(words, proc.stderr)
                self.assertNotIn("secret", proc.stdout + proc.stderr)
                self.assertFalse(os.path.exists(out), "nothing is written")


if __name__ == "__main__":
    unittest.main()
