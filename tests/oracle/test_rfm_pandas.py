"""RFM from `microseg ingest transactions` against pandas (Debian's python3-pandas) on a generated
transaction log: the features from a groupby, the quintile scores from rank(method="min"), and the
segments from the documented rule table (docs/file-format.md)."""
import os
import sys
import unittest

import h5py
import numpy as np
import pandas as pd

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "support"))
from microseg_run import run, temp_dir  # noqa: E402

AS_OF = pd.Timestamp("2024-06-30")
WINDOW_DAYS = 540

# (segment, R range, F range, F+M range), first match wins; None is "any".
RULES = [("Champions", (4, 5), None, (8, 10)), ("New customers", (5, 5), (1, 1), None),
         ("Promising", (4, 4), (1, 1), None), ("Loyal customers", (3, 5), (2, 5), (6, 10)),
         ("Potential loyalists", (4, 5), None, None), ("Need attention", (3, 3), None, (4, 10)),
         ("About to sleep", (3, 3), None, None), ("Can't lose them", (1, 1), None, (8, 10)),
         ("At risk", (1, 2), None, (6, 10)), ("Hibernating", (2, 2), None, None),
         ("Lost", (1, 1), None, None)]


def segment_name(r, f, m):
    def inside(value, bounds):
        return bounds is None or bounds[0] <= value <= bounds[1]
    for name, r_range, f_range, fm_range in RULES:
        if inside(r, r_range) and inside(f, f_range) and inside(f + m, fm_range):
            return name
    raise AssertionError(f"no segment for {r}, {f}, {m}")


def quintile(values):
    """1 + floor(5 L / n), L = number of strictly smaller values: ties share the lowest rank."""
    lower = values.rank(method="min").astype(np.int64) - 1
    return 1 + (5 * lower) // len(values)


class RfmAgainstPandas(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.dir = temp_dir()
        rng = np.random.default_rng(2026)
        n = 60000
        # Skewed activity: a few heavy buyers, many one-off customers, text keys.
        customers = np.minimum(rng.zipf(1.6, n), 8000)
        dates = pd.Timestamp("2022-06-01") + pd.to_timedelta(rng.integers(0, 800, n), unit="D")
        amounts = np.round(rng.lognormal(3.2, 1.1, n), 2)
        amounts[rng.random(n) < 0.02] *= -1  # refunds
        quantities = rng.integers(1, 5, n)
        cls.log = pd.DataFrame({"customer": [f"cust-{c:05d}" for c in customers],
                                "date": dates, "unit_price": amounts, "qty": quantities})
        cls.csv = os.path.join(cls.dir, "log.csv")
        with open(cls.csv, "w") as f:
            f.write("order_date\tcustomer\tunit_price\tqty\n")
            for row in cls.log.itertuples(index=False):
                f.write(f"{row.date:%Y-%m-%dT%H:%M:%S}\t{row.customer}\t{row.unit_price:.2f}\t"
                        f"{row.qty}\n")
        cls.out = os.path.join(cls.dir, "rfm.h5")
        run(3, "ingest", "transactions", "--csv", cls.csv, "--delimiter", "tab",
            "--customer-column", "customer", "--date-column", "order_date",
            "--unit-price-column", "unit_price", "--quantity-column", "qty",
            "--as-of", AS_OF.strftime("%Y-%m-%d"), "--window-days", WINDOW_DAYS,
            "--output", cls.out)

        log = cls.log.copy()
        # The price as written in the CSV, times the quantity, in double like microseg.
        log["amount"] = log["unit_price"].map(lambda v: float(f"{v:.2f}")) * log["qty"]
        age = (AS_OF - log["date"]).dt.days
        log = log[(age >= 0) & (age < WINDOW_DAYS)]
        g = log.groupby("customer")
        expected = pd.DataFrame({
            "recency_days": (AS_OF - g["date"].max()).dt.days,
            "frequency": g.size(),
            "monetary_total": g["amount"].sum(),
            "tenure_days": (AS_OF - g["date"].min()).dt.days,
            "mean_interpurchase_days":
                g["date"].apply(lambda d: d.sort_values().diff().dt.days.mean()),
        })
        expected["monetary_mean"] = expected["monetary_total"] / expected["frequency"]
        expected["units"] = g["qty"].sum().astype(np.float64)
        expected["r_score"] = quintile(-expected["recency_days"])
        expected["f_score"] = quintile(expected["frequency"])
        expected["m_score"] = quintile(expected["monetary_total"])
        expected["segment"] = [segment_name(r, f, m) for r, f, m in
                               zip(expected["r_score"], expected["f_score"], expected["m_score"])]
        cls.expected = expected

        with h5py.File(cls.out, "r") as f:
            keys = [s.decode() for s in f["customers/external_id"][...]]
            got = pd.DataFrame({name: f["customers"][name][...] for name in f["customers"]},
                               index=keys)
            names = [s.decode() for s in f["categories/rfm_segment"][...]]
            cls.file_ids = f["customers/id"][...]
        got["segment"] = [names[c] for c in got["rfm_segment"]]
        cls.got = got.loc[expected.index]

    def test_same_customers(self):
        self.assertEqual(len(self.got), len(self.expected))
        self.assertGreater(len(self.expected), 500)
        self.assertTrue(np.all(np.diff(self.file_ids) > 0), "rows are not sorted by id")

    def test_integer_features(self):
        for name in ("recency_days", "frequency", "tenure_days", "r_score", "f_score", "m_score"):
            np.testing.assert_array_equal(self.got[name].to_numpy(),
                                          self.expected[name].to_numpy(), err_msg=name)

    def test_money_and_gaps(self):
        for name in ("monetary_total", "monetary_mean", "mean_interpurchase_days", "units"):
            np.testing.assert_allclose(self.got[name].to_numpy(), self.expected[name].to_numpy(),
                                       rtol=1e-12, atol=1e-9, err_msg=name)

    def test_single_purchase_gap_is_nan(self):
        once = self.expected["frequency"] == 1
        self.assertGreater(once.sum(), 100)
        self.assertTrue(np.all(np.isnan(self.got.loc[once, "mean_interpurchase_days"])))

    def test_segments(self):
        self.assertEqual(list(self.got["segment"]), list(self.expected["segment"]))
        self.assertGreaterEqual(self.got["segment"].nunique(), 8)


if __name__ == "__main__":
    unittest.main(verbosity=2)
