"""`microseg sweep --macro-k M` (the micro budget of a two-level run swept) as a user runs it: on a
planted two-level base it recommends the planted budget, its rows measure the micro level over
all customers and agree with the run `promote` writes, which equals `segment --macro-k M --k K`
(h5diff, /run aside), the files are bit-identical on 1 and 3 ranks, stability is the restarts'
agreement at the micro level (checked with scikit-learn from the saved centroids), a stopped
sweep resumes, sweep-merge joins two-level parts, and what does not combine is refused."""
import os
import shutil
import sys
import unittest

import h5py
import numpy as np
import pandas as pd
from sklearn.metrics import adjusted_rand_score

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "support"))
from microseg_run import (MICROSEG, MPIEXEC, h5diff, manifest_problems, read_table, run,  # noqa: E402
                          stop_sweep_after_first_model, temp_dir)

LOG1P = "monetary,income,avg_basket,frequency"
KS = [8, 12, 16]
PLANTED = 12
SETTINGS = ["--macro-k", 4, "--seed", 3, "--silhouette-sample", 1000, "--log1p", LOG1P]
OPTIONS = SETTINGS + ["--restarts", 2]
# Attributes of /run that record how and where a run was made rather than its result.
RUN_RECORD = {"configuration", "promoted_from", "ranks"}


def text(path):
    with open(path) as f:
        return f.read()


def balanced_copy(source, target, per_segment):
    """The first `per_segment` customers of every planted segment of a generated table, so every
    macro segment holds its 3 planted micro-segments in equal numbers."""
    with h5py.File(source, "r") as f, h5py.File(target, "w") as out:
        planted = f["customers/planted_segment"][()]
        keep = np.sort(np.concatenate([np.flatnonzero(planted == s)[:per_segment]
                                       for s in np.unique(planted)]))
        group = out.create_group("customers")
        for name, dataset in f["customers"].items():
            group.create_dataset(name, data=dataset[()][keep])
            for key, value in dataset.attrs.items():
                group[name].attrs[key] = value


def model_path(directory, k):
    return os.path.join(directory, "models", f"k-{k:04d}.h5")


def without_seconds(path, scratch):
    """A copy of a sweep model without its root attribute `seconds` (the time it took)."""
    copy = os.path.join(scratch, os.path.basename(os.path.dirname(os.path.dirname(path))) + "-" +
                        os.path.basename(path))
    shutil.copyfile(path, copy)
    with h5py.File(copy, "r+") as f:
        del f.attrs["seconds"]
    return copy


def scaled_features(data, model):
    """The customers in the sweep's scaled space, from the transform the model saved."""
    _, features, names = read_table(data)
    with h5py.File(model, "r") as f:
        order = [names.index(n) for n in f["scaling"].attrs["feature_names"]]
        offset, scale = f["scaling/offset"][()], f["scaling/scale"][()]
        log1p = f["scaling/log1p"][()].astype(bool)
    x = features[:, order].astype(np.float32).astype(np.float64)
    x[:, log1p] = np.log1p(x[:, log1p])
    return ((x - offset) / scale).astype(np.float32).astype(np.float64)


def nearest(x, centroids):
    return ((x[:, None, :] - centroids[None, :, :]) ** 2).sum(axis=2).argmin(axis=1)


class TwoLevelSweep(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.dir = temp_dir()
        cls.generated = os.path.join(cls.dir, "generated.h5")
        run(2, "generate", "--customers", 12000, "--segments", 12, "--separation", 8,
            "--macro-segments", 4, "--macro-separation", 16, "--seed", 7,
            "--output", cls.generated)
        # The share-out rules see sizes and inertia, not how many micro-segments are planted in
        # a macro segment; the generator's sizes differ up to threefold, so on its base a budget
        # of 12 is shared 4, 3, 3, 2 (say) and 12 is not the planted partition. With 300
        # customers of every planted segment, `proportional` shares 8, 12 and 16 evenly.
        cls.data = os.path.join(cls.dir, "balanced.h5")
        balanced_copy(cls.generated, cls.data, 300)
        cls.sweeps, cls.logs = {}, {}
        for ranks in (1, 3):
            out = os.path.join(cls.dir, f"sweep-{ranks}")
            cls.logs[ranks] = run(ranks, "sweep", "--input", cls.data, "--k", "8,12,16",
                                  "--micro-k-rule", "proportional", "--output", out,
                                  *OPTIONS).stdout
            cls.sweeps[ranks] = out
        cls.sweep = cls.sweeps[1]
        cls.table = pd.read_csv(os.path.join(cls.sweep, "sweep.csv"), float_precision="round_trip")
        cls.promoted = os.path.join(cls.dir, "promoted")
        run(3, "promote", "--sweep", cls.sweep, "--k", PLANTED, "--output", cls.promoted)
        cls.segmented = os.path.join(cls.dir, "segmented")
        run(2, "segment", "--input", cls.data, "--k", PLANTED, "--micro-k-rule", "proportional",
            "--output", cls.segmented, *OPTIONS)

    def assert_same_run(self, promoted, segmented):
        """Every output of the two runs is identical but what /run records of how it was made."""
        status, report = h5diff(os.path.join(promoted, "segments.h5"),
                                os.path.join(segmented, "segments.h5"), exclude_attributes=["/run"])
        self.assertEqual(status, 0, report)
        for name in ("profiles.csv", "macro_profiles.csv", "quality.csv"):
            self.assertEqual(text(os.path.join(promoted, name)), text(os.path.join(segmented, name)),
                             name)
        with h5py.File(os.path.join(promoted, "segments.h5"), "r") as a, \
                h5py.File(os.path.join(segmented, "segments.h5"), "r") as b:
            ours, theirs = dict(a["run"].attrs), dict(b["run"].attrs)
            self.assertTrue(ours["promoted_from"].endswith(f"k-{PLANTED:04d}.h5"))
            for key in set(ours) | set(theirs):
                if key in RUN_RECORD or key.startswith("seconds_"):
                    continue
                with self.subTest(attribute=key):
                    self.assertEqual(ours.get(key), theirs.get(key))
        self.assertEqual(manifest_problems(promoted, "promote"), [])

    def test_recommends_the_planted_micro_budget(self):
        with h5py.File(os.path.join(self.sweep, "sweep.h5"), "r") as f:
            self.assertEqual(int(f.attrs["recommended_k"]), PLANTED)
            self.assertIn(f"k = {PLANTED} ranks first", f.attrs["recommended_reason"])
        self.assertIn(f"recommended: k = {PLANTED} ranks first", self.logs[1])
        # ... and k = 12 is the planted partition at both levels.
        with h5py.File(self.data, "r") as f:
            planted = f["customers/planted_segment"][()]
            planted_macro = f["customers/planted_macro_segment"][()]
        with h5py.File(os.path.join(self.promoted, "segments.h5"), "r") as f:
            self.assertGreaterEqual(adjusted_rand_score(planted, f["assignments/segment"][()]), 0.95)
            self.assertGreaterEqual(
                adjusted_rand_score(planted_macro, f["assignments/macro_segment"][()]), 0.95)

    def test_the_table_says_it_measures_the_micro_level(self):
        with open(os.path.join(self.sweep, "sweep.csv")) as f:
            self.assertEqual(f.readline().strip(),
                             "k,inertia,calinski_harabasz,davies_bouldin,silhouette_simplified,"
                             "silhouette_sampled,min_segment_size,min_segment_share,stability")
        self.assertEqual(list(self.table.k), KS)
        self.assertTrue(np.isfinite(self.table.drop(columns="k").to_numpy()).all())
        with h5py.File(os.path.join(self.sweep, "sweep.h5"), "r") as f:
            self.assertEqual(f.attrs["macro_k"], 4)
            self.assertEqual(f.attrs["level"], "micro")
            self.assertEqual(f["settings"].attrs["macro_k"], 4)
            self.assertEqual(f["settings"].attrs["micro_k_rule"], "proportional")
        self.assertIn("every measure is of the micro level over all customers", self.logs[1])
        self.assertEqual(self.logs[1].count("macro fit: 4 macro segments"), 1)

    def test_a_row_measures_the_run_promote_writes(self):
        row = self.table[self.table.k == PLANTED].iloc[0]
        with h5py.File(os.path.join(self.promoted, "segments.h5"), "r") as f:
            quality = dict(f["quality"].attrs)
            sizes = f["profiles/size"][()]
            self.assertEqual(len(sizes), PLANTED)
        for column in ("inertia", "calinski_harabasz", "davies_bouldin", "silhouette_simplified"):
            self.assertEqual(row[column], quality[column], column)
        self.assertEqual(row.min_segment_size, sizes.min())

    def test_promote_writes_exactly_what_segment_writes(self):
        self.assert_same_run(self.promoted, self.segmented)

    def test_the_default_rule_on_the_generated_base_promotes_like_segment(self):
        sweep = os.path.join(self.dir, "generated-sweep")
        run(2, "sweep", "--input", self.generated, "--k", "8,12", "--output", sweep, *OPTIONS)
        promoted = os.path.join(self.dir, "generated-promoted")
        run(1, "promote", "--sweep", sweep, "--k", PLANTED, "--output", promoted)
        segmented = os.path.join(self.dir, "generated-segmented")
        run(3, "segment", "--input", self.generated, "--k", PLANTED, "--output", segmented,
            *OPTIONS)
        self.assert_same_run(promoted, segmented)
        with h5py.File(model_path(sweep, PLANTED), "r") as f:
            self.assertEqual(f["macro"].attrs["micro_k_rule"], "inertia")
            self.assertEqual(f["macro/micro_k"][()].sum(), PLANTED)

    def test_models_hold_both_levels(self):
        n = len(read_table(self.data)[0])
        for k in KS:
            with self.subTest(k=k), h5py.File(model_path(self.sweep, k), "r") as f:
                macro = f["macro"]
                micro_k = macro["micro_k"][()]
                # proportional over four macro segments of equal size: an even share.
                np.testing.assert_array_equal(micro_k, [k // 4] * 4)
                self.assertEqual(macro["size"][()].sum(), n)
                self.assertEqual(macro["centroids"].shape, (4, f["centroids"].shape[1]))
                self.assertEqual(f["centroids"].shape[0], k)
                self.assertEqual(f.attrs["best_restart"], -1)
                # The kept micro centroids of each macro segment are its best restart's.
                first = np.concatenate([[0], np.cumsum(micro_k)])
                restarts = f["restarts/centroids"][()]
                self.assertEqual(restarts.shape[:2], (2, k))
                for m, best in enumerate(macro["micro_best_restart"][()]):
                    np.testing.assert_array_equal(f["centroids"][first[m]:first[m + 1]],
                                                  restarts[best, first[m]:first[m + 1]])

    def test_stability_is_the_restarts_agreement_inside_the_macro_segments(self):
        for k in KS:
            path = model_path(self.sweep, k)
            x = scaled_features(self.data, path)
            with h5py.File(path, "r") as f:
                macro = nearest(x, f["macro/centroids"][()])
                first = np.concatenate([[0], np.cumsum(f["macro/micro_k"][()])])
                labels = []
                for centroids in f["restarts/centroids"][()]:
                    micro = np.empty(len(x), dtype=int)
                    for m in range(4):
                        rows = macro == m
                        micro[rows] = first[m] + nearest(x[rows], centroids[first[m]:first[m + 1]])
                    labels.append(micro)
            with self.subTest(k=k):
                self.assertAlmostEqual(self.table[self.table.k == k].stability.iloc[0],
                                       adjusted_rand_score(labels[0], labels[1]), delta=5e-3)

    def test_files_are_bit_identical_on_1_and_3_ranks(self):
        one, three = self.sweeps[1], self.sweeps[3]
        for name in ("sweep.csv",):
            self.assertEqual(text(os.path.join(one, name)), text(os.path.join(three, name)))
        status, report = h5diff(os.path.join(one, "sweep.h5"), os.path.join(three, "sweep.h5"))
        self.assertEqual(status, 0, report)
        scratch = os.path.join(self.dir, "scratch-ranks")
        os.makedirs(scratch, exist_ok=True)
        for k in KS:
            with self.subTest(k=k):
                status, report = h5diff(without_seconds(model_path(one, k), scratch),
                                        without_seconds(model_path(three, k), scratch))
                self.assertEqual(status, 0, report)

    def test_one_restart_measures_stability_on_halves_alike_on_1_and_3_ranks(self):
        tables = []
        for ranks in (1, 3):
            out = os.path.join(self.dir, f"halves-{ranks}")
            run(ranks, "sweep", "--input", self.data, "--k", "8,12", "--micro-k-rule",
                "proportional", "--output", out, *SETTINGS, "--restarts", 1)
            tables.append(text(os.path.join(out, "sweep.csv")))
        self.assertEqual(tables[0], tables[1])
        table = pd.read_csv(os.path.join(self.dir, "halves-1", "sweep.csv"))
        self.assertGreater(table[table.k == PLANTED].stability.iloc[0], 0.9)

    def test_promote_without_k_takes_the_recommended_budget(self):
        out = os.path.join(self.dir, "recommended")
        run(1, "promote", "--sweep", self.sweeps[3], "--output", out)
        status, report = h5diff(os.path.join(out, "segments.h5"),
                                os.path.join(self.promoted, "segments.h5"),
                                exclude_attributes=["/run"])
        self.assertEqual(status, 0, report)

    def test_a_stopped_sweep_keeps_its_finished_k_and_fits_the_macro_level_again(self):
        out = os.path.join(self.dir, "resumed")
        shutil.copytree(self.sweep, out)
        for name in ("sweep.csv", "sweep.h5", "manifest.json", os.path.join("models", "k-0016.h5")):
            os.remove(os.path.join(out, name))
        log = run(2, "sweep", "--input", self.data, "--k", "8,12,16", "--micro-k-rule",
                  "proportional", "--output", out, *OPTIONS).stdout
        self.assertIn("k = 8: finished earlier, kept", log)
        self.assertIn("k = 12: finished earlier, kept", log)
        self.assertEqual(log.count("macro fit: 4 macro segments"), 1)
        self.assertEqual(text(os.path.join(out, "sweep.csv")),
                         text(os.path.join(self.sweep, "sweep.csv")))
        self.assertEqual(manifest_problems(out, "sweep"), [])

    def test_a_sweep_stopped_by_sigusr1_exits_75_and_the_rerun_fits_only_the_rest(self):
        # Rank 0 sleeps in every Lloyd iteration so the signal lands mid-sweep.
        out = os.path.join(self.dir, "signalled")
        models = os.path.join(out, "models")
        arguments = ["sweep", "--input", self.data, "--k", "8,12,16", "--micro-k-rule",
                     "proportional", "--output", out, *[str(a) for a in OPTIONS]]
        status, stderr = stop_sweep_after_first_model(
            [MPIEXEC, "--oversubscribe", "--bind-to", "none", "-n", "2", MICROSEG, *arguments],
            models)
        self.assertEqual(status, 75, stderr)
        self.assertRegex(stderr, r"stopped on SIGUSR1 (while fitting|before) k = \d+; the \d+ k "
                                 r"value\(s\) finished are kept in .*models/")
        self.assertFalse(os.path.exists(os.path.join(out, "sweep.csv")))
        finished = sorted(n for n in os.listdir(models) if n.endswith(".h5"))
        self.assertLess(len(finished), len(KS), "the sweep ended before the signal")
        resumed = run(2, *arguments)
        for k in KS:
            self.assertEqual(f"k = {k}: finished earlier, kept" in resumed.stdout,
                             f"k-{k:04d}.h5" in finished, k)
        self.assertEqual(text(os.path.join(out, "sweep.csv")),
                         text(os.path.join(self.sweep, "sweep.csv")))

    def test_sweep_merge_joins_two_level_parts(self):
        parts = []
        for task, ranks in ((0, 1), (1, 2)):
            part = os.path.join(self.dir, "tasks", str(task))
            run(ranks, "sweep", "--input", self.data, "--k", "8,12,16", "--task", f"{task}/2",
                "--micro-k-rule", "proportional", "--output", part, *OPTIONS)
            parts.append(part)
        merged = os.path.join(self.dir, "merged")
        run(1, "sweep-merge", "--parts", ",".join(parts), "--k", "8,12,16", "--output", merged)
        self.assertEqual(text(os.path.join(merged, "sweep.csv")),
                         text(os.path.join(self.sweep, "sweep.csv")))
        with h5py.File(os.path.join(merged, "sweep.h5"), "r") as f:
            self.assertEqual(f.attrs["macro_k"], 4)
            self.assertEqual(int(f.attrs["recommended_k"]), PLANTED)
        scratch = os.path.join(self.dir, "scratch-merge")
        os.makedirs(scratch, exist_ok=True)
        status, report = h5diff(without_seconds(model_path(merged, PLANTED), scratch),
                                without_seconds(model_path(self.sweep, PLANTED), scratch))
        self.assertEqual(status, 0, report)


class Refusals(unittest.TestCase):
    """Exit status 2 with one message naming the problem; nothing written or changed."""

    @classmethod
    def setUpClass(cls):
        cls.dir = temp_dir()
        cls.data = os.path.join(cls.dir, "customers.h5")
        run(1, "generate", "--customers", 3000, "--segments", 8, "--separation", 8,
            "--macro-segments", 4, "--seed", 2, "--output", cls.data)
        cls.two_level = os.path.join(cls.dir, "two-level")
        run(2, "sweep", "--input", cls.data, "--macro-k", 4, "--k", "8,10", "--restarts", 1,
            "--output", cls.two_level)
        cls.flat = os.path.join(cls.dir, "flat")
        run(1, "sweep", "--input", cls.data, "--k", "8,10", "--restarts", 1, "--output", cls.flat)

    def refused(self, *args, ranks=2):
        proc = run(ranks, *args, check=False)
        self.assertEqual(proc.returncode, 2, proc.stdout + proc.stderr)
        return proc.stderr

    def test_options_that_do_not_combine(self):
        out = os.path.join(self.dir, "never")
        for extra, fragment in [
                (["--macro-k", 4, "--micro-k-rule", "sweep"],
                 "--micro-k-rule sweep cannot be used in a sweep"),
                (["--micro-k-rule", "inertia"], "--micro-k-rule needs --macro-k"),
                (["--macro-k", 9], "k = 8, fewer micro-segments than --macro-k 9"),
                (["--macro-k", 4, "--micro-k-rule", "size"], "unknown micro-k rule 'size'")]:
            with self.subTest(extra=extra):
                message = self.refused("sweep", "--input", self.data, "--k", "8,10", "--output",
                                       out, *extra)
                self.assertIn(fragment, message)
                self.assertFalse(os.path.exists(out))

    def test_resuming_from_models_of_another_level_is_refused(self):
        before = {d: text(os.path.join(d, "sweep.csv")) for d in (self.two_level, self.flat)}
        for directory, extra, fragment in [
                (self.two_level, ["--macro-k", 2],
                 "from a two-level sweep with --macro-k 4, and this is a two-level sweep with "
                 "--macro-k 2"),
                (self.two_level, [], "from a two-level sweep with --macro-k 4, and this is a "
                                     "flat sweep (no --macro-k)"),
                (self.flat, ["--macro-k", 4], "from a flat sweep (no --macro-k), and this is a "
                                              "two-level sweep with --macro-k 4")]:
            with self.subTest(directory=directory, extra=extra):
                message = self.refused("sweep", "--input", self.data, "--k", "8,10",
                                       "--restarts", 1, "--output", directory, *extra)
                self.assertIn("already holds k = 8", message)
                self.assertIn(fragment, message)
                self.assertIn("Rerun with the same --macro-k to resume", message)
        for directory, table in before.items():
            self.assertEqual(text(os.path.join(directory, "sweep.csv")), table)

    def test_merging_parts_of_different_levels_is_refused(self):
        other = os.path.join(self.dir, "macro-2")
        run(1, "sweep", "--input", self.data, "--macro-k", 2, "--k", 12, "--restarts", 1,
            "--output", other)
        out = os.path.join(self.dir, "merged")
        for parts, fragment in [
                ([self.two_level, self.flat],
                 f"sweep part '{self.flat}' is a flat sweep (no --macro-k), but "
                 f"'{self.two_level}' is a two-level sweep with --macro-k 4"),
                ([self.two_level, other],
                 f"sweep part '{other}' is a two-level sweep with --macro-k 2, but "
                 f"'{self.two_level}' is a two-level sweep with --macro-k 4")]:
            with self.subTest(parts=parts):
                message = self.refused("sweep-merge", "--parts", ",".join(parts), "--output", out,
                                       ranks=1)
                self.assertIn(fragment, message)
                self.assertFalse(os.path.exists(os.path.join(out, "sweep.h5")))

    def test_promote_onto_other_data_is_refused_with_nothing_written(self):
        other = os.path.join(self.dir, "other.h5")
        run(1, "generate", "--customers", 3000, "--segments", 8, "--macro-segments", 4,
            "--seed", 5, "--output", other)
        out = os.path.join(self.dir, "promoted-other")
        message = self.refused("promote", "--sweep", self.two_level, "--k", 8, "--input", other,
                               "--output", out)
        self.assertIn("is not the data the sweep's model", message)
        self.assertFalse(os.path.exists(out))


if __name__ == "__main__":
    unittest.main(verbosity=2)
