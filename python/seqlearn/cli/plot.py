"""seqlearn-plot RUN.h5: the pictures of a seqlearn run (PNG; PDF with --pdf).

  raster_<phase>.png   input raster over network raster. Inputs: pattern (or xor) spikes red,
                       noise black; a `file` phase's spikes coloured by the label of their
                       step; the legend lists only what is drawn. Neurons ordered by mean
                       activation time (circular mean of spike phases, docs/model.md section
                       9) within the reference phase's epochs: pattern presentations (pattern
                       task), windows (xor task) or the stretches of one label (file task);
                       coloured by circuit. Shaded, by the phase's input task: `pattern`
                       phases, the pattern presentations; `xor` phases, the windows whose
                       halves differ (XOR = 1); `file` phases, the stretches of each label
                       value (the value written above them). One picture per chosen phase,
                       all in the order found in the reference phase (default: the last test
                       phase that has epochs; none: id order).
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
from ..safe_io import Refused, beside_input, check_regular, output_folder, save_figure


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
    method, _, epochs = run.task_epochs(phase, first, end)
    if method == "xor_windows":
        return [w for w in epochs if w.xor], f"task xor: shaded windows XOR = 1 ({len(epochs)} windows)", None
    if method == "label_epochs" and (epochs or task == "file"):  # multi labels no step
        return epochs, f"task {task}: stretches of each label shaded", [str(e.label) for e in epochs]
    return epochs, f"{len(epochs)} pattern presentations shaded", None


SPIKE_SOURCE = {"pattern": "pattern", "xor": "xor patterns", "file": "file spikes"}


def order_epochs(run, phase, which=None):
    """The stretches the neurons' activation times are measured in, by the phase's task:
    `pattern`, the presentations of pattern `which` (default 0); `xor`, every complete window
    (`which`: only windows whose half-1 id is `which`); `file` and any task that labels its
    steps, the stretches of label `which` (default: the label with the most steps). Returns
    (epochs with start and length, what they are, in words)."""
    task = getattr(phase, "task", "pattern")
    method, _, epochs = run.task_epochs(phase)
    if method == "xor_windows":
        windows = epochs
        if which is not None:
            windows = [w for w in windows if w.half1 == which]
        return windows, "xor windows" + ("" if which is None else f" with half 1 = {which}")
    if method == "label_epochs" and (epochs or task == "file"):  # multi labels no step
        if which is None and epochs:
            totals = {}
            for e in epochs:
                totals[e.label] = totals.get(e.label, 0) + e.length
            which = max(sorted(totals), key=lambda label: totals[label])
        return [e for e in epochs if e.label == which], f"label {which}"
    which = 0 if which is None else which
    return [p for p in epochs if p.pattern == which], f"pattern {which}"


def neuron_order(run, phase, neurons, which=None):
    """Neurons (of the sample `neurons`) ordered by mean activation time within the epochs of
    order_epochs (circular mean of spike phases; docs/model.md section 9), neurons not locked
    last in id order. Returns (order, label for the picture, number of locked neurons)."""
    keep = np.zeros(run.n_neurons, bool)
    keep[neurons] = True
    epochs, what = order_epochs(run, phase, which)
    if not epochs:
        return ([n for n in range(run.n_neurons) if keep[n]],
                f"neurons in id order (no {what} in phase {phase.index} to order them by)", 0)
    steps, ids = run.spikes(phase.first, phase.end, neurons)
    i, ph = sa.spike_phases(steps, ids, epochs)
    mean_phase, _, count, p_value, _ = sa.phase_locking(i, ph, run.n_neurons)
    order = [n for n in sa.activation_order(mean_phase, count, p_value) if keep[n]]
    n_locked = int((sa.locked(count, p_value) & keep).sum())
    return order, f"order from {what} in phase {phase.index} ({n_locked} neurons locked)", n_locked


def default_order_phase(run):
    """The phase whose epochs order the neurons: the last test phase (learning off) of the
    pattern task with presentations, else the last test phase of any task with epochs, else the
    last phase that has some; None if none has."""
    def has_epochs(phase):
        return bool(order_epochs(run, phase)[0])

    tests = [p for p in run.phases if not p.learning]
    for candidates in ([p for p in tests if p.task == "pattern"], tests, run.phases):
        for phase in reversed(candidates):
            if has_epochs(phase):
                return phase
    return None


def input_groups(run, phase, steps, from_pattern):
    """How a phase's input spikes are drawn: [(legend label, colour, mask)], only groups that
    have spikes. `file` phases: one colour per label value at the spike's step ("label L"),
    "no label" for steps labelled -1; the other tasks: the task's spikes red, noise black."""
    task = getattr(phase, "task", "pattern")
    groups = []
    if task == "file":
        labels = run.labels("pattern_id", phase.first, phase.end)
        at = labels[steps - phase.first] if len(steps) else np.zeros(0, np.int64)
        for value in np.unique(at):
            colour = "0.5" if value < 0 else plt.get_cmap("tab10")(int(value) % 10)
            groups.append(("no label" if value < 0 else f"label {int(value)}", colour, at == value))
    else:
        if from_pattern.any():
            groups.append((SPIKE_SOURCE.get(task, task), "r", from_pattern))
        if (~from_pattern).any():
            groups.append(("noise", "k", ~from_pattern))
    return groups


def raster(run, phase, window_steps, order, neurons, out_dir, pdf, label):
    first, end = phase.first, min(phase.end, phase.first + window_steps)
    dt_s = run.dt_ms * 1e-3
    shaded, note, texts = shaded_epochs(run, phase, first, end)
    fig, (ax_in, ax_net) = plt.subplots(2, 1, figsize=(11, 8), sharex=True, gridspec_kw={"height_ratios": [1, 3]})
    s, c, from_pattern = run.input_spikes(first, end)
    # file labels: one colour per label value, the value written at the stretch's start
    colours = None if texts is None else [plt.get_cmap("Pastel1")(e.label % 9) for e in shaded]
    shade_presentations(ax_in, shaded, first, dt_s, colours)
    for epoch, text in zip(shaded, texts or []):
        ax_in.text((epoch.start - first) * dt_s, run.n_inputs - 1, " " + text, fontsize=7, va="top", clip_on=True)
    for name, colour, mask in input_groups(run, phase, s, from_pattern):
        ax_in.scatter((s[mask] - first) * dt_s, c[mask], s=2, color=colour, marker="|", lw=0.6, label=name)
    ax_in.set_ylabel("input channel")
    ax_in.set_ylim(-1, run.n_inputs)
    ax_in.set_title(f"{os.path.basename(run.path)}: phase {phase.index} ({phase.name}, {note}),\n{label}",
                    fontsize=9)
    if ax_in.get_legend_handles_labels()[0]:  # only what is drawn: no entry for what is absent
        ax_in.legend(loc="upper right", fontsize=7, markerscale=4)

    steps, ids = run.spikes(first, end, neurons)
    rank = np.full(run.n_neurons, -1, np.int64)
    rank[order] = np.arange(len(order))
    circuits = run.circuit_of(ids)
    shade_presentations(ax_net, shaded, first, dt_s, colours)
    colours = plt.get_cmap("tab20")(circuits % 20)
    ax_net.scatter((steps - first) * dt_s, rank[ids], s=3, c=colours, marker="|", lw=0.8)
    ax_net.set_ylim(len(order), -1)
    ax_net.set_ylabel("neuron (ordered by activation time)" if label.startswith("order from")
                      else "neuron (id order)")
    ax_net.set_xlabel("time in phase (s)")
    return save(fig, out_dir, f"raster_phase{phase.index}_{phase.name}", pdf)


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
    if "u" not in traces and "weight" not in traces:  # record.quantities left both out
        return []
    t = traces["step"][:] * run.dt_ms * 1e-3
    neurons = traces["neuron"][:]
    show = min(max_neurons, len(neurons))
    fig, axes = plt.subplots(2, show, figsize=(3.2 * show, 6), squeeze=False, sharex=True)
    post = traces["weight_post"][:]
    pre = traces["weight_pre"][:]
    for i in range(show):
        if "u" in traces:
            axes[0, i].plot(t, traces["u"][:, i], lw=0.7)
        axes[0, i].set_title(f"neuron {neurons[i]}")
        columns = np.flatnonzero(post == neurons[i])
        if len(columns) and "weight" in traces:
            w = traces["weight"][:, columns[0] : columns[-1] + 1]
            is_input = pre[columns] < run.n_inputs
            axes[1, i].plot(t, w[:, is_input], lw=0.3, color="tab:red", alpha=0.5)
            axes[1, i].plot(t, w[:, ~is_input], lw=0.3, color="tab:blue", alpha=0.5)
        axes[1, i].set_xlabel("time (s)")
    missing = " (not recorded)"  # record.quantities left it out
    axes[0, 0].set_ylabel("u (M2)" + ("" if "u" in traces else missing))
    axes[1, 0].set_ylabel("incoming weights (red: input)" + ("" if "weight" in traces else missing))
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
    parser.add_argument("--out", help="folder for the pictures (default: RUN_figures beside the run; required when the run is under /dev, /proc or /sys)")
    parser.add_argument("--phase", type=int, action="append",
                        help="phase index to draw a raster of (repeatable; default: the first and the last phase)")
    parser.add_argument("--order-phase", type=int,
                        help="phase whose epochs define the neuron order: pattern presentations, xor "
                             "windows or the stretches of one file label, by its task (default: the last "
                             "pattern test phase, else the last test phase that has some)")
    parser.add_argument("--pattern", type=int, default=None,
                        help="pattern (pattern task), half-1 id (xor) or label (file task) whose epochs "
                             "define the neuron order (default: pattern 0, every xor window, the label "
                             "with the most steps)")
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


def default_figures(run):
    """RUN_figures beside RUN; Refused when RUN's folder is /dev, /proc or /sys (/dev/stdin)."""
    return beside_input(run, "_figures", "--out DIR")


def draw(parser, args):
    check_regular(args.run)
    out_dir = args.out or default_figures(args.run)
    try:
        run = sa.Run(args.run)
    except ValueError as error:  # a value of the file that cannot be drawn (the message names it)
        print(f"seqlearn-plot: {error}", file=sys.stderr)
        return 2
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
        # Pattern presentations, xor windows or file-label stretches, by the phase's task.
        order_phase = run.phases[args.order_phase] if args.order_phase is not None else default_order_phase(run)
        neurons = sa.subsample(run.n_neurons, args.neurons, args.seed)
        if order_phase is not None:
            order, label, _ = neuron_order(run, order_phase, neurons, args.pattern)
        else:
            order = [n for n in neurons]
            label = "neurons in id order (no pattern presentation, xor window or file label to order them by)"
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
