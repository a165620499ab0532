#!/usr/bin/env python3
"""Tables and the xor_pattern figure of docs/replication.md ("The reference code's readout
experiments") from the *.analysis.json files of tools/replicate_paper.sh: mean +- sd over seeds
of each measure. Usage: tools/paper_report.py [FOLDER] (default results/paper); writes
FOLDER/xor_pattern.png when xor_pattern runs are there."""
import glob
import json
import math
import os
import re
import sys
from collections import defaultdict

ORDER = ["pattern1", "sequence_parts", "xor", "xor_pattern", "no_stp", "no_variance_tracking"]


def clean(values):
    return [v for v in values if v is not None and not (isinstance(v, float) and math.isnan(v))]


def mean_sd(values):
    values = clean(values)
    if not values:
        return None, None, 0
    mean = sum(values) / len(values)
    sd = math.sqrt(sum((v - mean) ** 2 for v in values) / (len(values) - 1)) if len(values) > 1 else 0.0
    return mean, sd, len(values)


def stats(values, digits=2):
    mean, sd, n = mean_sd(values)
    if n == 0:
        return "-"
    return f"{mean:.{digits}f} ± {sd:.{digits}f}" + ("" if n > 1 else " (1 run)")


def get(entry, *path):
    for key in path:
        if entry is None:
            return None
        entry = entry[key] if isinstance(entry, list) else entry.get(key)
    return entry


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

    fig, axes = plt.subplots(1, 3, figsize=(13, 3.6))
    for ax, target, title in ((axes[0], "xor", "XOR"), (axes[1], "memory", "memory (previous stream-2 pattern)")):
        for state, colour in (("network", "C0"), ("input", "C1")):
            curves = defaultdict(list)
            for r in runs:
                for block in get(r, f"readout_{target}", "blocks") or []:
                    if block.get(state) is not None:
                        curves[block["trained_ms"] / 1000].append(block[state])
            x = np.array(sorted(curves))
            if len(x) == 0:
                continue
            m = np.array([np.mean(curves[t]) for t in x])
            s = np.array([np.std(curves[t], ddof=1) if len(curves[t]) > 1 else 0 for t in x])
            ax.plot(x, m, color=colour, label=f"{state} state")
            ax.fill_between(x, m - s, m + s, color=colour, alpha=0.2)
        ax.set_title(title)
        ax.set_xlabel("training time (s)")
        ax.set_ylabel("readout score (Pearson r)")
        ax.set_ylim(-0.2, 1.0)
        ax.legend(loc="lower right")
    ax = axes[2]
    for key, colour, label in (("corr_1_2", "C2", "presentation 1 vs 2"), ("corr_1_3", "C3", "presentation 1 vs 3")):
        curves = defaultdict(list)
        for r in runs:
            for phase in get(r, "reproducibility_reference", "phases") or []:
                if phase.get(key) is not None:
                    curves[phase["trained_ms"] / 1000].append(phase[key])
        x = np.array(sorted(curves))
        if len(x) == 0:
            continue
        m = np.array([np.mean(curves[t]) for t in x])
        s = np.array([np.std(curves[t], ddof=1) if len(curves[t]) > 1 else 0 for t in x])
        ax.plot(x, m, color=colour, label=label)
        ax.fill_between(x, m - s, m + s, color=colour, alpha=0.2)
    ax.set_title("pattern response reproducibility (11.5)")
    ax.set_xlabel("training time (s)")
    ax.set_ylabel("mean correlation")
    ax.set_ylim(-0.2, 1.0)
    ax.legend(loc="lower right")
    fig.suptitle(f"xor_pattern: mean ± sd over {len(runs)} seeds")
    fig.tight_layout()
    fig.savefig(path, dpi=110)


def main(folder):
    runs = defaultdict(list)
    for path in sorted(glob.glob(os.path.join(folder, "*_seed*.analysis.json"))):
        name = re.sub(r"_seed\d+\.analysis\.json$", "", os.path.basename(path))
        with open(path) as f:
            runs[name].append(json.load(f))
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
        for target in ("pattern", "sequence", "xor", "memory", "labels"):
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
    if "xor_pattern" in runs:
        path = os.path.join(folder, "xor_pattern.png")
        figure(runs["xor_pattern"], path)
        print()
        print(f"Figure: {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1] if len(sys.argv) > 1 else "results/paper"))
