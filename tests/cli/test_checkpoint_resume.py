"""Checkpoint and resume of `microseg segment` with real signals (issue 7): runs under real
mpiexec at 2 and 3 ranks are stopped by SIGUSR1 sent to mpiexec (which forwards it to the
ranks), by SIGTERM sent to the rank processes (what Slurm does at a time limit), and by SIGKILL
after a periodic checkpoint (--checkpoint-every); each is resumed with --resume, at another
rank count too, and its outputs are compared with an uninterrupted run's by `h5diff` without
tolerance and the CSVs byte for byte. A checkpoint from another configuration or input is
refused, naming what differs. Every finished run's manifest.json lists each output with the
sha256 that `sha256sum` computes.

Lloyd iterations on this small input take microseconds, so the fits are slowed with the
fault-injection hook MICROSEG_INJECT_FAILURE=0:iteration:stall (rank 0 sleeps 100 ms after each
iteration; the others wait for it): the signals arrive at a known point of a real run."""
import json
import os
import re
import shutil
import signal
import stat
import sys
import unittest

import h5py

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "support"))
from microseg_run import (MICROSEG, MPIEXEC, assert_resumed_like_reference,  # noqa: E402
                          manifest_problems, run, run_and_signal, temp_dir)

EXIT_INTERRUPTED = 75
SLOW = "0:iteration:stall"
# Two restarts, so a checkpoint must carry the best finished restart as well as the current one.
FIT = ["--k", 10, "--restarts", 2, "--seed", 7, "--silhouette-sample", 500]
CSV_OUTPUTS = ["profiles.csv", "quality.csv"]


def interrupt(ranks, out, after, signum, to, *extra):
    """Starts `segment` on `ranks` ranks with slowed iterations; when a line containing `after`
    appears, sends `signum` to mpiexec (to="mpiexec"), to the rank processes (to="ranks"), or
    to both (to="all"). Returns (exit status, combined output)."""
    cmd = [MPIEXEC, "--oversubscribe", "--bind-to", "none", "-n", str(ranks), MICROSEG,
           "segment", "--input", Resume.data, "--output", out] + [str(a) for a in FIT + list(extra)]
    return run_and_signal(cmd, ranks, after, signum, to, env={"MICROSEG_INJECT_FAILURE": SLOW},
                          timeout=60)


class Resume(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.dir = temp_dir()
        cls.data = os.path.join(cls.dir, "customers.h5")
        run(2, "generate", "--customers", 4000, "--segments", 8, "--separation", 1.5, "--seed", 3,
            "--output", cls.data)
        # The uninterrupted reference; --resume with no checkpoint starts from the beginning.
        cls.reference = os.path.join(cls.dir, "reference")
        cls.reference_log = run(2, "segment", "--input", cls.data, "--output", cls.reference,
                                "--resume", *FIT).stdout

    def resume(self, ranks, out, *extra, check=True):
        return run(ranks, "segment", "--input", self.data, "--output", out, "--resume",
                   *(FIT + list(extra)), check=check)

    def assert_stopped(self, status, log, out, signal_name):
        self.assertEqual(status, EXIT_INTERRUPTED, log)
        stop = re.search(r"microseg: stopped on " + signal_name + r" after iteration (\d+) of "
                         r"restart (\d+): checkpoint written to (\S+); run again with --resume",
                         log)
        self.assertIsNotNone(stop, log)
        checkpoint = os.path.join(out, "checkpoint.h5")
        self.assertEqual(stop.group(3), checkpoint)
        # Only the checkpoint, mode 0640: no final output, no temporary left behind.
        self.assertEqual(os.listdir(out), ["checkpoint.h5"])
        self.assertEqual(stat.S_IMODE(os.stat(checkpoint).st_mode), 0o640)
        with h5py.File(checkpoint, "r") as f:
            self.assertEqual((f.attrs["iteration"], f.attrs["restart"]),
                             (int(stop.group(1)), int(stop.group(2))))
        return int(stop.group(1)), int(stop.group(2))

    def assert_same_as_reference(self, out, log):
        assert_resumed_like_reference(self, self.reference, out, log, CSV_OUTPUTS)

    def test_sigusr1_to_mpiexec_after_iteration_1_then_resume_on_3_ranks(self):
        out = os.path.join(self.dir, "usr1")
        status, log = interrupt(2, out, "restart 0  iteration    1 ", signal.SIGUSR1, "mpiexec")
        iteration, restart = self.assert_stopped(status, log, out, "SIGUSR1")
        self.assertEqual(restart, 0)
        self.assertGreaterEqual(iteration, 1)
        self.assert_same_as_reference(out, self.resume(3, out).stdout)

    def test_sigterm_to_the_ranks_in_the_second_restart_then_resume_on_2_ranks(self):
        out = os.path.join(self.dir, "term")
        status, log = interrupt(3, out, "restart 1  iteration    3 ", signal.SIGTERM, "ranks")
        iteration, restart = self.assert_stopped(status, log, out, "SIGTERM")
        self.assertEqual(restart, 1)
        self.assertGreaterEqual(iteration, 3)
        with h5py.File(os.path.join(out, "checkpoint.h5"), "r") as f:
            self.assertEqual(f.attrs["best_restart"], 0)  # restart 0 finished before the stop
        self.assert_same_as_reference(out, self.resume(2, out).stdout)

    def test_periodic_checkpoint_survives_sigkill_and_a_foreign_resume_is_refused(self):
        out = os.path.join(self.dir, "killed")
        status, log = interrupt(3, out, "restart 0  iteration    9 ", signal.SIGKILL, "all",
                                "--checkpoint-every", 4)
        self.assertNotIn(status, (0, EXIT_INTERRUPTED), log)
        self.assertIn("checkpoint: restart 0, iteration 8 written to", log)
        checkpoint = os.path.join(out, "checkpoint.h5")
        self.assertEqual(sorted(os.listdir(out)), ["checkpoint.h5"])
        with h5py.File(checkpoint, "r") as f:
            self.assertEqual((f.attrs["restart"], f.attrs["iteration"]), (0, 8))
        with open(checkpoint, "rb") as f:
            saved = f.read()

        # Another configuration: refused with exit 2, naming the option.
        other = self.resume(2, out, "--tol", "1e-3", check=False)
        self.assertEqual(other.returncode, 2, other.stderr)
        self.assertIn(f"cannot resume from checkpoint '{checkpoint}': it was written by a run "
                      "with another configuration: tol = '1e-04' in the checkpoint, '0.001' here",
                      other.stderr)
        # Other input data (one value changed, same shape and names): refused, naming the digest.
        changed = os.path.join(self.dir, "changed.h5")
        shutil.copy(self.data, changed)
        with h5py.File(changed, "r+") as f:
            f["customers/features"][17, 1] += 1.0
        foreign = run(2, "segment", "--input", changed, "--output", out, "--resume", *FIT,
                      check=False)
        self.assertEqual(foreign.returncode, 2, foreign.stderr)
        self.assertRegex(foreign.stderr, r"it was written for other input data \(that run read "
                         + re.escape(f"'{self.data}'") + r"\): content_digest = '[0-9a-f]{16}' in "
                         r"the checkpoint, '[0-9a-f]{16}' here")
        with open(checkpoint, "rb") as f:
            self.assertEqual(f.read(), saved, "a refused resume must leave the checkpoint alone")
        self.assertEqual(os.listdir(out), ["checkpoint.h5"])

        log = self.resume(2, out).stdout
        self.assertIn(f"resuming from {checkpoint}: restart 0, after iteration 8", log)
        self.assert_same_as_reference(out, log)

    def test_manifest_lists_every_output_with_the_sha256_of_sha256sum(self):
        self.assertIn("--resume: no checkpoint at " + os.path.join(self.reference, "checkpoint.h5")
                      + ", so the run starts from the beginning", self.reference_log)
        path = os.path.join(self.reference, "manifest.json")
        with open(path) as f:
            manifest = json.load(f)
        self.assertEqual(manifest_problems(self.reference, "segment"), [])
        self.assertEqual(manifest["command"], "segment")
        self.assertEqual(manifest["ranks"], 2)
        self.assertEqual(manifest["threads_per_rank"], 1)
        self.assertEqual(manifest["input"]["path"], os.path.abspath(self.data))
        fingerprint = manifest["input"]["fingerprint"]
        with h5py.File(self.data, "r") as f:
            self.assertEqual(int(fingerprint["customers"]), f["customers/id"].shape[0])
            names = [n.decode() if isinstance(n, bytes) else n
                     for n in f["customers/features"].attrs["feature_names"]]
        self.assertEqual(fingerprint["features"], ",".join(names))
        self.assertRegex(fingerprint["content_digest"], "^[0-9a-f]{16}$")
        self.assertEqual(manifest["configuration"]["seed"], "7")
        self.assertEqual(manifest["configuration"]["restarts"], "2")
        self.assertEqual(sorted(manifest["versions"]), ["boost", "eigen", "hdf5", "microseg", "mpi"])
        self.assertIn("Open MPI", manifest["versions"]["mpi"])
        h5py_hdf5 = h5py.version.hdf5_version
        self.assertEqual(manifest["versions"]["hdf5"], h5py_hdf5)


if __name__ == "__main__":
    unittest.main(verbosity=2)
