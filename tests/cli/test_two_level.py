"""Two-level runs (`segment --macro-k`) as a user runs them: the outputs at both levels agree with
each other and with pandas, are bit-identical on 1 to 4 ranks (h5diff, no tolerance), `assign`
reproduces both levels, the generator plants both levels and they are recovered (adjusted Rand
index against the planted segments, scikit-learn), and options that do not combine are refused
with nothing written."""
import os
import sys
import unittest

import h5py
import numpy as np
import pandas as pd
from sklearn.metrics import adjusted_rand_score

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "support"))
from microseg_run import h5diff, read_table, run, temp_dir  # noqa: E402

LOG1P = "monetary,income,avg_basket,frequency"


def two_level_run(ranks, data, out, *extra):
    return run(ranks, "segment", "--input", data, "--macro-k", 4, "--k", 12, "--output", out,
               "--log1p", LOG1P, "--silhouette-sample", 2000, *extra)


class TwoLevelSegmentation(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.dir = temp_dir()
        cls.data = os.path.join(cls.dir, "two-level.h5")
        # 4 macro segments of 3 planted micro-segments each, well apart at both levels.
        run(2, "generate", "--customers", 12000, "--segments", 12, "--separation", 8,
            "--macro-segments", 4, "--macro-separation", 16, "--seed", 7, "--output", cls.data)
        cls.outputs = {}
        for ranks in (1, 2, 3, 4):
            out = os.path.join(cls.dir, f"run-{ranks}")
            two_level_run(ranks, cls.data, out, "--micro-k-rule", "sweep", "--restarts", 2)
            cls.outputs[ranks] = out
        cls.run_dir = cls.outputs[2]

    def read(self, name):
        return h5py.File(os.path.join(self.run_dir, "segments.h5"), "r")[name][()]

    def test_the_generator_plants_macro_segments_of_micro_segments(self):
        with h5py.File(self.data, "r") as f:
            planted = f["customers/planted_segment"][()]
            macro = f["customers/planted_macro_segment"][()]
        np.testing.assert_array_equal(macro, planted % 4)

    def test_both_levels_recover_the_planted_segments(self):
        with h5py.File(self.data, "r") as f:
            planted = f["customers/planted_segment"][()]
            planted_macro = f["customers/planted_macro_segment"][()]
        self.assertGreaterEqual(adjusted_rand_score(planted_macro, self.read("assignments/macro_segment")),
                                0.95)
        self.assertGreaterEqual(adjusted_rand_score(planted, self.read("assignments/segment")), 0.95)

    def test_each_micro_segment_lies_in_one_macro_segment(self):
        segment = self.read("assignments/segment")
        macro = self.read("assignments/macro_segment")
        segment_ids = list(self.read("model/segment_ids"))
        macro_of_segment = self.read("model/macro_of_segment")
        rows = np.array([segment_ids.index(s) for s in segment])
        np.testing.assert_array_equal(macro_of_segment[rows], macro)
        # profiles.csv names each micro-segment's macro segment, and the sizes add up per level.
        profiles = pd.read_csv(os.path.join(self.run_dir, "profiles.csv"))
        for _, row in profiles.iterrows():
            self.assertTrue(np.all(macro[segment == row["segment"]] == row["macro_segment"]))
        macro_profiles = pd.read_csv(os.path.join(self.run_dir, "macro_profiles.csv"))
        self.assertEqual(macro_profiles["size"].sum(), len(segment))
        self.assertEqual(profiles.groupby("macro_segment")["size"].sum().to_dict(),
                         macro_profiles.set_index("segment")["size"].to_dict())

    def test_macro_profiles_are_the_macro_segments_statistics_in_original_units(self):
        ids, features, names = read_table(self.data)
        with h5py.File(os.path.join(self.run_dir, "segments.h5"), "r") as f:
            order = {i: n for n, i in enumerate(ids)}
            rows = np.array([order[i] for i in f["assignments/id"][()]])
            macro = f["assignments/macro_segment"][()]
            means = f["macro/profiles/mean"][()]
            feature_names = list(f["macro/profiles"].attrs["feature_names"])
            macro_ids = list(f["macro/profiles/segment_id"][()])
        frame = pd.DataFrame(features[rows].astype(np.float32).astype(np.float64), columns=names)
        expected = frame.groupby(macro).mean()
        for m, macro_id in enumerate(macro_ids):
            for j, name in enumerate(feature_names):
                self.assertAlmostEqual(means[m, j], expected.loc[macro_id, name],
                                       delta=1e-9 * max(1.0, abs(expected.loc[macro_id, name])))

    def test_quality_is_reported_at_both_levels(self):
        with h5py.File(os.path.join(self.run_dir, "segments.h5"), "r") as f:
            micro, macro = dict(f["quality"].attrs), dict(f["macro/quality"].attrs)
            self.assertEqual(f["run"].attrs["macro_k"], 4)
        self.assertLess(micro["inertia"], macro["inertia"])  # 12 segments fit closer than 4
        for quality in (micro, macro):
            self.assertTrue(np.isfinite(quality["davies_bouldin"]))
            self.assertTrue(-1 <= quality["silhouette_sampled"] <= 1)

    def test_outputs_are_bit_identical_on_1_to_4_ranks(self):
        reference = os.path.join(self.outputs[1], "segments.h5")
        for ranks in (2, 3, 4):
            other = os.path.join(self.outputs[ranks], "segments.h5")
            with self.subTest(ranks=ranks):
                status, report = h5diff(reference, other, exclude_attributes=["/run"])
                self.assertEqual(status, 0, report)
                for name in ("profiles.csv", "macro_profiles.csv", "quality.csv"):
                    with open(os.path.join(self.outputs[1], name), "rb") as a, \
                            open(os.path.join(self.outputs[ranks], name), "rb") as b:
                        self.assertEqual(a.read(), b.read(), name)

    def test_assign_reproduces_both_levels(self):
        out = os.path.join(self.dir, "assigned")
        run(3, "assign", "--model", self.run_dir, "--input", self.data, "--output", out)
        with h5py.File(os.path.join(out, "assignments.h5"), "r") as scored, \
                h5py.File(os.path.join(self.run_dir, "segments.h5"), "r") as fitted:
            for column in ("id", "segment", "distance", "macro_segment"):
                np.testing.assert_array_equal(scored[f"assignments/{column}"][()],
                                              fitted[f"assignments/{column}"][()], column)

    def test_inertia_and_proportional_rules_share_k_exactly(self):
        for rule in ("inertia", "proportional"):
            out = os.path.join(self.dir, f"rule-{rule}")
            two_level_run(2, self.data, out, "--micro-k-rule", rule)
            with self.subTest(rule=rule), h5py.File(os.path.join(out, "segments.h5"), "r") as f:
                macro_of_segment = f["model/macro_of_segment"][()]
                self.assertEqual(len(macro_of_segment), 12)
                self.assertEqual(set(macro_of_segment), set(f["macro/profiles/segment_id"][()]))

    def test_options_that_do_not_combine_are_refused_with_nothing_written(self):
        out = os.path.join(self.dir, "refused")
        for extra, fragment in [(["--k", 3], "--macro-k 4"),
                                (["--k", 12, "--previous", self.run_dir, "--warm-start"],
                                 "--warm-start"),
                                (["--k", 12, "--merge-small", "--min-segment-size", 10],
                                 "--merge-small"),
                                (["--k", 12, "--method", "bisecting"], "--method bisecting")]:
            with self.subTest(extra=extra):
                proc = run(2, "segment", "--input", self.data, "--macro-k", 4, "--output", out,
                           *extra, check=False)
                self.assertEqual(proc.returncode, 2, proc.stderr)
                self.assertIn(fragment, proc.stderr)
                self.assertFalse(os.path.exists(os.path.join(out, "segments.h5")))
        proc = run(1, "segment", "--input", self.data, "--k", 12, "--micro-k-rule", "sweep",
                   "--output", out, check=False)
        self.assertEqual(proc.returncode, 2)
        self.assertIn("--micro-k-rule needs --macro-k", proc.stderr)


if __name__ == "__main__":
    unittest.main(verbosity=2)
