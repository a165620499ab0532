#!/usr/bin/env python3
"""The xor_pattern study of docs/replication.md from the *.analysis.json files of
tools/replicate_xor_pattern.sh: a table (before training, after the last block, mean of the last
five blocks; mean ± sd over seeds) and a figure of the XOR, memory and pattern readouts and the
pattern response's reproducibility over training time, mean with a 95 % confidence band over
seeds. Top row: the configured run (input synapses learning) beside the control with the input
synapses fixed; bottom row: network.p_conn 0.1 (as configured), 0.3 and 1.
Usage: tools/xor_pattern_figure.py [FOLDER [FIGURE]] (default results/xor_pattern,
FOLDER/xor_pattern.png)."""
import math
import os
import sys
from collections import defaultdict

from replication_report import get, load_runs, stats  # beside this script (sys.path[0])

VARIANTS = {  # name in the folder -> label
    "as_configured": "input synapses learning (p_conn 0.1)",
    "fixed_inputs": "input synapses fixed (train_inputs false)",
    "p_conn_0.3": "p_conn 0.3",
    "p_conn_1": "p_conn 1",
}
# two-sided 95 % quantiles of Student's t, df 1..30 (beyond: 1.96)
T975 = [12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228, 2.201, 2.179, 2.160, 2.145,
        2.131, 2.120, 2.110, 2.101, 2.093, 2.086, 2.080, 2.074, 2.069, 2.064, 2.060, 2.056, 2.052, 2.048,
        2.045, 2.042]


def t975(df):
    return T975[df - 1] if 1 <= df <= len(T975) else 1.96


def points(results, what, state=None):
    """[(training time s, value)] of every seed: readout blocks ("xor", "memory", "pattern") for
    `state`, or the reference reproducibility (what = "corr_1_2")."""
    out = []
    for r in results:
        if what == "corr_1_2":
            out += [(p["trained_ms"] / 1000, p.get("corr_1_2")) for p in get(r, "reproducibility_reference", "phases") or []]
        else:
            out += [(b["trained_ms"] / 1000, b.get(state)) for b in get(r, f"readout_{what}", "blocks") or []]
    return out


def curve_stats(pts):
    """x, mean, half-width of the 95 % band (t interval over seeds) per training time."""
    by_time = defaultdict(list)
    for t, v in pts:
        if v is not None and not (isinstance(v, float) and math.isnan(v)):
            by_time[t].append(v)
    xs = sorted(by_time)
    means, half = [], []
    for t in xs:
        v = by_time[t]
        m = sum(v) / len(v)
        sd = math.sqrt(sum((a - m) ** 2 for a in v) / (len(v) - 1)) if len(v) > 1 else 0.0
        means.append(m)
        half.append(t975(len(v) - 1) * sd / math.sqrt(len(v)) if len(v) > 1 else 0.0)
    return xs, means, half


def per_seed(results, what, state, which):
    """One value per seed: the block before training ("before"), the last ("after") or the mean
    of the last five ("last5")."""
    values = []
    for r in results:
        if what == "corr_1_2":
            seq = [p.get("corr_1_2") for p in get(r, "reproducibility_reference", "phases") or []]
        else:
            seq = [b.get(state) for b in get(r, f"readout_{what}", "blocks") or []]
        seq = [v for v in seq]
        if not seq:
            continue
        if which == "before":
            values.append(seq[0])
        elif which == "after":
            values.append(seq[-1])
        else:
            tail = [v for v in seq[-5:] if v is not None]
            values.append(sum(tail) / len(tail) if tail else None)
    return values


def table(runs):
    print("| variant | seeds | target | state | before training | after 100 s | mean of the last five blocks (80-100 s) |")
    print("|---|---|---|---|---|---|---|")
    for name, label in VARIANTS.items():
        results = runs.get(name)
        if not results:
            continue
        for what in ("xor", "memory", "pattern", "corr_1_2"):
            for state in (("network", "input") if what != "corr_1_2" else (None,)):
                cells = [stats(per_seed(results, what, state, w)) for w in ("before", "after", "last5")]
                target = "reproducibility 1 vs 2" if what == "corr_1_2" else what
                print(f"| {label} | {len(results)} | {target} | {state or 'network'} | " + " | ".join(cells) + " |")
    print()
    print("| variant | locked fraction untrained → trained |")
    print("|---|---|")
    for name, label in VARIANTS.items():
        results = runs.get(name)
        if results:
            print(f"| {label} | {stats([get(r, 'untrained', 'locking', 'locked_fraction') for r in results])} → "
                  f"{stats([get(r, 'trained', 'locking', 'locked_fraction') for r in results])} |")


def figure(runs, path):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    def band(ax, pts, colour, label, style="-"):
        xs, m, h = curve_stats(pts)
        if not xs:
            return
        xs, m, h = np.array(xs), np.array(m), np.array(h)
        ax.plot(xs, m, style, color=colour, label=label)
        ax.fill_between(xs, m - h, m + h, color=colour, alpha=0.18, linewidth=0)

    panels = (("xor", "XOR"), ("memory", "memory (previous stream-2 pattern)"),
              ("pattern", "pattern (one 3 s phase, split)"), ("corr_1_2", "reproducibility 1 vs 2 (11.5)"))
    fig, axes = plt.subplots(2, 4, figsize=(17, 7.2), sharex=True)
    rows = ((("as_configured", "C0"), ("fixed_inputs", "C2")),
            (("as_configured", "C0"), ("p_conn_0.3", "C4"), ("p_conn_1", "C3")))
    for row, variants in enumerate(rows):
        for col, (what, title) in enumerate(panels):
            ax = axes[row, col]
            for name, colour in variants:
                results = runs.get(name)
                if not results:
                    continue
                label = f"{VARIANTS[name]}, {len(results)} seeds"
                if what == "corr_1_2":
                    band(ax, points(results, what), colour, label)
                else:
                    band(ax, points(results, what, "network"), colour, f"{label}: network")
                    band(ax, points(results, what, "input"), colour, f"{label}: input", "--")
            ax.set_title(title, fontsize=10)
            ax.set_ylim(-0.4, 1.0)
            ax.axhline(0, color="0.7", linewidth=0.6)
            if row == 1:
                ax.set_xlabel("training time (s)")
            if col == 0:
                ax.set_ylabel("Pearson r" if row == 0 else "Pearson r (p_conn sweep)")
        axes[row, 0].legend(loc="lower left", fontsize=7)
        axes[row, 3].legend(loc="lower right", fontsize=7)
    fig.suptitle("xor_pattern: mean and 95 % confidence band over seeds (solid: network state, "
                 "dashed: input state); top: input-synapse control, bottom: network.p_conn")
    fig.tight_layout()
    fig.savefig(path, dpi=100)


def main(argv):
    folder = argv[1] if len(argv) > 1 else "results/xor_pattern"
    path = argv[2] if len(argv) > 2 else os.path.join(folder, "xor_pattern.png")
    runs = {k: v for k, v in load_runs(folder).items() if k in VARIANTS}
    if not runs:
        print(f"xor_pattern_figure.py: no VARIANT_seedN.analysis.json in {folder} (variants: "
              f"{', '.join(VARIANTS)})", file=sys.stderr)
        return 2
    table(runs)
    figure(runs, path)
    print()
    print(f"Figure: {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
