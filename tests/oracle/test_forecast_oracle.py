"""`microseg forecast` against numpy and pandas, recomputed from what the runs wrote: the pooled
and last-link transition matrices from each run's /migration/counts (mapped by their id
attributes onto the last run's ids), the fundamental matrix N = (I − Q)⁻¹, the expected quarters
to loss N·1, the loss within 1, 2 and 4 quarters from powers of P, the lifetime value N·v, the
expected sizes n·Qᵗ + inflow, the moved-down multiplier from the runs' at-risk lists joined by id
with pandas, and each customer's churn probability; all to 1e-9."""
import os
import sys
import unittest

import h5py
import numpy as np
import pandas as pd

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "support"))
from microseg_run import run, temp_dir  # noqa: E402
from quarter_chain import make_quarters, segment_chain  # noqa: E402

SEGMENTS, HORIZON = 4, 2


def read_run(path):
    with h5py.File(os.path.join(path, "segments.h5"), "r") as f:
        out = {"ids": f["profiles/segment_id"][...], "size": f["profiles/size"][...],
               "value": f["profiles/value_mean"][...],
               "assign": pd.DataFrame({"id": f["assignments/id"][...],
                                       "segment": f["assignments/segment"][...]})}
        if "migration" in f:
            c = f["migration/counts"]
            out["counts"] = c[...]
            out["rows"] = c.attrs["prev_segment_ids"][:-1]
            out["cols"] = c.attrs["new_segment_ids"][:-1]
            out["at_risk"] = pd.DataFrame({"id": f["migration/at_risk/id"][...],
                                           "segment": f["migration/at_risk/new_segment"][...]})
    return out


def pooled(runs, states, links):
    s = len(states)
    index = {int(i): n for n, i in enumerate(states)}
    counts, inflow, per_link = np.zeros((s, s + 1)), np.zeros(s), []
    for r in links:
        c = r["counts"]
        link_inflow = 0
        for a, row_id in enumerate(list(r["rows"]) + [None]):
            for b, col_id in enumerate(list(r["cols"]) + ["lost"]):
                to = s if col_id == "lost" else index.get(int(col_id), -1)
                if row_id is None:
                    if col_id != "lost" and to >= 0:
                        inflow[to] += c[a, b]
                        link_inflow += c[a, b]
                elif int(row_id) in index and to >= 0:
                    counts[index[int(row_id)], to] += c[a, b]
        per_link.append(link_inflow)
    return counts, inflow, np.mean(per_link)


def chain_quantities(counts, value):
    s = counts.shape[0]
    p = counts / counts.sum(axis=1, keepdims=True)
    n = np.linalg.inv(np.eye(s) - p[:, :s])
    full = np.eye(s + 1)
    full[:s] = p
    loss = {t: np.linalg.matrix_power(full, t)[:s, s] for t in (1, 2, 4)}
    return p, n, loss, n @ value, full


class ForecastOracle(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        d = cls.dir = temp_dir()
        paths, _ = make_quarters(d, 3000, SEGMENTS, 3, seed=11, migration=0.1, churn=0.05,
                                 factor=3.0, new=200)
        cls.runs = segment_chain(d, paths, SEGMENTS)
        cls.out = os.path.join(d, "forecast")
        run(2, "forecast", "--runs", *cls.runs, "--horizon", HORIZON, "--output", cls.out)
        cls.last_out = os.path.join(d, "forecast-last")
        run(2, "forecast", "--runs", *cls.runs, "--horizon", HORIZON, "--estimate", "last",
            "--output", cls.last_out)
        cls.data = [read_run(r) for r in cls.runs]

    def check(self, out, links):
        last = self.data[-1]
        states = np.sort(last["ids"])
        order = np.argsort(last["ids"])
        value, size = last["value"][order], last["size"][order].astype(float)
        counts, inflow, inflow_mean = pooled(self.data, states, links)
        p, n, loss, lifetime, full = chain_quantities(counts, value)
        with h5py.File(os.path.join(out, "forecast.h5"), "r") as f:
            np.testing.assert_array_equal(f["transition/segment_ids"][...], states)
            np.testing.assert_array_equal(f["transition/counts"][...], counts)
            np.testing.assert_allclose(f["transition/probabilities"][...], p, rtol=0, atol=1e-9)
            np.testing.assert_allclose(f["chain/fundamental"][...], n, rtol=1e-9, atol=1e-9)
            np.testing.assert_allclose(f["chain/expected_quarters"][...], n.sum(axis=1),
                                       rtol=1e-9)
            for col, t in enumerate((1, 2, 4)):
                np.testing.assert_allclose(f["chain/loss_within"][:, col], loss[t], rtol=0,
                                           atol=1e-9)
            np.testing.assert_allclose(f["chain/lifetime_value"][...], lifetime, rtol=1e-9)
            expected, sizes = [], size
            for _ in range(HORIZON):
                sizes = sizes @ p[:, :-1] + inflow_mean * inflow / inflow.sum()
                expected.append(sizes)
            np.testing.assert_allclose(f["forecast/expected_size"][...], np.array(expected),
                                       rtol=1e-9)
            np.testing.assert_allclose(f["forecast/expected_value"][...],
                                       np.array(expected) * value, rtol=1e-9)
            low, high = f["forecast/size_low"][...], f["forecast/size_high"][...]
            self.assertTrue(np.all(low <= high))
            self.assertTrue(np.all((low <= np.array(expected) + 1) & (np.array(expected) - 1
                                                                        <= high)))
            return f["run"].attrs["hazard_multiplier"], p, full

    def test_pooled_chain_matches_numpy(self):
        self.check(self.out, self.data[1:])

    def test_last_link_chain_matches_numpy(self):
        self.check(self.last_out, self.data[-1:])

    def test_moved_down_multiplier_and_customer_churn_match_pandas(self):
        multiplier, p, full = self.check(self.out, self.data[1:])
        # The multiplier: link 2's losses among run 1's at-risk customers, standardised.
        flagged, now, link = self.data[1]["at_risk"], self.data[2]["assign"], self.data[2]
        rates = link["counts"][:-1, -1] / link["counts"][:-1].sum(axis=1)
        rate_of = dict(zip(link["rows"].tolist(), rates))
        flagged = flagged.assign(lost=~flagged["id"].isin(now["id"]),
                                 rate=flagged["segment"].map(rate_of))
        observed_a, expected_a = flagged["lost"].sum(), flagged["rate"].sum()
        observed_o = link["counts"][:-1, -1].sum() - observed_a
        expected_o = (link["counts"][:-1].sum(axis=1) * rates).sum() - expected_a
        self.assertGreater(observed_a, 0)
        self.assertAlmostEqual(multiplier, (observed_a / expected_a) / (observed_o / expected_o),
                               delta=1e-9)
        self.assertGreater(multiplier, 1.5)  # planted: 3x
        # Each customer: P(lost within H) from its segment, the first quarter scaled when moved down.
        s = p.shape[0]
        later = np.linalg.matrix_power(full, HORIZON - 1)[:s, s]
        ordinary = np.linalg.matrix_power(full, HORIZON)[:s, s]
        first = np.minimum(1, multiplier * p[:, s])
        down = first + (1 - first) / (1 - p[:, s]) * (p[:, :s] @ later)
        states = np.sort(self.data[-1]["ids"])
        down_ids = set(self.data[-1]["at_risk"]["id"])
        with h5py.File(os.path.join(self.out, "forecast.h5"), "r") as f:
            c = pd.DataFrame({k: f["customers"][k][...] for k in f["customers"]})
        state = np.searchsorted(states, c["segment"].to_numpy())
        moved = c["id"].isin(down_ids).to_numpy()
        np.testing.assert_array_equal(c["moved_down"].to_numpy() == 1, moved)
        want = np.where(moved, down[state], ordinary[state])
        np.testing.assert_allclose(c["churn_probability"].to_numpy(), want, rtol=0, atol=1e-9)
        np.testing.assert_array_equal(np.sort(c["id"]), np.sort(self.data[-1]["assign"]["id"]))


if __name__ == "__main__":
    unittest.main()
