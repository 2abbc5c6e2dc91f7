#!/usr/bin/env python3
"""scikit-learn's side of the benchmark: KMeans lloyd and elkan from the same initial centroids,
on the same float32 data, with a fixed thread count (threadpoolctl); and k-means++ seedings, timed
and saved as centroid files (PREFIX-SEED.h5, /centroids) for microseg's Lloyd to converge from.

usage: sklearn_kmeans.py DATA.h5 INIT.h5 --iterations N [--tol T] [--threads 2]
                         [--algorithms lloyd,elkan] [--kmeanspp-seeds 1,2,3 --centres-prefix P]
Prints one `key value` line per measurement.
"""
import argparse
import time

import h5py
import numpy as np
from sklearn.cluster import KMeans, kmeans_plusplus
from threadpoolctl import threadpool_limits


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("data")
    parser.add_argument("init")
    parser.add_argument("--iterations", type=int, required=True)
    parser.add_argument("--tol", type=float, default=0.0)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--algorithms", default="lloyd,elkan", help="'' for none")
    parser.add_argument("--kmeanspp-seeds", default="",
                        help="comma-separated seeds of k-means++ seedings to time and save")
    parser.add_argument("--centres-prefix", help="where the seedings go: PREFIX-SEED.h5")
    args = parser.parse_args()
    with h5py.File(args.data, "r") as f:
        x = f["customers/features"][...].astype(np.float32)
    with h5py.File(args.init, "r") as f:
        init = f["centroids"][...].astype(np.float32)
    k = init.shape[0]
    with threadpool_limits(limits=args.threads):
        for algorithm in [a for a in args.algorithms.split(",") if a]:
            start = time.perf_counter()
            model = KMeans(n_clusters=k, init=init, n_init=1, max_iter=args.iterations,
                           tol=args.tol, algorithm=algorithm).fit(x)
            seconds = time.perf_counter() - start
            print(f"{algorithm}_seconds {seconds:.4f}")
            print(f"{algorithm}_iterations {model.n_iter_}")
            print(f"{algorithm}_ms_per_iteration {1e3 * seconds / model.n_iter_:.2f}")
            print(f"{algorithm}_inertia {model.inertia_:.10g}")
        for seed in [int(v) for v in args.kmeanspp_seeds.split(",") if v]:
            start = time.perf_counter()
            centres, _ = kmeans_plusplus(x, n_clusters=k, random_state=seed)
            print(f"kmeanspp_seconds_{seed} {time.perf_counter() - start:.4f}")
            with h5py.File(f"{args.centres_prefix}-{seed}.h5", "w") as f:
                f["centroids"] = centres.astype(np.float64)


if __name__ == "__main__":
    main()
