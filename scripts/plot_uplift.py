#!/usr/bin/python3
"""A PNG chart of a campaign measured by `microseg evaluate`.

Usage: scripts/plot_uplift.py EVAL_DIR [--output FILE]

Reads EVAL_DIR/evaluation.h5 (h5py) and writes, with Debian's matplotlib, uplift.png (default
EVAL_DIR/uplift.png): the absolute uplift of every segment as a point with its 95 % interval
(Newcombe), sorted by uplift, coloured by label (target, avoid, uncertain), with the overall uplift
as a dashed line. Segments with an empty treated or control group have no uplift and are left
out. The chart is a shared export, so it follows the evaluation's --privacy-min-count (from
EVAL_DIR/manifest.json, 10 when it records none): a segment whose treated or control group has
1..N-1 customers is left out, and so is the overall line when the whole campaign has such an
arm. Exit status 2 with a message when EVAL_DIR holds no evaluation.
"""
import argparse
import os
import sys

import matplotlib

matplotlib.use("Agg")  # files only; no display needed on a cluster node
import h5py  # noqa: E402
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))  # plot_run.py, beside this one
from plot_run import run_min_count  # noqa: E402

COLOURS = {"target": "tab:green", "avoid": "tab:red", "uncertain": "tab:grey"}


# The evaluation's --privacy-min-count as its manifest records it (10 when it records none): an
# evaluation directory's manifest.json has the same "privacy" entry as a run's.
min_count_of = run_min_count


def hidden(group, min_count):
    """True where a row's treated or control group has 1..min_count-1 customers."""
    return np.logical_or.reduce([(0 < group[arm][...]) & (group[arm][...] < min_count)
                                 for arm in ("treated_customers", "control_customers")])


def read(path, min_count):
    with h5py.File(path, "r") as f:
        g = f["segments"]
        shown = ~hidden(g, min_count)
        columns = {name: g[name][...][shown] for name in ("segment_id", "uplift", "uplift_low",
                                                          "uplift_high")}
        columns["label"] = np.array([v.decode() if isinstance(v, bytes) else str(v)
                                     for v in g["label"][...]])[shown]
        overall = float("nan") if hidden(f["overall"], min_count)[0] \
            else float(f["overall/uplift"][0])
    return columns, overall


def plot(columns, overall, output):
    keep = np.isfinite(columns["uplift"])
    order = np.argsort(columns["uplift"][keep], kind="stable")
    ids = columns["segment_id"][keep][order]
    uplift = columns["uplift"][keep][order]
    low = columns["uplift_low"][keep][order]
    high = columns["uplift_high"][keep][order]
    labels = columns["label"][keep][order]
    y = np.arange(len(ids))
    fig, ax = plt.subplots(figsize=(7, 1.5 + 0.35 * len(ids)))
    for label, colour in COLOURS.items():
        chosen = labels == label
        if chosen.any():
            ax.errorbar(uplift[chosen], y[chosen],
                        xerr=[uplift[chosen] - low[chosen], high[chosen] - uplift[chosen]],
                        fmt="o", color=colour, capsize=3, label=label)
    ax.axvline(0, color="black", linewidth=0.8)
    if np.isfinite(overall):
        ax.axvline(overall, color="tab:blue", linestyle="--", linewidth=0.8,
                   label="all customers")
    ax.set_yticks(y)
    ax.set_yticklabels([f"segment {i}" for i in ids])
    ax.set_xlabel("absolute uplift in conversion rate (treated − control), 95 % interval")
    ax.legend(loc="lower right", fontsize="small")
    fig.tight_layout()
    fig.savefig(output, dpi=120)
    plt.close(fig)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("evaluation", help="output directory of microseg evaluate")
    parser.add_argument("--output", help="PNG file (default EVAL_DIR/uplift.png)")
    args = parser.parse_args()
    path = os.path.join(args.evaluation, "evaluation.h5")
    if not os.path.isfile(path):
        print(f"plot_uplift.py: {path} does not exist (not a microseg evaluate output)",
              file=sys.stderr)
        return 2
    columns, overall = read(path, min_count_of(args.evaluation))
    output = args.output or os.path.join(args.evaluation, "uplift.png")
    plot(columns, overall, output)
    print(f"wrote {output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
