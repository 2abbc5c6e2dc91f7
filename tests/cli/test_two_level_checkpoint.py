"""Checkpoint and resume of a two-level run (`segment --macro-k`) with real signals: stopped by
SIGUSR1 during the macro fit, by SIGTERM during the micro fits and by SIGKILL after a periodic
checkpoint, each resumed with --resume (at another rank count too) and compared with an
uninterrupted run: `h5diff` without tolerance, the CSVs byte for byte, the facts of /run.

As in test_checkpoint_resume.py, the Lloyd iterations are slowed with
MICROSEG_INJECT_FAILURE=0:iteration:stall so that the signals arrive at a known point."""
import os
import re
import signal
import sys
import unittest

import h5py

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "support"))
from microseg_run import (MICROSEG, MPIEXEC, assert_resumed_like_reference, run,  # noqa: E402
                          run_and_signal, temp_dir)

EXIT_INTERRUPTED = 75
SLOW = "0:iteration:stall"
FIT = ["--macro-k", 3, "--k", 9, "--restarts", 2, "--seed", 7, "--silhouette-sample", 500]
CSV_OUTPUTS = ["profiles.csv", "macro_profiles.csv", "quality.csv"]


def interrupt(ranks, data, out, after, signum, to, *extra):
    """Starts a slowed two-level `segment`; when a line containing `after` appears, sends
    `signum` to mpiexec (to="mpiexec"), to the ranks (to="ranks") or to both (to="all").
    Returns (exit status, combined output)."""
    cmd = [MPIEXEC, "--oversubscribe", "--bind-to", "none", "-n", str(ranks), MICROSEG,
           "segment", "--input", data, "--output", out] + [str(a) for a in FIT + list(extra)]
    return run_and_signal(cmd, ranks, after, signum, to, env={"MICROSEG_INJECT_FAILURE": SLOW},
                          timeout=90)


class TwoLevelResume(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.dir = temp_dir()
        cls.data = os.path.join(cls.dir, "customers.h5")
        run(2, "generate", "--customers", 4000, "--segments", 9, "--macro-segments", 3,
            "--separation", 1.5, "--macro-separation", 4, "--seed", 3, "--output", cls.data)
        cls.reference = os.path.join(cls.dir, "reference")
        run(2, "segment", "--input", cls.data, "--output", cls.reference, "--resume", *FIT)

    def resume(self, ranks, out, *extra, check=True):
        return run(ranks, "segment", "--input", self.data, "--output", out, "--resume",
                   *(FIT + list(extra)), check=check)

    def assert_only_checkpoint(self, out):
        self.assertEqual(os.listdir(out), ["checkpoint.h5"])

    def assert_same_as_reference(self, out, log):
        assert_resumed_like_reference(self, self.reference, out, log, CSV_OUTPUTS)

    def test_sigusr1_during_the_macro_fit_then_resume_on_3_ranks(self):
        out = os.path.join(self.dir, "macro")
        status, log = interrupt(2, self.data, out, "restart 0  iteration    2 ", signal.SIGUSR1,
                                "mpiexec")
        self.assertEqual(status, EXIT_INTERRUPTED, log)
        self.assertRegex(log, r"stopped on SIGUSR1 after iteration \d+ of restart 0: checkpoint "
                              r"written to")
        self.assert_only_checkpoint(out)
        with h5py.File(os.path.join(out, "checkpoint.h5"), "r") as f:
            self.assertNotIn("finished_macro_segments", f.attrs)  # the macro fit's own state
        self.assert_same_as_reference(out, self.resume(3, out).stdout)

    def test_sigterm_during_the_micro_fits_then_resume_on_2_ranks(self):
        out = os.path.join(self.dir, "micro")
        status, log = interrupt(3, self.data, out, "macro segment 0: ", signal.SIGTERM, "ranks")
        self.assertEqual(status, EXIT_INTERRUPTED, log)
        stop = re.search(r"stopped on SIGTERM (before|during) the micro fit of macro segment "
                         r"(\d+): checkpoint written to (\S+); run again with --resume", log)
        self.assertIsNotNone(stop, log)
        self.assert_only_checkpoint(out)
        with h5py.File(os.path.join(out, "checkpoint.h5"), "r") as f:
            finished = int(f.attrs["finished_macro_segments"])
            self.assertEqual(finished, int(stop.group(2)))
            self.assertGreaterEqual(finished, 1)
            self.assertEqual(len(f["micro_rows"]), finished)
        log = self.resume(2, out).stdout
        self.assertIn(f"the micro fits of {finished} macro segment(s) are done", log)
        self.assertIn("macro segment 0: ", log)
        self.assertIn("from the checkpoint", log)
        self.assert_same_as_reference(out, log)

    def test_periodic_checkpoint_after_a_macro_segment_survives_sigkill(self):
        out = os.path.join(self.dir, "killed")
        status, log = interrupt(2, self.data, out, "micro fits of 1 macro segment(s) written",
                                signal.SIGKILL, "all", "--checkpoint-every", 3)
        self.assertNotIn(status, (0, EXIT_INTERRUPTED), log)
        self.assertIn("checkpoint: restart 1, iteration 3 written to", log)  # the macro fit's
        checkpoint = os.path.join(out, "checkpoint.h5")
        self.assertEqual(sorted(os.listdir(out)), ["checkpoint.h5"])
        with h5py.File(checkpoint, "r") as f:
            self.assertGreaterEqual(f.attrs["finished_macro_segments"], 1)
        # Another micro budget rule cannot continue it.
        other = self.resume(2, out, "--micro-k-rule", "proportional", check=False)
        self.assertEqual(other.returncode, 2, other.stderr)
        self.assertIn("micro-k-rule = 'inertia' in the checkpoint, 'proportional' here",
                      other.stderr)
        self.assert_same_as_reference(out, self.resume(2, out, "--checkpoint-every", 3).stdout)


if __name__ == "__main__":
    unittest.main(verbosity=2)
