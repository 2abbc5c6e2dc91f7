#!/usr/bin/env python3
"""Benchmark data: n customers × d float32 features drawn around k_true centres, as a microseg
customer table (/customers/id, /customers/features with feature_names), plus initial centroids
(k random rows, /centroids) so microseg and scikit-learn start from the same place.

usage: make_data.py OUT.h5 INIT.h5 --n N --d D --k K [--seed S]
"""
import argparse

import h5py
import numpy as np


def planted_centres(seed, k, d):
    """The centres the rows are drawn around: the generator's first draw for this seed."""
    return np.random.default_rng(seed).normal(0, 3, size=(max(k, 2), d)).astype(np.float32)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("output")
    parser.add_argument("init")
    parser.add_argument("--n", type=int, required=True)
    parser.add_argument("--d", type=int, required=True)
    parser.add_argument("--k", type=int, required=True)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    rng = np.random.default_rng(args.seed)
    true_centres = rng.normal(0, 3, size=(max(args.k, 2), args.d)).astype(np.float32)
    assert np.array_equal(true_centres, planted_centres(args.seed, args.k, args.d))
    chunk = 1_000_000
    with h5py.File(args.output, "w") as f:
        g = f.create_group("customers")
        g.create_dataset("id", data=np.arange(args.n, dtype=np.int64) + 1)
        x = g.create_dataset("features", shape=(args.n, args.d), dtype=np.float32,
                             chunks=(min(65536, args.n), args.d))
        x.attrs["feature_names"] = np.array([f"f{j}" for j in range(args.d)],
                                            dtype=h5py.string_dtype())
        for start in range(0, args.n, chunk):
            stop = min(args.n, start + chunk)
            labels = rng.integers(0, len(true_centres), size=stop - start)
            x[start:stop] = true_centres[labels] + rng.normal(
                0, 1, size=(stop - start, args.d)).astype(np.float32)
        rows = np.sort(rng.choice(args.n, args.k, replace=False))
        init = x[rows, :].astype(np.float64)
    with h5py.File(args.init, "w") as f:
        f["centroids"] = init


if __name__ == "__main__":
    main()
