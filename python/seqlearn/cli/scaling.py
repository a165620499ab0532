"""seqlearn-scaling DIR [--weak]: a scaling sweep's table and pictures.

DIR holds one folder per point (np<R>/timing.json, as jobs/*_scaling.sbatch write them).
Strong scaling (default): speedup T1/TR and efficiency T1/(R TR) of the step loop;
--weak: efficiency T1/TR (each rank keeps the same share). Also the real-time factor and the
time split (compute / exchange / output / build) per rank count, and what the ranks' work is
made of (docs/scaling.md): work inflation (CPU seconds of all ranks' step loops against the
first point's, scaled by the network's size for --weak), imbalance (R x the slowest rank's
CPU / all ranks'), halo (sources whose traces the ranks advance / neurons), ns per received
word, bytes sent per rank and step, and the ranks' shape (run.partition: strips or tiles:BxC). Writes DIR/sweep.json, DIR/sweep.png and prints a
Markdown table.
"""
import argparse
import glob
import json
import os
import sys

from ..safe_io import Refused, open_input, output_folder, save_figure, write_text


def load(folder):
    points = []
    for path in sorted(glob.glob(os.path.join(glob.escape(folder), "*", "timing.json"))):
        try:
            with open_input(path) as f:
                point = json.load(f)
        except (ValueError, UnicodeDecodeError, OSError) as error:
            raise Refused(f"{path} is not readable JSON ({' '.join(str(error).split())})") from None
        if not isinstance(point, dict) or not all(isinstance(point.get(k), (int, float)) and not isinstance(point.get(k), bool)
                                                  for k in ("ranks", "simulate_s", "rtf")):
            raise Refused(f"{path} has no numbers ranks, simulate_s and rtf (jobs/*_scaling.sbatch write them)")
        points.append(point)
    return sorted(points, key=lambda p: p["ranks"])


def main(argv=None):
    parser = argparse.ArgumentParser(prog="seqlearn-scaling", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("folder")
    parser.add_argument("--weak", action="store_true", help="weak scaling (default: strong)")
    parser.add_argument("--no-plot", action="store_true", help="table and JSON only")
    args = parser.parse_args(argv)
    try:
        output_folder(args.folder, create=False)
        return report(args)
    except Refused as refusal:
        print(f"seqlearn-scaling: {refusal}", file=sys.stderr)
        return 2
    except (KeyError, TypeError, ValueError, ZeroDivisionError) as error:  # a timing.json of another shape
        print(f"seqlearn-scaling: the timings of {args.folder} do not fit ({type(error).__name__}: {error})", file=sys.stderr)
        return 2


def report(args):
    points = load(args.folder)
    if not points:
        print(f"seqlearn-scaling: no */timing.json under {args.folder}", file=sys.stderr)
        return 2
    base = points[0]
    rows = []

    def work(p):  # CPU seconds of all ranks' step loops per synapse, where the line has them
        cpu, synapses = p.get("compute_cpu_s_sum"), p.get("synapses")
        return cpu / synapses if cpu and synapses else None

    for p in points:
        t1, tr, r = base["simulate_s"], p["simulate_s"], p["ranks"]
        scale = r / base["ranks"]
        speedup = t1 / tr
        efficiency = speedup if args.weak else speedup / scale
        rows.append({
            "ranks": r, "circuits": p.get("circuits"), "synapses": p.get("synapses"),
            "simulate_s": tr, "rtf": p["rtf"], "speedup": None if args.weak else speedup,
            "efficiency": efficiency, "compute_s": p.get("compute_s"), "exchange_s": p.get("exchange_s"),
            "output_s": p.get("output_s"), "build_s": p.get("build_s"),
            "exchange_bytes_per_step": p.get("exchange_bytes_per_step"), "bytes_per_synapse": p.get("bytes_per_synapse"),
            "exchange": p.get("exchange", "allgather"), "partition": p.get("partition", "strips"),
            "work_inflation": work(p) / work(base) if work(p) and work(base) else None,
            "imbalance": (r * p["compute_cpu_s_max"] / p["compute_cpu_s_sum"]
                          if p.get("compute_cpu_s_sum") and p.get("compute_cpu_s_max") else None),
            "halo": p.get("halo"), "walk_ns_per_word": p.get("walk_ns_per_word"),
            "bytes_per_step_per_rank": (p["exchange_bytes_per_step"] / r
                                        if p.get("exchange_bytes_per_step") is not None else None),
        })
    kind = "weak" if args.weak else "strong"
    def cell(value, form):  # "-" for a figure an older program's bench line lacks
        return "-" if value is None else format(value, form)

    print(f"| ranks | exchange | partition | circuits | synapses | step loop s | real-time factor | {'speedup | ' if not args.weak else ''}"
          f"efficiency | compute s | exchange s | output s | build s | work inflation | imbalance | halo "
          f"| ns / received word | bytes / step / rank | bytes/synapse |")
    print("|" + "---|" * (19 if not args.weak else 18))
    for row in rows:
        print(f"| {row['ranks']} | {row['exchange']} | {row['partition']} | {row['circuits']} | {row['synapses']:.3g} | {row['simulate_s']:.3f} | {row['rtf']:.4f} | "
              + (f"{row['speedup']:.2f} | " if not args.weak else "")
              + f"{row['efficiency']:.0%} | {row['compute_s']:.3f} | {row['exchange_s']:.3f} | {row['output_s']:.3f} | "
              f"{row['build_s']:.3f} | {cell(row['work_inflation'], '.3f')} | {cell(row['imbalance'], '.3f')} | "
              f"{cell(row['halo'], '.2f')} | {cell(row['walk_ns_per_word'], '.2f')} | "
              f"{cell(row['bytes_per_step_per_rank'], ',.0f')} | {row['bytes_per_synapse']:.1f} |")
    write_text(os.path.join(args.folder, "sweep.json"), json.dumps({"kind": kind, "points": rows}, indent=2),
               overwrite=True)
    if args.no_plot:
        return 0
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    ranks = [r["ranks"] for r in rows]
    fig, axes = plt.subplots(1, 3, figsize=(15, 4.2))
    if args.weak:
        axes[0].plot(ranks, [r["efficiency"] for r in rows], "o-")
        axes[0].axhline(1.0, color="0.6", ls="--")
        axes[0].set_ylabel("efficiency T1 / TR")
        axes[0].set_ylim(0, 1.1)
    else:
        axes[0].plot(ranks, [r["speedup"] for r in rows], "o-", label="speedup")
        axes[0].plot(ranks, [r / ranks[0] for r in ranks], "--", color="0.6", label="ideal")
        ax2 = axes[0].twinx()
        ax2.plot(ranks, [r["efficiency"] for r in rows], "s:", color="tab:orange", label="efficiency")
        ax2.set_ylim(0, 1.1)
        ax2.set_ylabel("efficiency")
        axes[0].set_ylabel("speedup T1 / TR")
        axes[0].legend(loc="upper left")
    axes[1].plot(ranks, [r["rtf"] for r in rows], "o-")
    axes[1].set_ylabel("real-time factor (wall s / model s)")
    axes[1].set_yscale("log")
    bottom = [0.0] * len(rows)
    for part, colour in (("compute_s", "tab:blue"), ("exchange_s", "tab:red"), ("output_s", "tab:green"), ("build_s", "tab:gray")):
        values = [r[part] for r in rows]
        axes[2].bar([str(r) for r in ranks], values, bottom=bottom, color=colour, label=part[:-2])
        bottom = [b + v for b, v in zip(bottom, values)]
    axes[2].set_ylabel("seconds (max over ranks)")
    axes[2].legend()
    for ax in axes:
        ax.set_xlabel("MPI ranks")
    for ax in axes[:2]:
        ax.set_xscale("log", base=2)
    fig.suptitle(f"{kind} scaling, {rows[0]['circuits']} to {rows[-1]['circuits']} circuits ({os.path.normpath(args.folder)})")
    fig.tight_layout()
    save_figure(fig, os.path.join(args.folder, "sweep.png"), dpi=110)
    print(os.path.join(args.folder, "sweep.png"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
