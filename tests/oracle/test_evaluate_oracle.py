"""`microseg evaluate` against independent oracles: per segment and overall, the Newcombe
interval equals statsmodels' confint_proportions_2indep(method='newcomb', compare='diff') and the
p-value statsmodels' proportions_ztest (pooled two-proportion z-test) to 1e-9; counts, rates,
revenue per customer, incremental revenue, cost and ROI equal pandas' recomputation from the
outcome CSV and the run's assignments; retention by previous segment equals pandas' share of the
previous run's customers present in the run."""
import os
import sys
import unittest

import h5py
import numpy as np
import pandas as pd
from statsmodels.stats.proportion import confint_proportions_2indep, proportions_ztest

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "support"))
from microseg_run import read_table, run, temp_dir, write_matrix  # noqa: E402

COST = 0.4


def assignments(run_dir):
    with h5py.File(os.path.join(run_dir, "segments.h5"), "r") as f:
        return pd.DataFrame({"customer_id": f["assignments/id"][...],
                             "segment": f["assignments/segment"][...]})


class EvaluateOracle(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        d = cls.dir = temp_dir()
        base = os.path.join(d, "base.h5")
        run(2, "generate", "--customers", 8000, "--segments", 5, "--separation", 5, "--seed", 9,
            "--output", base)
        cls.previous = os.path.join(d, "q1")
        run(2, "segment", "--input", base, "--k", 5, "--output", cls.previous)
        # The next quarter: a fifth of the customers gone, retention differing by segment.
        ids, x, names = read_table(base)
        rng = np.random.default_rng(4)
        keep = rng.random(len(ids)) < np.where(x[:, 0] > np.median(x[:, 0]), 0.9, 0.7)
        later = os.path.join(d, "q2.h5")
        write_matrix(later, ids[keep], x[keep], names)
        cls.run_dir = os.path.join(d, "q2")
        run(2, "segment", "--input", later, "--k", 5, "--previous", cls.previous, "--output",
            cls.run_dir)
        # An outcome table written here: arms, conversion rising with the segment, revenue,
        # a few rows in another group and a few ids that are no customer.
        now = assignments(cls.run_dir)
        n = len(now)
        group = np.where(rng.random(n) < 0.45, "treated", "control")
        group[rng.random(n) < 0.01] = "holdout"
        rate = 0.05 + 0.02 * (now["segment"].to_numpy() % 4) * (group == "treated")
        converted = (rng.random(n) < rate).astype(int)
        revenue = np.round(converted * rng.exponential(30, n), 2)
        outcomes = pd.DataFrame({"customer_id": now["customer_id"], "group": group,
                                 "converted": converted, "revenue": revenue}).sample(
            frac=0.95, random_state=1)
        strangers = pd.DataFrame({"customer_id": 10**15 + np.arange(5), "group": "treated",
                                  "converted": 1, "revenue": 9.5})
        cls.outcomes = pd.concat([outcomes, strangers])
        cls.csv = os.path.join(d, "campaign.csv")
        cls.outcomes.to_csv(cls.csv, index=False)
        cls.out = os.path.join(d, "eval")
        run(3, "evaluate", "--run", cls.run_dir, "--outcomes", cls.csv, "--revenue-column",
            "revenue", "--cost-per-contact", COST, "--previous", cls.previous, "--output", cls.out)
        cls.result = pd.read_csv(os.path.join(cls.out, "uplift.csv"), dtype={"segment": str})
        cls.joined = cls.outcomes.merge(now, on="customer_id", how="inner")

    def expected(self, rows):
        """What pandas and statsmodels say about a set of joined outcome rows."""
        arm = {g: rows[rows["group"] == g] for g in ("treated", "control")}
        n1, n2 = len(arm["treated"]), len(arm["control"])
        c1, c2 = int(arm["treated"]["converted"].sum()), int(arm["control"]["converted"].sum())
        low, high = confint_proportions_2indep(c1, n1, c2, n2, method="newcomb", compare="diff",
                                               alpha=0.05)
        p_value = proportions_ztest([c1, c2], [n1, n2])[1]
        per1 = arm["treated"]["revenue"].sum() / n1
        per2 = arm["control"]["revenue"].sum() / n2
        incremental = (per1 - per2) * n1
        return {"treated_customers": n1, "control_customers": n2, "treated_conversions": c1,
                "control_conversions": c2, "treated_rate": c1 / n1, "control_rate": c2 / n2,
                "uplift": c1 / n1 - c2 / n2, "uplift_low": low, "uplift_high": high,
                "p_value": p_value, "treated_revenue_per_customer": per1,
                "control_revenue_per_customer": per2, "incremental_revenue": incremental,
                "cost": COST * n1, "roi": (incremental - COST * n1) / (COST * n1)}

    def assert_row(self, row, expected):
        for name, value in expected.items():
            with self.subTest(segment=row["segment"], column=name):
                if name.endswith(("customers", "conversions")):
                    self.assertEqual(int(row[name]), value)
                elif name in ("uplift_low", "uplift_high", "p_value"):
                    self.assertAlmostEqual(float(row[name]), float(value), delta=1e-9)
                else:
                    np.testing.assert_allclose(float(row[name]), value, rtol=1e-12, atol=1e-12)
        label = ("target" if expected["uplift_low"] > 0 else
                 "avoid" if expected["uplift_high"] < 0 else "uncertain")
        self.assertEqual(row["label"], label)

    def test_every_segment_matches_statsmodels_and_pandas(self):
        segments = self.result[self.result["segment"] != "all"]
        self.assertEqual(len(segments), 5)
        for _, row in segments.iterrows():
            self.assert_row(row, self.expected(self.joined[self.joined["segment"] ==
                                                           int(row["segment"])]))

    def test_the_all_row_matches_statsmodels_and_pandas(self):
        row = self.result[self.result["segment"] == "all"].iloc[0]
        self.assert_row(row, self.expected(self.joined))

    def test_problem_counts_match_pandas(self):
        with h5py.File(os.path.join(self.out, "evaluation.h5"), "r") as f:
            attrs = dict(f["run"].attrs)
        now = assignments(self.run_dir)
        self.assertEqual(attrs["unmatched_outcome_ids"], 5)
        self.assertEqual(attrs["customers_without_outcome"],
                         len(set(now["customer_id"]) - set(self.outcomes["customer_id"])))
        self.assertEqual(attrs["other_group_rows"], int((self.outcomes["group"] == "holdout").sum()))
        first = int(np.flatnonzero(self.outcomes["group"].to_numpy() == "holdout")[0]) + 2
        self.assertEqual(attrs["first_other_group_line"], first)

    def test_retention_matches_pandas(self):
        before, now = assignments(self.previous), assignments(self.run_dir)
        before["present"] = before["customer_id"].isin(now["customer_id"])
        expected = before.groupby("segment")["present"].agg(["size", "sum", "mean"])
        with h5py.File(os.path.join(self.out, "evaluation.h5"), "r") as f:
            got = pd.DataFrame({name: f["retention"][name][...] for name in f["retention"]})
        got = got.set_index("segment_id")
        self.assertEqual(list(got.index), list(expected.index))
        np.testing.assert_array_equal(got["customers"], expected["size"])
        np.testing.assert_array_equal(got["retained"], expected["sum"])
        np.testing.assert_allclose(got["share"], expected["mean"], rtol=1e-15)
        self.assertGreater(expected["mean"].max() - expected["mean"].min(), 0.02)


if __name__ == "__main__":
    unittest.main()
