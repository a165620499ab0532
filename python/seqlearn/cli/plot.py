"""seqlearn-plot RUN.h5: the pictures of a seqlearn run (PNG; PDF with --pdf).

  raster_<phase>.png   input raster (pattern spikes red, noise black) over network raster,
                       neurons ordered by mean activation time within the pattern (circular
                       mean of spike phases, docs/model.md section 9) and coloured by
                       circuit. Shaded, by the phase's input task: `pattern` phases, the
                       pattern presentations; `xor` phases, the windows whose halves differ
                       (XOR = 1; no pattern presentations); `file` phases, the stretches of
                       each label value (the value written above them). One picture per
                       chosen phase, all in the order found in the reference phase (default:
                       the last test phase of the `pattern` task; a run without pattern
                       phases keeps the neurons in id order).
  grid_K.png           circuit sizes K on the grid, with numbers
  grid_K_3d.png        the same as a 3-D bar chart
  traces.png           u and the incoming weights of a few traced neurons over time
  weights_hist.png     final weights, input vs recurrent synapses
"""
import argparse
import os
import sys

import matplotlib  # noqa: E402

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from .. import analysis as sa
from ..safe_io import Refused, check_regular, output_folder, save_figure


def save(fig, out_dir, name, pdf):
    path = os.path.join(out_dir, name + ".png")
    try:  # under a fresh name, then renamed; a link or special file there is refused
        save_figure(fig, path, dpi=120, bbox_inches="tight")
        if pdf:
            save_figure(fig, os.path.join(out_dir, name + ".pdf"), bbox_inches="tight")
    finally:
        plt.close(fig)
    return path


def shade_presentations(ax, presentations, first, dt_s, colours=None):
    for k, p in enumerate(presentations):
        colour = "0.85" if colours is None else colours[k]
        ax.axvspan((p.start - first) * dt_s, (p.start + p.length - first) * dt_s, color=colour, zorder=0, lw=0)


def shaded_epochs(run, phase, first, end):
    """What a raster of [first, end) of `phase` shades, by the phase's task: (epochs with
    start and length, a note for the title, text per epoch or None)."""
    task = getattr(phase, "task", "pattern")
    if task == "xor":
        windows = run.xor_windows(first, end)
        return [w for w in windows if w.xor], f"task xor: shaded windows XOR = 1 ({len(windows)} windows)", None
    if task == "file":
        epochs = run.label_epochs(first, end)
        return epochs, "task file: stretches of each label shaded", [str(e.label) for e in epochs]
    presentations = run.presentations(first, end)
    return presentations, f"{len(presentations)} pattern presentations shaded", None


SPIKE_SOURCE = {"pattern": "pattern", "xor": "xor patterns", "file": "file spikes"}


def raster(run, phase, window_steps, order, neurons, out_dir, pdf, label):
    first, end = phase.first, min(phase.end, phase.first + window_steps)
    dt_s = run.dt_ms * 1e-3
    shaded, note, texts = shaded_epochs(run, phase, first, end)
    task = getattr(phase, "task", "pattern")
    fig, (ax_in, ax_net) = plt.subplots(2, 1, figsize=(11, 8), sharex=True, gridspec_kw={"height_ratios": [1, 3]})
    s, c, from_pattern = run.input_spikes(first, end)
    # file labels: one colour per label value, the value written at the stretch's start
    colours = None if texts is None else [plt.get_cmap("Pastel1")(e.label % 9) for e in shaded]
    shade_presentations(ax_in, shaded, first, dt_s, colours)
    for epoch, text in zip(shaded, texts or []):
        ax_in.text((epoch.start - first) * dt_s, run.n_inputs - 1, " " + text, fontsize=7, va="top", clip_on=True)
    ax_in.scatter((s[~from_pattern] - first) * dt_s, c[~from_pattern], s=2, c="k", marker="|", lw=0.6, label="noise")
    ax_in.scatter((s[from_pattern] - first) * dt_s, c[from_pattern], s=2, c="r", marker="|", lw=0.6,
                  label=SPIKE_SOURCE.get(task, task))
    ax_in.set_ylabel("input channel")
    ax_in.set_ylim(-1, run.n_inputs)
    ax_in.set_title(f"{os.path.basename(run.path)}: phase {phase.index} ({phase.name}, {note}),\n{label}",
                    fontsize=9)
    ax_in.legend(loc="upper right", fontsize=7, markerscale=4)

    steps, ids = run.spikes(first, end, neurons)
    rank = np.full(run.n_neurons, -1, np.int64)
    rank[order] = np.arange(len(order))
    circuits = run.circuit_of(ids)
    shade_presentations(ax_net, shaded, first, dt_s, colours)
    colours = plt.get_cmap("tab20")(circuits % 20)
    ax_net.scatter((steps - first) * dt_s, rank[ids], s=3, c=colours, marker="|", lw=0.8)
    ax_net.set_ylim(len(order), -1)
    ax_net.set_ylabel("neuron (ordered by activation time in the pattern)" if order_is_pattern(label)
                      else "neuron (id order)")
    ax_net.set_xlabel("time in phase (s)")
    return save(fig, out_dir, f"raster_phase{phase.index}_{phase.name}", pdf)


def order_is_pattern(label):
    return label.startswith("order from pattern")


def grid_pictures(run, out_dir, pdf):
    sizes = run.circuit_size.reshape(run.rows, run.cols)
    paths = []
    fig, ax = plt.subplots(figsize=(max(4, run.cols * 0.8 + 2), max(4, run.rows * 0.6 + 1)))
    im = ax.imshow(sizes, cmap="viridis", origin="upper")
    if sizes.size <= 400:
        for (i, j), k in np.ndenumerate(sizes):
            ax.text(j, i, str(k), ha="center", va="center", color="w" if k < sizes.mean() else "k", fontsize=8)
    fig.colorbar(im, ax=ax, label="K (neurons per circuit)")
    ax.set_xlabel("column")
    ax.set_ylabel("row")
    ax.set_title(f"circuit sizes, {run.rows}x{run.cols} grid")
    paths.append(save(fig, out_dir, "grid_K", pdf))

    fig = plt.figure(figsize=(8, 6))
    ax = fig.add_subplot(projection="3d")
    rows, cols = np.meshgrid(np.arange(run.rows), np.arange(run.cols), indexing="ij")
    colours = plt.get_cmap("viridis")((sizes.ravel() - sizes.min()) / max(1, np.ptp(sizes)))
    ax.bar3d(cols.ravel(), rows.ravel(), 0, 0.8, 0.8, sizes.ravel(), color=colours, shade=True)
    ax.set_xlabel("column")
    ax.set_ylabel("row")
    ax.set_zlabel("K")
    ax.set_title("circuit sizes")
    paths.append(save(fig, out_dir, "grid_K_3d", pdf))
    return paths


def trace_pictures(run, out_dir, pdf, max_neurons=4):
    traces = run.file["traces"]
    if traces["step"].shape[0] == 0 or traces["neuron"].shape[0] == 0:
        return []
    t = traces["step"][:] * run.dt_ms * 1e-3
    neurons = traces["neuron"][:]
    show = min(max_neurons, len(neurons))
    fig, axes = plt.subplots(2, show, figsize=(3.2 * show, 6), squeeze=False, sharex=True)
    post = traces["weight_post"][:]
    pre = traces["weight_pre"][:]
    for i in range(show):
        axes[0, i].plot(t, traces["u"][:, i], lw=0.7)
        axes[0, i].set_title(f"neuron {neurons[i]}")
        columns = np.flatnonzero(post == neurons[i])
        if len(columns):
            w = traces["weight"][:, columns[0] : columns[-1] + 1]
            is_input = pre[columns] < run.n_inputs
            axes[1, i].plot(t, w[:, is_input], lw=0.3, color="tab:red", alpha=0.5)
            axes[1, i].plot(t, w[:, ~is_input], lw=0.3, color="tab:blue", alpha=0.5)
        axes[1, i].set_xlabel("time (s)")
    axes[0, 0].set_ylabel("u (M2)")
    axes[1, 0].set_ylabel("incoming weights (red: input)")
    return [save(fig, out_dir, "traces", pdf)]


def weight_histogram(run, out_dir, pdf):
    synapses = run.file["network"].get("synapses")
    if synapses is None or "weight" not in synapses:
        return []
    pre = synapses["pre"]
    weight = synapses["weight"]
    bins = np.linspace(-8, 1, 91)
    hist_in = np.zeros(len(bins) - 1)
    hist_rec = np.zeros(len(bins) - 1)
    for lo in range(0, weight.shape[0], sa.CHUNK):
        w = np.clip(weight[lo : lo + sa.CHUNK], bins[0], bins[-1])
        is_input = pre[lo : lo + sa.CHUNK] < run.n_inputs
        hist_in += np.histogram(w[is_input], bins)[0]
        hist_rec += np.histogram(w[~is_input], bins)[0]
    fig, ax = plt.subplots(figsize=(7, 4))
    centres = 0.5 * (bins[1:] + bins[:-1])
    ax.step(centres, hist_in / max(1, hist_in.sum()), where="mid", color="tab:red", label="input synapses")
    ax.step(centres, hist_rec / max(1, hist_rec.sum()), where="mid", color="tab:blue", label="recurrent synapses")
    ax.set_xlabel("weight w at the end of the run (clipped to [-8, 1])")
    ax.set_ylabel("fraction of synapses")
    ax.legend()
    return [save(fig, out_dir, "weights_hist", pdf)]


def main(argv=None):
    parser = argparse.ArgumentParser(prog="seqlearn-plot", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("run", help="seqlearn output file (HDF5)")
    parser.add_argument("--out", help="folder for the pictures (default: RUN_figures beside the run)")
    parser.add_argument("--phase", type=int, action="append",
                        help="phase index to draw a raster of (repeatable; default: the first and the last phase)")
    parser.add_argument("--order-phase", type=int,
                        help="phase whose pattern presentations define the neuron order (a phase of the "
                             "pattern task; default: the last test phase of the pattern task)")
    parser.add_argument("--pattern", type=int, default=0,
                        help="pattern whose presentations define the neuron order (default 0)")
    parser.add_argument("--window", type=float, default=3000.0, help="raster length from the phase start, ms (default 3000)")
    parser.add_argument("--neurons", type=int, default=2000,
                        help="draw at most this many neurons, a random sample beyond (default 2000)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the neuron sample (default 0)")
    parser.add_argument("--pdf", action="store_true", help="also write PDF files")
    args = parser.parse_args(argv)
    try:
        return draw(parser, args)
    except Refused as refusal:
        print(f"seqlearn-plot: {refusal}", file=sys.stderr)
        return 2


def draw(parser, args):
    check_regular(args.run)
    out_dir = args.out or os.path.splitext(args.run)[0] + "_figures"
    try:
        run = sa.Run(args.run)
    except (OSError, KeyError) as error:  # not HDF5, or HDF5 but not an output (a checkpoint)
        print(f"seqlearn-plot: {args.run} is not a seqlearn output file ({error})", file=sys.stderr)
        return 2
    output_folder(out_dir)  # a real folder (not a link to one), made when absent

    with run:
        if not run.phases:
            print(f"seqlearn-plot: {args.run}: no steps of any phase ran", file=sys.stderr)
            return 2
        if run.interrupted:
            print(f"seqlearn-plot: {args.run}: the run was interrupted (SIGTERM/SIGINT) at step "
                  f"{run.last_step}; phases 0..{len(run.phases) - 1} ran (the last one cut short)",
                  file=sys.stderr)
        for index in args.phase or []:
            if not 0 <= index < len(run.phases):
                parser.error(f"--phase {index}: the run has phases 0..{len(run.phases) - 1}")
        if args.order_phase is not None and not 0 <= args.order_phase < len(run.phases):
            parser.error(f"--order-phase {args.order_phase}: the run has phases 0..{len(run.phases) - 1}")
        # Only phases of the pattern task have pattern presentations to order the neurons by
        # (xor and file phases label their steps otherwise: docs/output.md).
        pattern_phases = [p for p in run.phases if p.task == "pattern"]
        tests = [p for p in pattern_phases if not p.learning]
        if args.order_phase is not None:
            order_phase = run.phases[args.order_phase]
            if order_phase.task != "pattern":
                print(f"seqlearn-plot: --order-phase {args.order_phase} is a phase of the {order_phase.task} "
                      "task: it has no pattern presentations to order the neurons by (give a pattern phase)",
                      file=sys.stderr)
                return 2
        else:
            order_phase = (tests or pattern_phases or [None])[-1]
        neurons = sa.subsample(run.n_neurons, args.neurons, args.seed)
        keep = np.zeros(run.n_neurons, bool)
        keep[neurons] = True
        if order_phase is not None:
            steps, ids = run.spikes(order_phase.first, order_phase.end, neurons)
            presentations = run.presentations(order_phase.first, order_phase.end)
            i, ph = sa.spike_phases(steps, ids, presentations, args.pattern)
            mean_phase, _, count, p_value, _ = sa.phase_locking(i, ph, run.n_neurons)
            order = [n for n in sa.activation_order(mean_phase, count, p_value) if keep[n]]
            label = f"order from pattern {args.pattern} in phase {order_phase.index}"
        else:
            order = [n for n in range(run.n_neurons) if keep[n]]
            label = "neurons in id order (no phase of the pattern task to order them by)"
        window = int(round(args.window / run.dt_ms))
        chosen = args.phase or sorted({0, len(run.phases) - 1})
        written = []
        for index in chosen:
            written.append(raster(run, run.phases[index], window, np.array(order), neurons, out_dir, args.pdf, label))
        written += grid_pictures(run, out_dir, args.pdf)
        written += trace_pictures(run, out_dir, args.pdf)
        written += weight_histogram(run, out_dir, args.pdf)
    for path in written:
        print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
