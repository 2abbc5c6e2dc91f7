"""Successive quarters of one customer base with known movement, made with `microseg generate`
and h5py (for the forecast tests while `generate --quarters` is not available), segmented with
`segment --previous` into a chain of runs.

Quarter 1 is a generated base with well separated planted segments. Each later quarter: every
customer is lost with probability `churn` (`factor` × that for a customer who moved last quarter to
a planted segment of lower mean monetary value), each remaining customer moves to another planted
segment, chosen uniformly, with probability `migration` (its features replaced by those of a random
quarter-1 customer of that segment), and `new` customers arrive, their planted segment drawn from
`new_share`, with fresh ids. Rows are shuffled.
"""
import os

import h5py
import numpy as np

from microseg_run import read_planted, read_table, run, write_matrix


def write_quarter(path, ids, x, names, planted, moved_down):
    write_matrix(path, ids, x, names, dtype=np.float32)
    with h5py.File(path, "a") as f:
        f["customers/planted_segment"] = planted.astype(np.int32)
        f["customers/moved_down"] = moved_down.astype(np.int8)


def record_truth(paths, truth, factor):
    """/planted/transition and the root attribute mover_churn_factor in every quarter, as
    `generate --quarters` writes them."""
    for path in paths:
        with h5py.File(path, "a") as f:
            f["planted/transition"] = truth["transition"]
            f["planted/new_customer_share"] = truth["new_share"]
            f.attrs["mover_churn_factor"] = factor


def make_quarters(d, customers, segments, quarters, seed=5, migration=0.06, churn=0.04,
                  factor=3.0, new=None, new_share=None):
    """Writes DIR/q1.h5 … qQ.h5; returns (paths, truth) where truth holds the planted segment
    value (mean monetary), the transition probabilities (S × (S+1)) of an ordinary customer and
    the new-customer share."""
    rng = np.random.default_rng(seed)
    first = os.path.join(d, "q1.h5")
    run(2, "generate", "--customers", customers, "--segments", segments, "--separation", 12,
        "--seed", seed, "--output", first)
    ids, x, names = read_table(first)
    x = x.astype(np.float32)
    planted = read_planted(first).astype(np.int64)
    value = np.array([x[planted == s, names.index("monetary")].mean() for s in range(segments)])
    pools = [x[planted == s] for s in range(segments)]
    new = customers // 20 if new is None else new
    share = np.full(segments, 1.0 / segments) if new_share is None else np.asarray(new_share)
    moved_down = np.zeros(len(ids), dtype=bool)
    with h5py.File(first, "a") as f:
        f["customers/moved_down"] = moved_down.astype(np.int8)
    paths = [first]
    next_id = int(ids.max()) + 1
    for q in range(2, quarters + 1):
        lost = rng.random(len(ids)) < churn * np.where(moved_down, factor, 1.0)
        ids, x, planted = ids[~lost], x[~lost].copy(), planted[~lost]
        move = rng.random(len(ids)) < migration
        target = (planted + rng.integers(1, segments, len(ids))) % segments
        for i in np.flatnonzero(move):
            x[i] = pools[target[i]][rng.integers(len(pools[target[i]]))]
        moved_down = move & (value[target] < value[planted])
        planted = np.where(move, target, planted)
        arrivals = rng.choice(segments, size=new, p=share)
        fresh = np.stack([pools[s][rng.integers(len(pools[s]))] for s in arrivals])
        ids = np.concatenate([ids, np.arange(next_id, next_id + new)])
        next_id += new
        x = np.concatenate([x, fresh])
        planted = np.concatenate([planted, arrivals])
        moved_down = np.concatenate([moved_down, np.zeros(new, dtype=bool)])
        order = rng.permutation(len(ids))
        ids, x, planted, moved_down = ids[order], x[order], planted[order], moved_down[order]
        path = os.path.join(d, f"q{q}.h5")
        write_quarter(path, ids, x, names, planted, moved_down)
        paths.append(path)
    transition = np.full((segments, segments + 1), (1 - churn) * migration / (segments - 1))
    np.fill_diagonal(transition, (1 - churn) * (1 - migration))
    transition[:, segments] = churn
    truth = {"value": value, "transition": transition, "new_share": share}
    record_truth(paths, truth, factor)
    return paths, truth


def segment_chain(d, paths, k, ranks=2):
    """Segments each quarter with --previous of the one before (seed 3): the run directories."""
    runs = []
    for q, path in enumerate(paths, start=1):
        out = os.path.join(d, f"run-q{q}")
        args = ["segment", "--input", path, "--k", k, "--seed", 3, "--output", out]
        if runs:
            args += ["--previous", runs[-1]]
        run(ranks, *args)
        runs.append(out)
    return runs
