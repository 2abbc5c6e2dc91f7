"""Options from an INI job file: the file works alone, the command line wins over it, and an
unknown key or a missing file is a clear error before any work."""
import os
import sys
import unittest

import h5py

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "support"))
from microseg_run import run, temp_dir  # noqa: E402

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))


class JobFile(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.dir = temp_dir()
        cls.data = os.path.join(cls.dir, "customers.h5")
        run(2, "generate", "--customers", 3000, "--segments", 4, "--seed", 2,
            "--output", cls.data)

    def write_job(self, text):
        path = os.path.join(self.dir, f"job-{self.id().split('.')[-1]}.ini")
        with open(path, "w") as f:
            f.write(text)
        return path

    def run_attrs(self, out):
        with h5py.File(os.path.join(out, "segments.h5"), "r") as f:
            return dict(f["run"].attrs)

    def test_job_file_supplies_every_option(self):
        out = os.path.join(self.dir, "from-file")
        job = self.write_job(f"input = {self.data}\noutput = {out}\nk = 5\nscale = minmax\n"
                             "seed = 17\n")
        run(2, "segment", "--config", job)
        attrs = self.run_attrs(out)
        self.assertEqual(attrs["k"], 5)
        self.assertEqual(attrs["seed"], 17)
        self.assertIn("scale = minmax", attrs["configuration"])

    def test_command_line_wins_over_the_job_file(self):
        out = os.path.join(self.dir, "override")
        job = self.write_job(f"input = {self.data}\noutput = {out}\nk = 5\nseed = 17\n")
        run(2, "segment", "--config", job, "--k", 3)
        attrs = self.run_attrs(out)
        self.assertEqual(attrs["k"], 3)
        self.assertEqual(attrs["seed"], 17)

    def test_demo_job_file_is_valid(self):
        out = os.path.join(self.dir, "demo")
        run(2, "segment", "--config", os.path.join(REPO, "jobs", "demo.ini"), "--input",
            self.data, "--output", out, "--max-iter", 5)
        self.assertEqual(self.run_attrs(out)["k"], 12)

    def test_unknown_key_is_named(self):
        job = self.write_job(f"input = {self.data}\nk = 4\nclusters = 7\n")
        proc = run(2, "segment", "--config", job, "--output", os.path.join(self.dir, "x"),
                   check=False)
        self.assertEqual(proc.returncode, 2)
        self.assertIn("unknown key 'clusters'", proc.stderr)
        self.assertIn(job, proc.stderr)
        self.assertFalse(os.path.exists(os.path.join(self.dir, "x")))

    def test_bad_value_in_job_file_is_named(self):
        job = self.write_job(f"input = {self.data}\nk = four\n")
        proc = run(2, "segment", "--config", job, "--output", os.path.join(self.dir, "y"),
                   check=False)
        self.assertEqual(proc.returncode, 2)
        self.assertIn("--k", proc.stderr)
        self.assertIn("four", proc.stderr)

    def test_missing_job_file(self):
        proc = run(2, "segment", "--config", os.path.join(self.dir, "absent.ini"), check=False)
        self.assertEqual(proc.returncode, 2)
        self.assertIn("absent.ini", proc.stderr)

    def test_help_and_unknown_command(self):
        proc = run(1, "segment", "--help")
        self.assertIn("--silhouette-sample", proc.stdout)
        proc = run(1, "frobnicate", check=False)
        self.assertEqual(proc.returncode, 2)
        self.assertIn("unknown command 'frobnicate'", proc.stderr)


if __name__ == "__main__":
    unittest.main(verbosity=2)
