"""`microseg sweep` as a user runs it: the table (sweep.csv, sweep.h5), metrics checked against
scikit-learn, stability as the mean adjusted Rand index between restarts (sklearn as the oracle),
the recommendation on data with planted segments, the same table on any rank count, a killed sweep
that resumes, and `microseg promote` writing exactly what `microseg segment` writes."""
import os
import signal
import subprocess
import sys
import time
import unittest

import h5py
import numpy as np
import pandas as pd
from sklearn.metrics import (adjusted_rand_score, calinski_harabasz_score, davies_bouldin_score,
                             silhouette_score)

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "support"))
from microseg_run import (MICROSEG, MPIEXEC, assert_drawn_png, manifest_problems,  # noqa: E402
                          read_table, run, stop_sweep_after_first_model, temp_dir,
                          zscore_like_microseg)

COLUMNS = ["k", "inertia", "calinski_harabasz", "davies_bouldin", "silhouette_simplified",
           "silhouette_sampled", "min_segment_size", "min_segment_share", "stability"]
PLANTED = 5
KS = list(range(2, 9))
SEED = 11
RESTARTS = 3


def datasets(path):
    out = {}
    with h5py.File(path, "r") as f:
        f.visititems(lambda name, obj: out.__setitem__(name, obj[...])
                     if isinstance(obj, h5py.Dataset) else None)
        out.update({f"quality@{k}": v for k, v in f["quality"].attrs.items()})
    return out


def read_csv(path):
    """sweep.csv with every number read back exactly (pandas' default parser may be 1 ulp off)."""
    return pd.read_csv(path, float_precision="round_trip")


def text(path):
    with open(path) as f:
        return f.read()


def kill_session(session):
    """SIGKILLs every process of the session (mpiexec and the ranks it started), then waits until
    they are gone, so no rank goes on writing after the kill."""
    def members():
        pids = []
        for entry in os.listdir("/proc"):
            if not entry.isdigit():
                continue
            try:
                with open(f"/proc/{entry}/stat") as f:
                    fields = f.read().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[3]) == session and fields[0] != "Z":  # fields[3] is the session id
                pids.append(int(entry))
        return pids
    for pid in members():
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    deadline = time.time() + 30
    while members() and time.time() < deadline:
        time.sleep(0.01)


def nearest(x, centroids):
    """Labels and squared distances to the nearest centroid (ties to the lowest index)."""
    d2 = ((x[:, None, :] - centroids[None, :, :]) ** 2).sum(axis=2)
    labels = d2.argmin(axis=1)
    return labels, d2[np.arange(len(x)), labels]


class Sweep(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.dir = temp_dir()
        cls.data = os.path.join(cls.dir, "customers.h5")
        run(2, "generate", "--customers", 4000, "--segments", PLANTED, "--separation", 5,
            "--seed", 4, "--output", cls.data)
        cls.out = os.path.join(cls.dir, "sweep")
        cls.proc = run(2, "sweep", "--input", cls.data, "--k", "2:8", "--restarts", RESTARTS,
                       "--seed", SEED, "--silhouette-sample", 800, "--output", cls.out)
        cls.table = read_csv(os.path.join(cls.out, "sweep.csv"))
        _, features, _ = read_table(cls.data)
        cls.x = zscore_like_microseg(features)

    def model(self, k):
        return h5py.File(os.path.join(self.out, "models", f"k-{k:04d}.h5"), "r")

    def test_csv_has_exactly_the_columns_of_the_issue_one_row_per_k(self):
        with open(os.path.join(self.out, "sweep.csv")) as f:
            self.assertEqual(f.readline().strip(), ",".join(COLUMNS))
        self.assertEqual(list(self.table.k), KS)
        self.assertTrue(np.isfinite(self.table.drop(columns="k").to_numpy()).all())

    def test_sweep_h5_holds_the_same_table_and_the_recommendation(self):
        with h5py.File(os.path.join(self.out, "sweep.h5"), "r") as f:
            table = f["sweep"][...]
            self.assertEqual(list(table.dtype.names), COLUMNS)
            for column in COLUMNS:
                np.testing.assert_array_equal(table[column], self.table[column].to_numpy(),
                                              err_msg=column)
            recommended = int(f.attrs["recommended_k"])
            runner_up = int(f.attrs["runner_up_k"])
            self.assertIn(recommended, KS)
            self.assertIn(runner_up, KS)
            self.assertNotEqual(recommended, runner_up)
            self.assertIn(f"k = {recommended} ranks first", f.attrs["recommended_reason"])
            self.assertIn(f"k = {runner_up} ranks first", f.attrs["runner_up_reason"])
            self.assertIn("Davies-Bouldin", f.attrs["recommendation_rule"])
            self.assertEqual(f["settings"].attrs["restarts"], RESTARTS)
        self.assertIn(f"recommended: k = {recommended} ranks first", self.proc.stdout)
        self.assertIn(f"runner-up: k = {runner_up} ranks first", self.proc.stdout)

    def test_recommends_the_planted_number_of_segments(self):
        with h5py.File(os.path.join(self.out, "sweep.h5"), "r") as f:
            self.assertEqual(int(f.attrs["recommended_k"]), PLANTED, f.attrs["recommended_reason"])

    def test_metrics_agree_with_scikit_learn_on_the_kept_model(self):
        for k in (3, PLANTED, 8):
            with self.subTest(k=k), self.model(k) as m:
                labels, d2 = nearest(self.x, m["centroids"][...])
                row = self.table[self.table.k == k].iloc[0]
                self.assertAlmostEqual(row.inertia, d2.sum(), delta=1e-9 * d2.sum())
                self.assertAlmostEqual(row.calinski_harabasz,
                                       calinski_harabasz_score(self.x, labels),
                                       delta=1e-9 * row.calinski_harabasz)
                self.assertAlmostEqual(row.davies_bouldin, davies_bouldin_score(self.x, labels),
                                       delta=1e-9)
                sizes = np.bincount(labels, minlength=k)
                np.testing.assert_array_equal(m["segments/size"][...], sizes)
                self.assertEqual(row.min_segment_size, sizes.min())
                self.assertEqual(row.min_segment_share, sizes.min() / len(self.x))

    def test_stability_is_the_mean_adjusted_rand_index_between_restarts(self):
        # sklearn's adjusted_rand_score on the restarts' assignments of every customer.
        spread = []
        for k in KS:
            with self.subTest(k=k), self.model(k) as m:
                centroids = m["restarts/centroids"][...]
                self.assertEqual(centroids.shape, (RESTARTS, k, self.x.shape[1]))
                labels = [nearest(self.x, c)[0] for c in centroids]
                pairs = [adjusted_rand_score(labels[a], labels[b])
                         for a in range(RESTARTS) for b in range(a + 1, RESTARTS)]
                stability = self.table[self.table.k == k].stability.iloc[0]
                self.assertAlmostEqual(stability, np.mean(pairs), delta=1e-12)
                spread.append(stability)
                best = int(m.attrs["best_restart"])
                self.assertEqual(m["restarts/inertia"][...].argmin(), best)
                np.testing.assert_array_equal(m["centroids"][...], centroids[best])
        # Not a constant: the planted k reproduces, some other k do not.
        self.assertGreater(max(spread) - min(spread), 0.05)

    def test_stability_with_one_restart_comes_from_two_random_halves(self):
        tables = {}
        for ranks in (1, 3):
            out = os.path.join(self.dir, f"halves-{ranks}")
            run(ranks, "sweep", "--input", self.data, "--k", f"{PLANTED},{PLANTED + 4}",
                "--restarts", 1, "--seed", SEED, "--silhouette-sample", 800, "--output", out)
            tables[ranks] = read_csv(os.path.join(out, "sweep.csv"))
        np.testing.assert_array_equal(tables[1]["stability"], tables[3]["stability"])
        stability = dict(zip(tables[1]["k"], tables[1]["stability"]))
        # The planted segments are found from either half; too many segments split them
        # differently in the two halves.
        self.assertGreater(stability[PLANTED], 0.95)
        self.assertLess(stability[PLANTED + 4], 0.9)

    def test_silhouette_sample_is_stratified_by_segment(self):
        for k in (PLANTED, 8):
            with self.subTest(k=k), self.model(k) as m:
                sizes = m["segments/size"][...]
                sample = m["segments/silhouette_sample_size"][...]
                self.assertEqual(sample.sum(), 800)
                # Every segment gets the same quota, or all of itself when smaller.
                quota = sample.max()
                for size, taken in zip(sizes, sample):
                    self.assertIn(taken, (min(size, quota), min(size, quota - 1)))

    def test_silhouette_of_a_sample_of_everyone_is_scikit_learns(self):
        out = os.path.join(self.dir, "everyone")
        run(3, "sweep", "--input", self.data, "--k", "4,5", "--restarts", 1, "--seed", SEED,
            "--silhouette-sample", 4000, "--output", out)
        table = read_csv(os.path.join(out, "sweep.csv"))
        for k in (4, 5):
            with h5py.File(os.path.join(out, "models", f"k-{k:04d}.h5"), "r") as m:
                labels, _ = nearest(self.x, m["centroids"][...])
            self.assertAlmostEqual(table[table.k == k].silhouette_sampled.iloc[0],
                                   silhouette_score(self.x, labels), delta=1e-9)
            # One restart: stability from two random halves, an adjusted Rand index.
            self.assertTrue(0 < table[table.k == k].stability.iloc[0] <= 1)

    def test_the_table_is_the_same_on_any_rank_count(self):
        reference = text(os.path.join(self.out, "sweep.csv"))
        for ranks in (1, 3):
            out = os.path.join(self.dir, f"ranks-{ranks}")
            run(ranks, "sweep", "--input", self.data, "--k", "2:8", "--restarts", RESTARTS,
                "--seed", SEED, "--silhouette-sample", 800, "--output", out)
            self.assertEqual(text(os.path.join(out, "sweep.csv")), reference, ranks)

    def sweep_on_two_ranks(self, out):
        """The mpiexec command line of the class's sweep (k = 2:8) into `out`, for Popen."""
        return [MPIEXEC, "--oversubscribe", "--bind-to", "none", "-n", "2", MICROSEG, "sweep",
                "--input", self.data, "--k", "2:8", "--restarts", str(RESTARTS), "--seed",
                str(SEED), "--silhouette-sample", "800", "--output", out]

    def test_a_killed_sweep_resumes_with_only_the_unfinished_k(self):
        out = os.path.join(self.dir, "killed")
        models = os.path.join(out, "models")
        cmd = self.sweep_on_two_ranks(out)
        proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                start_new_session=True)
        deadline = time.time() + 60
        while time.time() < deadline and proc.poll() is None:
            if os.path.isdir(models) and any(n.endswith(".h5") for n in os.listdir(models)):
                break
            time.sleep(0.005)
        kill_session(proc.pid)
        proc.wait()
        finished = sorted(n for n in os.listdir(models) if n.endswith(".h5"))
        self.assertGreaterEqual(len(finished), 1)
        self.assertLess(len(finished), len(KS), "the sweep ended before it could be killed")
        self.assertFalse(os.path.exists(os.path.join(out, "sweep.csv")))
        before = {n: os.stat(os.path.join(models, n)).st_mtime_ns for n in finished}

        resumed = run(2, *cmd[cmd.index("sweep"):])
        kept = [int(n[2:6]) for n in finished]
        for k in KS:
            self.assertEqual(f"k = {k}: finished earlier, kept" in resumed.stdout, k in kept, k)
        for n, mtime in before.items():
            self.assertEqual(os.stat(os.path.join(models, n)).st_mtime_ns, mtime, n)
        self.assertEqual(text(os.path.join(out, "sweep.csv")),
                         text(os.path.join(self.out, "sweep.csv")))

    def test_a_sweep_stopped_by_sigusr1_exits_75_and_the_rerun_fits_only_the_rest(self):
        # SIGUSR1 is what Slurm sends before a time limit (mpiexec forwards it to the ranks). The
        # iterations are slowed (rank 0 sleeps 100 ms in each) so the signal lands mid-sweep.
        out = os.path.join(self.dir, "signalled")
        models = os.path.join(out, "models")
        cmd = self.sweep_on_two_ranks(out)
        status, stderr = stop_sweep_after_first_model(cmd, models)
        self.assertEqual(status, 75, stderr)
        self.assertRegex(stderr, r"stopped on SIGUSR1 (while fitting|before) k = \d+; the \d+ k "
                                 r"value\(s\) finished are kept in .*models/")
        self.assertFalse(os.path.exists(os.path.join(out, "sweep.csv")))
        self.assertFalse(os.path.exists(os.path.join(out, "manifest.json")))
        finished = sorted(n for n in os.listdir(models) if n.endswith(".h5"))
        self.assertLess(len(finished), len(KS), "the sweep ended before the signal")

        resumed = run(2, *cmd[cmd.index("sweep"):])
        for k in KS:
            self.assertEqual(f"k = {k}: finished earlier, kept" in resumed.stdout,
                             f"k-{k:04d}.h5" in finished, k)
        self.assertEqual(text(os.path.join(out, "sweep.csv")),
                         text(os.path.join(self.out, "sweep.csv")))

    def test_promote_writes_what_segment_writes_without_refitting(self):
        run_dir = os.path.join(self.dir, "promoted")
        promoted = run(3, "promote", "--sweep", self.out, "--k", PLANTED, "--output", run_dir)
        self.assertIn("no refit", promoted.stdout)
        self.assertNotIn("iteration", promoted.stdout)
        segment_dir = os.path.join(self.dir, "segmented")
        run(2, "segment", "--input", self.data, "--k", PLANTED, "--restarts", RESTARTS, "--seed",
            SEED, "--silhouette-sample", 800, "--output", segment_dir)
        ours = datasets(os.path.join(run_dir, "segments.h5"))
        theirs = datasets(os.path.join(segment_dir, "segments.h5"))
        for name in ("assignments/id", "assignments/segment", "assignments/distance",
                     "centroids/scaled", "centroids/original", "profiles/size", "profiles/mean",
                     "profiles/lift"):
            self.assertIn(name, ours)
        for name, value in ours.items():
            if name in theirs:
                with self.subTest(dataset=name):
                    np.testing.assert_array_equal(value, theirs[name])
        with h5py.File(os.path.join(run_dir, "segments.h5"), "r") as f:
            self.assertEqual(f["run"].attrs["k"], PLANTED)
            self.assertTrue(f["run"].attrs["promoted_from"].endswith(f"k-{PLANTED:04d}.h5"))
        for name in ("profiles.csv", "quality.csv"):
            self.assertTrue(os.path.exists(os.path.join(run_dir, name)))
        # The sweep's table row and the promoted run measure the same model.
        row = self.table[self.table.k == PLANTED].iloc[0]
        self.assertEqual(ours["quality@inertia"], row.inertia)
        self.assertEqual(ours["quality@davies_bouldin"], row.davies_bouldin)

    def test_a_promoted_run_feeds_assign_and_a_later_previous_run(self):
        run_dir = os.path.join(self.dir, "promoted-model")
        run(2, "promote", "--sweep", self.out, "--k", PLANTED, "--output", run_dir)
        with h5py.File(os.path.join(run_dir, "segments.h5"), "r") as f:
            segments = f["assignments/segment"][...]
            np.testing.assert_array_equal(f["model/segment_ids"][...], np.arange(PLANTED))
            self.assertEqual(f["model"].attrs["next_segment_id"], PLANTED)
        scored = os.path.join(self.dir, "scored")
        run(3, "assign", "--model", run_dir, "--input", self.data, "--output", scored)
        with h5py.File(os.path.join(scored, "assignments.h5"), "r") as f:
            np.testing.assert_array_equal(f["assignments/segment"][...], segments)
        later = os.path.join(self.dir, "after-promoted")
        run(1, "segment", "--input", self.data, "--k", PLANTED, "--seed", SEED + 1, "--previous",
            run_dir, "--output", later)
        with h5py.File(os.path.join(later, "segments.h5"), "r") as f:
            self.assertEqual(f["migration"].attrs["common_customers"], len(segments))
            self.assertEqual(len(f["migration/fresh_segment_ids"]), 0)
            self.assertGreater(f["migration"].attrs["share_stayed"], 0.99)  # another seed

    def test_sweep_and_promote_write_a_manifest_checked_by_sha256sum(self):
        self.assertEqual(manifest_problems(self.out, "sweep"), [])
        run_dir = os.path.join(self.dir, "promoted")
        if not os.path.exists(run_dir):
            run(3, "promote", "--sweep", self.out, "--k", PLANTED, "--output", run_dir)
        self.assertEqual(manifest_problems(run_dir, "promote"), [])

    def test_promote_without_k_takes_the_recommended_k(self):
        run_dir = os.path.join(self.dir, "recommended")
        run(2, "promote", "--sweep", self.out, "--output", run_dir)
        with h5py.File(os.path.join(self.out, "sweep.h5"), "r") as f:
            recommended = int(f.attrs["recommended_k"])
        with h5py.File(os.path.join(run_dir, "segments.h5"), "r") as f:
            self.assertEqual(f["run"].attrs["k"], recommended)

    def test_plot_shows_the_metrics_against_k(self):
        script = os.path.join(os.path.dirname(__file__), "..", "..", "scripts", "plot_sweep.py")
        png = os.path.join(self.dir, "sweep.png")
        proc = subprocess.run([sys.executable, script, self.out, "--output", png],
                              capture_output=True, text=True, timeout=120)
        self.assertEqual(proc.returncode, 0, proc.stderr)
        assert_drawn_png(self, png, 400, 600)
        missing = subprocess.run([sys.executable, script, os.path.join(self.dir, "nothing")],
                                 capture_output=True, text=True, timeout=120)
        self.assertNotEqual(missing.returncode, 0)
        self.assertIn("sweep.h5", missing.stderr)


if __name__ == "__main__":
    unittest.main(verbosity=2)
