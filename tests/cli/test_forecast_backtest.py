"""Backtest of `microseg forecast` on quarters with a planted transition matrix: 30 000 customers
in 6 planted segments, q1 … q4 segmented with k = 6 and --previous, the forecast made from
q1 … q3 with horizon 1. The estimated matrix lies within sampling error of the planted one (run ids
mapped to planted segments by majority; the planted rows mixed with the moved-down rows in the
proportion of moved-down customers each link had), the actual q4 segment sizes lie inside the
90 % intervals for at least 85 % of the segments, and customers who moved down get a higher
predicted churn and did churn more. The quarters come from `microseg generate --quarters` when the
binary has it, else from tests/support/quarter_chain.py (the same planted model, made with h5py).
Prints the numbers docs/forecast.md quotes."""
import os
import sys
import unittest

import h5py
import numpy as np
import pandas as pd

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "support"))
from microseg_run import run, temp_dir  # noqa: E402
from quarter_chain import make_quarters, segment_chain  # noqa: E402

CUSTOMERS, SEGMENTS, NEW = 30000, 6, 1500


def quarters(d):
    if "--quarters" in run(1, "generate", "--help").stdout:
        out = os.path.join(d, "quarters")
        run(2, "generate", "--customers", CUSTOMERS, "--segments", SEGMENTS, "--separation", 12,
            "--seed", 4, "--quarters", 4, "--migration-rate", 0.08, "--churn-rate", 0.05,
            "--new-customers", NEW, "--output", out)
        return [os.path.join(out, f"q{q}.h5") for q in range(1, 5)], "generate --quarters"
    paths, _ = make_quarters(d, CUSTOMERS, SEGMENTS, 4, seed=4, migration=0.08, churn=0.05,
                             factor=2.0, new=NEW)
    return paths, "tests/support/quarter_chain.py"


def customers(path):
    with h5py.File(path, "r") as f:
        return pd.DataFrame({"id": f["customers/id"][...],
                             "planted": f["customers/planted_segment"][...],
                             "moved_down": f["customers/moved_down"][...]})


def assignments(run_dir):
    with h5py.File(os.path.join(run_dir, "segments.h5"), "r") as f:
        return pd.DataFrame({"id": f["assignments/id"][...],
                             "segment": f["assignments/segment"][...]})


def expected_rows(quarter, transition, factor):
    """The planted rows of one link, mixed by the share of moved-down customers per segment,
    and the customers per planted segment."""
    s = transition.shape[0]
    rows, sizes = np.zeros_like(transition), np.zeros(s)
    for p in range(s):
        members = quarter[quarter["planted"] == p]
        share = members["moved_down"].mean() if len(members) else 0.0
        row = transition[p]
        lost = min(1.0, factor * row[s])
        down = row * ((1 - lost) / (1 - row[s]) if row[s] < 1 else 0.0)
        down[s] = lost
        rows[p], sizes[p] = (1 - share) * row + share * down, len(members)
    return rows, sizes


class ForecastBacktest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        d = temp_dir()
        cls.paths, cls.source = quarters(d)
        cls.runs = segment_chain(d, cls.paths, SEGMENTS)
        cls.out = os.path.join(d, "forecast")
        run(2, "forecast", "--runs", *cls.runs[:3], "--horizon", 1, "--output", cls.out)
        with h5py.File(cls.paths[0], "r") as f:
            cls.transition = f["planted/transition"][...]
            cls.factor = float(f.attrs["mover_churn_factor"])
        # Run id → planted segment, by majority, in the last run forecast from.
        joined = assignments(cls.runs[2]).merge(customers(cls.paths[2]), on="id")
        cls.planted_of = joined.groupby("segment")["planted"].agg(lambda p: p.mode()[0]).to_dict()
        print(f"\nbacktest on {cls.source}: {CUSTOMERS} customers, {SEGMENTS} segments")

    def test_estimated_matrix_is_within_sampling_error_of_the_planted_one(self):
        quarter = [customers(p) for p in self.paths]
        pooled, total = np.zeros_like(self.transition), np.zeros(SEGMENTS)
        for t in (1, 2):  # links q1 → q2 and q2 → q3
            rows, sizes = expected_rows(quarter[t - 1], self.transition, self.factor)
            pooled += rows * sizes[:, None]
            total += sizes
        pooled /= total[:, None]
        with h5py.File(os.path.join(self.out, "forecast.h5"), "r") as f:
            ids = f["transition/segment_ids"][...]
            estimated = f["transition/probabilities"][...]
            counts = f["transition/counts"][...]
        planted = [self.planted_of[i] for i in ids]
        self.assertEqual(sorted(planted), list(range(SEGMENTS)))
        expected = pooled[np.ix_(planted, planted + [SEGMENTS])]
        n = counts.sum(axis=1, keepdims=True)
        error = np.sqrt(np.maximum(expected * (1 - expected), 1e-12) / n)
        z = np.abs(estimated - expected) / error
        print(f"transition matrix: max |estimated − planted| {np.abs(estimated - expected).max():.4f}, "
              f"max z {z.max():.2f} over {z.size} entries")
        self.assertLess(z.max(), 4.5)

    def test_actual_sizes_fall_inside_the_intervals(self):
        with h5py.File(os.path.join(self.runs[3], "segments.h5"), "r") as f:
            actual = dict(zip(f["profiles/segment_id"][...], f["profiles/size"][...]))
        with h5py.File(os.path.join(self.out, "forecast.h5"), "r") as f:
            ids = f["transition/segment_ids"][...]
            low, high = f["forecast/size_low"][0], f["forecast/size_high"][0]
            expected = f["forecast/expected_size"][0]
        inside = [low[s] <= actual.get(i, -1) <= high[s] for s, i in enumerate(ids)]
        for s, i in enumerate(ids):
            print(f"segment {i}: expected {expected[s]:.0f}, interval {low[s]:.0f}–{high[s]:.0f}, "
                  f"actual q4 {actual.get(i)}")
        print(f"q4 sizes inside the 90 % interval: {sum(inside)} of {len(inside)}")
        self.assertGreaterEqual(np.mean(inside), 0.85)

    def test_movers_down_get_higher_churn_and_did_churn_more(self):
        with h5py.File(os.path.join(self.out, "forecast.h5"), "r") as f:
            c = pd.DataFrame({k: f["customers"][k][...] for k in f["customers"]})
            multiplier = f["run"].attrs["hazard_multiplier"]
        c["lost"] = ~c["id"].isin(assignments(self.runs[3])["id"])
        by_flag = c.groupby("moved_down").agg(predicted=("churn_probability", "mean"),
                                              lost=("lost", "mean"), customers=("id", "size"))
        print(f"moved-down multiplier {multiplier:.2f} (planted {self.factor:g});\n{by_flag}")
        self.assertGreater(by_flag.loc[1, "predicted"], by_flag.loc[0, "predicted"])
        self.assertGreater(by_flag.loc[1, "lost"], by_flag.loc[0, "lost"])
        self.assertGreater(multiplier, 1.0)


if __name__ == "__main__":
    unittest.main()
