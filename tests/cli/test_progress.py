"""What a command prints while it runs: progress lines on stdout at most one every
MICROSEG_PROGRESS_SECONDS (the first and the last line of a phase always), every iteration with
--verbose, only the final summary with --quiet, errors on stderr whatever the verbosity, reading
with bytes and a rate, ingest with rows and a rate, and the same lines on 1 and 3 ranks."""
import os
import re
import sys
import time
import unittest

import h5py
import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "support"))
from microseg_run import run, temp_dir  # noqa: E402

# Rank 0 sleeps 100 ms in every Lloyd iteration, so a fit lasts seconds and a 1 s limit bites.
SLOW = {"MICROSEG_INJECT_FAILURE": "0:iteration:stall", "MICROSEG_PROGRESS_SECONDS": "1"}
ITERATION = re.compile(r"^iteration +(\d+)  inertia ")
# The lines of segment's final summary (print_result in src/app/segment_command.cpp).
SUMMARY = re.compile(r"^((converged|stopped at --max-iter) after \d+ iterations$|quality: |"
                     r"segment +size +share +priority|\s+\d+\s+\d+\s+[\d.]+%|seconds: |outputs: )")


def numbers_masked(text):
    """The text with every timing and rate replaced by '#': what must not depend on ranks."""
    text = re.sub(r"\d+\.\d+( s\b| MB/s| rows/s)", r"#\1", text)
    text = re.sub(r"^seconds: .*$", "seconds: #", text, flags=re.M)
    return text


class Progress(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.dir = temp_dir()
        cls.data = os.path.join(cls.dir, "customers.h5")
        # Weakly separated segments and k above their count: Lloyd needs every --max-iter.
        run(1, "generate", "--customers", 3000, "--segments", 6, "--separation", 1, "--seed", 2,
            "--output", cls.data)
        with h5py.File(cls.data, "r") as f:
            group = f["customers"]
            cls.customers, cls.features = group["features"].shape  # generate's matrix layout

    def segment(self, ranks, name, *extra, env=None, check=True):
        return run(ranks, "segment", "--input", self.data, "--k", 20, "--seed", 1, "--tol", 0,
                   "--max-iter", 30, "--silhouette-sample", 300,
                   "--output", os.path.join(self.dir, name), *extra, env=env, check=check)

    def test_iterations_are_rate_limited_by_default_and_all_shown_with_verbose(self):
        started = time.monotonic()
        default = self.segment(1, "default", env=SLOW)
        seconds = time.monotonic() - started
        verbose = self.segment(1, "verbose", "--verbose", env=SLOW)
        shown = [int(ITERATION.match(line).group(1)) for line in default.stdout.splitlines()
                 if ITERATION.match(line)]
        every = [int(ITERATION.match(line).group(1)) for line in verbose.stdout.splitlines()
                 if ITERATION.match(line)]
        total = int(re.search(r"after (\d+) iterations", verbose.stdout).group(1))
        self.assertGreaterEqual(total, 20, verbose.stdout)
        self.assertEqual(every, list(range(1, total + 1)))
        # One line a second at most, plus the phase's first and its held-back last line.
        self.assertLessEqual(len(shown), seconds / 1.0 + 2, default.stdout)
        self.assertLess(len(shown), total / 2, default.stdout)
        self.assertEqual((shown[0], shown[-1]), (1, total), default.stdout)
        self.assertEqual(shown, sorted(shown))
        # --verbose adds per-phase timings.
        self.assertRegex(verbose.stdout, r"(?m)^metrics: \d+\.\d{3} s$")
        self.assertNotRegex(default.stdout, r"(?m)^metrics: \d")
        for proc in (default, verbose):
            self.assertEqual(proc.stderr, "")

    def test_quiet_prints_only_the_summary(self):
        proc = self.segment(2, "quiet", "--quiet")
        lines = [line for line in proc.stdout.splitlines() if line.strip()]
        self.assertGreater(len(lines), 20 + 4)  # the summary lines and a row per segment
        for line in lines:
            self.assertRegex(line, SUMMARY)
        self.assertEqual(proc.stderr, "")

    def test_errors_reach_stderr_under_quiet_and_nothing_else_is_printed(self):
        missing = os.path.join(self.dir, "no-such-file.h5")
        for flag in ("--quiet", "--verbose"):
            proc = run(2, "segment", "--input", missing, "--k", 3, "--output",
                       os.path.join(self.dir, "never"), flag, check=False)
            self.assertEqual(proc.returncode, 2, proc.stderr)
            self.assertRegex(proc.stderr, r"^microseg: error: .*no-such-file\.h5")
            self.assertEqual(proc.stdout, "")
            self.assertFalse(os.path.exists(os.path.join(self.dir, "never")))
        both = run(1, "segment", "--quiet", "--verbose", check=False)
        self.assertEqual(both.returncode, 2)
        self.assertIn("--quiet and --verbose cannot be combined", both.stderr)
        self.assertEqual(both.stdout, "")
        bad = run(1, "segment", "--input", self.data, "--k", 3, "--output",
                  os.path.join(self.dir, "never"), env={"MICROSEG_PROGRESS_SECONDS": "soon"},
                  check=False)
        self.assertEqual(bad.returncode, 2)
        self.assertIn("MICROSEG_PROGRESS_SECONDS: invalid value 'soon'", bad.stderr)
        self.assertEqual(bad.stdout, "")

    def test_reading_shows_bytes_and_a_rate(self):
        proc = self.segment(2, "read")
        match = re.search(r"(?m)^read ([\d,]+) bytes of features \(\d+\.\d\d MB\) in "
                          r"(\d+\.\d{3}) s \((\d+\.\d) MB/s\)$", proc.stdout)
        self.assertIsNotNone(match, proc.stdout)
        self.assertEqual(int(match.group(1).replace(",", "")), self.customers * self.features * 4)
        seconds, rate = float(match.group(2)), float(match.group(3))
        self.assertGreater(rate, 0)
        if seconds > 0:  # the rate from the bytes and the seconds, as printed (rounded)
            megabytes = self.customers * self.features * 4 / 1e6
            self.assertLessEqual(abs(rate - megabytes / seconds), 0.05 + rate * 0.0005 / seconds)

    def test_ingest_shows_rows_and_a_rate(self):
        rows = 2500
        rng = np.random.default_rng(3)
        csv = os.path.join(self.dir, "table.csv")
        with open(csv, "w") as f:
            f.write("customer,spend,visits\n")
            for i in range(rows):
                f.write(f"{1000 + i},{rng.uniform(0, 500):.2f},{rng.integers(0, 40)}\n")
        proc = run(2, "ingest", "features", "--csv", csv, "--id-column", "customer",
                   "--output", os.path.join(self.dir, "table.h5"))
        match = re.search(r"(?m)^ingested ([\d,]+) rows in (\d+\.\d+) s \(([\d,]+) rows/s\)$",
                          proc.stdout)
        self.assertIsNotNone(match, proc.stdout)
        self.assertEqual(int(match.group(1).replace(",", "")), rows)
        self.assertEqual(proc.stderr, "")
        quiet = run(2, "ingest", "features", "--csv", csv, "--id-column", "customer",
                    "--output", os.path.join(self.dir, "table-quiet.h5"), "--quiet")
        self.assertNotIn("rows/s", quiet.stdout)
        self.assertTrue(quiet.stdout.startswith("microseg ingest features: "), quiet.stdout)

    def test_transaction_ingest_reports_its_scan_while_it_runs(self):
        # 300,000 lines on 2 ranks: rank 0 scans about 150,000 and reports every 65,536.
        lines = 300000
        csv = os.path.join(self.dir, "transactions.csv")
        rng = np.random.default_rng(5)
        customers = rng.integers(1, 5000, lines)
        amounts = rng.uniform(1, 200, lines)
        with open(csv, "w") as f:
            f.write("customer,date,amount\n")
            f.writelines(f"{c},2026-0{1 + i % 9}-1{i % 10},{a:.2f}\n"
                         for i, (c, a) in enumerate(zip(customers, amounts)))
        out = os.path.join(self.dir, "rfm.h5")
        proc = run(2, "ingest", "transactions", "--csv", csv, "--customer-column", "customer",
                   "--date-column", "date", "--amount-column", "amount", "--as-of", "2026-10-01",
                   "--output", out, env={"MICROSEG_PROGRESS_SECONDS": "0"})
        found = re.findall(r"(?m)^parsing: rank 0 read ([\d,]+) lines, ([\d.]+)% of its part, "
                           r"([\d,]+) rows/s$", proc.stdout)
        counts = [int(n.replace(",", "")) for n, _, _ in found]
        shares = [float(p) for _, p, _ in found]
        self.assertEqual(counts, [65536 * (i + 1) for i in range(len(counts))], proc.stdout)
        self.assertIn(len(counts), (2, 3))  # rank 0's part holds 150,000 lines, give or take
        self.assertEqual(shares, sorted(shares))
        self.assertTrue(0 < shares[0] < shares[-1] < 100, shares)
        # Rate-limited by default: a scan this short prints its first line only.
        default = run(2, "ingest", "transactions", "--csv", csv, "--customer-column", "customer",
                      "--date-column", "date", "--amount-column", "amount", "--as-of",
                      "2026-10-01", "--output", os.path.join(self.dir, "rfm2.h5"),
                      env={"MICROSEG_PROGRESS_SECONDS": "60"})
        self.assertLessEqual(default.stdout.count("parsing: rank 0 read"), 2)
        quiet = run(2, "ingest", "transactions", "--csv", csv, "--customer-column", "customer",
                    "--date-column", "date", "--amount-column", "amount", "--as-of",
                    "2026-10-01", "--output", os.path.join(self.dir, "rfm3.h5"), "--quiet",
                    env={"MICROSEG_PROGRESS_SECONDS": "0"})
        self.assertNotIn("parsing:", quiet.stdout)

    def test_migration_join_is_a_phase(self):
        first = os.path.join(self.dir, "first")
        self.segment(2, "first")
        default = self.segment(2, "second", "--previous", first)
        verbose = self.segment(2, "second-verbose", "--previous", first, "--verbose")
        self.assertRegex(default.stdout, r"(?m)^migration join …$")
        self.assertNotRegex(default.stdout, r"(?m)^migration join: ")
        self.assertRegex(verbose.stdout, r"(?m)^migration join: \d+\.\d{3} s$")

    def test_sweep_per_k_progress_and_quiet(self):
        args = ("sweep", "--input", self.data, "--k", "3,4", "--restarts", 2, "--seed", 1,
                "--silhouette-sample", 300)
        default = run(2, *args, "--output", os.path.join(self.dir, "sweep"))
        for k in (3, 4):
            self.assertRegex(default.stdout, rf"(?m)^k = {k}  restart 0: \d+ iterations")
        self.assertRegex(default.stdout, r"(?m)^read [\d,]+ bytes of features")
        quiet = run(2, *args, "--output", os.path.join(self.dir, "sweep-quiet"), "--quiet")
        self.assertEqual(quiet.stderr, "")
        self.assertNotRegex(quiet.stdout, r"(?m)^k = \d+  restart")
        self.assertNotIn("bytes of features", quiet.stdout)
        # The summary (the table, the recommendation and the rule) as without --quiet.
        def table(text):
            return text.split("\n     k ", 1)[1].split("\noutputs: ", 1)[0]
        self.assertEqual(table(quiet.stdout), table(default.stdout))
        self.assertRegex(quiet.stdout, r"(?m)^recommended: k = [34] ")

    def test_same_lines_on_1_and_3_ranks(self):
        logs = {}
        for ranks in (1, 3):
            proc = self.segment(ranks, f"ranks-{ranks}", "--verbose", "--restarts", 2)
            self.assertEqual(proc.stderr, "")
            self.assertIn(f" on {ranks} ranks, k = 20", proc.stdout)
            logs[ranks] = numbers_masked(proc.stdout.replace(f" on {ranks} ranks", " on P ranks")
                                         .replace(f"ranks-{ranks}", "ranks-P"))
        self.assertRegex(logs[1], r"restart 1  seeding: k-means\|\| round 2 of 2, \d+ candidates")
        self.assertEqual(logs[1].splitlines(), logs[3].splitlines())


if __name__ == "__main__":
    unittest.main()
