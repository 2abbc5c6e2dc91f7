"""The bad-input sweep of issue 7, at 3 ranks: damaged HDF5 files, datasets of the wrong shape or
type, empty tables, degenerate data (ranks without rows, identical rows, a constant feature, huge
values) and job-file mistakes. Each is either refused with exit status 2, one message naming the
file and dataset, and nothing written, or handled correctly. Cases already covered by
test_bad_input.py and test_job_file.py (missing file, text file, string dataset, feature_names
of the wrong length, ...) are not repeated here."""
import os
import shutil
import sys
import unittest

import h5py
import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "support"))
from microseg_run import (directory_bytes, h5diff, run, temp_dir, write_columns,  # noqa: E402
                          write_matrix)

RANKS = 3


def customers(n=300, seed=0):
    rng = np.random.default_rng(seed)
    ids = np.arange(n, dtype=np.int64) * 7 + 1000
    columns = {"age": rng.uniform(18, 80, n), "monetary": rng.lognormal(3, 1, n),
               "frequency": rng.poisson(4, n).astype(np.float64)}
    return ids, columns


def outputs(directory):
    """Every dataset of segments.h5, the /quality attributes and the CSV texts of a run."""
    found = {}
    with h5py.File(os.path.join(directory, "segments.h5"), "r") as f:
        def visit(name, obj):
            if isinstance(obj, h5py.Dataset):
                found[name] = obj[...]
        f.visititems(visit)
        for key, value in f["quality"].attrs.items():
            found[f"quality@{key}"] = value
    for name in ("profiles.csv", "quality.csv"):
        with open(os.path.join(directory, name)) as text:
            found[name] = text.read()
    return found


class BadInputSweep(unittest.TestCase):
    def setUp(self):
        self.dir = temp_dir()
        self.out = os.path.join(self.dir, "out")

    def segment(self, input_path, *extra, k=3, ranks=RANKS, out=None):
        return run(ranks, "segment", "--input", input_path, "--k", k, "--output",
                   out or self.out, *extra, check=False)

    def assert_refused(self, proc, *fragments):
        """Exit status 2, one message holding every fragment, no MPI_Abort, nothing written."""
        self.assertEqual(proc.returncode, 2, proc.stdout + proc.stderr)
        for fragment in fragments:
            self.assertIn(fragment, proc.stderr)
        self.assertEqual(proc.stderr.count("microseg: error"), 1, proc.stderr)
        self.assertNotIn("MPI_ABORT", proc.stderr)
        if os.path.exists(self.out):
            self.assertEqual(os.listdir(self.out), [], "output written despite the error")

    def assert_succeeds(self, proc):
        self.assertEqual(proc.returncode, 0, proc.stdout + proc.stderr)

    def assert_all_finite(self, found, *names):
        for name in names:
            with self.subTest(output=name):
                self.assertTrue(np.all(np.isfinite(found[name])), f"{name}: {found[name]}")

    def matrix_file(self, name, n=20000, chunks=None, compression=None):
        """A matrix-layout table large enough that its raw data fills most of the file."""
        rng = np.random.default_rng(5)
        path = os.path.join(self.dir, name)
        with h5py.File(path, "w") as f:
            g = f.create_group("customers")
            g.create_dataset("id", data=np.arange(n, dtype=np.int64))
            d = g.create_dataset("features", data=rng.normal(size=(n, 4)), chunks=chunks,
                                 compression=compression)
            d.attrs["feature_names"] = np.array(["a", "b", "c", "d"], dtype=h5py.string_dtype())
        return path

    # --- damaged files --------------------------------------------------------------------------

    def test_truncated_hdf5_file(self):
        path = self.matrix_file("truncated.h5")
        os.truncate(path, os.path.getsize(path) // 2)
        self.assert_refused(self.segment(path), "truncated.h5", "not a readable HDF5 file",
                            "truncated")

    def test_corrupted_compressed_chunk_on_the_last_rank(self):
        # Bytes overwritten in the middle of the file, inside a gzip chunk of the last rank's
        # rows: the rank reading it finds the damage, every rank reports it once.
        n = 20000
        path = self.matrix_file("corrupt-chunk.h5", n=n, chunks=(1000, 4), compression="gzip")
        with h5py.File(path, "r") as f:
            info = f["customers/features"].id.get_chunk_info(18)  # rows 18000-18999
        self.assertGreater(info.size, 256)
        with open(path, "r+b") as f:
            f.seek(info.byte_offset + info.size // 2)
            f.write(bytes(range(256)))
        last_rank_rows = f"rows {n * (RANKS - 1) // RANKS} to {n - 1}"
        self.assert_refused(self.segment(path), "corrupt-chunk.h5", "/customers/features",
                            f"cannot read {last_rank_rows}")

    def test_corrupted_object_header(self):
        # The header of /customers/features overwritten: a metadata error every rank sees.
        path = self.matrix_file("corrupt-header.h5")
        with h5py.File(path, "r") as f:
            header = h5py.h5o.get_info(f["customers/features"].id).addr
        with open(path, "r+b") as f:
            f.seek(header)
            f.write(b"\xa5" * 64)
        self.assert_refused(self.segment(path), "corrupt-header.h5", "/customers/features",
                            "cannot be opened")

    def test_corrupted_feature_names_attribute(self):
        # h5py keeps variable-length names in a global heap collection (signature GCOL).
        path = self.matrix_file("corrupt-names.h5")
        with open(path, "r+b") as f:
            data = f.read()
            self.assertEqual(data.count(b"GCOL"), 1)
            f.seek(data.index(b"GCOL"))
            f.write(b"XXXX")
        self.assert_refused(self.segment(path), "corrupt-names.h5", "feature_names",
                            "/customers/features")

    # --- datasets of the wrong rank or type -----------------------------------------------------

    def test_datasets_of_the_wrong_rank(self):
        ids, columns = customers()
        cases = []
        two_d = dict(columns, age=np.ones((300, 2)))
        cases.append(("column-2d.h5", lambda p: write_columns(p, ids, two_d),
                      ["/customers/age", "must be 1-D", "2-D (300 × 2)"]))
        cases.append(("matrix-1d.h5", lambda p: write_matrix(p, ids, np.ones(300), ["a"]),
                      ["/customers/features", "2-D numeric dataset", "1-D (300)"]))
        cases.append(("id-2d.h5", lambda p: write_columns(p, np.ones((300, 1), np.int64),
                                                         columns),
                      ["/customers/id", "1-D dataset of integer customer ids", "2-D"]))
        for name, write, fragments in cases:
            with self.subTest(file=name):
                path = os.path.join(self.dir, name)
                write(path)
                self.assert_refused(self.segment(path), name, *fragments)

    def test_datasets_of_the_wrong_type(self):
        ids, columns = customers()
        compound = np.zeros(300, dtype=[("low", "<f8"), ("high", "<f8")])
        cases = [("compound.h5", lambda p: write_columns(p, ids, dict(columns, age=compound)),
                  ["/customers/age", "must be numeric", "compound"]),
                 ("float-ids.h5", lambda p: self.write_float_ids(p, ids, columns),
                  ["/customers/id", "integer customer ids", "floating-point"])]
        for name, write, fragments in cases:
            with self.subTest(file=name):
                path = os.path.join(self.dir, name)
                write(path)
                self.assert_refused(self.segment(path), name, *fragments)

    @staticmethod
    def write_float_ids(path, ids, columns):
        write_columns(path, ids, columns)
        with h5py.File(path, "r+") as f:
            del f["customers/id"]
            f["customers/id"] = ids.astype(np.float64)

    # --- empty tables ---------------------------------------------------------------------------

    def test_empty_datasets(self):
        columns_path = os.path.join(self.dir, "empty-columns.h5")
        write_columns(columns_path, np.zeros(0, np.int64), {"age": np.zeros(0)})
        self.assert_refused(self.segment(columns_path, k=1), "empty-columns.h5", "no customers",
                            "/customers/id is empty")
        no_columns = os.path.join(self.dir, "no-columns.h5")
        write_matrix(no_columns, np.arange(10), np.zeros((10, 0)), [])
        self.assert_refused(self.segment(no_columns, k=1), "no-columns.h5",
                            "/customers/features", "has no columns")

    # --- degenerate data that must work ---------------------------------------------------------

    def assert_same_on_1_and_3_ranks(self, prefix):
        """h5diff without tolerance between PREFIX-1 and PREFIX-3, all but /run's attributes
        (rank count, timings, the configuration naming the output directory); CSVs byte for
        byte."""
        one, three = (os.path.join(self.dir, f"{prefix}-{r}") for r in (1, RANKS))
        status, report = h5diff(os.path.join(one, "segments.h5"), os.path.join(three, "segments.h5"),
                                exclude_attributes=["/run"])
        self.assertEqual(status, 0, report)
        for name in ("profiles.csv", "quality.csv"):
            with open(os.path.join(one, name), "rb") as a, open(os.path.join(three, name), "rb") as b:
                self.assertEqual(a.read(), b.read(), name)

    def test_fewer_rows_than_ranks_gives_the_one_rank_result(self):
        # Two customers on 3 ranks: rank 0 holds no rows, yet writes the small outputs.
        ids, columns = customers(n=2, seed=3)
        path = os.path.join(self.dir, "two.h5")
        write_columns(path, ids, columns)
        for k in (1, 2):
            with self.subTest(k=k):
                results = {}
                for ranks in (1, RANKS):
                    out = os.path.join(self.dir, f"two-k{k}-{ranks}")
                    self.assert_succeeds(self.segment(path, k=k, ranks=ranks, out=out))
                    results[ranks] = outputs(out)
                one = results[1]
                self.assert_same_on_1_and_3_ranks(f"two-k{k}")
                self.assertEqual(one["assignments/id"].tolist(), ids.tolist())
                expected_segments = [0, 1] if k == 2 else [0, 0]
                self.assertEqual(sorted(one["assignments/segment"].tolist()), expected_segments)

    def test_all_identical_rows(self):
        n = 300
        path = os.path.join(self.dir, "identical.h5")
        write_columns(path, np.arange(n), {"age": np.full(n, 41.0), "monetary": np.full(n, 9.5)})
        # k = 1: one segment holding everyone, at the common row, at distance 0.
        self.assert_succeeds(self.segment(path, k=1))
        found = outputs(self.out)
        self.assertEqual(found["assignments/segment"].tolist(), [0] * n)
        np.testing.assert_array_equal(found["assignments/distance"], np.zeros(n))
        np.testing.assert_array_equal(found["centroids/original"], [[41.0, 9.5]])
        self.assertEqual(found["quality@inertia"], 0.0)
        # k > 1 cannot be met: a clear error, not a hang or NaN centroids.
        shutil.rmtree(self.out)
        for init in ("kmeans-parallel", "kmeans++"):
            with self.subTest(init=init):
                self.assert_refused(self.segment(path, "--init", init, k=2),
                                    "fewer than k distinct customers")

    def test_zero_variance_feature_scales_to_zero(self):
        ids, columns = customers()
        columns["region"] = np.full(300, 4.0)
        path = os.path.join(self.dir, "constant.h5")
        write_columns(path, ids, columns)
        for scale in ("zscore", "minmax"):
            with self.subTest(scale=scale):
                out = os.path.join(self.dir, f"constant-{scale}")
                self.assert_succeeds(self.segment(path, "--scale", scale, out=out))
                found = outputs(out)
                column = list(columns).index("region")
                np.testing.assert_array_equal(found["centroids/scaled"][:, column], 0.0)
                np.testing.assert_array_equal(found["centroids/original"][:, column], 4.0)
                np.testing.assert_array_equal(found["profiles/std"][:, column], 0.0)
                np.testing.assert_array_equal(found["profiles/lift"][:, column], 0.0)
                self.assert_all_finite(found, "centroids/scaled", "assignments/distance",
                                       "quality@inertia", "quality@silhouette_simplified")

    def test_huge_values_scaled_give_finite_outputs_on_any_rank_count(self):
        # 1e30 is finite in float32; z-score and min-max bring it into range, so the run works.
        ids, columns = customers()
        columns["monetary"][250] = 1e30  # on the last rank's rows
        path = os.path.join(self.dir, "huge.h5")
        write_columns(path, ids, columns)
        for scale in ("zscore", "minmax"):
            with self.subTest(scale=scale):
                results = {}
                for ranks in (1, RANKS):
                    out = os.path.join(self.dir, f"huge-{scale}-{ranks}")
                    self.assert_succeeds(self.segment(path, "--scale", scale, ranks=ranks,
                                                      out=out))
                    results[ranks] = outputs(out)
                found = results[RANKS]
                self.assert_all_finite(found, "centroids/scaled", "centroids/original",
                                       "assignments/distance", "profiles/mean", "profiles/std",
                                       "profiles/lift", "quality@inertia",
                                       "quality@calinski_harabasz", "quality@davies_bouldin")
                # Features are listed by name (h5py's order without track_order).
                monetary = sorted(columns).index("monetary")
                np.testing.assert_allclose(found["profiles/max"][:, monetary].max(), 1e30,
                                           rtol=1e-6)
                self.assert_same_on_1_and_3_ranks(f"huge-{scale}")

    def test_huge_values_leave_the_other_customers_profiles_exact(self):
        # Profiles are computed from the columns in original units, not mapped back from the
        # float32 scaled values: next to 1e30, every ordinary monetary value scales to the same
        # float32, which mapped back gave a segment of customers spending 5 to 500 a mean of
        # about 5e19.
        ids, columns = customers()
        columns["monetary"][250] = 1e30
        path = os.path.join(self.dir, "huge-profiles.h5")
        write_columns(path, ids, columns)
        self.assert_succeeds(self.segment(path))
        found = outputs(self.out)
        monetary = sorted(columns).index("monetary")
        values = columns["monetary"].astype(np.float32).astype(np.float64)
        for s in range(3):
            members = values[found["assignments/segment"] == s]
            with self.subTest(segment=s, size=len(members)):
                np.testing.assert_allclose(found["profiles/mean"][s, monetary], members.mean(),
                                           rtol=1e-4)
                np.testing.assert_allclose(found["profiles/max"][s, monetary], members.max(),
                                           rtol=1e-4)

    @unittest.expectedFailure  # until segment checks the range of the scaled features (issue 7)
    def test_huge_values_unscaled_get_a_clear_error(self):
        # Without scaling, 1e30 squared overflows the float32 distance kernel: every row is at
        # an infinite distance from every centroid. Today the run stops with "segment 0 of k = 3
        # is empty ... fewer than k distinct customers", which is false and names no feature.
        ids, columns = customers()
        columns["monetary"][250] = 1e30
        path = os.path.join(self.dir, "huge-none.h5")
        write_columns(path, ids, columns)
        self.assert_refused(self.segment(path, "--scale", "none"), "monetary", "--scale")

    # --- job files ------------------------------------------------------------------------------

    def test_job_file_mistakes_write_nothing_and_keep_the_previous_output(self):
        ids, columns = customers()
        path = os.path.join(self.dir, "good.h5")
        write_columns(path, ids, columns)
        self.assert_succeeds(self.segment(path))
        before = directory_bytes(self.out)
        job = os.path.join(self.dir, "job.ini")
        for text, fragments in [("clustres = 4\n", [job, "unknown key 'clustres'"]),
                                ("scale = logarithmic\n", ["logarithmic", "zscore, minmax"]),
                                ("tol = -0.5\n", ["--tol", "-0.5"]),
                                ("max-iter = 10 iterations\n", ["--max-iter", "10 iterations"])]:
            with self.subTest(job=text):
                with open(job, "w") as f:
                    f.write(f"input = {path}\noutput = {self.out}\nk = 3\n" + text)
                proc = run(RANKS, "segment", "--config", job, check=False)
                self.assertEqual(proc.returncode, 2, proc.stderr)
                self.assertEqual(proc.stderr.count("microseg: error"), 1, proc.stderr)
                for fragment in fragments:
                    self.assertIn(fragment, proc.stderr)
                self.assertEqual(directory_bytes(self.out), before)


if __name__ == "__main__":
    unittest.main(verbosity=2)
