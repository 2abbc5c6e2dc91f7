"""The stall watchdog (issue 14): a rank that stops answering without dying ends the job within
--stall-timeout plus a margin, with exit status 76 and one line on stderr naming the phase.

At each phase of a `segment --previous` run (start, before the host-name gather; read, seeding,
iteration, metrics, migration, write) rank 1 of 3 real mpiexec ranks stops itself with SIGSTOP
(MICROSEG_INJECT_FAILURE=1:PHASE:sigstop) under --stall-timeout 3; the run's output directory
holds a previous good run beforehand. Checked: the job ends within 3 + 15 s with status 76 and the
watchdog's message naming the phase; nothing that looks complete is written (no segments.h5, CSV
or manifest.json besides the previous run's, which stay byte for byte as they were); then
`--resume` (from the checkpoint where the fit got far enough to write one, from the beginning
otherwise) writes what an uninterrupted run writes (h5diff without tolerance, CSVs byte for
byte). When a rank dies (abort), mpiexec ends the others with SIGTERM and each names its phase in
one line. A 2 s pause of one rank under a 6 s timeout is survived with the same result. A
stopped rank that mpiexec wakes to end it, after another rank's watchdog fired, must not let
rank 0 move the outputs into place. Stopped ranks are killed with SIGKILL in a finally."""
import json
import os
import re
import shutil
import sys
import time
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "support"))
from microseg_run import (MICROSEG, MPIEXEC, assert_same_segmentation, directory_bytes,  # noqa: E402
                          kill_ranks, run, start_ranks, temp_dir)

EXIT_STALLED = 76
RANKS = 3
TIMEOUT = 3
MARGIN = 15
# Converges after several iterations with a checkpoint after each, so a fault after the fit
# leaves a checkpoint to resume from.
FIT = ["--k", 6, "--seed", 5, "--silhouette-sample", 300, "--checkpoint-every", 1]
CSV_OUTPUTS = ["profiles.csv", "quality.csv", "migration.csv", "migration_matrix.csv",
               "at_risk.csv"]


class StallWatchdog(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.dir = temp_dir()
        cls.data = os.path.join(cls.dir, "customers.h5")
        run(2, "generate", "--customers", 3000, "--segments", 6, "--separation", 2, "--seed", 4,
            "--output", cls.data)
        # Last quarter's run, compared with by every run here (so the migration join happens),
        # and the previous good output each faulted run's directory holds.
        cls.previous = os.path.join(cls.dir, "previous")
        run(RANKS, "segment", "--input", cls.data, "--output", cls.previous, "--k", 5, "--seed", 1)
        cls.reference = os.path.join(cls.dir, "reference")
        cls.reference_log = run(RANKS, *cls.segment_args(cls.reference)).stdout

    @classmethod
    def segment_args(cls, out, *extra):
        return ["segment", "--input", cls.data, "--output", out, "--previous", cls.previous,
                *FIT, *extra]

    def run_faulted(self, out, spec, *extra):
        """Runs segment into `out` with MICROSEG_INJECT_FAILURE=spec, or with each rank's own
        value when `spec` is a list (one per rank, "" for none); returns (exit status, stderr,
        seconds taken). Every rank is killed afterwards, stopped ones too."""
        args = [str(a) for a in self.segment_args(out, *extra)]
        cmd = [MPIEXEC, "--oversubscribe", "--bind-to", "none"]
        env = {}
        if isinstance(spec, list):
            # One application context per rank (env execs microseg, so the pids are the ranks').
            for rank, value in enumerate(spec):
                cmd += [":"] if rank else []
                cmd += ["-n", "1", "env", f"MICROSEG_INJECT_FAILURE={value}", MICROSEG, *args]
        else:
            cmd += ["-n", str(RANKS), MICROSEG, *args]
            env["MICROSEG_INJECT_FAILURE"] = spec
        started = time.monotonic()
        proc, pids = start_ranks(cmd, RANKS, env=env)
        try:
            _, stderr = proc.communicate(timeout=TIMEOUT + MARGIN + 30)
            return proc.returncode, stderr, time.monotonic() - started
        finally:
            kill_ranks(proc, pids)

    def check_stopped_rank(self, phase, *timeout_option, spec=None, name=None):
        out = os.path.join(self.dir, "stopped-" + (name or phase))
        shutil.copytree(self.previous, out)
        before = directory_bytes(out)
        status, stderr, seconds = self.run_faulted(out, spec or f"1:{phase}:sigstop",
                                                   *timeout_option)
        self.assertEqual(status, EXIT_STALLED, stderr)
        self.assertLessEqual(seconds, TIMEOUT + MARGIN, stderr)
        self.assertRegex(stderr, r"microseg: error: rank [02] on \S+: no progress for 3 s in phase "
                         + re.escape(phase) + r" \([^)]+\); a rank or the network stopped "
                         r"answering; ending the job \(exit status 76\)")
        # The previous run's files as they were; nothing new but hidden temporaries and the
        # checkpoint.
        after = directory_bytes(out)
        for name, content in before.items():
            self.assertEqual(after.get(name), content, f"{name} changed in phase {phase}")
        new = sorted(set(after) - set(before) - {"checkpoint.h5"})
        self.assertEqual([n for n in new if not n.startswith(".")], [], phase)
        resumed = run(RANKS, *self.segment_args(out, "--resume")).stdout
        if "checkpoint.h5" in after:
            self.assertIn("resuming from " + os.path.join(out, "checkpoint.h5"), resumed)
        assert_same_segmentation(self, self.reference, out, CSV_OUTPUTS)
        return after, stderr

    def test_rank_stopped_at_start_before_the_host_gather_ends_the_job_and_a_rerun_matches(self):
        # Before the plan: every rank takes --stall-timeout from its own command line.
        _, stderr = self.check_stopped_rank("start", "--stall-timeout", TIMEOUT)
        self.assertIn("(MPI_Allgather)", stderr)

    def test_a_rank_that_dies_leaves_the_others_naming_the_phase_when_mpiexec_ends_them(self):
        # mpiexec ends the surviving ranks with SIGTERM (SIGKILL a second later); each writes
        # one line naming its phase.
        out = os.path.join(self.dir, "died")
        status, stderr, _ = self.run_faulted(out, "1:seeding:abort", "--stall-timeout", 60)
        self.assertNotIn(status, (0, 2, EXIT_STALLED), stderr)
        lines = re.findall(r"microseg: rank ([02]) on \S+: received SIGTERM in phase (\w+) "
                           r"\((?:waiting in [^)]+|computing)\)\n", stderr)
        self.assertTrue(lines, stderr)
        self.assertEqual({phase for _, phase in lines}, {"seeding"}, stderr)
        # At most one line per rank.
        self.assertEqual(len(lines), len({rank for rank, _ in lines}), stderr)

    def test_rank_stopped_while_reading_ends_the_job_and_a_rerun_matches(self):
        self.check_stopped_rank("read", "--stall-timeout", TIMEOUT)

    def test_rank_stopped_while_seeding_ends_the_job_and_a_rerun_matches(self):
        self.check_stopped_rank("seeding", "--stall-timeout", TIMEOUT)

    def test_rank_stopped_after_an_iteration_ends_the_job_and_a_rerun_matches(self):
        self.check_stopped_rank("iteration", "--stall-timeout", TIMEOUT)

    def test_rank_stopped_in_metrics_ends_the_job_and_resume_matches(self):
        after, _ = self.check_stopped_rank("metrics", "--stall-timeout", TIMEOUT)
        self.assertIn("checkpoint.h5", after)

    def test_rank_stopped_in_the_migration_join_ends_the_job_and_resume_matches(self):
        after, _ = self.check_stopped_rank("migration", "--stall-timeout", TIMEOUT)
        self.assertIn("checkpoint.h5", after)

    def test_rank_stopped_before_outputs_move_into_place_with_a_job_file_timeout(self):
        job = os.path.join(self.dir, "stall.ini")
        with open(job, "w") as f:
            f.write(f"stall-timeout = {TIMEOUT}\n")
        after, stderr = self.check_stopped_rank("write", "--config", job)
        self.assertIn("checkpoint.h5", after)
        # The outputs were complete under their temporary names only.
        self.assertIn(".segments.h5.partial", after)
        # Rank 0 waits for every rank's flag in the agreement, so it names the silent one (when
        # it prints before mpiexec ends it: the first rank to give up ends the job).
        for line in re.findall(r"microseg: error: rank 0 on .*", stderr):
            self.assertIn("rank 1 on ", line.split("(", 1)[1])

    def test_a_pause_shorter_than_the_timeout_is_survived_with_the_same_result(self):
        out = os.path.join(self.dir, "paused")
        status, stderr, _ = self.run_faulted(out, "1:seeding:pause-2", "--stall-timeout", 6)
        self.assertEqual(status, 0, stderr)
        assert_same_segmentation(self, self.reference, out, CSV_OUTPUTS)

    def test_the_manifest_records_the_timeout_and_a_bad_value_is_refused(self):
        out = os.path.join(self.dir, "recorded")
        run(RANKS, *self.segment_args(out, "--stall-timeout", 40))
        with open(os.path.join(out, "manifest.json")) as f:
            self.assertEqual(json.load(f)["options"].get("stall-timeout"), "40")
        bad = run(RANKS, *self.segment_args(os.path.join(self.dir, "bad"), "--stall-timeout",
                                            "-1"), check=False)
        self.assertEqual(bad.returncode, 2, bad.stderr)
        self.assertIn("option --stall-timeout: invalid value '-1'", bad.stderr)
        self.assertFalse(os.path.exists(os.path.join(self.dir, "bad")))

    def test_a_stopped_rank_woken_to_be_ended_does_not_let_rank_0_move_outputs_into_place(self):
        # Rank 0 reaches the agreement 1 s after rank 2, so rank 2's watchdog fires first and
        # ends the job; mpiexec wakes the stopped rank 1 (SIGCONT) to end it, and rank 1 sends
        # its flag. Rank 2 sent its own before it exited, so rank 0 holds every flag: the
        # barrier after the agreement, which rank 2 never reaches, keeps the outputs unmoved.
        spec = ["0:write:pause-1", "1:write:sigstop", ""]
        after, stderr = self.check_stopped_rank("write", "--stall-timeout", TIMEOUT, spec=spec,
                                                name="woken")
        self.assertIn(".segments.h5.partial", after)
        self.assertRegex(stderr, r"rank 2 on \S+: no progress for 3 s in phase write")


if __name__ == "__main__":
    unittest.main(verbosity=2)
