#!/usr/bin/env python3
"""Tables and the xor_pattern figure of docs/replication.md ("The reference code's readout
experiments") from the *.analysis.json files of tools/replicate_paper.sh: mean +- sd over seeds
of each measure. Usage: tools/paper_report.py [FOLDER] (default results/paper); writes
FOLDER/xor_pattern.png when xor_pattern runs are there."""
import os
import sys
from collections import defaultdict

from replication_report import get, load_runs, stats  # beside this script (sys.path[0])

ORDER = ["pattern1", "sequence_parts", "pattern4A", "pattern5A", "xor", "xor_pattern", "no_stp", "no_variance_tracking",
         "multi"]


def readout_cells(results, target):
    """'before -> after' for network and input state, or '-' when the run has no such readout."""
    if all(get(r, f"readout_{target}") is None for r in results):
        return None
    cells = []
    for state in ("network", "input"):
        before = stats([get(r, f"readout_{target}", "before", state) for r in results])
        after = stats([get(r, f"readout_{target}", state) for r in results])
        cells.append(after if before == "-" else f"{before} → {after}")
    n_fit = stats([get(r, f"readout_{target}", "n_fit") for r in results], 0)
    return cells + [n_fit]


def figure(runs, path):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    def curve(ax, points, colour, label):
        """Mean ± sd over seeds of (training time ms, value) points."""
        by_time = defaultdict(list)
        for t, value in points:
            if value is not None:
                by_time[t / 1000].append(value)
        x = np.array(sorted(by_time))
        if len(x) == 0:
            return
        m = np.array([np.mean(by_time[t]) for t in x])
        s = np.array([np.std(by_time[t], ddof=1) if len(by_time[t]) > 1 else 0 for t in x])
        ax.plot(x, m, color=colour, label=label)
        ax.fill_between(x, m - s, m + s, color=colour, alpha=0.2)

    fig, axes = plt.subplots(1, 3, figsize=(13, 3.6))
    for ax, target, title in ((axes[0], "xor", "XOR"), (axes[1], "memory", "memory (previous stream-2 pattern)")):
        for state, colour in (("network", "C0"), ("input", "C1")):
            curve(ax, [(b["trained_ms"], b.get(state)) for r in runs
                       for b in get(r, f"readout_{target}", "blocks") or []], colour, f"{state} state")
        ax.set_title(title)
        ax.set_ylabel("readout score (Pearson r)")
    for key, colour, label in (("corr_1_2", "C2", "presentation 1 vs 2"), ("corr_1_3", "C3", "presentation 1 vs 3")):
        curve(axes[2], [(p["trained_ms"], p.get(key)) for r in runs
                        for p in get(r, "reproducibility_reference", "phases") or []], colour, label)
    axes[2].set_title("pattern response reproducibility (11.5)")
    axes[2].set_ylabel("mean correlation")
    for ax in axes:
        ax.set_xlabel("training time (s)")
        ax.set_ylim(-0.2, 1.0)
        ax.legend(loc="lower right")
    fig.suptitle(f"xor_pattern: mean ± sd over {len(runs)} seeds")
    fig.tight_layout()
    fig.savefig(path, dpi=110)


def main(folder):
    runs = load_runs(folder)
    if not runs:
        print(f"paper_report.py: no *_seedN.analysis.json in {folder}", file=sys.stderr)
        return 2
    names = [n for n in ORDER if n in runs] + sorted(n for n in runs if n not in ORDER)

    print("Readouts (docs/model.md 11.3): Pearson r of the readout on fresh test phases, "
          "before training → after training where the run has both (fitted on equally many samples).")
    print()
    print("| experiment | seeds | target | network state | input state | fit samples |")
    print("|---|---|---|---|---|---|")
    for name in names:
        results = runs[name]
        for target in ("pattern", "sequence", "xor", "memory", "labels", "rate_1", "rate_2", "rate_product",
                       "rate_product_delayed"):
            cells = readout_cells(results, target)
            if cells is not None:
                print(f"| {name} | {len(results)} | {target} | " + " | ".join(cells) + " |")
    print()
    print("Pattern responses: locking (section 9), the reference code's reproducibility (11.5) and "
          "the persistence of circuit states; untrained → trained.")
    print()
    print("| experiment | locked fraction | reproducibility 1 vs 2 (neurons > 90 Hz) | "
          "reproducibility 1 vs 3 | winner dwell ms |")
    print("|---|---|---|---|---|")
    for name in names:
        results = runs[name]
        if all(get(r, "trained") is None and get(r, "untrained") is None for r in results):
            continue
        locked = (f"{stats([get(r, 'untrained', 'locking', 'locked_fraction') for r in results])} → "
                  f"{stats([get(r, 'trained', 'locking', 'locked_fraction') for r in results])}")
        first = lambda r, key: get(r, "reproducibility_reference", "phases", 0, key) if get(  # noqa: E731
            r, "reproducibility_reference", "phases") else None
        rep12 = (f"{stats([first(r, 'corr_1_2') for r in results])} → "
                 f"{stats([get(r, 'reproducibility_reference', 'corr_1_2') for r in results])} "
                 f"({stats([get(r, 'reproducibility_reference', 'n_neurons') for r in results], 0)})")
        rep13 = (f"{stats([first(r, 'corr_1_3') for r in results])} → "
                 f"{stats([get(r, 'reproducibility_reference', 'corr_1_3') for r in results])}")
        dwell = (f"{stats([get(r, 'untrained', 'persistence', 'mean_dwell_ms') for r in results], 0)} → "
                 f"{stats([get(r, 'trained', 'persistence', 'mean_dwell_ms') for r in results], 0)}")
        print(f"| {name} | {locked} | {rep12} | {rep13} | {dwell} |")
    warped = [n for n in names if any(get(r, "trained", "warp") for r in runs[n])]
    if warped:
        print()
        print("Time-warped test phases (seqlearn's measure, docs/analysis.md `warp`): warp factors, and the "
              "correlation of a locked neuron's mean spike time with the warp (median over neurons).")
        print()
        print("| experiment | warp factors | locked fraction (normalised time) | scaling r (neurons) |")
        print("|---|---|---|---|")
        for name in warped:
            results = runs[name]
            lo = stats([get(r, "trained", "warp", "warp_min") for r in results])
            hi = stats([get(r, "trained", "warp", "warp_max") for r in results])
            print(f"| {name} | {lo} - {hi} | {stats([get(r, 'trained', 'locking', 'locked_fraction') for r in results])} | "
                  f"{stats([get(r, 'trained', 'warp', 'scaling_r') for r in results])} "
                  f"({stats([get(r, 'trained', 'warp', 'scaling_neurons') for r in results], 0)}) |")
    if "xor_pattern" in runs:
        path = os.path.join(folder, "xor_pattern.png")
        figure(runs["xor_pattern"], path)
        print()
        print(f"Figure: {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1] if len(sys.argv) > 1 else "results/paper"))
