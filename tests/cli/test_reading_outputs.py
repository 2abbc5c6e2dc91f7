"""The snippets of docs/reading-outputs.md work on a real run: every Python block, run in order
in the directory holding run/ and run-q2/, builds data frames with the documented column names
that hold exactly what segments.h5 holds, and its migration matrix agrees with a crosstab of the
two runs' assignments joined by customer id (an independent count); the R block (hdf5r) builds
the same assignments, profile means and migration counts."""
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
        cls.file = h5py.File(os.path.join(cls.dir, "run-q2", "segments.h5"), "r")

    @classmethod
    def tearDownClass(cls):
        cls.file.close()

    def run_python_blocks(self):
        code = blocks("python")
        self.assertGreaterEqual(len(code), 4)
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
        self.assertEqual(list(assignments.columns), ["id", "segment", "distance", "value"])
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
