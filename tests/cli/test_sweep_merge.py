"""A sweep split over tasks (`microseg sweep --task I/T`, as a Slurm job array runs it) and joined
by `microseg sweep-merge` gives the same sweep directory as one `microseg sweep` over every k:
the same table, recommendation and models, and a merged sweep can be promoted."""
import json
import os
import shutil
import sys
import unittest

import h5py
import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "support"))
from microseg_run import manifest_problems, run, temp_dir  # noqa: E402


def text(path):
    with open(path) as f:
        return f.read()

OPTIONS = ["--restarts", 2, "--seed", 8, "--silhouette-sample", 500, "--log1p", "income,monetary"]


class SweepMerge(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.dir = temp_dir()
        cls.data = os.path.join(cls.dir, "customers.h5")
        run(2, "generate", "--customers", 2500, "--segments", 4, "--separation", 5, "--seed", 3,
            "--output", cls.data)
        cls.whole = os.path.join(cls.dir, "whole")
        run(2, "sweep", "--input", cls.data, "--k", "2:9", "--output", cls.whole, *OPTIONS)
        cls.parts = []
        cls.logs = []
        for task, ranks in zip(range(3), (1, 2, 3)):
            part = os.path.join(cls.dir, "tasks", str(task))
            cls.logs.append(run(ranks, "sweep", "--input", cls.data, "--k", "2:9", "--task",
                                f"{task}/3", "--output", part, *OPTIONS).stdout)
            cls.parts.append(part)
        cls.merged = os.path.join(cls.dir, "merged")
        cls.merge_log = run(1, "sweep-merge", "--parts", ",".join(cls.parts), "--k", "2:9",
                            "--output", cls.merged).stdout

    def test_each_task_fits_an_interleaved_share_of_k(self):
        with h5py.File(os.path.join(self.parts[0], "sweep.h5"), "r") as f:
            self.assertEqual(list(f["sweep"]["k"]), [2, 5, 8])
        with h5py.File(os.path.join(self.parts[2], "sweep.h5"), "r") as f:
            self.assertEqual(list(f["sweep"]["k"]), [4, 7])
        self.assertIn("(task 1 of 3)", self.logs[1])

    def test_merged_table_is_the_whole_sweeps_table(self):
        self.assertEqual(text(os.path.join(self.merged, "sweep.csv")),
                         text(os.path.join(self.whole, "sweep.csv")))
        with h5py.File(os.path.join(self.merged, "sweep.h5"), "r") as merged, \
                h5py.File(os.path.join(self.whole, "sweep.h5"), "r") as whole:
            np.testing.assert_array_equal(merged["sweep"][...], whole["sweep"][...])
            for key in ("recommended_k", "runner_up_k", "recommended_reason", "runner_up_reason"):
                self.assertEqual(merged.attrs[key], whole.attrs[key], key)
            self.assertEqual(dict(merged["settings"].attrs), dict(whole["settings"].attrs))
        self.assertIn("recommended: k = ", self.merge_log)

    def test_merged_models_are_the_whole_sweeps_models(self):
        names = sorted(os.listdir(os.path.join(self.whole, "models")))
        self.assertEqual(sorted(os.listdir(os.path.join(self.merged, "models"))), names)
        for name in names:
            with h5py.File(os.path.join(self.merged, "models", name), "r") as a, \
                    h5py.File(os.path.join(self.whole, "models", name), "r") as b:
                for dataset in ("centroids", "scaling/offset", "scaling/scale", "segments/size",
                                "restarts/centroids"):
                    np.testing.assert_array_equal(a[dataset][...], b[dataset][...],
                                                  err_msg=f"{name} {dataset}")

    def test_a_merged_sweep_promotes_like_the_whole_one(self):
        outputs = {}
        for name, sweep in (("merged", self.merged), ("whole", self.whole)):
            out = os.path.join(self.dir, f"promoted-{name}")
            run(2, "promote", "--sweep", sweep, "--k", 4, "--output", out)
            with h5py.File(os.path.join(out, "segments.h5"), "r") as f:
                outputs[name] = (f["assignments/segment"][...], f["centroids/original"][...])
        for a, b in zip(outputs["merged"], outputs["whole"]):
            np.testing.assert_array_equal(a, b)

    def test_the_merged_directory_has_a_manifest_checked_by_sha256sum(self):
        # Its own merge: another test merges into self.merged again, without --k.
        out = os.path.join(self.dir, "merged-for-manifest")
        run(2, "sweep-merge", "--parts", ",".join(self.parts), "--k", "2:9", "--output", out)
        self.assertEqual(manifest_problems(out, "sweep-merge"), [])
        with open(os.path.join(out, "manifest.json")) as f:
            merged = json.load(f)
        with open(os.path.join(self.whole, "manifest.json")) as f:
            whole = json.load(f)
        # The same input, recognised by its content, as the sweep that ran every k.
        self.assertEqual(merged["input"]["fingerprint"]["content_digest"],
                         whole["input"]["fingerprint"]["content_digest"])
        for key in ("customers", "features"):
            self.assertEqual(merged["input"]["fingerprint"][key], whole["input"]["fingerprint"][key])
        self.assertEqual(merged["configuration"]["parts"], ",".join(self.parts))
        self.assertEqual(merged["configuration"]["k"], "2:9")

    def test_parts_fitted_on_changed_data_are_refused(self):
        # Same path, same shape, one value changed between two tasks: the settings agree, the
        # content digest does not.
        data = os.path.join(self.dir, "changing.h5")
        shutil.copy(self.data, data)
        first = os.path.join(self.dir, "changing", "0")
        run(1, "sweep", "--input", data, "--k", "2:5", "--task", "0/2", "--output", first, *OPTIONS)
        with h5py.File(data, "r+") as f:
            features = f["customers/features"]
            features[7, 0] = features[7, 0] + 1.0
        second = os.path.join(self.dir, "changing", "1")
        run(1, "sweep", "--input", data, "--k", "2:5", "--task", "1/2", "--output", second,
            *OPTIONS)
        out = os.path.join(self.dir, "changing", "merged")
        result = run(1, "sweep-merge", "--parts", f"{first},{second}", "--output", out, check=False)
        self.assertEqual(result.returncode, 2, result.stderr)
        self.assertIn(f"sweep part '{second}' was fitted on other input data than '{first}'",
                      result.stderr)
        self.assertFalse(os.path.exists(os.path.join(out, "sweep.h5")))

    def test_merging_again_gives_the_same_directory(self):
        before = text(os.path.join(self.merged, "sweep.csv"))
        run(2, "sweep-merge", "--parts", ",".join(self.parts), "--output", self.merged)
        self.assertEqual(text(os.path.join(self.merged, "sweep.csv")), before)


if __name__ == "__main__":
    unittest.main(verbosity=2)
