"""The snippets of docs/reading-outputs.md work on real outputs: every Python block, run in order
in the directory holding run/, run-q2/, run-2l/, run-tree/, sweep/ and scored/, builds data
frames with the documented column names that hold exactly what the HDF5 files hold (every output
group: assignments, profiles, centroids, quality, run, model, migration, macro, tree, sweep.h5,
a sweep's model file, assign's assignments.h5 and assignments.csv), checked against the files
and against independent counts (a crosstab of the two runs joined by customer id, the tree's
children partitioning their parent, each micro-segment inside one macro segment, sweep.csv);
the R block (hdf5r) builds the same assignments, profile means and migration counts."""
import contextlib
import io
import os
import re
import subprocess
import sys
import unittest

import h5py
import numpy as np
import pandas as pd

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "support"))
from microseg_run import run, temp_dir  # noqa: E402

DOC = os.path.join(os.path.dirname(__file__), "..", "..", "docs", "reading-outputs.md")


def blocks(language):
    with open(DOC) as f:
        return re.findall(rf"```{language}\n(.*?)```", f.read(), re.S)


class ReadingOutputsSnippets(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.dir = temp_dir()
        data = os.path.join(cls.dir, "customers.h5")
        run(2, "generate", "--customers", 1500, "--segments", 4, "--seed", 8, "--output", data)
        run(2, "segment", "--input", data, "--k", 4, "--seed", 1, "--output",
            os.path.join(cls.dir, "run"))
        run(2, "segment", "--input", data, "--k", 5, "--seed", 2, "--previous",
            os.path.join(cls.dir, "run"), "--output", os.path.join(cls.dir, "run-q2"))
        run(2, "segment", "--input", data, "--macro-k", 2, "--k", 5, "--seed", 3, "--output",
            os.path.join(cls.dir, "run-2l"))
        run(2, "segment", "--input", data, "--method", "bisecting", "--k", 4, "--seed", 4,
            "--output", os.path.join(cls.dir, "run-tree"))
        run(2, "sweep", "--input", data, "--k", "3,4", "--seed", 5, "--output",
            os.path.join(cls.dir, "sweep"))
        run(2, "assign", "--model", os.path.join(cls.dir, "run"), "--input", data,
            "--assignments-csv", "--output", os.path.join(cls.dir, "scored"))
        cls.file = h5py.File(os.path.join(cls.dir, "run-q2", "segments.h5"), "r")

    @classmethod
    def tearDownClass(cls):
        cls.file.close()

    def run_python_blocks(self):
        code = blocks("python")
        self.assertGreaterEqual(len(code), 11)
        namespace = {}
        here = os.getcwd()
        os.chdir(self.dir)
        try:
            with contextlib.redirect_stdout(io.StringIO()):
                for block in code:
                    exec(compile(block, DOC, "exec"), namespace)
        finally:
            os.chdir(here)
        return namespace

    def test_the_python_snippets_read_what_the_file_holds(self):
        ns = self.run_python_blocks()
        f = self.file
        assignments = ns["assignments"]
        self.assertEqual(sorted(assignments.columns), ["distance", "id", "segment", "value"])
        for column in assignments.columns:
            np.testing.assert_array_equal(assignments[column], f["assignments"][column][...])
        profiles, mean, lift = ns["profiles"], ns["mean"], ns["lift"]
        ids = f["profiles/segment_id"][...]
        self.assertEqual(profiles.index.name, "segment_id")
        np.testing.assert_array_equal(profiles.index, ids)
        np.testing.assert_array_equal(profiles["size"], f["profiles/size"][...])
        # Sizes per stable id, counted from the assignments themselves.
        counted = assignments["segment"].value_counts()
        self.assertEqual(profiles["size"].to_dict(), counted.to_dict())
        self.assertEqual(list(mean.columns), list(f["profiles"].attrs["feature_names"]))
        np.testing.assert_array_equal(mean.to_numpy(), f["profiles/mean"][...])
        np.testing.assert_array_equal(lift.to_numpy(), f["profiles/lift"][...])
        self.assertTrue(all(isinstance(d, str) and d for d in profiles["description"]))

    def assert_frame_holds(self, frame, group, columns):
        self.assertEqual(sorted(frame.columns), sorted(columns))
        for column in columns:
            values = group[column][...]
            if values.dtype.kind == "S":
                values = [v.decode() for v in values]
            np.testing.assert_array_equal(frame[column].to_numpy(), values, err_msg=column)

    def test_centroids_quality_run_and_model_frames_hold_the_file(self):
        ns = self.run_python_blocks()
        f = self.file
        ids = f["profiles/segment_id"][...]
        for space in ("scaled", "original"):
            frame = ns["centroids"][space]
            np.testing.assert_array_equal(frame.index, ids)
            np.testing.assert_array_equal(frame.to_numpy(), f["centroids"][space][...])
        for name, frame in (("quality", ns["quality"]), ("run", ns["run_record"])):
            self.assertEqual(set(frame.index), set(f[name].attrs))
        self.assertEqual(ns["quality"]["inertia"], f["quality"].attrs["inertia"])
        self.assertEqual(ns["run_record"]["k"], 5)
        self.assertIn("k = 5", ns["run_record"]["configuration"])
        m = f["model"]
        np.testing.assert_array_equal(ns["model_ids"], m["segment_ids"][...])
        self.assert_frame_holds(ns["scaling"], m["scaling"], ["log1p", "offset", "scale"])
        self.assertEqual(list(ns["scaling"].index), list(m["scaling"].attrs["feature_names"]))
        self.assert_frame_holds(ns["transform"], m["transform"],
                                ["source", "category", "fill", "clip_low", "clip_high", "weight"])
        # Scaling the profiles' population means with the model gives the scaled space's mean:
        # 0 for z-scored features (an independent check that the rows are the features').
        scaled_mean = ((f["profiles/population_mean"][...] - ns["scaling"]["offset"])
                       / ns["scaling"]["scale"])
        np.testing.assert_allclose(scaled_mean, 0, atol=1e-6)

    def test_two_level_and_tree_frames_hold_the_file(self):
        ns = self.run_python_blocks()
        with h5py.File(os.path.join(self.dir, "run-2l", "segments.h5"), "r") as f:
            self.assert_frame_holds(ns["two_level"], f["assignments"],
                                    ["id", "segment", "macro_segment", "distance", "value"])
            macro = ns["macro_profiles"]
            np.testing.assert_array_equal(macro.index, f["macro/profiles/segment_id"][...])
            np.testing.assert_array_equal(macro["size"], f["macro/profiles/size"][...])
            np.testing.assert_array_equal(ns["macro_centroids"].to_numpy(),
                                          f["macro/centroids/original"][...])
            self.assertEqual(set(ns["macro_quality"].index), set(f["macro/quality"].attrs))
        two_level = ns["two_level"]
        # Each micro-segment inside one macro segment, as /model/macro_of_segment says, and the
        # macro sizes counted from the customers.
        pairs = two_level.groupby("segment")["macro_segment"].agg(["nunique", "first"])
        self.assertTrue((pairs["nunique"] == 1).all())
        self.assertEqual(pairs["first"].to_dict(), ns["macro_of_segment"].to_dict())
        self.assertEqual(two_level["macro_segment"].value_counts().to_dict(),
                         macro["size"].to_dict())
        tree = ns["tree"]
        with h5py.File(os.path.join(self.dir, "run-tree", "segments.h5"), "r") as f:
            self.assert_frame_holds(tree[["parent", "size", "inertia", "segment", "segment_id"]],
                                    f["tree"], ["parent", "size", "inertia", "segment",
                                                "segment_id"])
            np.testing.assert_array_equal(tree[["child_0", "child_1"]].to_numpy(),
                                          f["tree/children"][...])
            self.assertEqual(len(ns["splits"]), 3)
        inner = tree[tree.child_0 >= 0]
        np.testing.assert_array_equal(
            inner["size"], tree["size"].loc[inner.child_0].to_numpy()
            + tree["size"].loc[inner.child_1].to_numpy())
        self.assertEqual(sorted(tree.segment[tree.segment >= 0]), [0, 1, 2, 3])

    def test_sweep_and_assign_frames_hold_the_files(self):
        ns = self.run_python_blocks()
        sweep = ns["sweep"]
        table = pd.read_csv(os.path.join(self.dir, "sweep", "sweep.csv"),
                            float_precision="round_trip").set_index("k")
        self.assertEqual(list(sweep.columns), list(table.columns))
        np.testing.assert_array_equal(sweep.index, table.index)
        np.testing.assert_allclose(sweep.to_numpy(dtype=float), table.to_numpy(dtype=float),
                                   rtol=0, atol=0)
        k = ns["recommended_k"]
        self.assertIn(k, (3, 4))
        self.assertEqual(ns["k_centroids"].shape[0], k)
        self.assertEqual(int(ns["k_sizes"]["size"].sum()), 1500)
        self.assertEqual(sorted(ns["restarts"].columns), ["converged", "inertia", "iterations"])
        self.assertIn("inertia", ns["k_metrics"].index)
        self.assertEqual(ns["k_metrics"]["inertia"], sweep.loc[k, "inertia"])
        scored, scored_csv = ns["scored"], ns["scored_csv"]
        with h5py.File(os.path.join(self.dir, "scored", "assignments.h5"), "r") as f:
            columns = ["id", "segment", "distance", "second_segment", "second_distance", "margin"]
            self.assert_frame_holds(scored, f["assignments"], columns)
        np.testing.assert_array_equal(scored["margin"],
                                      scored["second_distance"] - scored["distance"])
        self.assertEqual(list(scored_csv.columns), ["id", "segment", "distance", "margin"])
        for column in scored_csv.columns:
            np.testing.assert_array_equal(scored_csv[column], scored[column], err_msg=column)
        # Scoring the training data gives the run's own segments.
        with h5py.File(os.path.join(self.dir, "run", "segments.h5"), "r") as f:
            np.testing.assert_array_equal(scored["segment"], f["assignments/segment"][...])

    def test_the_python_migration_matrix_is_the_crosstab_of_the_two_runs(self):
        ns = self.run_python_blocks()
        counts = ns["counts"]
        with h5py.File(os.path.join(self.dir, "run", "segments.h5"), "r") as f:
            before = pd.DataFrame({"id": f["assignments/id"][...],
                                   "previous_segment": f["assignments/segment"][...]})
        after = ns["assignments"][["id", "segment"]].rename(columns={"segment": "new_segment"})
        joined = before.merge(after, on="id")
        crosstab = pd.crosstab(joined["previous_segment"], joined["new_segment"])
        common = counts.drop(index=-1, columns=-1)
        self.assertEqual(common.index.name, "previous_segment")
        self.assertEqual(common.columns.name, "new_segment")
        expected = crosstab.reindex(index=common.index, columns=common.columns, fill_value=0)
        np.testing.assert_array_equal(common.to_numpy(), expected.to_numpy())
        moves = ns["moves"]
        self.assertEqual(len(moves), int((joined["previous_segment"]
                                          != joined["new_segment"]).sum()))
        self.assertEqual(list(ns["at_risk"].columns), ["id", "previous_segment", "new_segment",
                                                       "previous_value", "new_value",
                                                       "value_drop"])
        flows = ns["flows"]
        np.testing.assert_array_equal(flows["new_size"].loc[ns["profiles"].index],
                                      ns["profiles"]["size"])

    def test_the_r_snippet_reads_the_same_tables_with_hdf5r(self):
        [code] = blocks("r")
        code += ('\nwrite.csv(assignments, "r_assignments.csv", row.names = FALSE)\n'
                 'write.csv(mean, "r_mean.csv")\nwrite.csv(counts, "r_counts.csv")\n')
        proc = subprocess.run(["Rscript", "-"], input=code, cwd=self.dir, capture_output=True,
                              text=True, timeout=120)
        self.assertEqual(proc.returncode, 0, proc.stderr)
        f = self.file
        assignments = pd.read_csv(os.path.join(self.dir, "r_assignments.csv"))
        self.assertEqual(list(assignments.columns), ["id", "segment", "distance", "value"])
        np.testing.assert_array_equal(assignments["id"].astype(np.int64), f["assignments/id"][...])
        np.testing.assert_array_equal(assignments["segment"], f["assignments/segment"][...])
        np.testing.assert_allclose(assignments["distance"], f["assignments/distance"][...],
                                   rtol=1e-14)
        mean = pd.read_csv(os.path.join(self.dir, "r_mean.csv"), index_col=0)
        self.assertEqual(list(mean.columns), list(f["profiles"].attrs["feature_names"]))
        np.testing.assert_array_equal(mean.index, f["profiles/segment_id"][...])
        np.testing.assert_allclose(mean.to_numpy(), f["profiles/mean"][...], rtol=1e-14)
        counts = pd.read_csv(os.path.join(self.dir, "r_counts.csv"), index_col=0)
        np.testing.assert_array_equal(counts.to_numpy(), f["migration/counts"][...])
        np.testing.assert_array_equal(counts.index, f["migration/counts"].attrs["prev_segment_ids"])


if __name__ == "__main__":
    unittest.main()
