"""seqlearn-analyze RUN.h5 [RUN.h5 ...]: the measures of docs/model.md sections 9 and 11 for
each run (any input task: pattern, xor, file, multi; files of older versions too).

Prints two tables and writes JSON (default: RUN.analysis.json beside each run; refused, exit 2,
when the run's folder is under /dev, /proc or /sys, as for /dev/stdin: give --json).
Table 1, the pattern-task test phases: "untrained" uses those before any training phase (e.g.
protocol test:5000,train:100000,test:5000), "trained" those after training.
Table 2, the readouts of docs/model.md 11.3 as the reference code computes them: test phases
between two training phases form a block; in each block the first test phase of a task fits a
least-squares readout (with a constant, no regularisation) of the network state and of the input
state, the later test phases of that task score it (Pearson r); a task with one test phase in a
block is fitted on its first half and scored on its second. All blocks fit on equally many
samples. Targets: xor and memory (xor phases), pattern and sequence (pattern phases), labels
(file phases). The JSON has every block; the table the block before training and the last.
The JSON carries the run's configuration ("config", typed values) and has null where a measure
is undefined (no NaN). An interrupted run is measured over the steps that ran. A thin command
over the package python/seqlearn (seqlearn.analysis); docs/analysis.md describes the JSON.
"""
import argparse
import json
import math
import os
import sys

from .. import analysis as sa
from ..safe_io import Refused, beside_input, check_output, check_regular, write_text


def fmt(value, digits=3):
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "-"
    return f"{value:.{digits}f}"


def print_readouts(results):
    """The readouts (docs/model.md 11.3): per run and target, the block before training and the
    last block; and the reference reproducibility (11.5) of the last pattern test phase."""
    print(f"{'run':40s} {'readout':9s} {'block':>16s} {'fit on':>11s} {'network':>8s} {'input':>8s} {'n_fit':>6s} {'n_score':>7s}")
    for r in results:
        name = os.path.basename(r["run"])[:40]
        for target in sa.READOUT_TARGETS:
            entry = r.get("readout_" + target)
            if entry is None:
                continue
            blocks = entry["blocks"]
            shown = [b for b in blocks if b["before"]][:1]
            if blocks[-1] not in shown:
                shown.append(blocks[-1])
            for b in shown:
                where = "before training" if b["before"] else sa.trained_label(b)
                fit_on = f"phase {b['fit_phase']}" + (" 1/2" if b["split"] else "")
                note = f"  ({b['reason']})" if b.get("reason") else ""
                print(f"{name:40s} {target:9s} {where:>16s} {fit_on:>11s} {fmt(b['network']):>8s} {fmt(b['input']):>8s} "
                      f"{b['n_fit']:>6d} {b['n_score']:>7d}{note}")
            if entry.get("blocks_omitted"):
                print(f"{'':40s} {'':9s} {len(blocks)} blocks in the JSON; {entry['blocks_omitted']} earlier "
                      "blocks not computed (at most the last 1000)")
            elif len(blocks) > len(shown):
                print(f"{'':40s} {'':9s} {f'({len(blocks)} blocks: all in the JSON)':>28s}")
        ref = r.get("reproducibility_reference") or {}
        if ref.get("phases"):
            last = ref["phases"][-1]
            note = f"  ({last['reason']})" if last.get("reason") else ""
            where = sa.trained_label(last)
            print(f"{name:40s} {'repro ref':9s} {where:>16s} {'phase %d' % last['phase']:>11s} "
                  f"r(1,2) {fmt(last['corr_1_2'])}  r(1,3) {fmt(last['corr_1_3'])}  neurons {last['n_neurons']}{note}")


def default_json(run):
    """RUN.analysis.json beside RUN; Refused when RUN's folder is /dev, /proc or /sys (/dev/stdin)."""
    return beside_input(run, ".analysis.json", "--json FILE (or --json - for stdout)")


def main(argv=None):
    parser = argparse.ArgumentParser(prog="seqlearn-analyze", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("runs", nargs="+", help="seqlearn output files (HDF5)")
    parser.add_argument("--json", help="JSON output (default: RUN.analysis.json; '-' for stdout); with several runs, one list")
    parser.add_argument("--max-neurons", type=int, default=2000,
                        help="neurons sampled for reproducibility and readouts (default 2000; networks with fewer use all)")
    parser.add_argument("--seed", type=int, default=0, help="seed of that neuron sample (default 0)")
    args = parser.parse_args(argv)

    try:  # every input a regular file, every output a regular file or absent, before any work
        for path in args.runs:
            check_regular(path)
        targets = [] if args.json == "-" else [args.json] if args.json else [default_json(path) for path in args.runs]
        for target in targets:
            check_output(target, overwrite=True)
            # never over a run it reads (by identity: another spelling or a hard link too)
            for path in args.runs:
                if os.path.exists(target) and os.path.samefile(target, path):
                    raise Refused(f"the JSON output {target!r} is the run {path!r} it reads: give another --json")
    except Refused as refusal:
        print(f"seqlearn-analyze: {refusal}", file=sys.stderr)
        return 2
    results = []
    for path in args.runs:
        try:
            results.append(sa.analyze(path, args.max_neurons, args.seed))
        except (OSError, KeyError) as error:
            print(f"seqlearn-analyze: {path}: not a readable seqlearn output file ({error})", file=sys.stderr)
            return 2
        except ValueError as error:  # a value of the file that cannot be analysed (names it)
            print(f"seqlearn-analyze: {error}", file=sys.stderr)
            return 2

    print(f"{'run':40s} {'state':10s} {'locked':>8s} {'repro r':>8s} {'n>=90Hz':>8s}")
    for r in results:
        if r["interrupted"]:
            print(f"seqlearn-analyze: {r['run']}: the run was interrupted (SIGTERM/SIGINT) at step "
                  f"{r['last_step']}; only the steps that ran are analysed", file=sys.stderr)
        for label in ("untrained", "trained"):
            e = r[label]
            if e is None:
                continue
            lock, rep = e["locking"], e["reproducibility"]
            print(f"{os.path.basename(r['run'])[:40]:40s} {label:10s} {fmt(lock['locked_fraction']):>8s} "
                  f"{fmt(rep['mean_correlation']):>8s} {rep['neurons_reaching_threshold']:>8d}")
    print()
    print_readouts(results)
    if args.json == "-":
        json.dump(sa.jsonable(results if len(results) > 1 else results[0]), sys.stdout, indent=2, allow_nan=False)
        print()
        return 0
    try:  # under a fresh name, then renamed (python/seqlearn/safe_io.py)
        if args.json:
            write_text(args.json, json.dumps(sa.jsonable(results if len(results) > 1 else results[0]), indent=2,
                                             allow_nan=False), overwrite=True)
        else:
            for r, target in zip(results, targets):
                write_text(target, json.dumps(sa.jsonable(r), indent=2, allow_nan=False), overwrite=True)
    except Refused as refusal:
        print(f"seqlearn-analyze: {refusal}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
