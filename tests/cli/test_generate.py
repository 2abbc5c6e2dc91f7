"""`microseg generate` writes a customer base that looks like real customer data."""
import os
import sys
import unittest

import h5py
import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "support"))
from microseg_run import run, temp_dir  # noqa: E402

FEATURES = ["age", "income", "household_size", "region_code", "recency_days", "frequency",
            "monetary", "avg_basket", "sessions_per_month", "email_share", "app_share",
            "web_share", "discount_share", "price_sensitivity", "novelty_seeking", "tenure_days",
            "seasonality_index"]


class Generate(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.dir = temp_dir()
        cls.path = os.path.join(cls.dir, "customers.h5")
        cls.proc = run(2, "generate", "--customers", 20000, "--segments", 7, "--seed", 3,
                       "--output", cls.path)
        with h5py.File(cls.path, "r") as f:
            cls.ids = f["customers/id"][...]
            cls.x = f["customers/features"][...]
            cls.names = [n.decode() if isinstance(n, bytes) else n
                         for n in f["customers/features"].attrs["feature_names"]]
            cls.planted = f["customers/planted_segment"][...]

    def col(self, name):
        return self.x[:, self.names.index(name)]

    def test_schema(self):
        self.assertEqual(self.names, FEATURES)
        self.assertEqual(self.x.shape, (20000, len(FEATURES)))
        self.assertEqual(self.ids.dtype, np.int64)
        self.assertEqual(self.planted.dtype, np.int32)

    def test_ids_are_unique(self):
        self.assertEqual(len(np.unique(self.ids)), len(self.ids))

    def test_every_planted_segment_is_used_and_none_is_tiny(self):
        counts = np.bincount(self.planted, minlength=7)
        self.assertEqual(len(counts), 7)
        self.assertGreater(counts.min(), 0.02 * len(self.planted))

    def test_values_have_realistic_shapes(self):
        self.assertTrue(np.all(np.isfinite(self.x)))
        age = self.col("age")
        self.assertTrue(np.all((age >= 18) & (age <= 90)))
        for counts in ("frequency", "household_size", "sessions_per_month", "region_code"):
            values = self.col(counts)
            self.assertTrue(np.all(values == np.round(values)), counts)
            self.assertTrue(np.all(values >= 0), counts)
        shares = self.col("email_share") + self.col("app_share") + self.col("web_share")
        np.testing.assert_allclose(shares, 1, atol=1e-5)
        self.assertTrue(np.all((self.col("discount_share") >= 0) & (self.col("discount_share") <= 1)))
        self.assertTrue(np.all(self.col("tenure_days") >= self.col("recency_days")))
        monetary = self.col("monetary")
        self.assertTrue(np.all(monetary > 0))
        # Money is log-normal: right-skewed, and much less so on a log scale.
        def skew(v):
            return np.mean((v - v.mean()) ** 3) / v.std() ** 3
        self.assertGreater(np.mean(monetary), np.median(monetary))
        self.assertGreater(skew(monetary), 0.5)
        self.assertLess(abs(skew(np.log(monetary))), skew(monetary))

    def test_reports_what_it_wrote(self):
        self.assertIn("20000 customers", self.proc.stdout)

    def test_bad_arguments_are_rejected(self):
        for args in (["--customers", 0], ["--customers", 10, "--segments", 0],
                     ["--customers", 10, "--separation", -1]):
            with self.subTest(args=args):
                out = os.path.join(self.dir, "bad.h5")
                proc = run(2, "generate", *args, "--output", out, check=False)
                self.assertEqual(proc.returncode, 2)
                self.assertIn("microseg: error:", proc.stderr)
                self.assertFalse(os.path.exists(out))


if __name__ == "__main__":
    unittest.main(verbosity=2)
