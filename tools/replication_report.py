#!/usr/bin/env python3
"""Tables of docs/replication.md from the *.analysis.json files of tools/replicate.sh:
mean +- sd over seeds of every measure, untrained vs trained. The readouts are those of
docs/model.md 11.3 (docs/analysis.md): the last block's score, and the block before training
("before") for the untrained columns."""
import glob
import json
import math
import os
import re
import sys
from collections import defaultdict


def stats(values, digits=2):
    """'mean ± sd' over the values that are numbers (sample sd), '-' when there are none."""
    values = [v for v in values if v is not None and not (isinstance(v, float) and math.isnan(v))]
    if not values:
        return "-"
    mean = sum(values) / len(values)
    sd = math.sqrt(sum((v - mean) ** 2 for v in values) / (len(values) - 1)) if len(values) > 1 else 0.0
    return f"{mean:.{digits}f} ± {sd:.{digits}f}" + ("" if len(values) > 1 else " (1 run)")


def get(entry, *path):
    """entry[path[0]][path[1]]...; None where a step is missing (list steps take an index)."""
    for key in path:
        if entry is None:
            return None
        if isinstance(entry, list):
            entry = entry[key] if -len(entry) <= key < len(entry) else None
        else:
            entry = entry.get(key)
    return entry


def load_runs(folder):
    """{experiment: [analysis JSON of each seed]} from FOLDER/NAME_seedN.analysis.json."""
    runs = defaultdict(list)
    for path in sorted(glob.glob(os.path.join(folder, "*_seed*.analysis.json"))):
        name = re.sub(r"_seed\d+\.analysis\.json$", "", os.path.basename(path))
        with open(path) as f:
            runs[name].append(json.load(f))
    return runs


def main(folder):
    runs = load_runs(folder)
    print("| experiment | seeds | locked fraction, untrained | locked fraction, trained | "
          "reproducibility r, trained (neurons >= 90 Hz) | pattern readout: network | pattern readout: input | "
          "sequence readout: network | sequence readout: input |")
    print("|---|---|---|---|---|---|---|---|---|")
    for name, results in runs.items():
        cells = [
            stats([get(r, "untrained", "locking", "locked_fraction") for r in results]),
            stats([get(r, "trained", "locking", "locked_fraction") for r in results]),
            stats([get(r, "trained", "reproducibility", "mean_correlation") for r in results])
            + f" ({stats([get(r, 'trained', 'reproducibility', 'neurons_reaching_threshold') for r in results])})",
            stats([get(r, "readout_pattern", "network") for r in results]),
            stats([get(r, "readout_pattern", "input") for r in results]),
            stats([get(r, "readout_sequence", "network") for r in results]),
            stats([get(r, "readout_sequence", "input") for r in results]),
        ]
        print(f"| {name} | {len(results)} | " + " | ".join(cells) + " |")
    print()
    print("Untrained network (same test conditions, before any learning), and persistence of circuit states:")
    print()
    print("| experiment | pattern readout untrained: network | pattern readout untrained: input | "
          "winner dwell ms, untrained | winner dwell ms, trained | spikes per winner run, trained |")
    print("|---|---|---|---|---|---|")
    for name, results in runs.items():
        print(f"| {name} | {stats([get(r, 'readout_pattern', 'before', 'network') for r in results])} | "
              f"{stats([get(r, 'readout_pattern', 'before', 'input') for r in results])} | "
              f"{stats([get(r, 'untrained', 'persistence', 'mean_dwell_ms') for r in results])} | "
              f"{stats([get(r, 'trained', 'persistence', 'mean_dwell_ms') for r in results])} | "
              f"{stats([get(r, 'trained', 'persistence', 'mean_spikes_per_run') for r in results])} |")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1] if len(sys.argv) > 1 else "results/replication"))
