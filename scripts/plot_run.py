#!/usr/bin/python3
"""PNG charts of a microseg run for slides and reports.

Usage: scripts/plot_run.py RUN_DIR [--output DIR] [--privacy-min-count N]

Reads RUN_DIR/segments.h5 (h5py) and writes, with Debian's matplotlib:

  profile_lift.png      segments × features, coloured by lift (segment mean − population mean,
                        in population σ); rows are labelled with the stable segment id, its share
                        of customers and its priority rank.
  hierarchy.png         only for a two-level run (--macro-k): one panel per macro segment, its
                        micro-segments' sizes as bars labelled with their two largest lifts,
                        the panel titled with the macro segment's share and largest lifts.
  migration_matrix.png  only for a run made with --previous: customers by previous segment (rows,
                        plus the row of new customers) and new segment (columns, plus the column
                        of lost customers), coloured by the share of the row, annotated with counts.

The charts are shared exports, so they follow the run's --privacy-min-count (from manifest.json,
10 when it records none; --privacy-min-count overrides it), as profiles.csv does: a segment of fewer
customers is drawn as a blank row (no lifts, no share) labelled "<N, suppressed", a macro panel or
micro bar likewise, and a migration cell of fewer customers shows "<N" with no colour.

The files go to --output (default RUN_DIR). Exit status 2 with a message when RUN_DIR is not a
microseg run.
"""
import argparse
import json
import os
import sys

import matplotlib

matplotlib.use("Agg")  # files only; no display needed on a cluster node
import h5py  # noqa: E402
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402


def text(value):
    return value.decode() if isinstance(value, bytes) else str(value)


def segment_ids(f):
    profiles = f["profiles"]
    if "segment_id" in profiles:
        return profiles["segment_id"][...]
    return np.arange(profiles["size"].shape[0])


def hidden(count, min_count):
    """True for a group of customers the shared exports do not describe (0 describes nobody)."""
    return 0 < count < min_count


def run_min_count(run_dir):
    """The run's --privacy-min-count as its manifest records it; 10 when it records none."""
    try:
        with open(os.path.join(run_dir, "manifest.json"), encoding="utf-8") as manifest:
            return int(json.load(manifest).get("privacy", {}).get("min_count", 10))
    except (OSError, ValueError):
        return 10


def lift_rows(f, min_count):
    """What profile_lift.png draws: the lift matrix, rows by stable id, and each row's label;
    a suppressed segment's row is NaN (blank) and its label says so."""
    lift = np.array(f["profiles/lift"][...], dtype=float)
    ids = segment_ids(f)
    size = f["profiles/size"][...]
    share = f["profiles/share"][...]
    rank = f["profiles/priority_rank"][...] if "priority_rank" in f["profiles"] else None
    order = np.argsort(ids, kind="stable")  # rows by stable id, as marketers refer to them
    labels = []
    for s in order:
        if hidden(size[s], min_count):
            lift[s, :] = np.nan
            labels.append(f"{ids[s]}  (<{min_count}, suppressed)")
            continue
        label = f"{ids[s]}  ({100 * share[s]:.1f}%"
        label += f", priority {rank[s]})" if rank is not None else ")"
        labels.append(label)
    return lift[order], labels


def plot_lift(f, path, min_count):
    features = [text(n) for n in f["profiles"].attrs["feature_names"]]
    lift, labels = lift_rows(f, min_count)
    k, d = lift.shape
    finite = np.abs(lift[np.isfinite(lift)])
    limit = max(1.0, float(finite.max())) if finite.size else 1.0
    fig, ax = plt.subplots(figsize=(max(6, 0.55 * d + 3), max(3, 0.45 * k + 1.8)))
    image = ax.imshow(lift, cmap="RdBu_r", vmin=-limit, vmax=limit, aspect="auto")
    ax.set_xticks(range(d))
    ax.set_xticklabels(features, rotation=45, ha="right")
    ax.set_yticks(range(k))
    ax.set_yticklabels(labels)
    if k * d <= 600:
        for row in range(k):
            for j in range(d):
                value = lift[row, j]
                if not np.isfinite(value):
                    continue
                ax.text(j, row, f"{value:+.1f}", ha="center", va="center", fontsize=7,
                        color="white" if abs(value) > 0.6 * limit else "black")
    ax.set_xlabel("feature")
    ax.set_ylabel("segment (share, priority rank)")
    ax.set_title("Segment profiles: lift in population σ")
    fig.colorbar(image, ax=ax, label="lift (σ)")
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def top_lifts(lift, features, count=2):
    order = np.argsort(-np.abs(lift), kind="stable")[:count]
    return ", ".join(f"{features[j]} {lift[j]:+.1f}σ" for j in order)


def plot_hierarchy(f, path, min_count):
    features = [text(n) for n in f["profiles"].attrs["feature_names"]]
    macro_ids = f["macro/profiles/segment_id"][...]
    macro_size = f["macro/profiles/size"][...]
    macro_share = f["macro/profiles/share"][...]
    macro_lift = f["macro/profiles/lift"][...]
    micro_ids = segment_ids(f)
    # A suppressed micro-segment gets no bar (its length would be its size) and no lifts.
    micro_size = np.array([0 if hidden(n, min_count) else n for n in f["profiles/size"][...]])
    micro_hidden = [hidden(n, min_count) for n in f["profiles/size"][...]]
    micro_lift = f["profiles/lift"][...]
    macro_of = f["model/macro_of_segment"][...]
    panels = len(macro_ids)
    columns = min(3, panels)
    rows = (panels + columns - 1) // columns
    most = max(int(np.sum(macro_of == m)) for m in macro_ids)
    fig, axes = plt.subplots(rows, columns, squeeze=False,
                             figsize=(6.5 * columns, max(2.5, 0.38 * most + 1.4) * rows))
    for panel, m in enumerate(sorted(range(panels), key=lambda i: macro_ids[i])):
        ax = axes[panel // columns][panel % columns]
        members = [s for s in np.argsort(micro_ids, kind="stable") if macro_of[s] == macro_ids[m]]
        ax.barh(range(len(members)), micro_size[members], color="tab:blue")
        ax.set_yticks(range(len(members)))
        ax.set_yticklabels([f"{micro_ids[s]}" for s in members])
        ax.invert_yaxis()
        for row, s in enumerate(members):
            label = (f"<{min_count}, suppressed" if micro_hidden[s]
                     else top_lifts(micro_lift[s], features))
            ax.text(0, row, "  " + label, va="center", fontsize=7,
                    color="white" if micro_size[s] > 0.45 * micro_size[members].max() else "black")
        if hidden(macro_size[m], min_count):
            ax.set_title(f"macro {macro_ids[m]} (<{min_count}, suppressed)", fontsize=9)
        else:
            ax.set_title(f"macro {macro_ids[m]} ({100 * macro_share[m]:.1f}%): "
                         f"{top_lifts(macro_lift[m], features)}", fontsize=9)
        ax.set_xlabel("customers")
    for panel in range(panels, rows * columns):
        axes[panel // columns][panel % columns].axis("off")
    fig.suptitle("Macro segments and their micro-segments (bars: size; labels: largest lifts)")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def migration_cells(f, min_count):
    """What migration_matrix.png draws: row and column labels, the row shares (NaN, so blank, for
    a suppressed cell) and each cell's annotation ("" for 0, "<N" for a suppressed cell)."""
    group = f["migration"]
    row_ids = group["counts"].attrs["prev_segment_ids"]
    col_ids = group["counts"].attrs["new_segment_ids"]
    # Ascending ids with new/lost (-1) last, so segments that kept their id line up diagonally.
    row_order = sorted(range(len(row_ids)), key=lambda i: (row_ids[i] < 0, row_ids[i]))
    col_order = sorted(range(len(col_ids)), key=lambda j: (col_ids[j] < 0, col_ids[j]))
    counts = group["counts"][...][np.ix_(row_order, col_order)]
    rows = [("new" if row_ids[i] < 0 else f"{row_ids[i]}") for i in row_order]
    cols = [("lost" if col_ids[j] < 0 else f"{col_ids[j]}") for j in col_order]
    totals = counts.sum(axis=1, keepdims=True)
    shares = np.divide(counts, totals, out=np.zeros(counts.shape), where=totals > 0)
    notes = np.full(counts.shape, "", dtype=object)
    for i in range(counts.shape[0]):
        for j in range(counts.shape[1]):
            if hidden(counts[i, j], min_count):
                shares[i, j] = np.nan
                notes[i, j] = f"<{min_count}"
            elif counts[i, j]:
                notes[i, j] = f"{counts[i, j]}"
    return rows, cols, shares, notes


def plot_migration(f, path, min_count):
    group = f["migration"]
    rows, cols, shares, notes = migration_cells(f, min_count)
    fig, ax = plt.subplots(figsize=(max(5, 0.6 * len(cols) + 2.5),
                                    max(4, 0.5 * len(rows) + 1.8)))
    image = ax.imshow(shares, cmap="Blues", vmin=0, vmax=1, aspect="auto")
    ax.set_xticks(range(len(cols)))
    ax.set_xticklabels(cols)
    ax.set_yticks(range(len(rows)))
    ax.set_yticklabels(rows)
    for i in range(len(rows)):
        for j in range(len(cols)):
            if notes[i, j]:
                ax.text(j, i, notes[i, j], ha="center", va="center", fontsize=7,
                        color="white" if shares[i, j] > 0.6 else "black")
    attrs = group.attrs
    ax.set_xlabel("segment in this run")
    ax.set_ylabel("segment in the previous run")
    ax.set_title(f"Migration: {100 * attrs['share_stayed']:.1f}% stayed, "
                 f"ARI {attrs['adjusted_rand_index']:.3f}, "
                 f"AMI {attrs['adjusted_mutual_information']:.3f}")
    fig.colorbar(image, ax=ax, label="share of the previous segment")
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def main(argv):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("run_dir")
    parser.add_argument("--output", help="directory for the PNGs (default: RUN_DIR)")
    parser.add_argument("--privacy-min-count", type=int,
                        help="suppress segments and cells of fewer customers (default: the run's)")
    args = parser.parse_args(argv)
    min_count = args.privacy_min_count
    if min_count is None:
        min_count = run_min_count(args.run_dir)
    segments = os.path.join(args.run_dir, "segments.h5")
    if not os.path.isfile(segments):
        print(f"plot_run.py: error: '{args.run_dir}' holds no segments.h5", file=sys.stderr)
        return 2
    out = args.output or args.run_dir
    os.makedirs(out, exist_ok=True)
    written = []
    with h5py.File(segments, "r") as f:
        if "profiles" not in f or "lift" not in f["profiles"]:
            print(f"plot_run.py: error: '{segments}' has no /profiles/lift", file=sys.stderr)
            return 2
        written.append(os.path.join(out, "profile_lift.png"))
        plot_lift(f, written[-1], min_count)
        if "macro" in f:
            written.append(os.path.join(out, "hierarchy.png"))
            plot_hierarchy(f, written[-1], min_count)
        if "migration" in f:
            written.append(os.path.join(out, "migration_matrix.png"))
            plot_migration(f, written[-1], min_count)
    for path in written:
        print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
