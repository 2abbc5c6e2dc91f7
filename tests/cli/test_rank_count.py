"""The same input gives the same outputs whatever the rank count (1 to 4 ranks): synthetic data
from `generate`, and assignments, centroids, quality and profiles from `segment`."""
import os
import sys
import unittest

import h5py
import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "support"))
from microseg_run import run, temp_dir  # noqa: E402


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
        for ranks in (1, 2, 3, 4):
            out = os.path.join(cls.dir, f"run-{ranks}")
            run(ranks, "segment", "--input", cls.generated[1], "--k", 9, "--output", out,
                "--log1p", "income,monetary", "--seed", 4, "--silhouette-sample", 800)
            cls.runs[ranks] = datasets(os.path.join(out, "segments.h5"))

    def test_generate_writes_the_same_table_on_any_rank_count(self):
        one, three = datasets(self.generated[1]), datasets(self.generated[3])
        self.assertEqual(sorted(one), sorted(three))
        for name in one:
            np.testing.assert_array_equal(one[name], three[name], err_msg=name)

    def test_segment_outputs_are_bit_identical_on_1_to_4_ranks(self):
        reference = self.runs[1]
        self.assertIn("assignments/segment", reference)
        for ranks in (2, 3, 4):
            other = self.runs[ranks]
            self.assertEqual(sorted(reference), sorted(other))
            for name, value in reference.items():
                with self.subTest(ranks=ranks, dataset=name):
                    np.testing.assert_array_equal(value, other[name])

    def test_every_segment_is_used_and_distances_are_finite(self):
        ref = self.runs[1]
        self.assertEqual(sorted(set(ref["assignments/segment"].tolist())), list(range(9)))
        self.assertTrue(np.all(np.isfinite(ref["assignments/distance"])))
        self.assertEqual(ref["profiles/size"].sum(), 5001)


if __name__ == "__main__":
    unittest.main(verbosity=2)
