"""A failure on one rank ends the whole job cleanly: within seconds, with a message naming the
rank and the cause, no hang, and no output that looks complete; a previous good output in the
same directory is kept byte for byte. Failures are injected on rank 1 of 3 through
MICROSEG_INJECT_FAILURE=rank:stage:kind (src/distributed/fault_injection.cpp) at two stages:
`read` (inside the collective read of the customer table, while the other ranks wait in it) and
`write` (every output complete under its temporary name, nothing renamed into place yet)."""
import os
import re
import signal
import subprocess
import sys
import time
import unittest

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "support"))
from microseg_run import MICROSEG, MPIEXEC, run, temp_dir, write_columns  # noqa: E402

RANKS = 3
FAILING_RANK = 1
# A job that has not ended by then counts as hung. agree()'s grace period is 10 s.
ENDS_WITHIN_SECONDS = 30
OUTPUTS = ["manifest.json", "profiles.csv", "quality.csv", "segments.h5"]


def run_with_failure(spec, *args):
    """Runs microseg at RANKS ranks with MICROSEG_INJECT_FAILURE=spec. Returns (exit status,
    stderr, seconds). A hung job is ended with SIGTERM to mpiexec (which ends its ranks), then
    SIGKILL to the session it leads, and reported as status None."""
    cmd = [MPIEXEC, "--oversubscribe", "--bind-to", "none", "-n", str(RANKS), MICROSEG]
    cmd += [str(a) for a in args]
    env = dict(os.environ, MICROSEG_INJECT_FAILURE=spec)
    start = time.monotonic()
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, start_new_session=True)
    try:
        _, stderr = proc.communicate(timeout=2 * ENDS_WITHIN_SECONDS)
        status = proc.returncode
    except subprocess.TimeoutExpired:
        proc.send_signal(signal.SIGTERM)
        try:
            _, stderr = proc.communicate(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            _, stderr = proc.communicate()
        status = None
    return status, stderr, time.monotonic() - start


def snapshot(directory):
    """Name -> (bytes, mtime) of every file in a directory, hidden ones too."""
    result = {}
    for name in sorted(os.listdir(directory)):
        path = os.path.join(directory, name)
        with open(path, "rb") as f:
            result[name] = (f.read(), os.stat(path).st_mtime_ns)
    return result


class FailureOnOneRank(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.dir = temp_dir()
        rng = np.random.default_rng(11)
        n = 3000
        cls.input = os.path.join(cls.dir, "customers.h5")
        write_columns(cls.input, np.arange(n) + 10, {
            "age": rng.uniform(18, 80, n), "monetary": rng.lognormal(3, 1, n),
            "frequency": rng.poisson(4, n).astype(np.float64)})

    def setUp(self):
        # A previous good run in the output directory: a failed run must keep it as it is.
        self.out = os.path.join(temp_dir(), "run")
        self.segment_args = ["segment", "--input", self.input, "--k", 4, "--output", self.out]
        run(RANKS, *self.segment_args)
        self.before = snapshot(self.out)

    def fail(self, stage, kind):
        status, stderr, seconds = run_with_failure(f"{FAILING_RANK}:{stage}:{kind}",
                                                   *self.segment_args)
        self.assertIsNotNone(status, f"the job hung and was killed\nstderr:\n{stderr}")
        self.assertNotEqual(status, 0, stderr)
        self.assertLess(seconds, ENDS_WITHIN_SECONDS, stderr)
        return status, stderr

    def assert_previous_output_kept(self, leftovers_allowed=False):
        after = snapshot(self.out)
        for name in OUTPUTS:
            self.assertEqual(after[name], self.before[name], f"{name} changed")
        extra = sorted(set(after) - set(self.before))
        if leftovers_allowed:
            # A killed rank cannot clean up: its temporaries stay hidden and never look complete.
            for name in extra:
                self.assertRegex(name, r"^\..*\.partial$")
        else:
            self.assertEqual(extra, [])

    def test_exception_on_one_rank_while_reading_ends_the_job_at_once(self):
        status, stderr = self.fail("read", "throw")
        self.assertIn(f"microseg: error on rank {FAILING_RANK} of {RANKS}: injected failure",
                      stderr)
        self.assertIn("stage 'read'", stderr)
        self.assert_previous_output_kept()

    def test_input_error_on_one_rank_alone_ends_the_job_after_the_grace_period(self):
        # An error meant to strike every rank alike that strikes one rank only (e.g. the file
        # changed under it): the others wait in the collective read, so the rank ends the job.
        status, stderr = self.fail("read", "input-error")
        self.assertIn(f"microseg: error on rank {FAILING_RANK} of {RANKS}: injected input error",
                      stderr)
        self.assertIn("did not come to agree", stderr)
        self.assert_previous_output_kept()

    def test_exception_on_one_rank_before_outputs_move_into_place_is_agreed(self):
        # Every rank reaches the agreement: one clean message, exit status 2, temporaries gone.
        status, stderr = self.fail("write", "throw")
        self.assertEqual(status, 2, stderr)
        self.assertEqual(stderr.count("microseg: error"), 1, stderr)
        self.assertIn(f"injected failure on rank {FAILING_RANK} at stage 'write'", stderr)
        self.assert_previous_output_kept()

    def test_abort_on_one_rank_while_reading_ends_the_job(self):
        status, stderr = self.fail("read", "abort")
        self.assertRegex(stderr, rf"rank {FAILING_RANK} .*signal {int(signal.SIGABRT)}")
        self.assert_previous_output_kept()

    def test_segfault_on_one_rank_before_outputs_move_into_place_leaves_no_complete_file(self):
        status, stderr = self.fail("write", "segfault")
        self.assertRegex(stderr, rf"rank {FAILING_RANK} .*signal {int(signal.SIGSEGV)}")
        self.assert_previous_output_kept(leftovers_allowed=True)
        # The next good run replaces the outputs and its temporaries are gone afterwards.
        run(RANKS, *self.segment_args)
        self.assertEqual(sorted(os.listdir(self.out)), OUTPUTS)

    def test_a_mistyped_injection_is_refused_rather_than_ignored(self):
        status, stderr, _ = run_with_failure(f"{FAILING_RANK}:read:explode", *self.segment_args)
        self.assertNotEqual(status, 0)
        self.assertTrue(re.search(r"MICROSEG_INJECT_FAILURE='1:read:explode' is malformed",
                                  stderr), stderr)
        self.assert_previous_output_kept()


if __name__ == "__main__":
    unittest.main(verbosity=2)
