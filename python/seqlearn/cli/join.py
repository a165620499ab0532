"""Joins the segments of a restart chain into one output file that reads as one run.

    seqlearn-join CHAIN_DIR                       # CHAIN_DIR/segment-*.h5 -> CHAIN_DIR/run.h5
    seqlearn-join --out RUN.h5 SEG1.h5 SEG2.h5 ...  # explicit segments, in chain order
    options: --overwrite (replace an existing output)

A chain (jobs/run.sbatch, docs/checkpoint.md "Restart chains") is a run stopped by SIGTERM
(exit 3, checkpoint), restored with --restore, possibly stopped again, and so on. Each segment's
file covers the steps [/run first_step, /run last_step); the next one must start where it
stopped. The joined file holds:
  /spikes        every segment's spikes, ordered by neuron then step as in one run's file;
  /input         input spikes (by step) and the per-step labels pattern_id, sequence_id
                 concatenated; attribute first_step from the first segment; a chain that
                 spans the upgrade of issue 11 (pattern_id [T] in older segments, [T, 2] in
                 later ones) gets [T, 2], the older labels in column 0 and -1 in column 1;
  /traces        the sampled rows concatenated (the traced neurons and synapses must agree);
  /phases        the protocol as one run: a phase cut by a stop and continued by the next
                 segment is one phase again; task is "pattern" for the phases of segments
                 of older versions (no /phases/task);
  /network       the last segment's (the final weights, S and Q);
  /config        the first segment's (its run.protocol is the whole protocol), output.file set
                 to the joined file;
  /run           counters and times summed, first_step / last_step / interrupted of the chain,
                 real_time_factor recomputed, and the attributes segments (their number) and
                 joined_from (their file names, one a line).
For an uninterrupted run of the same protocol and seed, /spikes, /input, /traces, /phases and
/network of the joined file are identical (tests/slurm/slurm_jobs.sh checks it with h5diff).
Memory: spikes are merged in blocks of neurons, so it stays bounded for large runs.
"""

from __future__ import annotations

import argparse
import glob
import os
import sys

import h5py
import numpy as np

CHUNK = 1 << 22  # elements read at a time

SUMMED = (
    "simulated_s", "build_s", "simulate_s", "compute_s_max", "exchange_s_max", "compute_cpu_s_sum",
    "compute_cpu_s_max", "network_spikes", "input_spikes", "synaptic_events", "stdp_updates",
)


def fail(message: str) -> None:
    print(f"seqlearn-join: {message}", file=sys.stderr)
    sys.exit(2)


def text(value) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


def segment_files(paths: list[str]) -> list[str]:
    if len(paths) == 1 and os.path.isdir(paths[0]):
        found = sorted(glob.glob(os.path.join(paths[0], "segment-[0-9][0-9][0-9]*.h5")))
        found = [p for p in found if not p.endswith(".ckpt.h5")]
        if not found:
            fail(f"no segment-NNN.h5 in {paths[0]}")
        return found
    return paths


def check_chain(files: list[h5py.File], names: list[str]) -> None:
    previous_end = None
    for f, name in zip(files, names):
        for group in ("spikes", "input", "phases", "run", "network"):
            if group not in f:
                fail(f"{name}: no /{group} (not a seqlearn output file)")
        first, last = int(f["run"].attrs["first_step"]), int(f["run"].attrs["last_step"])
        if previous_end is not None and first != previous_end:
            fail(f"{name} starts at step {first}, but the segment before it stopped at step {previous_end}: "
                 "not consecutive segments of one chain")
        previous_end = last
    for f, name in zip(files[:-1], names[:-1]):
        if not f["run"].attrs.get("interrupted", 0):
            fail(f"{name} was not interrupted, yet another segment follows it")
    reference = files[0]["network"].attrs
    for f, name in zip(files[1:], names[1:]):
        for key in ("n_neurons", "n_inputs", "n_circuits", "rows", "cols"):
            if f["network"].attrs[key] != reference[key]:
                fail(f"{name}: /network {key} differs from the first segment's")


def copy_attrs(source, target) -> None:
    for key, value in source.attrs.items():
        target.attrs[key] = value


#: per-step labels that became one column per stream (issue 11: [T] -> [T, 2]); a chain that
#: spans the upgrade has both shapes, and the old [T] labels widen to [T, 2] with the other
#: columns -1 (no label), as the program writes them for the one-stream tasks
WIDENED = ("input/pattern_id",)


def concat(files: list[h5py.File], path: str, out: h5py.File, keep=None) -> None:
    """Concatenates dataset `path` (along axis 0) of every file into out[path], in chunks.
    keep(i, f) -> (start, stop) may restrict the rows taken from file i."""
    first = files[0][path]
    shape = first.shape[1:]
    dtype = first.dtype
    if path in WIDENED:  # the widest of the segments ([T, 2] once any segment has it)
        widest = max((f[path] for f in files), key=lambda d: d.ndim)
        if widest.ndim == 2 and all(f[path].ndim in (1, 2) for f in files):
            shape, dtype = widest.shape[1:], widest.dtype
    ranges = [keep(i, f) if keep else (0, f[path].shape[0]) for i, f in enumerate(files)]
    total = sum(stop - start for start, stop in ranges)
    target = out.create_dataset(path, shape=(total,) + shape, dtype=dtype,
                                chunks=True if total else None)
    copy_attrs(first, target)
    at = 0
    rows = max(1, CHUNK // max(1, int(np.prod(shape, dtype=np.int64))))
    for f, (start, stop) in zip(files, ranges):
        source = f[path]
        widen = path in WIDENED and source.ndim == 1 and len(shape) == 1
        if source.shape[1:] != shape and not widen:
            fail(f"{path} has shape {source.shape} in {f.filename}, {(first.shape[0],) + shape} in the joined file")
        for a in range(start, stop, rows):
            b = min(stop, a + rows)
            block = source[a:b]
            if widen:  # stream 0 = the old labels, the other streams -1
                wide = np.full((b - a,) + shape, -1, dtype=dtype)
                wide[:, 0] = block
                block = wide
            target[at:at + b - a] = block
            at += b - a


def join_spikes(files: list[h5py.File], out: h5py.File, n_neurons: int) -> None:
    """One run's order: by neuron, then step. Each segment is already ordered that way and
    later segments hold later steps, so within each neuron the segments follow each other."""
    counts = []  # per segment: spikes per neuron
    for f in files:
        neuron = f["spikes/neuron"]
        c = np.zeros(n_neurons, dtype=np.int64)
        for a in range(0, neuron.shape[0], CHUNK):
            c += np.bincount(neuron[a:a + CHUNK].astype(np.int64), minlength=n_neurons)[:n_neurons]
        counts.append(c)
    offsets = [np.concatenate(([0], np.cumsum(c))) for c in counts]
    per_neuron = np.sum(counts, axis=0)
    total = int(per_neuron.sum())
    group = out.create_group("spikes")
    copy_attrs(files[-1]["spikes"], group)
    step_out = group.create_dataset("step", shape=(total,), dtype=files[0]["spikes/step"].dtype,
                                    chunks=True if total else None)
    neuron_out = group.create_dataset("neuron", shape=(total,), dtype=files[0]["spikes/neuron"].dtype,
                                      chunks=True if total else None)
    copy_attrs(files[0]["spikes/step"], step_out)  # units
    copy_attrs(files[0]["spikes/neuron"], neuron_out)
    at, lo = 0, 0
    cumulative = np.concatenate(([0], np.cumsum(per_neuron)))
    while lo < n_neurons:  # a block of neurons holding about CHUNK spikes (at least one neuron)
        hi = max(lo + 1, int(np.searchsorted(cumulative, cumulative[lo] + CHUNK, side="right")) - 1)
        hi = min(hi, n_neurons)
        steps, neurons = [], []
        for f, off in zip(files, offsets):
            a, b = int(off[lo]), int(off[hi])
            steps.append(f["spikes/step"][a:b])
            neurons.append(f["spikes/neuron"][a:b])
        step = np.concatenate(steps)
        neuron = np.concatenate(neurons)
        order = np.argsort(neuron, kind="stable")  # segments in order within each neuron
        n = len(step)
        step_out[at:at + n] = step[order]
        neuron_out[at:at + n] = neuron[order]
        at += n
        lo = hi


def join_phases(files: list[h5py.File], out: h5py.File) -> None:
    phases: list[list] = []  # [name, first_step, steps, learning, task]
    for i, f in enumerate(files):
        p = f["phases"]
        # /phases/task: files of older versions have none (the pattern task)
        tasks = [t.decode() if isinstance(t, bytes) else str(t) for t in p["task"][:]] if "task" in p \
            else ["pattern"] * p["name"].shape[0]
        mine = [[n, int(a), int(s), int(l), t] for n, a, s, l, t in
                zip(p["name"][:], p["first_step"][:], p["steps"][:], p["learning"][:], tasks)]
        if i == 0:
            phases = mine
            continue
        start = int(f["run"].attrs["first_step"])
        kept = [q for q in phases if q[1] < start]
        cut = kept[-1] if kept and kept[-1][1] + kept[-1][2] > start else None
        if cut is not None:
            cut[2] = start - cut[1]  # the stopped phase ends where this segment starts ...
            if (mine and mine[0][1] == start and mine[0][0] == cut[0] and mine[0][3] == cut[3]
                    and mine[0][4] == cut[4]):
                cut[2] += mine[0][2]  # ... unless this segment continues it
                mine = mine[1:]
        phases = kept + mine
    group = out.create_group("phases")
    copy_attrs(files[0]["phases"], group)
    names = np.array([q[0] for q in phases], dtype=files[0]["phases/name"].dtype)
    group.create_dataset("name", data=names)
    group.create_dataset("first_step", data=np.array([q[1] for q in phases], dtype=files[0]["phases/first_step"].dtype))
    group.create_dataset("steps", data=np.array([q[2] for q in phases], dtype=files[0]["phases/steps"].dtype))
    group.create_dataset("learning", data=np.array([q[3] for q in phases], dtype=files[0]["phases/learning"].dtype))
    if any("task" in f["phases"] for f in files):  # fixed-length UTF-8, as the program writes it
        tasks = [q[4].encode() for q in phases]
        width = max([len(t) for t in tasks] + [0]) + 1
        group.create_dataset("task", data=np.array(tasks, dtype=h5py.string_dtype("utf-8", width)))
    for name in ("name", "first_step", "steps", "learning", "task"):  # units, text encoding
        if name in group and name in files[0]["phases"]:
            copy_attrs(files[0]["phases"][name], group[name])


def join_traces(files: list[h5py.File], out: h5py.File) -> None:
    if "traces" not in files[0]:
        return
    group = out.create_group("traces")
    copy_attrs(files[-1]["traces"], group)
    for key in ("neuron", "weight_pre", "weight_post"):
        if key in files[0]["traces"]:
            for f in files[1:]:
                if not np.array_equal(f["traces"][key][:], files[0]["traces"][key][:]):
                    fail(f"{f.filename}: /traces/{key} differs from the first segment's")
            out.copy(files[0]["traces"][key], group, name=key)
    ends = []
    for i, f in enumerate(files):  # rows of a segment from its first step on (no repeats)
        step = f["traces/step"][:]
        start = int(f["run"].attrs["first_step"]) if i else -np.inf
        stop = int(f["run"].attrs["last_step"])
        ends.append((int(np.searchsorted(step, start, side="left")), int(np.searchsorted(step, stop, side="left"))))
    for key in files[0]["traces"]:
        if key in ("neuron", "weight_pre", "weight_post"):
            continue
        concat(files, f"traces/{key}", out, keep=lambda i, f: ends[i])


def join_run(files: list[h5py.File], out: h5py.File, names: list[str]) -> None:
    group = out.create_group("run")
    copy_attrs(files[-1]["run"], group)
    attrs = [f["run"].attrs for f in files]
    for key in SUMMED:
        if all(key in a for a in attrs):
            group.attrs[key] = float(sum(float(a[key]) for a in attrs))
    group.attrs["first_step"] = attrs[0]["first_step"]
    group.attrs["last_step"] = attrs[-1]["last_step"]
    group.attrs["interrupted"] = attrs[-1].get("interrupted", 0.0)
    steps = [float(a["last_step"]) - float(a["first_step"]) for a in attrs]
    if "exchange_bytes_per_step" in attrs[0] and sum(steps) > 0:
        group.attrs["exchange_bytes_per_step"] = sum(
            float(a["exchange_bytes_per_step"]) * s for a, s in zip(attrs, steps)) / sum(steps)
    if group.attrs.get("simulated_s", 0) > 0:
        group.attrs["real_time_factor"] = group.attrs["simulate_s"] / group.attrs["simulated_s"]
    group.attrs["segments"] = float(len(files))
    group.attrs["joined_from"] = "\n".join(os.path.basename(n) for n in names)
    if "units" in files[-1]["run"]:  # the units of /run's attributes (docs/output.md)
        files[-1].copy(files[-1]["run/units"], group, name="units")


def join(segments: list[str], output: str, overwrite: bool = False) -> None:
    if os.path.exists(output) and not overwrite:
        fail(f"{output} exists (--overwrite replaces it)")
    if os.path.abspath(output) in [os.path.abspath(s) for s in segments]:
        fail("the output must not be one of the segments")
    files = []
    for segment in segments:
        try:
            files.append(h5py.File(segment, "r"))
        except OSError as error:
            fail(f"{segment} is not a readable HDF5 file ({error})")
    try:
        check_chain(files, segments)
        partial = output + ".partial"
        with h5py.File(partial, "w") as out:
            copy_attrs(files[0], out)
            config = out.create_group("config")
            copy_attrs(files[0]["config"], config)
            config.attrs["output.file"] = output
            if "units" in files[0]["config"]:  # the units of the keys (docs/output.md)
                files[0].copy(files[0]["config/units"], config, name="units")
            out.copy(files[-1]["network"], out, name="network")
            join_spikes(files, out, int(files[0]["network"].attrs["n_neurons"]))
            inp = out.create_group("input")
            copy_attrs(files[0]["input"], inp)
            for key in files[0]["input"]:
                item = files[0]["input"][key]
                if isinstance(item, h5py.Group):
                    sub = inp.create_group(key)
                    copy_attrs(item, sub)
                    for name in item:
                        concat(files, f"input/{key}/{name}", out)
                else:
                    concat(files, f"input/{key}", out)  # per-step labels: first_step of segment 1
            join_phases(files, out)
            join_traces(files, out)
            join_run(files, out, segments)
            done = {"config", "network", "spikes", "input", "phases", "traces", "run"}
            for key in files[-1]:  # anything else: the last segment's
                if key not in done:
                    out.copy(files[-1][key], out, name=key)
        os.replace(partial, output)
    finally:
        for f in files:
            f.close()
    print(f"seqlearn-join: {len(segments)} segment(s) -> {output}")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="seqlearn-join", description=__doc__.split("\n\n")[0])
    parser.add_argument("inputs", nargs="+", help="a chain folder (segment-NNN.h5) or the segments in order")
    parser.add_argument("--out", help="joined file (default: CHAIN_DIR/run.h5)")
    parser.add_argument("--overwrite", action="store_true", help="replace an existing output")
    args = parser.parse_args(argv)
    segments = segment_files(args.inputs)
    output = args.out
    if output is None:
        if len(args.inputs) == 1 and os.path.isdir(args.inputs[0]):
            output = os.path.join(args.inputs[0], "run.h5")
        else:
            parser.error("--out is needed when the segments are listed")
    for s in segments:
        if not os.path.isfile(s):
            fail(f"no file {s}")
    join(segments, output, args.overwrite)
    return 0


if __name__ == "__main__":
    sys.exit(main())
