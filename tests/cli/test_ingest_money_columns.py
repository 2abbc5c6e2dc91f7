"""`ingest transactions` says which column is money: --amount-column is each row's total and is
summed as it is, --unit-price-column is a price per unit multiplied by --quantity-column, and
the quantity is always counted as `units`. A CDNOW-like log (customer, date, number of items,
order total; whitespace, no header) checked against pandas: with the old spelling
(--amount-column with --quantity-column) monetary_total is the sum of the order totals and a
warning says what the spelling now means; with --unit-price-column it is Σ price × quantity."""
import os
import sys
import unittest

import h5py
import numpy as np
import pandas as pd

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "support"))
from microseg_run import run, temp_dir  # noqa: E402

AS_OF = "1998-06-30"


def read_customers(path):
    with h5py.File(path, "r") as f:
        g = f["customers"]
        table = pd.DataFrame({name: g[name][...] for name in g}).set_index("id")
        return table, dict(f["ingest"].attrs)


class MoneyColumns(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.dir = temp_dir()
        rng = np.random.default_rng(18)
        n = 600
        log = pd.DataFrame({
            "customer": rng.integers(1, 120, n),
            "date": pd.Timestamp("1997-01-01") + pd.to_timedelta(rng.integers(0, 540, n), "D"),
            "items": rng.integers(1, 7, n),
        })
        # An order total, as CDNOW records it: the items times a price, in cents.
        log["total"] = np.round(log["items"] * rng.uniform(5, 25, n), 2)
        cls.csv = os.path.join(cls.dir, "cdnow.txt")
        with open(cls.csv, "w") as f:
            for row in log.itertuples(index=False):
                f.write(f"{row.customer:5d} {row.date:%Y%m%d} {row.items:3d} {row.total:8.2f}\n")
        counted = log[log["date"] <= pd.Timestamp(AS_OF)].copy()
        counted["total"] = counted["total"].map(lambda v: float(f"{v:.2f}"))
        g = counted.groupby("customer")
        cls.expected_total = g["total"].sum()
        cls.expected_price_times_items = (counted["total"] * counted["items"]).groupby(
            counted["customer"]).sum()
        cls.expected_units = g["items"].sum().astype(np.float64)

    def ingest(self, name, *args, ranks=2, check=True):
        out = os.path.join(self.dir, name)
        proc = run(ranks, "ingest", "transactions", "--csv", self.csv, "--no-header",
                   "--delimiter", "whitespace", "--customer-column", 1, "--date-column", 2,
                   "--as-of", AS_OF, "--output", out, *args, check=check)
        return out, proc

    def assert_close(self, got, expected):
        np.testing.assert_allclose(got.loc[expected.index].to_numpy(), expected.to_numpy(),
                                   rtol=1e-12)

    def test_old_spelling_sums_the_order_totals_counts_the_items_and_warns(self):
        out, proc = self.ingest("old.h5", "--amount-column", 4, "--quantity-column", 3)
        table, ingest = read_customers(out)
        self.assertEqual(len(table), len(self.expected_total))
        self.assert_close(table["monetary_total"], self.expected_total)
        self.assert_close(table["units"], self.expected_units)
        self.assertEqual(ingest["monetary"], "sum of 4 (row totals)")
        for fragment in ("warning: --amount-column 4 with --quantity-column 3",
                         "'4' is each row's total", "'3' is only counted (units)",
                         "Earlier versions multiplied 4 × 3", "--unit-price-column 4"):
            self.assertIn(fragment, proc.stderr)
        self.assertEqual(proc.stderr.count("microseg: warning:"), 1, "one warning, one rank")
        # The same table on another rank count.
        other, _ = self.ingest("old-3.h5", "--amount-column", 4, "--quantity-column", 3, ranks=3)
        pd.testing.assert_frame_equal(read_customers(other)[0], table)

    def test_unit_price_column_multiplies_by_the_quantity(self):
        out, proc = self.ingest("price.h5", "--unit-price-column", 4, "--quantity-column", 3)
        table, ingest = read_customers(out)
        self.assert_close(table["monetary_total"], self.expected_price_times_items)
        self.assert_close(table["units"], self.expected_units)
        self.assertEqual(ingest["monetary"], "sum of 4 × 3 (unit price × quantity)")
        self.assertNotIn("warning", proc.stderr)

    def test_amount_column_alone_sums_the_totals_without_units(self):
        out, proc = self.ingest("total.h5", "--amount-column", 4)
        table, _ = read_customers(out)
        self.assert_close(table["monetary_total"], self.expected_total)
        self.assertNotIn("units", table.columns)
        self.assertNotIn("warning", proc.stderr)

    def test_ambiguous_or_incomplete_money_options_are_refused(self):
        for args, fragment in [
                (["--amount-column", 4, "--unit-price-column", 4, "--quantity-column", 3],
                 "not both"),
                (["--unit-price-column", 4], "--unit-price-column needs --quantity-column"),
                (["--quantity-column", 3], "neither was given")]:
            with self.subTest(args=args):
                out, proc = self.ingest("refused.h5", *args, check=False)
                self.assertEqual(proc.returncode, 2, proc.stderr)
                self.assertIn(fragment, proc.stderr)
                self.assertFalse(os.path.exists(out))


if __name__ == "__main__":
    unittest.main(verbosity=2)
