"""The same input gives the same outputs whatever the rank count (1 to 4 ranks): synthetic data
from `generate`, and assignments, centroids, quality and profiles from `segment`, compared with
`h5diff` and no tolerance (the CSV files byte for byte)."""
import os
import subprocess
import sys
import unittest

import h5py
import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "support"))
from microseg_run import h5diff, run, temp_dir  # noqa: E402


def datasets(path):
    out = {}
    with h5py.File(path, "r") as f:
        def visit(name, obj):
            if isinstance(obj, h5py.Dataset):
                out[name] = obj[...]
        f.visititems(visit)
        for group in ("quality",):
            if group in f:
                for key, value in f[group].attrs.items():
                    out[f"{group}@{key}"] = value
    return out


def run_attributes(path):
    """The attributes of /run but those that legitimately differ between runs on different rank
    counts: the rank count, the timings and the configuration text (it names the output
    directory)."""
    with h5py.File(path, "r") as f:
        return {key: value for key, value in f["run"].attrs.items()
                if key not in ("ranks", "configuration") and not key.startswith("seconds_")}


class SameResultOnAnyRankCount(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.dir = temp_dir()
        cls.generated = {}
        for ranks in (1, 3):
            path = os.path.join(cls.dir, f"customers-{ranks}.h5")
            run(ranks, "generate", "--customers", 5001, "--segments", 6, "--seed", 9,
                "--output", path)
            cls.generated[ranks] = path
        cls.runs = {}
        cls.outputs = {}
        for ranks in (1, 2, 3, 4):
            out = os.path.join(cls.dir, f"run-{ranks}")
            run(ranks, "segment", "--input", cls.generated[1], "--k", 9, "--output", out,
                "--log1p", "income,monetary", "--seed", 4, "--silhouette-sample", 800)
            cls.runs[ranks] = datasets(os.path.join(out, "segments.h5"))
            cls.outputs[ranks] = out

    def test_generate_writes_the_same_table_on_any_rank_count(self):
        # Nothing excluded: the generated table records nothing about the ranks that wrote it.
        status, report = h5diff(self.generated[1], self.generated[3])
        self.assertEqual(status, 0, report)
        self.assertIn("customers/features", datasets(self.generated[1]))

    def test_segment_outputs_are_bit_identical_on_1_to_4_ranks(self):
        reference = os.path.join(self.outputs[1], "segments.h5")
        self.assertIn("assignments/segment", self.runs[1])
        for ranks in (2, 3, 4):
            other = os.path.join(self.outputs[ranks], "segments.h5")
            with self.subTest(ranks=ranks):
                # Every dataset and every attribute but those of /run, which holds the rank count
                # and timings; the rest of /run is compared below.
                status, report = h5diff(reference, other, exclude_attributes=["/run"])
                self.assertEqual(status, 0, report)
                self.assertEqual(run_attributes(reference), run_attributes(other))
                for name in ("profiles.csv", "quality.csv"):
                    with open(os.path.join(self.outputs[1], name), "rb") as a, \
                            open(os.path.join(self.outputs[ranks], name), "rb") as b:
                        self.assertEqual(a.read(), b.read(), name)

    def test_every_segment_is_used_and_distances_are_finite(self):
        ref = self.runs[1]
        self.assertEqual(sorted(set(ref["assignments/segment"].tolist())), list(range(9)))
        self.assertTrue(np.all(np.isfinite(ref["assignments/distance"])))
        self.assertEqual(ref["profiles/size"].sum(), 5001)


if __name__ == "__main__":
    unittest.main(verbosity=2)
