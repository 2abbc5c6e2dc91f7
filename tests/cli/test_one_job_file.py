"""One job file for segment, sweep and promote: the segmentation options are defined once.

A job file holding segment's options (a previous run, value feature, small-segment flag,
checkpoints, Lloyd step, transform …) runs unchanged through `segment`, `sweep` and `promote`:
sweep and promote print a note for each option they ignore, promote's k equals the segment
run's segments, and the options that would change what a sweep fits are refused with the reason.
Every model option is listed with the same help text by the three commands' --help.
"""
import os
import re
import sys
import unittest

import h5py
import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "support"))
from microseg_run import run, temp_dir  # noqa: E402

MODEL_OPTIONS = ["--input", "--features", "--scale", "--log1p", "--method", "--bisect", "--init",
                 "--init-centroids", "--max-iter", "--tol", "--lloyd", "--seed",
                 "--silhouette-sample", "--previous", "--warm-start", "--value-feature",
                 "--min-segment-size", "--merge-small", "--match-max-distance",
                 "--checkpoint-every", "--resume", "--macro-k", "--micro-k-rule",
                 "--sample-weight", "--missing", "--one-hot", "--clip-quantiles", "--weights"]


def option_help(help_text):
    """{--option: its help text, whitespace-normalised}."""
    entries, current = {}, None
    for line in help_text.splitlines():
        match = re.match(r"^  (--[a-z0-9-]+)(?: arg)?\s*(.*)$", line)
        if match:
            current = match.group(1)
            entries[current] = match.group(2)
        elif current and line.startswith(" " * 10):
            entries[current] += " " + line.strip()
        else:
            current = None
    return {k: " ".join(v.split()) for k, v in entries.items()}


class OneJobFile(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.dir = temp_dir()
        cls.data = os.path.join(cls.dir, "customers.h5")
        run(2, "generate", "--customers", 4000, "--segments", 5, "--seed", 3, "--output",
            cls.data)
        cls.first = os.path.join(cls.dir, "first")
        run(2, "segment", "--input", cls.data, "--k", 5, "--seed", 1, "--output", cls.first)
        cls.job = os.path.join(cls.dir, "job.ini")
        with open(cls.job, "w") as f:
            f.write(f"input = {cls.data}\nk = 5\nrestarts = 2\nscale = robust\n"
                    "log1p = income,monetary\ninit = kmeans++\nmax-iter = 80\ntol = 1e-5\n"
                    "lloyd = pruned\nseed = 11\nsilhouette-sample = 500\n"
                    f"previous = {cls.first}\nmatch-max-distance = 3x\nvalue-feature = monetary\n"
                    "min-segment-size = 1%\ncheckpoint-every = 5\nresume = true\n"
                    "missing = reject\nmethod = kmeans\nmerge-small = false\n")

    def test_segment_sweep_and_promote_take_the_same_job_file(self):
        run_dir = os.path.join(self.dir, "segment")
        run(2, "segment", "--config", self.job, "--output", run_dir)
        sweep_dir = os.path.join(self.dir, "sweep")
        sweep = run(2, "sweep", "--config", self.job, "--k", "4:6", "--output", sweep_dir)
        for option in ("previous", "match-max-distance", "value-feature", "min-segment-size",
                       "checkpoint-every", "resume"):
            self.assertIn(f"sweep: --{option} is ignored:", sweep.stdout)
        self.assertNotIn("--method is ignored", sweep.stdout)  # kmeans is what a sweep fits
        promoted = os.path.join(self.dir, "promoted")
        promote = run(2, "promote", "--config", self.job, "--sweep", sweep_dir, "--output",
                      promoted)
        self.assertIn("promote: --seed is ignored: the promoted model's settings are the sweep's",
                      promote.stdout)
        self.assertNotIn("--input is ignored", promote.stdout)
        # The notes are notes: --quiet hides them (errors would still reach stderr).
        quiet = run(2, "promote", "--config", self.job, "--sweep", sweep_dir, "--output",
                    os.path.join(self.dir, "promoted-quietly"), "--quiet")
        self.assertNotIn("is ignored", quiet.stdout + quiet.stderr)
        # promote took k = 5 from the job file; the sweep's k = 5 is segment's k = 5 with the
        # same options: the same partition and inertia (segment's ids come from --previous).
        with h5py.File(os.path.join(run_dir, "segments.h5"), "r") as f:
            seg_labels, seg_ids = f["assignments/segment"][:], f["assignments/id"][:]
            seg_inertia = f["quality"].attrs["inertia"]
            self.assertEqual(f["run"].attrs["restarts"], 2)
        with h5py.File(os.path.join(promoted, "segments.h5"), "r") as f:
            pro_labels, pro_ids = f["assignments/segment"][:], f["assignments/id"][:]
            pro_inertia = f["quality"].attrs["inertia"]
            self.assertEqual(len(f["centroids/scaled"]), 5)
        np.testing.assert_array_equal(seg_ids, pro_ids)
        pairs = set(zip(seg_labels.tolist(), pro_labels.tolist()))
        self.assertEqual(len(pairs), 5)  # a one-to-one relabelling
        self.assertAlmostEqual(seg_inertia, pro_inertia, delta=1e-9 * seg_inertia)

    def test_options_that_change_a_sweep_are_refused_with_the_reason(self):
        cases = [("--merge-small", "merging changes the fitted segments"),
                 ("--method=bisecting", "a sweep fits k-means"),
                 ("--sample-weight=monetary", "weighted sweeps are not implemented"),
                 ("--init-centroids=seeds.h5", "centroids from a file fix k")]
        for option, reason in cases:
            out = os.path.join(self.dir, "refused")
            proc = run(2, "sweep", "--input", self.data, "--k", "3:4", "--output", out, option,
                       check=False)
            self.assertNotEqual(proc.returncode, 0, option)
            self.assertIn(reason, proc.stderr, option)
            self.assertIn("cannot be used in a sweep", proc.stderr, option)
            self.assertFalse(os.path.exists(os.path.join(out, "sweep.csv")), option)

    def test_every_model_option_has_the_same_help_in_the_three_commands(self):
        helps = {c: option_help(run(1, c, "--help").stdout) for c in ("segment", "sweep",
                                                                       "promote")}
        for option in MODEL_OPTIONS:
            texts = {command: helps[command].get(option) for command in helps}
            self.assertIsNotNone(texts["segment"], option)
            self.assertEqual(len(set(texts.values())), 1, f"{option}: {texts}")
        self.assertIn("zscore | minmax | robust | none", helps["sweep"]["--scale"])
        sweep_help = run(1, "sweep", "--help").stdout
        self.assertIn("sweep ignores (with a note):", sweep_help)
        self.assertIn("sweep refuses:", sweep_help)


if __name__ == "__main__":
    unittest.main(verbosity=2)
