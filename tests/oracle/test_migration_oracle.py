"""Stability metrics, value-weighted flows and actionable profiles against scikit-learn, pandas
and NumPy, on noisy data where nothing is trivially 1 or 0.

Run A segments a generated base; run B segments a changed base (some customers removed, some
added, every feature jittered) with another k and --previous A. The adjusted Rand index and the
adjusted mutual information of /migration must equal sklearn's on the customers common to both
runs; value sums, RFM quintile scores, descriptions, growth and priority must equal what pandas and
NumPy compute from the documented formulas.
"""
import math
import os
import sys
import unittest

import h5py
import numpy as np
import pandas as pd
from sklearn.metrics import adjusted_mutual_info_score, adjusted_rand_score

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "support"))
from microseg_run import read_table, run, temp_dir, write_matrix  # noqa: E402


def load(run_dir):
    out = {}
    with h5py.File(os.path.join(run_dir, "segments.h5"), "r") as f:
        def visit(name, obj):
            if isinstance(obj, h5py.Dataset):
                out[name] = obj[...]
        f.visititems(visit)
        out["migration@"] = dict(f["migration"].attrs) if "migration" in f else {}
        out["profiles@"] = dict(f["profiles"].attrs)
        out["rfm_columns"] = [c.decode() if isinstance(c, bytes) else c
                              for c in f["profiles/rfm"].attrs["columns"]]
    return out


def quintile_scores(values):
    """core/rfm.hpp: thresholds are the order statistics of ranks ceil(s·n/5), s = 1..4, and a
    value scores 1 + the number of thresholds strictly below it."""
    ordered = np.sort(values)
    n = len(values)
    thresholds = [ordered[(s * n + 4) // 5 - 1] for s in range(1, 5)]
    return 1 + sum((t < values).astype(int) for t in thresholds), thresholds


def description(lift, names):
    order = sorted(range(len(names)), key=lambda j: -abs(lift[j]))  # stable: ties keep order
    parts = []
    for j in order[:3]:
        if abs(lift[j]) < 0.5:
            break
        text = f"{abs(lift[j]):.1f}"
        sign = "\u2212" if lift[j] < 0 and text != "0.0" else "+"
        parts.append(f"{names[j]} {sign}{text}\u03c3")
    return ", ".join(parts) if parts else "close to the population average"


class StabilityValueAndProfiles(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        d = cls.dir = temp_dir()
        first = os.path.join(d, "q1.h5")
        run(2, "generate", "--customers", 6000, "--segments", 6, "--separation", 3, "--seed", 21,
            "--output", first)
        ids, x, names = read_table(first)
        cls.names = names
        rng = np.random.default_rng(5)
        keep = rng.permutation(len(ids))[:5400]
        added = rng.choice(len(ids), 500)
        jitter = 1 + rng.normal(0, 0.05, size=(len(keep) + len(added), x.shape[1]))
        x2 = np.concatenate([x[keep], x[added]]) * jitter
        x2[:, names.index("region_code")] = np.concatenate([x[keep], x[added]])[
            :, names.index("region_code")]
        ids2 = np.concatenate([ids[keep], ids.max() + 1 + np.arange(len(added))])
        second = os.path.join(d, "q2.h5")
        write_matrix(second, ids2, x2, names, dtype=np.float32)
        cls.x2 = x2.astype(np.float32).astype(np.float64)
        cls.ids2 = ids2
        cls.run_a = os.path.join(d, "a")
        run(2, "segment", "--input", first, "--k", 6, "--seed", 1, "--log1p", "income,monetary",
            "--output", cls.run_a)
        cls.run_b = os.path.join(d, "b")
        run(3, "segment", "--input", second, "--k", 8, "--seed", 2, "--log1p", "income,monetary",
            "--previous", cls.run_a, "--output", cls.run_b)
        cls.a, cls.b = load(cls.run_a), load(cls.run_b)

    def frame(self, run):
        return pd.DataFrame({"id": run["assignments/id"], "segment": run["assignments/segment"],
                             "value": run["assignments/value"]})

    def test_ari_and_ami_equal_sklearn_on_common_customers(self):
        common = self.frame(self.a).merge(self.frame(self.b), on="id", suffixes=("_a", "_b"))
        attrs = self.b["migration@"]
        self.assertEqual(attrs["common_customers"], len(common))
        ari = adjusted_rand_score(common["segment_a"], common["segment_b"])
        ami = adjusted_mutual_info_score(common["segment_a"], common["segment_b"])
        print(f"ARI {ari:.6f}, AMI {ami:.6f} over {len(common)} common customers")
        self.assertTrue(0.2 < ari < 0.99 and 0.2 < ami < 0.99, (ari, ami))
        self.assertAlmostEqual(attrs["adjusted_rand_index"], ari, delta=1e-12)
        self.assertAlmostEqual(attrs["adjusted_mutual_information"], ami, delta=1e-12)

    def test_value_matrix_equals_pandas_sums(self):
        a, b = self.frame(self.a), self.frame(self.b)
        joined = b.merge(a[["id", "segment"]], on="id", how="left", suffixes=("", "_prev"))
        joined["segment_prev"] = joined["segment_prev"].fillna(-1).astype(int)
        lost = a[~a["id"].isin(b["id"])]
        value = self.b["migration/value"]
        counts = self.b["migration/counts"]
        with h5py.File(os.path.join(self.run_b, "segments.h5"), "r") as f:
            rows = list(f["migration/counts"].attrs["prev_segment_ids"])
            cols = list(f["migration/counts"].attrs["new_segment_ids"])
        cells = joined.groupby(["segment_prev", "segment"])["value"].agg(["sum", "size"])
        for (p, c), row in cells.iterrows():
            self.assertEqual(counts[rows.index(p), cols.index(c)], row["size"])
            self.assertAlmostEqual(value[rows.index(p), cols.index(c)] / row["sum"], 1, delta=1e-12)
        for p, total in lost.groupby("segment")["value"].sum().items():
            self.assertAlmostEqual(value[rows.index(p), -1] / total, 1, delta=1e-12)
        flows = pd.read_csv(os.path.join(self.run_b, "migration.csv")).set_index("segment")
        for segment in flows.index:
            inflow = joined[(joined["segment"] == segment) & (joined["segment_prev"] != segment)]
            self.assertAlmostEqual(flows.loc[segment, "value_inflow"], inflow["value"].sum(),
                                   delta=1e-9 * max(1, inflow["value"].sum()))

    def test_value_per_segment_equals_pandas_groupby(self):
        b = self.frame(self.b)
        monetary = self.x2[:, self.names.index("monetary")]
        np.testing.assert_array_equal(b["value"], monetary)
        groups = b.groupby("segment")["value"]
        order = self.b["profiles/segment_id"]
        np.testing.assert_allclose(self.b["profiles/value_total"], groups.sum()[order], rtol=1e-12)
        np.testing.assert_allclose(self.b["profiles/value_mean"], groups.mean()[order], rtol=1e-12)
        np.testing.assert_allclose(self.b["profiles/value_share"],
                                   groups.sum()[order] / monetary.sum(), rtol=1e-12)

    def test_rfm_quintile_summary_equals_numpy(self):
        recency_name, frequency_name, monetary_name = self.b["rfm_columns"]
        self.assertEqual([recency_name, frequency_name, monetary_name],
                         ["recency_days", "frequency", "monetary"])
        columns = [-self.x2[:, self.names.index(recency_name)],
                   self.x2[:, self.names.index(frequency_name)],
                   self.x2[:, self.names.index(monetary_name)]]
        labels = self.b["assignments/segment"]
        order = self.b["profiles/segment_id"]
        for c, values in enumerate(columns):
            scores, thresholds = quintile_scores(values)
            expected_thresholds = [-t for t in thresholds] if c == 0 else thresholds
            np.testing.assert_array_equal(self.b["profiles/rfm/thresholds"][c],
                                          expected_thresholds)
            frame = pd.DataFrame({"segment": labels, "score": scores})
            means = frame.groupby("segment")["score"].mean()[order]
            np.testing.assert_allclose(self.b["profiles/rfm/score_mean"][:, c], means, rtol=1e-15)
            shares = pd.crosstab(frame["segment"], frame["score"], normalize="index")
            shares = shares.reindex(columns=range(1, 6), fill_value=0.0).loc[order]
            np.testing.assert_allclose(self.b["profiles/rfm/quintile_share"][:, c, :],
                                       shares.to_numpy(), rtol=1e-15)

    def named_rfm_shares(self):
        """Per segment (rows in /profiles order), the share of each named RFM segment, from
        NumPy quintile scores and the rule table of docs/file-format.md."""
        columns = [-self.x2[:, self.names.index("recency_days")],
                   self.x2[:, self.names.index("frequency")],
                   self.x2[:, self.names.index("monetary")]]
        r, f, m = (quintile_scores(values)[0] for values in columns)
        fm = f + m
        conditions = [  # (code, rule) in the order the rules are tried
            (0, (r >= 4) & (fm >= 8)), (3, (r == 5) & (f == 1)), (4, (r == 4) & (f == 1)),
            (1, (r >= 3) & (f >= 2) & (fm >= 6)), (2, r >= 4), (5, (r == 3) & (fm >= 4)),
            (6, r == 3), (8, (r == 1) & (fm >= 8)), (7, fm >= 6), (9, r == 2), (10, r >= 0)]
        named = np.select([c for _, c in conditions], [code for code, _ in conditions])
        frame = pd.DataFrame({"segment": self.b["assignments/segment"], "named": named})
        shares = pd.crosstab(frame["segment"], frame["named"], normalize="index")
        return shares.reindex(columns=range(11), fill_value=0.0).loc[
            self.b["profiles/segment_id"]].to_numpy()

    def test_named_rfm_segment_shares_equal_pandas(self):
        names = ["Champions", "Loyal customers", "Potential loyalists", "New customers",
                 "Promising", "Need attention", "About to sleep", "At risk", "Can't lose them",
                 "Hibernating", "Lost"]
        shares = self.named_rfm_shares()
        np.testing.assert_allclose(self.b["profiles/rfm/segment_share"], shares, rtol=1e-15)
        dominant = [names[int(np.argmax(row))] for row in shares]
        self.assertEqual([t.decode() for t in self.b["profiles/rfm/dominant_segment"]], dominant)
        self.assertGreater(len(set(dominant)), 1)
        profiles = pd.read_csv(os.path.join(self.run_b, "profiles.csv"),
                               float_precision="round_trip")
        np.testing.assert_array_equal(profiles["rfm_champions"], shares[:, 0])
        np.testing.assert_array_equal(profiles["rfm_cant_lose_them"], shares[:, 8])
        self.assertEqual(list(profiles["rfm_dominant"]), dominant)

    def test_descriptions_name_the_most_distinctive_features(self):
        descriptions = [t.decode() for t in self.b["profiles/description"]]
        shares = self.named_rfm_shares()
        names = [t.decode() for t in self.b["profiles/rfm/dominant_segment"]]
        for s, lift in enumerate(self.b["profiles/lift"]):
            self.assertEqual(descriptions[s], description(lift, self.names) +
                             f"; mostly {names[s]} ({100 * shares[s].max():.0f}%)")
        profiles = pd.read_csv(os.path.join(self.run_b, "profiles.csv"))
        self.assertEqual(list(profiles["description"]), descriptions)
        self.assertEqual(list(profiles["segment"]), list(self.b["profiles/segment_id"]))

    def test_growth_and_priority_follow_the_documented_formula(self):
        previous_size = dict(zip(self.a["profiles/segment_id"], self.a["profiles/size"]))
        previous_value = dict(zip(self.a["profiles/segment_id"], self.a["profiles/value_total"]))
        ids, sizes = self.b["profiles/segment_id"], self.b["profiles/size"]
        value_share, value_total = self.b["profiles/value_share"], self.b["profiles/value_total"]
        expected = []
        for s, segment in enumerate(ids):
            growth = value_growth = math.nan
            if segment in previous_size:
                growth = (sizes[s] - previous_size[segment]) / previous_size[segment]
                value_growth = (value_total[s] - previous_value[segment]) / previous_value[segment]
            self.assertTrue(np.isclose(self.b["profiles/growth"][s], growth, rtol=1e-12,
                                       equal_nan=True))
            self.assertTrue(np.isclose(self.b["profiles/value_growth"][s], value_growth,
                                       rtol=1e-12, equal_nan=True))
            g = value_growth if not math.isnan(value_growth) else 0.0
            base = 0.7 * value_share[s] + 0.3 * sizes[s] / sizes.sum()
            expected.append(100 * base * (1 + min(max(g, -0.5), 0.5)))
        np.testing.assert_allclose(self.b["profiles/priority"], expected, rtol=1e-12)
        ranking = sorted(range(len(ids)), key=lambda s: (-expected[s], ids[s]))
        np.testing.assert_array_equal(self.b["profiles/priority_rank"][ranking],
                                      np.arange(1, len(ids) + 1))
        self.assertGreater(np.sum(np.isnan(self.b["profiles/growth"])), 0)  # k grew from 6 to 8

    def test_at_risk_moves_went_to_a_lower_value_segment(self):
        value_now = dict(zip(self.b["profiles/segment_id"], self.b["profiles/value_mean"]))
        value_before = dict(zip(self.a["profiles/segment_id"], self.a["profiles/value_mean"]))
        previous = self.b["migration/moves/previous_segment"]
        new = self.b["migration/moves/new_segment"]
        reference = [value_now.get(p, value_before[p]) for p in previous]
        expected = [value_now[n] < r for n, r in zip(new, reference)]
        np.testing.assert_array_equal(self.b["migration/moves/at_risk"].astype(bool), expected)
        self.assertTrue(0 < sum(expected) < len(expected))


    def test_at_risk_list_equals_pandas_from_both_runs(self):
        a, b = self.frame(self.a), self.frame(self.b)
        b["row"] = np.arange(len(b))
        now = pd.Series(self.b["profiles/value_mean"], index=self.b["profiles/segment_id"])
        before = pd.Series(self.a["profiles/value_mean"], index=self.a["profiles/segment_id"])
        joined = b.merge(a[["id", "segment"]], on="id", suffixes=("", "_prev")).sort_values("row")
        joined = joined[joined["segment"] != joined["segment_prev"]]
        joined["previous_value"] = [now.get(p, before[p]) for p in joined["segment_prev"]]
        joined["new_value"] = now[joined["segment"]].to_numpy()
        expected = joined[joined["new_value"] < joined["previous_value"]]
        self.assertGreater(len(expected), 0)
        found = pd.read_csv(os.path.join(self.run_b, "at_risk.csv"),
                            float_precision="round_trip")
        self.assertEqual(list(found.columns), ["id", "previous_segment", "new_segment",
                                               "previous_value", "new_value", "value_drop",
                                               "suppressed"])
        # Every segment here holds at least --privacy-min-count (10) customers: nothing hidden.
        self.assertTrue(found.pop("suppressed").isna().all())
        np.testing.assert_array_equal(found["id"], expected["id"])
        np.testing.assert_array_equal(found["previous_segment"], expected["segment_prev"])
        np.testing.assert_array_equal(found["new_segment"], expected["segment"])
        np.testing.assert_array_equal(found["previous_value"], expected["previous_value"])
        np.testing.assert_array_equal(found["new_value"], expected["new_value"])
        np.testing.assert_array_equal(found["value_drop"],
                                      expected["previous_value"] - expected["new_value"])
        for column in found.columns:
            np.testing.assert_array_equal(self.b[f"migration/at_risk/{column}"], found[column])
        self.assertEqual(self.b["migration@"]["at_risk_customers"], len(found))


if __name__ == "__main__":
    unittest.main(verbosity=2)
