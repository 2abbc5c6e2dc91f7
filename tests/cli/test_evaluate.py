"""`microseg evaluate` measures a campaign per segment: on a generated base with a generated
campaign of planted uplifts, the planted uplift lies inside the reported 95 % intervals and the
labels follow the sign of large effects; 1 and 3 ranks write the same outputs; data problems are
counted, bad input is refused with a message naming the file, line and column, and nothing is
written then. `generate campaign` writes the same file for any rank count, and
scripts/plot_uplift.py draws the intervals. A segment (or the whole campaign) with a treated group
of 3 customers is suppressed in uplift.csv, the printed table and the chart under the default
--privacy-min-count 10, and shown with --privacy-min-count 1."""
import csv
import importlib.util
import json
import os
import subprocess
import sys
import unittest

import h5py
import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "support"))
from microseg_run import (assert_drawn_png, h5diff, manifest_problems, run,  # noqa: E402
                          run_facts, temp_dir)

PLOT = os.path.join(os.path.dirname(__file__), "..", "..", "scripts", "plot_uplift.py")
# Planted uplift per planted segment: positive, zero and negative effects.
UPLIFT = [0.10, 0.06, 0.0, -0.06, 0.03, 0.08]
BASE_RATE = 0.12


def read_csv(path):
    with open(path, newline="") as f:
        return list(csv.reader(f))


def write_csv(path, rows):
    with open(path, "w", newline="") as f:
        csv.writer(f, lineterminator="\n").writerows(rows)


class Evaluate(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        d = cls.dir = temp_dir()
        cls.base = os.path.join(d, "base.h5")
        run(2, "generate", "--customers", 20000, "--segments", 6, "--separation", 6, "--seed", 5,
            "--output",
            cls.base)
        cls.run_dir = os.path.join(d, "run")
        run(2, "segment", "--input", cls.base, "--k", 6, "--output", cls.run_dir)
        cls.campaign = os.path.join(d, "campaign.csv")
        cls.campaign3 = os.path.join(d, "campaign3.csv")
        for ranks, path in ((1, cls.campaign), (3, cls.campaign3)):
            run(ranks, "generate", "campaign", "--run", cls.run_dir, "--uplift",
                ",".join(map(str, UPLIFT)), "--base-rate", BASE_RATE, "--seed", 11,
                "--output", path)
        cls.out1, cls.out3 = os.path.join(d, "ev1"), os.path.join(d, "ev3")
        cls.proc1 = cls.evaluate(1, cls.campaign, cls.out1)
        cls.proc3 = cls.evaluate(3, cls.campaign, cls.out3)

    @classmethod
    def evaluate(cls, ranks, outcomes, output, *extra, check=True):
        return run(ranks, "evaluate", "--run", cls.run_dir, "--outcomes", outcomes,
                   "--revenue-column", "revenue", "--cost-per-contact", 0.4, "--output", output,
                   *extra, check=check)

    def segments(self, out):
        with h5py.File(os.path.join(out, "evaluation.h5"), "r") as f:
            return {name: f["segments"][name][...] for name in f["segments"]}

    def planted_of_run_segment(self):
        """Each run segment's planted segment by majority of its customers."""
        with h5py.File(self.base, "r") as f:
            planted = dict(zip(f["customers/id"][...], f["customers/planted_segment"][...]))
        with h5py.File(os.path.join(self.run_dir, "segments.h5"), "r") as f:
            ids, segments = f["assignments/id"][...], f["assignments/segment"][...]
        majority = {}
        for s in np.unique(segments):
            members = [planted[i] for i in ids[segments == s]]
            majority[int(s)] = int(np.bincount(members).argmax())
        return majority

    def test_the_campaign_is_the_same_for_any_rank_count(self):
        with open(self.campaign, "rb") as a, open(self.campaign3, "rb") as b:
            self.assertEqual(a.read(), b.read())
        rows = read_csv(self.campaign)
        self.assertEqual(rows[0], ["customer_id", "group", "converted", "revenue"])
        self.assertEqual(len(rows), 20001)

    def test_the_planted_uplift_lies_in_the_interval_of_at_least_90_percent_of_segments(self):
        # A fixed seed: each 95 % interval misses its planted value with probability about 5 %.
        seg = self.segments(self.out1)
        majority = self.planted_of_run_segment()
        inside = [seg["uplift_low"][i] <= UPLIFT[majority[int(s)]] <= seg["uplift_high"][i]
                  for i, s in enumerate(seg["segment_id"])]
        self.assertEqual(len(inside), 6)
        self.assertGreaterEqual(sum(inside) / len(inside), 0.9, seg)

    def test_labels_follow_the_sign_of_large_effects(self):
        seg = self.segments(self.out1)
        majority = self.planted_of_run_segment()
        labels = [v.decode() for v in seg["label"]]
        checked = 0
        for i, s in enumerate(seg["segment_id"]):
            planted = UPLIFT[majority[int(s)]]
            if planted >= 0.06:
                self.assertEqual(labels[i], "target", (s, planted))
                checked += 1
            elif planted <= -0.06:
                self.assertEqual(labels[i], "avoid", (s, planted))
                checked += 1
        self.assertGreaterEqual(checked, 3)
        self.assertIn("target", self.proc1.stdout)

    def test_one_and_three_ranks_write_the_same_outputs(self):
        with open(os.path.join(self.out1, "uplift.csv"), "rb") as a, \
                open(os.path.join(self.out3, "uplift.csv"), "rb") as b:
            self.assertEqual(a.read(), b.read())
        status, report = h5diff(os.path.join(self.out1, "evaluation.h5"),
                                os.path.join(self.out3, "evaluation.h5"), ("/run",))
        self.assertEqual(status, 0, report)
        facts1 = run_facts(os.path.join(self.out1, "evaluation.h5"))
        self.assertEqual(facts1, run_facts(os.path.join(self.out3, "evaluation.h5")))

    def test_outputs_have_a_manifest_and_an_all_row(self):
        self.assertEqual(manifest_problems(self.out1, "evaluate"), [])
        rows = read_csv(os.path.join(self.out1, "uplift.csv"))
        self.assertEqual(rows[-1][0], "all")
        self.assertEqual(len(rows), 1 + 6 + 1)
        header = rows[0]
        treated = sum(int(r[header.index("treated_customers")]) for r in rows[1:-1])
        self.assertEqual(treated, int(rows[-1][header.index("treated_customers")]))

    def test_data_problems_are_counted_and_reported(self):
        rows = read_csv(self.campaign)
        header, body = rows[0], rows[1:]
        kept = body[50:]  # the first 50 customers of the run get no outcome row
        kept[10][1] = "holdout"  # a group that is neither value: line 12 of the file
        kept[20][1] = "holdout"
        strangers = [[str(9 * 10**15 + i), "treated", "1", "3.5"] for i in range(7)]
        path = os.path.join(self.dir, "problems.csv")
        write_csv(path, [header] + kept + strangers)
        out = os.path.join(self.dir, "ev-problems")
        proc = self.evaluate(2, path, out)
        with h5py.File(os.path.join(out, "evaluation.h5"), "r") as f:
            attrs = dict(f["run"].attrs)
        self.assertEqual(attrs["unmatched_outcome_ids"], 7)
        self.assertEqual(attrs["customers_without_outcome"], 50)
        self.assertEqual(attrs["other_group_rows"], 2)
        self.assertEqual(attrs["first_other_group_line"], 12)
        self.assertEqual(attrs["outcome_rows"], len(kept) + 7)
        self.assertIn("7 outcome ids match no customer", proc.stdout)
        self.assertIn("50 customers of the run have no outcome row", proc.stdout)
        self.assertIn("first: line 12, 'holdout'", proc.stdout)

    def assert_refused(self, rows, *needles):
        path = os.path.join(self.dir, "bad.csv")
        write_csv(path, rows)
        out = os.path.join(self.dir, "ev-bad")
        proc = self.evaluate(3, path, out, check=False)
        self.assertNotEqual(proc.returncode, 0)
        for needle in needles:
            self.assertIn(needle, proc.stderr)
        self.assertFalse(os.path.exists(out), "an output directory was written")

    def test_bad_input_is_refused_naming_file_line_and_column(self):
        rows = read_csv(self.campaign)
        header, body = rows[0], [list(r) for r in rows[1:]]
        bad = [header] + [list(r) for r in body]
        bad[300][2] = "yes"
        self.assert_refused(bad, "bad.csv' line 301, column 3 ('converted'): 'yes' is not 0 or 1")
        bad = [header] + [list(r) for r in body]
        bad[9000][2] = "2"
        self.assert_refused(bad, "line 9001, column 3 ('converted'): '2' is not 0 or 1")
        bad = [header] + [list(r) for r in body]
        bad[15000][3] = "lots"
        self.assert_refused(bad, "line 15001, column 4 ('revenue'): 'lots' is not a finite number")
        duplicated = [header] + body + [body[1234]]
        self.assert_refused(duplicated, f"customer id {body[1234][0]} appears on lines 1236 and "
                            f"{len(body) + 2}")
        no_control = [header] + [r for r in body if r[1] == "treated"]
        self.assert_refused(no_control, "the control group is empty", "'control'")
        no_treated = [header] + [r for r in body if r[1] == "control"]
        self.assert_refused(no_treated, "the treatment group is empty", "'treated'")
        renamed = [header[:3] + ["spend"]] + body
        self.assert_refused(renamed, "--revenue-column: column 'revenue' is not in the header")

    def test_an_hdf5_outcome_table_gives_the_same_outputs_as_its_csv(self):
        h5 = os.path.join(self.dir, "campaign.h5")
        run(1, "ingest", "features", "--csv", self.campaign, "--id-column", "customer_id",
            "--categorical", "group", "--output", h5)
        out = os.path.join(self.dir, "ev-h5")
        self.evaluate(2, h5, out)
        with open(os.path.join(self.out1, "uplift.csv"), "rb") as a, \
                open(os.path.join(out, "uplift.csv"), "rb") as b:
            self.assertEqual(a.read(), b.read())
        with h5py.File(h5, "r+") as f:
            f["customers/converted"][4321] = 3
        proc = self.evaluate(3, h5, os.path.join(self.dir, "ev-h5-bad"), check=False)
        self.assertNotEqual(proc.returncode, 0)
        self.assertIn("campaign.h5' row 4322, /customers/converted: 3 is not 0 or 1", proc.stderr)
        self.assertFalse(os.path.exists(os.path.join(self.dir, "ev-h5-bad")))

    def test_the_plot_script_writes_a_png(self):
        png = os.path.join(self.dir, "uplift.png")
        proc = subprocess.run([sys.executable, PLOT, self.out1, "--output", png],
                              capture_output=True, text=True, timeout=120)
        self.assertEqual(proc.returncode, 0, proc.stderr)
        assert_drawn_png(self, png, 100, 100, min_spread=0.01)
        missing = subprocess.run([sys.executable, PLOT, self.dir], capture_output=True, text=True)
        self.assertEqual(missing.returncode, 2)

    def cut_treated(self, keep, segment=None):
        """The campaign with only `keep` treated rows (of `segment`, or of all customers)."""
        with h5py.File(os.path.join(self.run_dir, "segments.h5"), "r") as f:
            segment_of = dict(zip(f["assignments/id"][...].tolist(),
                                  f["assignments/segment"][...].tolist()))
        rows = read_csv(self.campaign)
        header, body = rows[0], rows[1:]
        cut = [r[1] == "treated" and segment in (None, segment_of[int(r[0])]) for r in body]
        kept = [r for r, c in zip(body, cut) if not c] + [r for r, c in zip(body, cut) if c][:keep]
        path = os.path.join(self.dir, f"small-{segment}.csv")
        write_csv(path, [header] + kept)
        return path

    def uplift_rows(self, out):
        rows = read_csv(os.path.join(out, "uplift.csv"))
        self.assertEqual(rows[0][-2:], ["label", "suppressed"])
        return {r[0]: dict(zip(rows[0], r)) for r in rows[1:]}

    def printed_line(self, proc, name):
        table = proc.stdout.split("segment  treated  control")[1]
        return next(line for line in table.splitlines() if line.split()[:1] == [name])

    def assert_suppressed(self, row, proc, control):
        self.assertEqual(row["treated_customers"], "<10")
        self.assertEqual(row["control_customers"], control)
        for name in list(row)[3:-2]:  # conversions and every measure
            self.assertEqual(row[name], "", name)
        self.assertEqual((row["label"], row["suppressed"]),
                         ("suppressed", "fewer than 10 customers"))
        line = self.printed_line(proc, row["segment"])
        self.assertEqual(line.split()[1:], ["<10", control, "suppressed", "(fewer", "than", "10",
                                            "customers)"])

    def test_a_segment_with_a_small_arm_is_suppressed_in_the_shared_outputs(self):
        small = int(self.segments(self.out1)["segment_id"][2])
        path = self.cut_treated(3, small)
        hidden, hidden3, shown = (os.path.join(self.dir, name)
                                  for name in ("ev-hid", "ev-hid3", "ev-shown"))
        proc = self.evaluate(1, path, hidden)
        self.evaluate(3, path, hidden3)
        proc_shown = self.evaluate(2, path, shown, "--privacy-min-count", 1)
        with open(os.path.join(hidden, "uplift.csv"), "rb") as a, \
                open(os.path.join(hidden3, "uplift.csv"), "rb") as b:
            self.assertEqual(a.read(), b.read())
        seg = self.segments(hidden)  # evaluation.h5 keeps every number
        i = list(seg["segment_id"]).index(small)
        self.assertEqual(seg["treated_customers"][i], 3)
        self.assertTrue(np.isfinite(seg["uplift"][i]))
        rows = self.uplift_rows(hidden)
        self.assert_suppressed(rows[str(small)], proc, str(seg["control_customers"][i]))
        for name, row in rows.items():
            if name != str(small):
                self.assertEqual(row["suppressed"], "", name)
                self.assertNotEqual(row["treated_rate"], "", name)
        with open(os.path.join(hidden, "manifest.json")) as f:
            self.assertEqual(str(json.load(f)["privacy"]["min_count"]), "10")
        # --privacy-min-count 1: the same row with its numbers, as evaluation.h5 has them.
        row = self.uplift_rows(shown)[str(small)]
        self.assertEqual((row["treated_customers"], row["suppressed"]), ("3", ""))
        for name in ("treated_rate", "uplift", "uplift_low", "uplift_high", "p_value", "roi"):
            self.assertEqual(float(row[name]), seg[name][i], name)
        self.assertEqual(row["label"], seg["label"][i].decode())
        self.assertIn("[", self.printed_line(proc_shown, str(small)))
        # The chart leaves the segment out under the evaluation's own min count.
        spec = importlib.util.spec_from_file_location("plot_uplift", PLOT)
        plot_uplift = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(plot_uplift)
        for out, drawn in ((hidden, False), (shown, True)):
            columns, _ = plot_uplift.read(os.path.join(out, "evaluation.h5"),
                                          plot_uplift.min_count_of(out))
            self.assertEqual(small in columns["segment_id"], drawn, out)
            self.assertEqual(len(columns["segment_id"]), 6 if drawn else 5)

    def test_a_campaign_with_a_small_arm_suppresses_the_all_row(self):
        path = self.cut_treated(3)
        out = os.path.join(self.dir, "ev-all-hidden")
        proc = self.evaluate(2, path, out)
        with h5py.File(os.path.join(out, "evaluation.h5"), "r") as f:
            control = str(f["overall/control_customers"][0])
            self.assertEqual(f["overall/treated_customers"][0], 3)
        rows = self.uplift_rows(out)
        self.assert_suppressed(rows["all"], proc, control)
        png = os.path.join(self.dir, "all-hidden.png")
        done = subprocess.run([sys.executable, PLOT, out, "--output", png], capture_output=True,
                              text=True, timeout=120)
        self.assertEqual(done.returncode, 0, done.stderr)


if __name__ == "__main__":
    unittest.main()
