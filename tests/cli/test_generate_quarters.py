"""`microseg generate --quarters`: successive quarters of one customer base with planted movement.

Quarters are generated at 1 and 3 ranks (every file identical), then checked against their own
planted movement with numpy/scipy: ids kept by survivors and never reused, counts that add up,
empirical transitions (joined by id across consecutive files) within sampling error of
/planted/transition, which itself follows the documented rule, and the churn of customers who
just moved down about F times their row's churn. A quick `segment --previous` over two quarters
shows the files work as inputs. Bad options are refused before anything is written.
"""
import os
import sys
import unittest

import h5py
import numpy as np
import pandas as pd
from scipy import stats

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "support"))
from microseg_run import h5diff, manifest_problems, run, temp_dir  # noqa: E402

CUSTOMERS, SEGMENTS, QUARTERS = 30000, 6, 4
MIGRATION, CHURN, NEW, FACTOR, SEED = 0.2, 0.12, 3000, 2.5, 17
ARGS = ["--customers", CUSTOMERS, "--segments", SEGMENTS, "--separation", 5, "--seed", SEED,
        "--quarters", QUARTERS, "--migration-rate", MIGRATION, "--churn-rate", CHURN,
        "--new-customers", NEW, "--mover-churn-factor", FACTOR]


def read_quarter(path):
    with h5py.File(path, "r") as f:
        table = pd.DataFrame({"id": f["customers/id"][...],
                              "segment": f["customers/planted_segment"][...],
                              "moved_down": f["customers/moved_down"][...]})
        planted = {name: f["planted/" + name][...]
                   for name in ("transition", "new_customer_share", "segment_value")}
        attrs = dict(f.attrs)
    return table, planted, attrs


def documented_transition(value, churn_rate, migration_rate):
    """/planted/transition by the rule of docs/file-format.md, from the segment values."""
    s = len(value)
    rank = np.argsort(np.argsort(value, kind="stable"), kind="stable")
    position = rank / (s - 1)
    churn = np.minimum(1.0, churn_rate * (1.5 - position))
    matrix = np.zeros((s, s + 1))
    for a in range(s):
        weight = np.array([0.0 if b == a else
                           2.0 ** -(abs(rank[b] - rank[a]) - 1) * (2.0 if rank[b] < rank[a] else 1.0)
                           for b in range(s)])
        matrix[a, :s] = (1 - churn[a]) * migration_rate * weight / weight.sum()
        matrix[a, a] = (1 - churn[a]) * (1 - migration_rate)
        matrix[a, s] = churn[a]
    return matrix


class GenerateQuarters(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.dir = temp_dir()
        cls.one = os.path.join(cls.dir, "one")
        cls.three = os.path.join(cls.dir, "three")
        cls.proc = run(1, "generate", *ARGS, "--output", cls.one)
        run(3, "generate", *ARGS, "--output", cls.three)
        cls.quarters = [read_quarter(os.path.join(cls.one, f"q{q}.h5"))
                        for q in range(1, QUARTERS + 1)]
        cls.planted = cls.quarters[0][1]
        # Consecutive quarters joined by id: origin segment and flag in T, fate in T+1.
        links = []
        for (now, _, _), (later, _, _) in zip(cls.quarters, cls.quarters[1:]):
            joined = now.merge(later[["id", "segment"]], on="id", how="left",
                               suffixes=("", "_next"))
            joined["fate"] = joined["segment_next"].fillna(SEGMENTS).astype(int)
            links.append(joined)
        cls.links = pd.concat(links, ignore_index=True)

    def test_every_file_is_identical_on_one_and_three_ranks(self):
        for q in range(1, QUARTERS + 1):
            status, report = h5diff(os.path.join(self.one, f"q{q}.h5"),
                                    os.path.join(self.three, f"q{q}.h5"))
            self.assertEqual(status, 0, f"q{q}.h5: {report}")

    def test_layout_and_attributes(self):
        for q, (table, planted, attrs) in enumerate(self.quarters, start=1):
            self.assertEqual(attrs["quarter"], q)
            self.assertEqual(attrs["quarters"], QUARTERS)
            self.assertEqual(attrs["migration_rate"], MIGRATION)
            self.assertEqual(attrs["churn_rate"], CHURN)
            self.assertEqual(attrs["new_customers"], NEW)
            self.assertEqual(attrs["mover_churn_factor"], FACTOR)
            self.assertEqual(attrs["seed"], SEED)
            self.assertEqual(planted["transition"].shape, (SEGMENTS, SEGMENTS + 1))
            np.testing.assert_array_equal(planted["transition"], self.planted["transition"])
            with h5py.File(os.path.join(self.one, f"q{q}.h5"), "r") as f:
                self.assertEqual(f["customers/features"].shape, (len(table), 17))
                self.assertEqual(f["customers/moved_down"].dtype, np.int8)
                self.assertEqual(f["customers/planted_segment"].dtype, np.int32)
        np.testing.assert_allclose(self.planted["transition"].sum(axis=1), 1, atol=1e-12)
        self.assertAlmostEqual(self.planted["new_customer_share"].sum(), 1, places=12)
        self.assertFalse(self.quarters[0][0]["moved_down"].any())
        self.assertEqual(manifest_problems(self.one, "generate"), [])
        self.assertIn("q4.h5", self.proc.stdout)

    def test_transition_follows_the_documented_rule(self):
        expected = documented_transition(self.planted["segment_value"], CHURN, MIGRATION)
        np.testing.assert_allclose(self.planted["transition"], expected, rtol=0, atol=1e-14)

    def test_segment_value_is_the_planted_mean_of_monetary(self):
        with h5py.File(os.path.join(self.one, "q1.h5"), "r") as f:
            names = [n.decode() if isinstance(n, bytes) else n
                     for n in f["customers/features"].attrs["feature_names"]]
            monetary = f["customers/features"][:, names.index("monetary")].astype(np.float64)
            segment = f["customers/planted_segment"][...]
        for s in range(SEGMENTS):
            values = monetary[segment == s]
            z = (values.mean() - self.planted["segment_value"][s]) / (values.std() / np.sqrt(len(values)))
            self.assertLess(abs(z), 5, f"segment {s}")

    def test_quarter_one_is_the_single_file_base(self):
        single = os.path.join(self.dir, "single.h5")
        run(2, "generate", "--customers", CUSTOMERS, "--segments", SEGMENTS, "--separation", 5,
            "--seed", SEED, "--output", single)
        with h5py.File(single, "r") as a, h5py.File(os.path.join(self.one, "q1.h5"), "r") as b:
            for name in ("id", "features", "planted_segment"):
                np.testing.assert_array_equal(a["customers/" + name][...], b["customers/" + name][...])

    def test_ids_survive_new_ones_are_fresh_and_counts_add_up(self):
        seen = set(self.quarters[0][0]["id"])
        for (now, _, _), (later, _, _) in zip(self.quarters, self.quarters[1:]):
            ids_now, ids_later = now["id"].to_numpy(), later["id"].to_numpy()
            self.assertEqual(len(np.unique(ids_later)), len(ids_later))
            survivors = ids_now[np.isin(ids_now, ids_later)]
            self.assertEqual(len(ids_later), len(survivors) + NEW)
            # Survivors first, in the previous quarter's order, then the new customers.
            np.testing.assert_array_equal(ids_later[:len(survivors)], survivors)
            fresh = ids_later[len(survivors):]
            self.assertFalse(np.isin(fresh, list(seen)).any())
            self.assertFalse(later["moved_down"].to_numpy()[len(survivors):].any())
            seen.update(fresh)

    def test_moved_down_marks_a_move_to_a_lower_value_segment(self):
        value = self.planted["segment_value"]
        kept = self.links[self.links["fate"] < SEGMENTS]
        for (now, _, _), (later, _, _) in zip(self.quarters, self.quarters[1:]):
            joined = now.merge(later, on="id", suffixes=("", "_next"))
            expected = (value[joined["segment_next"]] < value[joined["segment"]]).astype(np.int8)
            np.testing.assert_array_equal(joined["moved_down_next"].to_numpy(), expected)
        self.assertGreater(len(kept), 0)

    def test_empirical_transitions_agree_with_the_planted_matrix(self):
        steady = self.links[self.links["moved_down"] == 0]
        counts = pd.crosstab(steady["segment"], steady["fate"]).reindex(
            index=range(SEGMENTS), columns=range(SEGMENTS + 1), fill_value=0).to_numpy()
        expected = counts.sum(axis=1, keepdims=True) * self.planted["transition"]
        chi2 = ((counts - expected) ** 2 / expected).sum()
        p_value = stats.chi2.sf(chi2, SEGMENTS * SEGMENTS)
        self.assertGreater(p_value, 1e-4, f"chi-square {chi2:.1f}")
        z = (counts - expected) / np.sqrt(expected * (1 - self.planted["transition"]))
        self.assertLess(np.abs(z).max(), 5)
        # Not an empty check: a uniform spread of the moves is far from what was drawn.
        uniform = self.planted["transition"].copy()
        for s in range(SEGMENTS):
            moving = uniform[s, :SEGMENTS].sum() - uniform[s, s]
            others = [t for t in range(SEGMENTS) if t != s]
            uniform[s, others] = moving / (SEGMENTS - 1)
        wrong = counts.sum(axis=1, keepdims=True) * uniform
        self.assertLess(stats.chi2.sf(((counts - wrong) ** 2 / wrong).sum(), SEGMENTS ** 2), 1e-6)

    def test_movers_down_churn_about_f_times_their_row(self):
        churn = self.planted["transition"][:, SEGMENTS]
        movers = self.links[self.links["moved_down"] == 1]
        self.assertGreater(len(movers), 2000)
        p = np.minimum(1.0, FACTOR * churn[movers["segment"]])
        lost = (movers["fate"] == SEGMENTS).sum()
        z = (lost - p.sum()) / np.sqrt((p * (1 - p)).sum())
        self.assertLess(abs(z), 4)
        plain = churn[movers["segment"]].sum()
        self.assertAlmostEqual(lost / plain, FACTOR, delta=0.25)
        # Where a mover stays, the rest of its row keeps its proportions.
        kept = movers[movers["fate"] < SEGMENTS]
        counts = pd.crosstab(kept["segment"], kept["fate"]).reindex(
            index=range(SEGMENTS), columns=range(SEGMENTS), fill_value=0).to_numpy()
        rows = self.planted["transition"][:, :SEGMENTS]
        expected = counts.sum(axis=1, keepdims=True) * rows / rows.sum(axis=1, keepdims=True)
        used = expected > 0
        chi2 = ((counts[used] - expected[used]) ** 2 / expected[used]).sum()
        self.assertGreater(stats.chi2.sf(chi2, used.sum()), 1e-4)

    def test_new_customers_follow_the_planted_share(self):
        counts = np.zeros(SEGMENTS)
        for (now, _, _), (later, _, _) in zip(self.quarters, self.quarters[1:]):
            fresh = later[~later["id"].isin(now["id"])]
            counts += np.bincount(fresh["segment"], minlength=SEGMENTS)
        expected = counts.sum() * self.planted["new_customer_share"]
        self.assertGreater(stats.chisquare(counts, expected).pvalue, 1e-4)

    def test_segment_with_previous_runs_on_two_quarters(self):
        first, second = os.path.join(self.dir, "run-q1"), os.path.join(self.dir, "run-q2")
        run(2, "segment", "--input", os.path.join(self.one, "q1.h5"), "--k", SEGMENTS,
            "--seed", 1, "--output", first)
        run(2, "segment", "--input", os.path.join(self.one, "q2.h5"), "--k", SEGMENTS,
            "--seed", 1, "--previous", first, "--output", second)
        migration = pd.read_csv(os.path.join(second, "migration.csv"))
        self.assertGreater(len(migration), 0)

    def test_bad_options_are_refused_and_nothing_is_written(self):
        def args(**changes):
            options = {"customers": 100, "quarters": 3, "migration-rate": 0.1,
                       "churn-rate": 0.1, "new-customers": 10}
            options.update(changes)
            return [item for key, value in options.items() if value is not None
                    for item in ("--" + key, value)]
        cases = [
            (args(quarters=1), "--quarters"),
            (args(**{"migration-rate": None}), "--migration-rate"),
            (args(**{"migration-rate": -0.2}), "--migration-rate"),
            (args(**{"churn-rate": 1.5}), "--churn-rate"),
            (args(**{"new-customers": -5}), "--new-customers"),
            (args(**{"mover-churn-factor": -1}), "--mover-churn-factor"),
            (args(**{"macro-segments": 2}), "--macro-segments"),
            (["--customers", 100, "--churn-rate", 0.1], "--quarters"),
        ]
        for number, (options, named) in enumerate(cases):
            with self.subTest(options=options):
                out = os.path.join(self.dir, "bad")
                # Options are read on rank 0 and the plan broadcast: two ranks check that the
                # refusal reaches both, one rank suffices for the rest.
                proc = run(2 if number < 2 else 1, "generate", *options, "--output", out,
                           check=False)
                self.assertEqual(proc.returncode, 2, proc.stderr)
                self.assertIn("microseg: error:", proc.stderr)
                self.assertIn(named, proc.stderr)
                self.assertFalse(os.path.exists(out))

    def test_an_output_that_is_a_file_is_refused_and_kept(self):
        out = os.path.join(self.dir, "customers.h5")
        with open(out, "w") as f:
            f.write("keep me")
        proc = run(2, "generate", "--customers", 100, "--quarters", 2, "--migration-rate", 0.1,
                   "--churn-rate", 0.1, "--new-customers", 10, "--output", out, check=False)
        self.assertEqual(proc.returncode, 2, proc.stderr)
        self.assertIn(out, proc.stderr)
        with open(out) as f:
            self.assertEqual(f.read(), "keep me")


if __name__ == "__main__":
    unittest.main(verbosity=2)
