"""`microseg ingest transactions`: hand-checked RFM on small logs in every dialect, the same
output for 1-4 ranks, an output `microseg segment` reads, and bad input stopping every rank with
one message, exit status 2 and nothing written."""
import os
import sys
import unittest

import h5py
import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "support"))
from microseg_run import run, temp_dir  # noqa: E402

RFM = ["recency_days", "frequency", "monetary_total", "monetary_mean", "tenure_days",
       "mean_interpurchase_days", "r_score", "f_score", "m_score", "rfm_segment"]
SEGMENTS = ["Champions", "Loyal customers", "Potential loyalists", "New customers", "Promising",
            "Need attention", "About to sleep", "At risk", "Can't lose them", "Hibernating",
            "Lost"]

# Five customers, hand-checked against as-of 2024-12-31:
#   10: 2024-12-30 (20.00), 2024-12-20 (30.00), 2024-11-30 (50.00)
#   20: 2024-06-01 (5.00)
#   30: 2024-12-31 (7.50 x 2 = 15.00 as a unit price with the quantity column, else 7.50)
#   40: 2023-12-31 (100.00), 2024-01-10 (100.00)
#   50: 2025-01-05 (9.99) only: after the as-of date, so not a customer
HAND_ROWS = [("10", "2024-12-30", "20.00", "1"), ("20", "2024-06-01", "5.00", "1"),
             ("10", "2024-12-20", "30.00", "1"), ("30", "2024-12-31", "7.50", "2"),
             ("40", "2023-12-31", "100.00", "1"), ("10", "2024-11-30", "50.00", "1"),
             ("50", "2025-01-05", "9.99", "1"), ("40", "2024-01-10", "100.00", "1")]
HAND_IDS = [10, 20, 30, 40]
HAND = {
    "recency_days": [1, 213, 0, 356],
    "frequency": [3, 1, 1, 2],
    "monetary_total": [100.0, 5.0, 7.5, 200.0],
    "monetary_mean": [100.0 / 3, 5.0, 7.5, 100.0],
    "tenure_days": [31, 213, 0, 366],
    "mean_interpurchase_days": [15.0, np.nan, np.nan, 10.0],
    # n = 4: score = 1 + floor(5 L / 4), L = number of customers with a worse value
    "r_score": [3, 2, 4, 1],
    "f_score": [4, 1, 1, 3],
    "m_score": [3, 1, 2, 4],
    # Loyal customers (R3, F4, F+M 7), Hibernating (R2, F+M 2), Promising (R4, F1),
    # At risk (R1, F+M 7)
    "rfm_segment": [1, 9, 4, 7],
}


def write(path, lines):
    with open(path, "w") as f:
        f.write("".join(line + "\n" for line in lines))
    return path


def read_output(path):
    with h5py.File(path, "r") as f:
        g = f["customers"]
        out = {"id": g["id"][...], "names": list(g.keys())}
        for name in RFM:
            out[name] = g[name][...]
        out["segment_names"] = [s.decode() for s in f["categories/rfm_segment"][...]]
        out["categories_attr"] = g["rfm_segment"].attrs["categories"]
        out["ingest"] = dict(f["ingest"].attrs)
        if "customers/external_id" in f:
            out["external_id"] = [s.decode() for s in f["customers/external_id"][...]]
    return out


def segment_of(r, f, m):
    fm = f + m
    if r >= 4 and fm >= 8:
        return 0
    if r == 5 and f == 1:
        return 3
    if r == 4 and f == 1:
        return 4
    if r >= 3 and f >= 2 and fm >= 6:
        return 1
    if r >= 4:
        return 2
    if r == 3 and fm >= 4:
        return 5
    if r == 3:
        return 6
    if r == 1 and fm >= 8:
        return 8
    if fm >= 6:
        return 7
    if r == 2:
        return 9
    return 10


class HandChecked(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.dir = temp_dir()

    def ingest(self, csv, *args, ranks=2, name="out.h5"):
        out = os.path.join(self.dir, name)
        proc = run(ranks, "ingest", "transactions", "--csv", csv, "--as-of", "2024-12-31",
                   "--output", out, *args)
        return read_output(out), proc

    def assert_hand_values(self, out, quantity):
        self.assertEqual(out["names"], ["id"] + RFM + (["units"] if quantity else []))
        np.testing.assert_array_equal(out["id"], HAND_IDS)
        for name, expected in HAND.items():
            expected = list(expected)
            if quantity and name in ("monetary_total", "monetary_mean"):
                expected[2] = 15.0
            # With the quantity, customer 30's 15.00 still ranks between 5 and 100.
            np.testing.assert_allclose(out[name], expected, rtol=1e-15, err_msg=name)
        for i in range(4):
            r, f, m = (int(out[k][i]) for k in ("r_score", "f_score", "m_score"))
            self.assertEqual(out["rfm_segment"][i], segment_of(r, f, m))
        self.assertEqual(out["segment_names"], SEGMENTS)
        self.assertEqual(out["categories_attr"], "/categories/rfm_segment")

    def test_comma_header_with_quantity(self):
        csv = write(os.path.join(self.dir, "comma.csv"),
                    ["customer,date,amount,qty"] + [",".join(r) for r in HAND_ROWS])
        out, proc = self.ingest(csv, "--customer-column", "customer", "--date-column", "date",
                                "--unit-price-column", "amount", "--quantity-column", "qty")
        self.assert_hand_values(out, quantity=True)
        self.assertEqual(out["ingest"]["monetary"], "sum of amount × qty (unit price × quantity)")
        self.assertNotIn("warning", proc.stderr)
        self.assertEqual(out["ingest"]["rows"], 8)
        self.assertEqual(out["ingest"]["rows_after_as_of"], 1)
        self.assertEqual(out["ingest"]["rows_counted"], 7)
        self.assertIn("4 customers written", proc.stdout)
        self.assertNotIn("external_id", out)

    def test_whitespace_separated_without_header(self):
        # Columns reordered, runs of blanks, YYYYMMDD dates, a blank line and CRLF endings.
        lines = [f"  {d.replace('-', '')}\t{c}   {a}  \r" for c, d, a, _ in HAND_ROWS]
        lines.insert(3, "   ")
        csv = write(os.path.join(self.dir, "ws.txt"), lines)
        out, _ = self.ingest(csv, "--no-header", "--delimiter", "whitespace",
                             "--customer-column", 2, "--date-column", 1, "--amount-column", 3,
                             ranks=3, name="ws.h5")
        self.assert_hand_values(out, quantity=False)

    def test_semicolon_iso_datetimes_and_quoted_fields(self):
        lines = ['"Kunde";"Datum";"Betrag"']
        for c, d, a, _ in HAND_ROWS:
            lines.append(f'"{c}";{d}T12:30:00+01:00;"{a}"')
        csv = write(os.path.join(self.dir, "semi.csv"), lines)
        out, _ = self.ingest(csv, "--delimiter", ";", "--customer-column", "Kunde",
                             "--date-column", "Datum", "--amount-column", "Betrag", name="semi.h5")
        self.assert_hand_values(out, quantity=False)

    def test_window_keeps_only_the_last_n_days(self):
        csv = write(os.path.join(self.dir, "win.csv"),
                    ["c,d,a"] + [f"{c},{d},{a}" for c, d, a, _ in HAND_ROWS])
        out, proc = self.ingest(csv, "--customer-column", "c", "--date-column", "d",
                                "--amount-column", "a", "--window-days", 31, name="win.h5")
        # 31 days ending on 2024-12-31: 2024-12-01 .. 2024-12-31.
        np.testing.assert_array_equal(out["id"], [10, 30])
        np.testing.assert_array_equal(out["frequency"], [2, 1])
        np.testing.assert_allclose(out["monetary_total"], [50.0, 7.5])
        self.assertEqual(out["ingest"]["rows_before_window"], 4)
        self.assertEqual(out["ingest"]["window_days"], 31)

    def test_text_customer_keys_are_mapped_and_kept(self):
        rows = [("C-010", "2024-12-30", "1"), ("anna", "2024-12-01", "2"),
                ("C-010", "2024-12-31", "3"), ("Zoë", "2024-10-01", "4")]
        csv = write(os.path.join(self.dir, "keys.csv"),
                    ["who,when,what"] + [",".join(r) for r in rows])
        out, _ = self.ingest(csv, "--customer-column", "who", "--date-column", "when",
                             "--amount-column", "what", name="keys.h5")

        def fnv1a63(text):
            h = 0xcbf29ce484222325
            for byte in text.encode():
                h = ((h ^ byte) * 0x100000001b3) % 2**64
            return h & 0x7fffffffffffffff

        expected = sorted((fnv1a63(k), k) for k in ("C-010", "anna", "Zoë"))
        np.testing.assert_array_equal(out["id"], [i for i, _ in expected])
        self.assertEqual(out["external_id"], [k for _, k in expected])
        by_key = dict(zip(out["external_id"], out["frequency"]))
        self.assertEqual(by_key, {"C-010": 2, "anna": 1, "Zoë": 1})

    def test_segment_reads_the_output(self):
        csv = write(os.path.join(self.dir, "seg.csv"),
                    ["c,d,a"] + [f"{c},{d},{a}" for c, d, a, _ in HAND_ROWS])
        out_h5 = os.path.join(self.dir, "seg.h5")
        run(2, "ingest", "transactions", "--csv", csv, "--customer-column", "c", "--date-column",
            "d", "--amount-column", "a", "--as-of", "2024-12-31", "--output", out_h5)
        run_dir = os.path.join(self.dir, "segrun")
        run(2, "segment", "--input", out_h5, "--k", 2, "--features",
            "recency_days,frequency,monetary_total", "--output", run_dir)
        with h5py.File(os.path.join(run_dir, "segments.h5"), "r") as f:
            np.testing.assert_array_equal(f["assignments/id"][...], HAND_IDS)


class RankCount(unittest.TestCase):
    def test_one_to_four_ranks_write_identical_tables(self):
        directory = temp_dir()
        rng = np.random.default_rng(17)
        n = 30000
        customers = rng.integers(1, 4000, n) * 13
        days = rng.integers(0, 700, n)
        dates = np.datetime64("2023-01-01") + days
        amounts = np.round(rng.lognormal(3, 1, n), 2)
        csv = os.path.join(directory, "log.csv")
        with open(csv, "w") as f:
            f.write("customer,date,amount\n")
            for c, d, a in zip(customers, dates, amounts):
                f.write(f"{c},{d},{a:.2f}\n")
        outputs = []
        for ranks in (1, 2, 3, 4):
            out = os.path.join(directory, f"r{ranks}.h5")
            run(ranks, "ingest", "transactions", "--csv", csv, "--customer-column", "customer",
                "--date-column", "date", "--amount-column", "amount", "--as-of", "2024-09-30",
                "--output", out)
            outputs.append(read_output(out))
        first = outputs[0]
        self.assertGreater(len(first["id"]), 3000)
        self.assertTrue(np.all(np.diff(first["id"]) > 0))
        for ranks, other in zip((2, 3, 4), outputs[1:]):
            for key in ["id"] + RFM:
                np.testing.assert_array_equal(first[key], other[key],
                                              err_msg=f"{key} differs at {ranks} ranks")


class BadInput(unittest.TestCase):
    RANKS = 3

    def setUp(self):
        self.dir = temp_dir()
        self.out = os.path.join(self.dir, "out.h5")

    def ingest(self, csv, *args, header=("customer", "date", "amount")):
        columns = []
        if header:
            columns = ["--customer-column", header[0], "--date-column", header[1],
                       "--amount-column", header[2]]
        return run(self.RANKS, "ingest", "transactions", "--csv", csv, *columns, *args,
                   "--output", self.out, check=False)

    def good_lines(self, n=300):
        return ["customer,date,amount"] + [f"{i % 23},2024-03-{i % 28 + 1:02d},{i}.5"
                                           for i in range(n)]

    def assert_fails(self, proc, *fragments):
        self.assertEqual(proc.returncode, 2, proc.stdout + proc.stderr)
        for fragment in fragments:
            self.assertIn(fragment, proc.stderr)
        self.assertEqual(proc.stderr.count("microseg: error:"), 1, proc.stderr)
        self.assertNotIn("MPI_ABORT", proc.stderr)
        self.assertFalse(os.path.exists(self.out), "output written despite the error")
        self.assertEqual([f for f in os.listdir(self.dir) if f.endswith(".partial")], [])

    def test_malformed_rows_name_file_line_and_column(self):
        cases = [("299,2024-03-01,12x", "column 3 ('amount'): '12x' is not a finite number"),
                 ("299,2024-02-30,1", "column 2 ('date'): '2024-02-30' is not a date"),
                 ("299,2024-03-01", "expected 3 fields, found 2"),
                 ('"299,2024-03-01,1', "not closed on its line"),
                 (",2024-03-01,1", "column 1 ('customer'): the customer id is empty")]
        for bad, message in cases:
            with self.subTest(bad=bad):
                lines = self.good_lines()
                lines[290] = bad  # on the last rank's part
                csv = write(os.path.join(self.dir, "bad.csv"), lines)
                self.assert_fails(self.ingest(csv, "--as-of", "2024-12-31"), "bad.csv",
                                  "line 291", message, "--skip-bad-rows")

    def test_skip_bad_rows_skips_and_counts(self):
        lines = self.good_lines()
        lines[5] = "1,2024-03-01,abc"
        lines[290] = "2,not-a-date,1"
        csv = write(os.path.join(self.dir, "skip.csv"), lines)
        proc = self.ingest(csv, "--as-of", "2024-12-31", "--skip-bad-rows")
        self.assertEqual(proc.returncode, 0, proc.stderr)
        self.assertIn("malformed and skipped 2", proc.stdout)
        self.assertIn("line 6, column 3 ('amount')", proc.stdout)
        self.assertIn("line 291, column 2 ('date')", proc.stdout)
        out = read_output(self.out)
        self.assertEqual(out["ingest"]["bad_rows_skipped"], 2)
        self.assertEqual(int(out["frequency"].sum()), 298)

    def test_empty_file(self):
        csv = write(os.path.join(self.dir, "empty.csv"), [])
        self.assert_fails(self.ingest(csv, "--as-of", "2024-12-31"), "empty.csv", "is empty")

    def test_header_without_rows(self):
        csv = write(os.path.join(self.dir, "head.csv"), ["customer,date,amount", ""])
        self.assert_fails(self.ingest(csv, "--as-of", "2024-12-31"), "head.csv",
                          "no data rows after its header")

    def test_missing_column(self):
        csv = write(os.path.join(self.dir, "cols.csv"), self.good_lines())
        proc = self.ingest(csv, "--as-of", "2024-12-31", header=("customer", "day", "amount"))
        self.assert_fails(proc, "--date-column", "'day' is not in the header", "cols.csv",
                          "'customer', 'date', 'amount'")

    def test_missing_header_is_caught_by_the_column_names(self):
        csv = write(os.path.join(self.dir, "nohead.csv"), self.good_lines()[1:])
        self.assert_fails(self.ingest(csv, "--as-of", "2024-12-31"), "is not in the header",
                          "--no-header")

    def test_positions_out_of_range_with_no_header(self):
        csv = write(os.path.join(self.dir, "pos.csv"), self.good_lines()[1:])
        proc = self.ingest(csv, "--as-of", "2024-12-31", "--no-header",
                           header=("1", "2", "4"))
        self.assert_fails(proc, "--amount-column", "1 to 3")

    def test_as_of_before_every_transaction(self):
        csv = write(os.path.join(self.dir, "early.csv"), self.good_lines())
        self.assert_fails(self.ingest(csv, "--as-of", "2024-02-01"),
                          "--as-of 2024-02-01 is before every transaction", "2024-03-01")

    def test_window_that_holds_no_transaction(self):
        csv = write(os.path.join(self.dir, "old.csv"), self.good_lines())
        self.assert_fails(self.ingest(csv, "--as-of", "2024-12-31", "--window-days", 30),
                          "no transaction", "30 days ending on the as-of date 2024-12-31")

    def test_invalid_options(self):
        csv = write(os.path.join(self.dir, "ok.csv"), self.good_lines())
        for args, fragment in [(["--as-of", "2024-13-01"], "--as-of"),
                               (["--as-of", "2024-12-31", "--window-days", "0"], "--window-days"),
                               (["--as-of", "2024-12-31", "--delimiter", "|"], "--delimiter"),
                               (["--as-of", "2024-12-31", "--quantity-column", "amount"],
                                "name the same column"),
                               ([], "--as-of")]:
            with self.subTest(args=args):
                self.assert_fails(self.ingest(csv, *args), fragment)

    def test_missing_input_and_output_directory(self):
        self.assert_fails(self.ingest(os.path.join(self.dir, "nope.csv"), "--as-of",
                                      "2024-12-31"), "nope.csv", "does not exist")
        csv = write(os.path.join(self.dir, "ok.csv"), self.good_lines())
        self.out = os.path.join(self.dir, "missing", "out.h5")
        self.assert_fails(self.ingest(csv, "--as-of", "2024-12-31"), "missing",
                          "does not exist")

    def test_unknown_subcommand(self):
        proc = run(self.RANKS, "ingest", "purchases", check=False)
        self.assertEqual(proc.returncode, 2)
        self.assertIn("'features' or 'transactions'", proc.stderr)

    def test_a_failed_run_keeps_the_previous_output(self):
        csv = write(os.path.join(self.dir, "ok.csv"), self.good_lines())
        self.assertEqual(self.ingest(csv, "--as-of", "2024-12-31").returncode, 0)
        before = open(self.out, "rb").read()
        lines = self.good_lines()
        lines[100] = "x,y,z"
        bad = write(os.path.join(self.dir, "bad.csv"), lines)
        proc = self.ingest(bad, "--as-of", "2024-12-31")
        self.assertEqual(proc.returncode, 2)
        self.assertEqual(open(self.out, "rb").read(), before)


if __name__ == "__main__":
    unittest.main(verbosity=2)
