"""`microseg segment --method bisecting` as a user runs it: the same outputs bit for bit on 1 to
4 ranks (h5diff without tolerance, the CSV files byte for byte), the options it refuses with a
message saying why, and `--method kmeans` giving exactly the default run's outputs."""
import os
import sys
import unittest

import h5py
import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "support"))
from microseg_run import (h5diff, read_planted, read_table, run, temp_dir,  # noqa: E402
                          write_matrix)


def run_attributes(path):
    """/run but what differs between rank counts: the rank count, timings and the configuration
    text (it names the output directory)."""
    with h5py.File(path, "r") as f:
        return {key: value for key, value in f["run"].attrs.items()
                if key not in ("ranks", "configuration") and not key.startswith("seconds_")}


def same_outputs(test, reference, other):
    status, report = h5diff(os.path.join(reference, "segments.h5"),
                            os.path.join(other, "segments.h5"), exclude_attributes=["/run"])
    test.assertEqual(status, 0, report)
    test.assertEqual(run_attributes(os.path.join(reference, "segments.h5")),
                     run_attributes(os.path.join(other, "segments.h5")))
    for name in ("profiles.csv", "quality.csv"):
        with open(os.path.join(reference, name), "rb") as a, \
                open(os.path.join(other, name), "rb") as b:
            test.assertEqual(a.read(), b.read(), name)


class Fixture:
    dir = None
    customers = None

    @classmethod
    def get(cls):
        if cls.dir is None:
            cls.dir = temp_dir()
            cls.customers = os.path.join(cls.dir, "customers.h5")
            run(2, "generate", "--customers", 4001, "--segments", 6, "--seed", 12,
                "--output", cls.customers)
        return cls


class SameTreeOnAnyRankCount(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        fixture = Fixture.get()
        cls.outputs = {}
        for ranks in (1, 2, 3, 4):
            out = os.path.join(fixture.dir, f"inertia-{ranks}")
            run(ranks, "segment", "--input", fixture.customers, "--k", 9, "--method",
                "bisecting", "--log1p", "income,monetary", "--seed", 3,
                "--silhouette-sample", 500, "--output", out)
            cls.outputs[ranks] = out
        # Largest size, k-means++ seeds, best of 2 per split, from a job file, on 1 and 3 ranks.
        job = os.path.join(fixture.dir, "size.ini")
        with open(job, "w") as f:
            f.write("method = bisecting\nbisect = largest-size\ninit = kmeans++\nrestarts = 2\n"
                    "k = 6\nseed = 8\nsilhouette-sample = 500\n")
        cls.size_outputs = {}
        for ranks in (1, 3):
            out = os.path.join(fixture.dir, f"size-{ranks}")
            run(ranks, "segment", "--config", job, "--input", fixture.customers, "--output", out)
            cls.size_outputs[ranks] = out

    def test_outputs_are_bit_identical_on_1_to_4_ranks(self):
        for ranks in (2, 3, 4):
            with self.subTest(ranks=ranks):
                same_outputs(self, self.outputs[1], self.outputs[ranks])

    def test_largest_size_with_restarts_is_bit_identical_on_1_and_3_ranks(self):
        same_outputs(self, self.size_outputs[1], self.size_outputs[3])

    def test_tree_is_written_with_one_leaf_per_segment(self):
        with h5py.File(os.path.join(self.outputs[1], "segments.h5"), "r") as f:
            tree = f["tree"]
            self.assertEqual(tree.attrs["strategy"], "largest-inertia")
            self.assertEqual(len(tree["parent"]), 2 * 9 - 1)
            self.assertEqual(tree["split_initial_centers"].shape, (8, 2, tree["center"].shape[1]))
            leaves = tree["segment"][...] >= 0
            np.testing.assert_array_equal(np.sort(tree["segment"][leaves]), np.arange(9))
            np.testing.assert_array_equal(tree["segment_id"][leaves],
                                          f["model/segment_ids"][...][tree["segment"][leaves]])
            self.assertEqual(tree["size"][0], 4001)
            self.assertEqual(sorted(set(f["assignments/segment"][...].tolist())), list(range(9)))
            self.assertIn("method = bisecting", f["run"].attrs["configuration"])
        with h5py.File(os.path.join(self.size_outputs[1], "segments.h5"), "r") as f:
            self.assertEqual(f["tree"].attrs["strategy"], "largest-size")
            self.assertIn("bisect = largest-size", f["run"].attrs["configuration"])


class LeavesHeldByFewRanks(unittest.TestCase):
    def test_rows_sorted_by_segment_give_the_same_tree_on_1_and_4_ranks(self):
        # Sorted by planted segment, most leaves live on one or two ranks, and the others hold
        # none of their rows while the leaf is split.
        fixture = Fixture.get()
        ids, features, names = read_table(fixture.customers)
        order = np.argsort(read_planted(fixture.customers), kind="stable")
        sorted_input = os.path.join(fixture.dir, "sorted.h5")
        write_matrix(sorted_input, ids[order], features[order], names, dtype=np.float32)
        outs = []
        for ranks in (1, 4):
            out = os.path.join(fixture.dir, f"sorted-{ranks}")
            run(ranks, "segment", "--input", sorted_input, "--k", 12, "--method", "bisecting",
                "--bisect", "largest-size", "--seed", 6, "--silhouette-sample", 300,
                "--output", out)
            outs.append(out)
        same_outputs(self, outs[0], outs[1])


class KMeansUnchanged(unittest.TestCase):
    def test_method_kmeans_is_the_default_run_and_writes_no_tree(self):
        fixture = Fixture.get()
        outs = []
        for extra in ((), ("--method", "kmeans")):
            out = os.path.join(fixture.dir, f"kmeans-{len(extra)}")
            run(2, "segment", "--input", fixture.customers, "--k", 6, "--seed", 2,
                "--silhouette-sample", 500, "--output", out, *extra)
            outs.append(out)
        same_outputs(self, outs[0], outs[1])
        with h5py.File(os.path.join(outs[1], "segments.h5"), "r") as f:
            self.assertNotIn("tree", f)
            self.assertIn("method = kmeans", f["run"].attrs["configuration"])


class RefusedOptions(unittest.TestCase):
    def refused(self, *options):
        fixture = Fixture.get()
        out = os.path.join(temp_dir(), "out")
        proc = run(2, "segment", "--input", fixture.customers, "--k", 4, "--output", out,
                   *options, check=False)
        self.assertNotEqual(proc.returncode, 0, proc.stdout + proc.stderr)
        self.assertEqual(proc.stderr.count("microseg: error:"), 1, proc.stderr)
        self.assertFalse(os.path.exists(out) and os.listdir(out), "output written")
        return proc.stderr

    def test_unknown_method_and_strategy_name_the_valid_values(self):
        message = self.refused("--method", "divisive")
        self.assertIn("unknown method 'divisive'", message)
        self.assertIn("kmeans, bisecting", message)
        message = self.refused("--method", "bisecting", "--bisect", "largest")
        self.assertIn("largest-inertia, largest-size", message)

    def test_bisect_without_method_bisecting(self):
        self.assertIn("--bisect", self.refused("--bisect", "largest-size"))
        self.assertIn("needs --method bisecting", self.refused("--bisect", "largest-size"))

    def test_combinations_a_bisecting_fit_has_no_use_for(self):
        fixture = Fixture.get()
        centroids = os.path.join(temp_dir(), "c.h5")
        with h5py.File(centroids, "w") as f:
            f["centroids"] = np.zeros((4, 8))
        # Refused while the options are read, before the previous run would be opened.
        cases = [(("--warm-start", "--previous", fixture.dir), "--warm-start"),
                 (("--init-centroids", centroids), "--init-centroids"),
                 (("--min-segment-size", "5%", "--merge-small"), "--merge-small"),
                 (("--checkpoint-every", "5"), "--checkpoint-every"),
                 (("--resume",), "--resume")]
        for options, named in cases:
            with self.subTest(option=named):
                message = self.refused("--method", "bisecting", *options)
                self.assertIn(f"--method bisecting cannot be combined with {named}: ", message)


if __name__ == "__main__":
    unittest.main(verbosity=2)
