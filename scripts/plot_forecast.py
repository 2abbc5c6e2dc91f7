#!/usr/bin/python3
"""A PNG chart of a microseg forecast: each segment's size over the past runs of the chain and
its forecast, the expected size with the 90 % interval as a band.

Usage: scripts/plot_forecast.py FORECAST_DIR [--output FILE]

Reads FORECAST_DIR/forecast.h5 (h5py: /history/sizes, /forecast/expected_size, size_low,
size_high, /transition/segment_ids) and writes, with Debian's matplotlib, FILE (default
FORECAST_DIR/forecast.png): one line per segment over the quarters of the runs (quarter 1 = the
first run), continued dashed to the horizon, the interval shaded. Exit status 2 with a message when
FORECAST_DIR holds no forecast.
"""
import argparse
import os
import sys

import matplotlib

matplotlib.use("Agg")  # files only; no display needed on a cluster node
import h5py  # noqa: E402
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402


def plot(f, path):
    ids = f["transition/segment_ids"][...]
    history = f["history/sizes"][...]
    expected = f["forecast/expected_size"][...]
    low, high = f["forecast/size_low"][...], f["forecast/size_high"][...]
    past = np.arange(1, history.shape[0] + 1)
    ahead = np.arange(history.shape[0], history.shape[0] + expected.shape[0] + 1)
    fig, ax = plt.subplots(figsize=(9, 5.5))
    colours = plt.cm.tab20(np.linspace(0, 1, max(len(ids), 2)))
    for s, segment in enumerate(ids):
        colour = colours[s % len(colours)]
        ax.plot(past, history[:, s], marker="o", color=colour, label=f"segment {segment}")
        now = history[-1, s]
        ax.plot(ahead, np.concatenate([[now], expected[:, s]]), linestyle="--", color=colour)
        ax.fill_between(ahead, np.concatenate([[now], low[:, s]]),
                        np.concatenate([[now], high[:, s]]), color=colour, alpha=0.2)
    ax.axvline(history.shape[0], color="grey", linewidth=0.8)
    ax.set_xlabel("quarter (runs of the chain, then the forecast)")
    ax.set_ylabel("customers")
    ax.set_title("Segment sizes: past runs and forecast with 90 % interval")
    ax.legend(fontsize="small", ncol=2)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("forecast_dir")
    parser.add_argument("--output", help="PNG file (default FORECAST_DIR/forecast.png)")
    args = parser.parse_args()
    source = os.path.join(args.forecast_dir, "forecast.h5")
    if not os.path.isfile(source):
        print(f"plot_forecast.py: '{source}' does not exist: '{args.forecast_dir}' is not the "
              "output directory of microseg forecast", file=sys.stderr)
        return 2
    output = args.output or os.path.join(args.forecast_dir, "forecast.png")
    with h5py.File(source, "r") as f:
        plot(f, output)
    print(output)
    return 0


if __name__ == "__main__":
    sys.exit(main())
