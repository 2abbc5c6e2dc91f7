"""Bad input to `microseg sweep`, `sweep-merge` and `promote`: exit status 2, one message that
names what is wrong, and nothing written (not even the output directory) before any fitting."""
import os
import shutil
import subprocess
import sys
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "support"))
from microseg_run import MICROSEG, RUN_TIMEOUT, run, temp_dir  # noqa: E402

RANKS = 2


class SweepBadInput(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.dir = temp_dir()
        cls.data = os.path.join(cls.dir, "customers.h5")
        run(1, "generate", "--customers", 300, "--segments", 3, "--seed", 5, "--output", cls.data)
        cls.good = os.path.join(cls.dir, "good-sweep")
        run(RANKS, "sweep", "--input", cls.data, "--k", "2:4", "--restarts", 2, "--seed", 1,
            "--silhouette-sample", 100, "--output", cls.good)

    def setUp(self):
        self.out = os.path.join(self.dir, "out-" + self.id().split(".")[-1])

    def assert_refused(self, proc, *fragments, output=None):
        output = output or self.out
        self.assertEqual(proc.returncode, 2, proc.stdout + proc.stderr)
        for fragment in fragments:
            self.assertIn(fragment, proc.stderr)
        self.assertEqual(proc.stderr.count("microseg: error:"), 1, proc.stderr)
        self.assertNotIn("MPI_ABORT", proc.stderr)
        self.assertNotIn("iteration", proc.stdout)
        self.assertFalse(os.path.exists(output), f"{output} was created despite the error")

    @staticmethod
    def contents(directory):
        files = {}
        for name in os.listdir(directory):
            with open(os.path.join(directory, name), "rb") as f:
                files[name] = f.read()
        return files

    def sweep(self, *args):
        return run(RANKS, "sweep", "--input", self.data, "--output", self.out, *args, check=False)

    def test_inverted_or_empty_k_range(self):
        self.assert_refused(self.sweep("--k", "8:2"), "--k", "'8:2'", "empty or inverted")
        self.assert_refused(self.sweep("--k", "5:4:1"), "'5:4:1'", "empty or inverted")

    def test_malformed_k_lists(self):
        # Parsed before any rank reads anything: one process (the binary run without mpiexec, as
        # an MPI singleton) is enough and keeps the test quick.
        for k, fragment in [("2:10:0", "step below 1"), ("1:5", "below k = 2"),
                            ("3,1", "k = 1"), ("4,6,4", "k = 4 twice"), ("two", "not a list"),
                            ("2:", "not a range"), ("3,", "empty item"), ("2:5:1:1", "not a range")]:
            with self.subTest(k=k):
                proc = subprocess.run([MICROSEG, "sweep", "--input", self.data, "--output",
                                       self.out, "--k", k], capture_output=True, text=True,
                                      timeout=RUN_TIMEOUT)
                self.assert_refused(proc, "--k", fragment)

    def test_k_larger_than_the_customers(self):
        self.assert_refused(self.sweep("--k", "2:301"), "k = 301", "300 customers")
        self.assert_refused(self.sweep("--k", "5,400"), "k = 400", "300 customers")

    def test_restarts_below_one(self):
        self.assert_refused(self.sweep("--k", "2:4", "--restarts", "0"), "--restarts", "'0'")

    def test_missing_job_file(self):
        missing = os.path.join(self.dir, "no-such-job.ini")
        self.assert_refused(self.sweep("--config", missing, "--k", "2:4"), missing,
                            "does not exist")

    def test_unknown_key_in_the_job_file(self):
        job = os.path.join(self.dir, "typo.ini")
        with open(job, "w") as f:
            f.write("k = 2:4\nrestart = 3\n")
        self.assert_refused(self.sweep("--config", job), job, "unknown key 'restart'")

    def test_centroids_from_a_file_are_not_a_sweep(self):
        self.assert_refused(self.sweep("--k", "2:4", "--init", "file"), "--init file")

    def test_task_out_of_range(self):
        self.assert_refused(self.sweep("--k", "2:4", "--task", "3/3"), "--task", "3 of 3")
        self.assert_refused(self.sweep("--k", "2:4", "--task", "0/4"), "4 tasks", "3 values")
        self.assert_refused(self.sweep("--k", "2:4", "--task", "1"), "--task", "'1'")

    def test_resuming_a_directory_of_another_sweep_is_refused_and_changes_nothing(self):
        out = os.path.join(self.dir, "other-settings")
        shutil.copytree(self.good, out)
        before = self.contents(os.path.join(out, "models"))
        proc = run(RANKS, "sweep", "--input", self.data, "--output", out, "--k", "2:5",
                   "--restarts", 2, "--seed", 2, "--silhouette-sample", 100, check=False)
        self.assertEqual(proc.returncode, 2, proc.stderr)
        self.assertIn("seed = 1 there, 2 here", proc.stderr)
        self.assertIn("choose another --output", proc.stderr)
        self.assertEqual(self.contents(os.path.join(out, "models")), before)

    def test_promote_of_a_k_that_was_not_swept(self):
        proc = run(RANKS, "promote", "--sweep", self.good, "--k", 7, "--output", self.out,
                   check=False)
        self.assert_refused(proc, "no model for k = 7")

    def test_promote_on_other_data_is_refused(self):
        other = os.path.join(self.dir, "other.h5")
        run(1, "generate", "--customers", 300, "--segments", 3, "--seed", 6, "--output", other)
        proc = run(RANKS, "promote", "--sweep", self.good, "--k", 3, "--input", other,
                   "--output", self.out, check=False)
        self.assert_refused(proc, "is not the data", "transformed differently")

    def test_merge_of_an_unfinished_part(self):
        unfinished = os.path.join(self.dir, "unfinished")
        os.makedirs(os.path.join(unfinished, "models"))
        proc = run(1, "sweep-merge", "--parts", f"{self.good},{unfinished}", "--output",
                   self.out, check=False)
        self.assert_refused(proc, unfinished, "has not finished")

    def test_merge_of_parts_holding_the_same_k(self):
        copy = os.path.join(self.dir, "copy")
        shutil.copytree(self.good, copy)
        proc = run(1, "sweep-merge", "--parts", f"{self.good},{copy}", "--output", self.out,
                   check=False)
        self.assert_refused(proc, "k = 2 is in two sweep parts")

    def test_merge_that_misses_a_k(self):
        proc = run(1, "sweep-merge", "--parts", self.good, "--k", "2:6", "--output", self.out,
                   check=False)
        self.assert_refused(proc, "do not hold k = 5, 6", "a task did not finish")


if __name__ == "__main__":
    unittest.main(verbosity=2)
