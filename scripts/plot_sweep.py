#!/usr/bin/python3
"""Draws a sweep's metrics against k into a PNG, with the recommended k and the runner-up marked.

Usage: scripts/plot_sweep.py SWEEP_DIR [--output PNG]   (default SWEEP_DIR/sweep.png)

Reads SWEEP_DIR/sweep.h5 (written by `microseg sweep` or `microseg sweep-merge`) with h5py and
draws with matplotlib, both from Debian (python3-h5py, python3-matplotlib): run it with
/usr/bin/python3.
"""
import argparse
import os
import sys

import h5py
import matplotlib

matplotlib.use("Agg")  # no display on cluster nodes
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

# (column, title, which way is better); the silhouette panel also draws silhouette_simplified.
PANELS = [
    ("inertia", "Inertia (within-segment sum of squares)", "lower; look for the knee"),
    ("calinski_harabasz", "Calinski-Harabasz", "higher is better (cross-check)"),
    ("davies_bouldin", "Davies-Bouldin", "lower is better"),
    ("silhouette_sampled", "Silhouette", "higher is better"),
    ("stability", "Stability (mean ARI between restarts)", "higher is better; candidates >= 0.5"),
    ("min_segment_share", "Smallest segment (% of customers)", "information"),
]


def text(value):
    return value.decode() if isinstance(value, bytes) else str(value)


def read_sweep(directory):
    path = os.path.join(directory, "sweep.h5")
    if not os.path.isfile(path):
        sys.exit(f"plot_sweep: '{path}' does not exist: is '{directory}' a finished sweep?")
    with h5py.File(path, "r") as f:
        if "sweep" not in f:
            sys.exit(f"plot_sweep: '{path}' has no /sweep table")
        table = f["sweep"][...]
        attrs = {key: f.attrs[key] for key in f.attrs}
        settings = {key: f["settings"].attrs[key] for key in f["settings"].attrs} \
            if "settings" in f else {}
    return table, attrs, settings


def draw(table, attrs, settings, output):
    k = table["k"]
    recommended = int(attrs["recommended_k"])
    runner_up = int(attrs.get("runner_up_k", 0))
    fig, axes = plt.subplots(2, 3, figsize=(15, 8.5), sharex=True)
    for axis, (column, title, better) in zip(axes.flat, PANELS):
        values = table[column] * (100 if column == "min_segment_share" else 1)
        axis.plot(k, values, marker="o", color="tab:blue", label=column.replace("_", " "))
        if column == "silhouette_sampled":
            axis.plot(k, table["silhouette_simplified"], marker=".", linestyle=":",
                      color="tab:gray", label="simplified (centroids)")
            axis.legend(loc="best", fontsize=8, labels=["sampled (stratified)", "simplified"])
        if column == "stability":
            axis.axhline(0.5, color="tab:red", linewidth=0.8, linestyle=":")
            if np.isnan(values).all():
                axis.text(0.5, 0.5, "not measured (one restart)", ha="center",
                          transform=axis.transAxes, color="tab:gray")
        axis.axvline(recommended, color="tab:green", linewidth=2,
                     label=f"recommended k = {recommended}")
        if runner_up > 0:
            axis.axvline(runner_up, color="tab:orange", linewidth=1.5, linestyle="--",
                         label=f"runner-up k = {runner_up}")
        chosen = np.flatnonzero(k == recommended)
        if chosen.size and np.isfinite(values[chosen[0]]):
            axis.plot(k[chosen], values[chosen], marker="*", markersize=16, color="tab:green")
        axis.set_title(title, fontsize=11)
        axis.set_ylabel(better, fontsize=8, color="dimgray")
        axis.grid(alpha=0.3)
    for axis in axes[1]:
        axis.set_xlabel("k (number of segments)")
    handles, labels = axes.flat[0].get_legend_handles_labels()
    fig.legend(handles[1:], labels[1:], loc="upper right", fontsize=10)
    source = text(settings.get("input", ""))
    customers = settings.get("customers", "")
    fig.suptitle(f"microseg sweep: recommended k = {recommended}"
                 + (f", runner-up k = {runner_up}" if runner_up else "")
                 + (f"   ({customers} customers, {os.path.basename(source)})" if source else ""),
                 fontsize=14)
    reason = text(attrs.get("recommended_reason", ""))
    if reason:
        import textwrap
        fig.text(0.01, 0.005, "\n".join(textwrap.wrap(reason, 190)), fontsize=7.5, va="bottom",
                 color="dimgray")
    fig.tight_layout(rect=(0, 0.06, 1, 0.95))
    fig.savefig(output, dpi=100)
    plt.close(fig)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("sweep", help="a sweep directory (holding sweep.h5)")
    parser.add_argument("--output", help="PNG to write (default SWEEP/sweep.png)")
    args = parser.parse_args()
    table, attrs, settings = read_sweep(args.sweep)
    output = args.output or os.path.join(args.sweep, "sweep.png")
    draw(table, attrs, settings, output)
    print(f"plot_sweep: wrote {output}")


if __name__ == "__main__":
    main()
