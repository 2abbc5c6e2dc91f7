"""Segment sufficiency: --min-segment-size flags segments too small for a campaign, and
--merge-small merges them into their nearest segment before the final assignment.

The data hold four planted segments and a tiny group of 30 customers like those of one planted
segment but far off on three features, which k-means with k = 5 gives a segment of its own."""
import os
import sys
import unittest

import h5py
import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "support"))
from microseg_run import read_planted, read_table, run, temp_dir, write_matrix  # noqa: E402

TINY = 30


def load(run_dir):
    with h5py.File(os.path.join(run_dir, "segments.h5"), "r") as f:
        return {"segment": f["assignments/segment"][...], "id": f["assignments/id"][...],
                "size": f["profiles/size"][...], "ids": f["profiles/segment_id"][...],
                "undersized": f["profiles/undersized"][...],
                "minimum": f["profiles"].attrs["min_segment_size"],
                "centroids": f["centroids/scaled"][...],
                "offset": f["model/scaling/offset"][...], "scale": f["model/scaling/scale"][...],
                "merged": f["run"].attrs["merged_segments"],
                "segments": f["run"].attrs["segments"]}


class SmallSegments(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        d = cls.dir = temp_dir()
        base = os.path.join(d, "base.h5")
        run(2, "generate", "--customers", 3000, "--segments", 4, "--separation", 10, "--seed", 3,
            "--output", base)
        ids, x, names = read_table(base)
        planted = read_planted(base)
        rng = np.random.default_rng(1)
        # Customers like those of planted segment 0, but far off on three features.
        tiny = x[rng.choice(np.flatnonzero(planted == 0), TINY)].copy()
        for name in ("age", "seasonality_index", "novelty_seeking"):
            j = names.index(name)
            tiny[:, j] = x[:, j].mean() + 9 * x[:, j].std() + rng.normal(0, 0.1, TINY)
        cls.tiny_ids = ids.max() + 1 + np.arange(TINY)
        cls.data = os.path.join(d, "customers.h5")
        cls.x = np.concatenate([x, tiny]).astype(np.float32).astype(np.float64)
        write_matrix(cls.data, np.concatenate([ids, cls.tiny_ids]), cls.x, names,
                     dtype=np.float32)
        cls.flagged = os.path.join(d, "flagged")
        run(3, "segment", "--input", cls.data, "--k", 5, "--seed", 4, "--min-segment-size", 50,
            "--output", cls.flagged)
        cls.merged = {}
        for ranks in (1, 3):
            cls.merged[ranks] = os.path.join(d, f"merged-{ranks}")
            run(ranks, "segment", "--input", cls.data, "--k", 5, "--seed", 4,
                "--min-segment-size", "1%", "--merge-small", "--output", cls.merged[ranks])

    def test_the_tiny_group_is_a_segment_of_its_own_and_is_flagged(self):
        flagged = load(self.flagged)
        tiny = np.isin(flagged["id"], self.tiny_ids)
        self.assertEqual(len(set(flagged["segment"][tiny])), 1)
        tiny_segment = flagged["segment"][tiny][0]
        self.assertEqual((flagged["segment"] == tiny_segment).sum(), TINY)
        self.assertEqual(flagged["minimum"], 50)
        np.testing.assert_array_equal(flagged["undersized"], flagged["size"] < 50)
        self.assertEqual(list(flagged["ids"][flagged["undersized"] == 1]), [tiny_segment])
        self.assertEqual(flagged["segments"], 5)
        self.assertEqual(flagged["merged"], 0)

    def test_merge_small_folds_it_into_the_nearest_segment(self):
        merged = load(self.merged[3])
        self.assertEqual(merged["minimum"], 31)  # 1% of 3030 customers, rounded up
        self.assertEqual(merged["segments"], 4)
        self.assertEqual(merged["merged"], 1)
        self.assertTrue(np.all(merged["size"] >= 31))
        self.assertTrue(np.all(merged["undersized"] == 0))
        # The tiny segment's centroid went into the nearest centroid as the size-weighted mean of
        # the two; every other centroid is unchanged.
        flagged = load(self.flagged)
        small = int(np.flatnonzero(flagged["undersized"])[0])
        gaps = np.linalg.norm(flagged["centroids"] - flagged["centroids"][small], axis=1)
        gaps[small] = np.inf
        into = int(gaps.argmin())
        a, b = flagged["size"][small], flagged["size"][into]
        expected = np.delete(flagged["centroids"], small, axis=0)
        row = into - (into > small)
        expected[row] = (a * flagged["centroids"][small] + b * flagged["centroids"][into]) / (a + b)
        np.testing.assert_allclose(merged["centroids"], expected, rtol=1e-14, atol=1e-14)
        # Most of the tiny group lands in the segment that absorbed it (a few of its customers
        # may be nearer another centroid: the final assignment is nearest-centroid).
        tiny = np.isin(merged["id"], self.tiny_ids)
        self.assertGreater(np.sum(merged["segment"][tiny] == merged["ids"][row]), TINY // 2)
        # The final assignment is to the nearest remaining centroid.
        scaled = (self.x - merged["offset"]) / merged["scale"]
        scaled = scaled.astype(np.float32).astype(np.float64)
        distance = np.linalg.norm(scaled[:, None, :] - merged["centroids"][None, :, :], axis=2)
        np.testing.assert_array_equal(merged["segment"], merged["ids"][distance.argmin(axis=1)])

    def test_merging_is_the_same_on_any_rank_count(self):
        one, three = load(self.merged[1]), load(self.merged[3])
        for key in ("segment", "size", "ids", "centroids"):
            np.testing.assert_array_equal(one[key], three[key], err_msg=key)


if __name__ == "__main__":
    unittest.main(verbosity=2)
