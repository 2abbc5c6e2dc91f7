"""`segment --sample-weight` against scikit-learn 1.2.1's KMeans(sample_weight=...) and against
the customers repeated as often as their weight.

With the same initial centroids, --scale none and tol 0, the labels must be scikit-learn's and
the inertia its weighted inertia to 1e-6; a customer of integer weight w must give the result of
that customer appearing w times (weight 0: not at all), at the fit, the quality metrics and the
profiles.
"""
import os
import sys
import unittest

import h5py
import numpy as np
import pandas as pd
from sklearn.cluster import KMeans

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "support"))
from microseg_run import run, temp_dir, write_columns  # noqa: E402

REL = 1e-6


def blobs(n, d, centers, seed):
    rng = np.random.default_rng(seed)
    means = rng.normal(0, 4, size=(centers, d))
    labels = rng.integers(0, centers, size=n)
    return means[labels] + rng.normal(0, 1, size=(n, d)) * rng.uniform(0.5, 2, size=d)


def read_run(out):
    with h5py.File(os.path.join(out, "segments.h5"), "r") as f:
        result = {"ids": f["assignments/id"][...], "labels": f["assignments/segment"][...],
                  "centroids": f["centroids/scaled"][...], "quality": dict(f["quality"].attrs),
                  "run": dict(f["run"].attrs)}
        for name in ("size", "share", "mean", "std", "lift", "population_mean",
                     "population_std"):
            result[name] = f["profiles"][name][...]
        if "weight" in f["profiles"]:
            result["weight"] = f["profiles/weight"][...]
    return result


def write_init(path, centroids):
    with h5py.File(path, "w") as f:
        f["centroids"] = centroids


class SameAsScikitLearn(unittest.TestCase):
    """Weighted Lloyd from the same seeds: labels, inertia and centroids as scikit-learn's."""

    @classmethod
    def setUpClass(cls):
        cls.dir = temp_dir()
        n, d, cls.k = 3000, 5, 6
        x = blobs(n, d, 7, seed=21).astype(np.float32)
        rng = np.random.default_rng(4)
        # Weights of any size, a tenth of them 0, as float32 (what microseg reads).
        w = rng.gamma(2.0, 1.5, size=n).astype(np.float32)
        w[rng.choice(n, n // 10, replace=False)] = 0
        cls.x, cls.w = x.astype(np.float64), w.astype(np.float64)
        names = [f"f{j}" for j in range(d)]
        columns = dict(zip(names, x.T))
        columns["weight"] = w
        cls.input = os.path.join(cls.dir, "customers.h5")
        ids = rng.permutation(n) + 10
        write_columns(cls.input, ids, columns)
        cls.init = cls.x[rng.choice(np.flatnonzero(w > 0), cls.k, replace=False)]
        init_path = os.path.join(cls.dir, "init.h5")
        write_init(init_path, cls.init)
        cls.out = os.path.join(cls.dir, "run")
        run(3, "segment", "--input", cls.input, "--k", cls.k, "--output", cls.out,
            "--init-centroids", init_path, "--scale", "none", "--tol", 0, "--max-iter", 300,
            "--sample-weight", "weight", "--silhouette-sample", 500)
        cls.result = read_run(cls.out)
        cls.sk = KMeans(n_clusters=cls.k, init=cls.init, n_init=1, tol=0, max_iter=300,
                        algorithm="lloyd").fit(cls.x, sample_weight=cls.w)

    def test_labels_are_identical_to_sklearn(self):
        np.testing.assert_array_equal(self.result["labels"], self.sk.labels_)

    def test_weighted_inertia_matches_sklearn(self):
        self.assertAlmostEqual(self.result["quality"]["inertia"] / self.sk.inertia_, 1, delta=REL)

    def test_centroids_are_weighted_means_as_sklearn(self):
        np.testing.assert_allclose(self.result["centroids"], self.sk.cluster_centers_, rtol=0,
                                   atol=1e-5)

    def test_iteration_count_matches_sklearn(self):
        self.assertEqual(self.result["run"]["iterations"], self.sk.n_iter_)
        self.assertEqual(self.result["run"]["converged"], 1)

    def test_customers_of_weight_zero_are_still_assigned(self):
        self.assertEqual(len(self.result["labels"]), len(self.w))
        self.assertEqual(self.result["size"].sum(), len(self.w))

    def test_profiles_are_weighted_group_statistics(self):
        labels = self.result["labels"]
        frame = pd.DataFrame(self.x)
        weight = pd.Series(self.w)
        total = weight.groupby(labels).sum().to_numpy()
        np.testing.assert_allclose(self.result["weight"], total, rtol=1e-12)
        np.testing.assert_allclose(self.result["share"], total / self.w.sum(), rtol=1e-12)
        means = frame.mul(weight, axis=0).groupby(labels).sum().to_numpy() / total[:, None]
        np.testing.assert_allclose(self.result["mean"], means, rtol=1e-6, atol=1e-9)
        population = (self.x * self.w[:, None]).sum(axis=0) / self.w.sum()
        np.testing.assert_allclose(self.result["population_mean"], population, rtol=1e-6)
        deviation = (self.x - means[labels]) ** 2 * self.w[:, None]
        std = np.sqrt(pd.DataFrame(deviation).groupby(labels).sum().to_numpy() / total[:, None])
        np.testing.assert_allclose(self.result["std"], std, rtol=1e-5)
        np.testing.assert_array_equal(self.result["size"], np.bincount(labels, minlength=self.k))


class WeightTwoIsTheCustomerTwice(unittest.TestCase):
    """Integer weights against the customers repeated w times (and left out when w = 0)."""

    @classmethod
    def setUpClass(cls):
        cls.dir = temp_dir()
        n, d, cls.k = 2500, 4, 5
        rng = np.random.default_rng(8)
        x = (blobs(n, d, 6, seed=5) * np.array([1.0, 10.0, 0.5, 3.0]) + 20).astype(np.float32)
        w = rng.integers(0, 4, size=n).astype(np.float32)  # 0, 1, 2 or 3
        w[0] = 2  # at least one of each
        names = [f"f{j}" for j in range(d)]
        ids = np.arange(n, dtype=np.int64) * 7 + 3
        cls.weighted = os.path.join(cls.dir, "weighted.h5")
        columns = dict(zip(names, x.T))
        columns["w"] = w
        write_columns(cls.weighted, ids, columns)
        # The repeated table: customer i appears w[i] times in a row, each copy its own id.
        cls.repeat = np.repeat(np.arange(n), w.astype(int))
        cls.repeated = os.path.join(cls.dir, "repeated.h5")
        write_columns(cls.repeated, np.arange(len(cls.repeat), dtype=np.int64),
                      dict(zip(names, x[cls.repeat].T)))
        cls.w = w
        cls.results = {}
        for scale in ("none", "zscore"):
            # The seeds in each run's own scaled space: rows of positive weight, scaled by the
            # weighted statistics (equal to the repeated table's).
            xs = x.astype(np.float64)
            if scale == "zscore":
                mean = np.average(xs, axis=0, weights=w)
                std = np.sqrt(np.average((xs - mean) ** 2, axis=0, weights=w))
                xs = (xs - mean) / std
            init = os.path.join(cls.dir, f"init-{scale}.h5")
            write_init(init, xs[np.flatnonzero(w > 0)[[3, 40, 400, 900, 1500]]])
            common = ["--k", cls.k, "--scale", scale, "--init-centroids", init, "--tol", 0,
                      "--value-feature", "f1", "--silhouette-sample", 0]
            for name, path, extra in (("weighted", cls.weighted, ["--sample-weight", "w"]),
                                      ("repeated", cls.repeated, [])):
                out = os.path.join(cls.dir, f"{name}-{scale}")
                run(2, "segment", "--input", path, "--output", out, *common, *extra)
                cls.results[name, scale] = read_run(out)
                cls.results[name, scale]["value"] = pd.read_csv(
                    os.path.join(out, "profiles.csv"))[["value_total", "value_mean",
                                                        "value_share"]].to_numpy()

    def check_scale(self, scale):
        a, b = self.results["weighted", scale], self.results["repeated", scale]
        # Every copy of a customer is where the customer is; the customers of weight 0 are
        # assigned too, but nothing of theirs counts.
        np.testing.assert_array_equal(a["labels"][self.repeat], b["labels"])
        np.testing.assert_allclose(a["centroids"], b["centroids"], rtol=1e-9, atol=1e-9)
        np.testing.assert_allclose(a["weight"], b["size"].astype(float), rtol=0)
        for name in ("share", "mean", "std", "lift", "population_mean", "population_std",
                     "value"):
            np.testing.assert_allclose(a[name], b[name], rtol=1e-9, atol=1e-12, err_msg=name)
        for metric in ("inertia", "calinski_harabasz", "davies_bouldin",
                       "silhouette_simplified"):
            self.assertAlmostEqual(a["quality"][metric] / b["quality"][metric], 1, delta=1e-9,
                                   msg=metric)
        self.assertEqual(a["run"]["iterations"], b["run"]["iterations"])

    def test_same_result_as_repeated_customers_unscaled(self):
        self.check_scale("none")

    def test_same_result_as_repeated_customers_with_weighted_zscore(self):
        self.check_scale("zscore")


if __name__ == "__main__":
    unittest.main(verbosity=2)
