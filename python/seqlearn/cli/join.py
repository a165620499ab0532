"""Joins the segments of a restart chain into one output file that reads as one run.

    seqlearn-join CHAIN_DIR                       # CHAIN_DIR/segment-*.h5 -> CHAIN_DIR/run.h5
    seqlearn-join --out RUN.h5 SEG1.h5 SEG2.h5 ...  # explicit segments, in chain order
    options: --overwrite (replace an existing output)

A chain (jobs/run.sbatch, docs/checkpoint.md "Restart chains") is a run stopped by SIGTERM
(exit 3, checkpoint), restored with --restore, possibly stopped again, and so on. Each segment's
file covers the steps [/run first_step, /run last_step); the next one must start where it
stopped. The joined file holds:
  /spikes        every segment's spikes, ordered by neuron then step as in one run's file,
                 with every spike quantity's column (/spikes/NAME) in the same order;
  /input         input spikes (by step) and the per-step labels pattern_id, sequence_id
                 concatenated; attribute first_step from the first segment; a chain that
                 spans the upgrade of issue 11 (pattern_id [T] in older segments, [T, 2] in
                 later ones) gets [T, 2], the older labels in column 0 and -1 in column 1;
                 a task's targets (/input/NAME: rate, or a plug-in's) from the segments that
                 ran the task, less the row a restored segment repeats at its first step;
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
  /config_segments/NNN  each segment's own /config (NNN = 000 for the first), with the
                 attributes segment_file, segment_first_step, segment_last_step: a continuation
                 restored with other values (plasticity.learning_rate, run.protocol) says so here;
                 /run config_changes lists the keys that differ from the first segment's.
The join proves that the segments are one run (docs/checkpoint.md "Restart chains"), or
refuses (exit 2, one line naming the segment): every segment has the first's run.seed and
network fingerprint (a hash of the fixed structure: /network's sizes, circuit_of,
circuit_size, circuit_position, circuit_trained, circuit_pairs, synapses/pre and post, stp),
the first starts at the run's first step (0; --start-step S for a chain that began with a
--restore at step S), each starts where the one before stopped, every one but the last was
interrupted. Sizes read from a file are checked against the file's size before anything is
allocated. The output is written under a fresh name beside it and renamed at the end
(python/seqlearn/safe_io.py); nothing is left behind on failure.
For an uninterrupted run of the same protocol and seed, /spikes, /input, /traces, /phases and
/network of the joined file are identical (tests/slurm/slurm_jobs.sh checks it with h5diff).
Memory: spikes are merged in blocks of neurons, so it stays bounded for large runs.
"""

from __future__ import annotations

import argparse
import hashlib
import math
import os
import re
import sys

import h5py
import numpy as np

from ..safe_io import Refused, check_output, check_regular, h5_output, open_input

CHUNK = 1 << 22  # elements read at a time

SUMMED = (
    "simulated_s", "build_s", "simulate_s", "compute_s_max", "exchange_s_max", "compute_cpu_s_sum",
    "compute_cpu_s_max", "network_spikes", "input_spikes", "synaptic_events", "stdp_updates",
    "received_words", "walk_s_sum",
)


#: /network datasets fixed when the network is built (docs/output.md): the fingerprint
FIXED = ("circuit_of", "circuit_size", "circuit_position", "circuit_trained", "circuit_pairs/pre",
         "circuit_pairs/post", "synapses/pre", "synapses/post", "stp/U", "stp/D", "stp/F")
#: /network attributes that must agree (sizes)
SIZES = ("n_neurons", "n_inputs", "n_circuits", "rows", "cols")
#: a gzip'd HDF5 dataset holds at most about this many bytes per stored byte
MAX_RATIO = 1100
SEGMENT = re.compile(r"segment-([0-9]{3,})\.h5")


def fail(message: str) -> None:
    raise Refused(message)


def text(value) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


def segment_files(paths: list[str]) -> list[str]:
    """A chain folder's segment-NNN.h5 in numeric order (segment-1000 after segment-999), or
    the files as listed."""
    if len(paths) == 1 and os.path.isdir(paths[0]):
        numbered = []
        for name in os.listdir(paths[0]):
            match = SEGMENT.fullmatch(name)
            if match:
                numbered.append((int(match.group(1)), name))
        numbered.sort()
        for (a, first), (b, second) in zip(numbered, numbered[1:]):
            if a == b:
                fail(f"{first} and {second} are the same segment number")
        if not numbered:
            fail(f"no segment-NNN.h5 in {paths[0]}")
        return [os.path.join(paths[0], name) for _, name in numbered]
    return paths


SEGMENT_NAMES: dict[int, str] = {}  # id of an open segment -> its path, for messages


def label(f: h5py.File) -> str:
    """The segment's path as the user named it (h5py knows it as /proc/self/fd/N)."""
    return SEGMENT_NAMES.get(id(f), f.filename)


def open_segment(path: str) -> h5py.File:
    """Read-only HDF5 of a checked regular file (the descriptor that was checked, by /proc)."""
    with open_input(path, "rb") as handle:
        proc = f"/proc/self/fd/{handle.fileno()}"
        try:
            segment = h5py.File(proc if os.path.exists(proc) else path, "r")
            SEGMENT_NAMES[id(segment)] = path
            return segment
        except OSError as error:
            fail(f"{path} is not a readable HDF5 file ({str(error).splitlines()[0] if str(error) else error})")


def file_size(f: h5py.File) -> int:
    return int(f.id.get_filesize())


def checked(f: h5py.File, path: str, name: str):
    """f[path] as a dataset whose declared size its file can hold (a crafted shape would make a
    read allocate terabytes)."""
    if path not in f or not isinstance(f[path], h5py.Dataset):
        fail(f"{name}: no dataset /{path} (not a seqlearn output file)")
    ds = f[path]
    stored = file_size(f) * (MAX_RATIO if ds.compression or ds.chunks and ds.id.get_create_plist().get_nfilters() else 1)
    if ds.size * ds.dtype.itemsize > stored + (1 << 16):
        fail(f"{name}: /{path} declares {ds.shape} elements of {ds.dtype.itemsize} bytes, more than the "
             f"file's {file_size(f)} bytes can hold")
    return ds


def integer_attr(attrs, key: str, name: str, where: str, limit: float = 2 ** 62) -> int:
    if key not in attrs:
        fail(f"{name}: no attribute {key} in {where} (not a seqlearn output file)")
    try:
        value = float(np.asarray(attrs[key]).reshape(-1)[0])
    except (TypeError, ValueError, IndexError):
        fail(f"{name}: {where} {key} is not a number")
    if not math.isfinite(value) or value != int(value) or not 0 <= value <= limit:
        fail(f"{name}: {where} {key} = {value!r} is not a count")
    return int(value)


def config_value(f: h5py.File, key: str):
    value = f["config"].attrs.get(key) if "config" in f else None
    return text(value) if value is not None else None


def fingerprint(f: h5py.File, name: str) -> str:
    """sha256 of the network's fixed structure (FIXED and SIZES), read in chunks."""
    digest = hashlib.sha256()
    net = f["network"]
    for key in SIZES:
        digest.update(f"{key}={int(net.attrs[key])};".encode())
    for path in FIXED:
        if path not in net:
            digest.update(f"{path}:absent;".encode())
            continue
        ds = checked(f, f"network/{path}", name)
        digest.update(f"{path}:{ds.dtype.str}:{ds.shape};".encode())
        rows = max(1, CHUNK // max(1, int(np.prod(ds.shape[1:], dtype=np.int64))))
        for a in range(0, ds.shape[0] if ds.ndim else 1, rows):
            digest.update(np.ascontiguousarray(ds[a:a + rows] if ds.ndim else ds[()]).tobytes())
    return digest.hexdigest()


def check_chain(files: list[h5py.File], names: list[str], start_step: int = 0) -> None:
    """The proof that the segments are one run (module docstring), and sizes a file can hold."""
    previous_end = None
    seed = reference_print = None
    for i, (f, name) in enumerate(zip(files, names)):
        for group in ("spikes", "input", "phases", "run", "network", "config"):
            if group not in f or not isinstance(f[group], h5py.Group):
                fail(f"{name}: no /{group} (not a seqlearn output file)")
        first = integer_attr(f["run"].attrs, "first_step", name, "/run")
        last = integer_attr(f["run"].attrs, "last_step", name, "/run")
        if last < first:
            fail(f"{name}: /run last_step {last} is before first_step {first}")
        sizes = {key: integer_attr(f["network"].attrs, key, name, "/network") for key in SIZES}
        if sizes["n_neurons"] > file_size(f):
            fail(f"{name}: /network n_neurons = {sizes['n_neurons']} is more than its {file_size(f)}-byte file can describe")
        my_seed = config_value(f, "run.seed")
        if my_seed is None:
            fail(f"{name}: no run.seed in /config (not a seqlearn output file)")
        mine = fingerprint(f, name)
        if i == 0:
            seed, reference_print = my_seed, mine
            if first != start_step:
                fail(f"{name}: the first segment starts at step {first}, not at the run's first step {start_step} "
                     "(a segment before it is missing; --start-step S joins a chain that began with --restore at step S)")
        else:
            if my_seed != seed:
                fail(f"{name}: run.seed {my_seed}, but the first segment's is {seed}: not segments of one run")
            if mine != reference_print:
                fail(f"{name}: its network (fingerprint of /network's fixed structure) differs from the first "
                     "segment's: not segments of one run")
            if first != previous_end:
                fail(f"{name} starts at step {first}, but the segment before it stopped at step {previous_end}: "
                     "not consecutive segments of one chain")
        previous_end = last
        step, neuron = checked(f, "spikes/step", name), checked(f, "spikes/neuron", name)
        if step.ndim != 1 or neuron.shape != step.shape:
            fail(f"{name}: /spikes/step and /spikes/neuron differ in shape")
        if neuron.dtype.kind not in "iu" or step.dtype.kind not in "iu":
            fail(f"{name}: /spikes holds no integers")
        for path in ("phases/name", "phases/first_step", "phases/steps", "phases/learning"):
            if checked(f, path, name).shape != f["phases/name"].shape or f[path].ndim != 1:
                fail(f"{name}: the /phases datasets differ in length")
    for f, name in zip(files[:-1], names[:-1]):
        if not f["run"].attrs.get("interrupted", 0):
            fail(f"{name} was not interrupted, yet another segment follows it")


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
    for f in files:
        checked(f, path, label(f))
    first = files[0][path]
    if first.ndim == 0:
        fail(f"{label(f)}: /{path} is a scalar, not rows")
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
            fail(f"{path} has shape {source.shape} in {label(f)}, {(first.shape[0],) + shape} in the joined file")
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
            block = neuron[a:a + CHUNK]
            if len(block) and (int(block.max()) >= n_neurons or int(block.min()) < 0):
                fail(f"{label(f)}: /spikes/neuron holds ids outside 0..{n_neurons - 1}")
            c += np.bincount(block.astype(np.int64), minlength=n_neurons)[:n_neurons]
        counts.append(c)
    offsets = [np.concatenate(([0], np.cumsum(c))) for c in counts]
    per_neuron = np.sum(counts, axis=0)
    total = int(per_neuron.sum())
    group = out.create_group("spikes")
    copy_attrs(files[-1]["spikes"], group)
    # step, neuron and one column per spike quantity (docs/output.md), in the same order
    columns = list(files[0]["spikes"])
    for f in files:
        if sorted(f["spikes"]) != sorted(columns) or "step" not in columns:
            fail(f"{label(f)}: /spikes holds {sorted(f['spikes'])}, the first segment {sorted(columns)} "
                 "(record.quantities or the program's quantities changed between segments)")
        for key in columns:
            item = f["spikes"][key]
            if not isinstance(item, h5py.Dataset) or item.shape != f["spikes/neuron"].shape:
                fail(f"{label(f)}: /spikes/{key} is not one value per spike")
    outputs = {}
    for key in columns:
        outputs[key] = group.create_dataset(key, shape=(total,), dtype=files[0]["spikes"][key].dtype,
                                            chunks=True if total else None)
        copy_attrs(files[0]["spikes"][key], outputs[key])  # units
    at, lo = 0, 0
    cumulative = np.concatenate(([0], np.cumsum(per_neuron)))
    while lo < n_neurons:  # a block of neurons holding about CHUNK spikes (at least one neuron)
        hi = max(lo + 1, int(np.searchsorted(cumulative, cumulative[lo] + CHUNK, side="right")) - 1)
        hi = min(hi, n_neurons)
        parts = {key: [] for key in columns}
        for f, off in zip(files, offsets):
            a, b = int(off[lo]), int(off[hi])
            for key in columns:
                parts[key].append(f["spikes"][key][a:b])
        block = {key: np.concatenate(parts[key]) for key in columns}
        order = np.argsort(block["neuron"], kind="stable")  # segments in order within each neuron
        n = len(order)
        for key in columns:
            outputs[key][at:at + n] = block[key][order]
        at += n
        lo = hi


def join_targets(files: list[h5py.File], key: str, out: h5py.File) -> None:
    """A task's targets, /input/KEY/step and value (docs/output.md). A segment holds them only
    if its own protocol runs the task; a restored segment repeats the current row at its first
    step, which the uninterrupted run does not have: dropped where it equals the row before."""
    steps, values, source = [], [], None
    for f in files:
        if key not in f["input"]:
            continue
        if not isinstance(f["input"][key], h5py.Group):
            fail(f"{label(f)}: /input/{key} is not a group of targets (step, value)")
        step = checked(f, f"input/{key}/step", label(f))[:]
        value = checked(f, f"input/{key}/value", label(f))[:]
        if step.ndim != 1 or value.ndim != 2 or value.shape[0] != step.shape[0]:
            fail(f"{label(f)}: /input/{key}/value is not one row per /input/{key}/step")
        if source is not None and value.shape[1] != values[0].shape[1]:
            fail(f"{label(f)}: /input/{key}/value has {value.shape[1]} columns, an earlier segment {values[0].shape[1]}")
        first = int(f["run"].attrs["first_step"])
        earlier = [v for v in values if len(v)]
        if len(step) and step[0] == first and earlier and np.array_equal(value[0], earlier[-1][-1]):
            step, value = step[1:], value[1:]
        source = source or f
        steps.append(step)
        values.append(value)
    group = out["input"].create_group(key)
    copy_attrs(source["input"][key], group)
    for name, parts in (("step", steps), ("value", values)):
        group.create_dataset(name, data=np.concatenate(parts).astype(source["input"][key][name].dtype))
        copy_attrs(source["input"][key][name], group[name])  # units


def join_phases(files: list[h5py.File], out: h5py.File) -> None:
    phases: list[list] = []  # [name, first_step, steps, learning, task]
    for i, f in enumerate(files):
        p = f["phases"]
        # /phases/task: files of older versions have none (the pattern task)
        if "task" in p:
            checked(f, "phases/task", label(f))
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
    # the same datasets in every segment: record.quantities may change at a restore, and a
    # quantity that only some segments hold has no rows for the others
    names = sorted(files[0]["traces"])
    for f in files[1:]:
        held = sorted(f["traces"]) if isinstance(f.get("traces"), h5py.Group) else []
        if held != names:
            fail(f"{label(f)}: /traces holds {held}, the first segment {names} (record.quantities or "
                 "the program's quantities changed between segments)")
    group = out.create_group("traces")
    copy_attrs(files[-1]["traces"], group)
    ends = []
    for i, f in enumerate(files):  # rows of a segment from its first step on (no repeats)
        step = checked(f, "traces/step", label(f))[:]
        start = int(f["run"].attrs["first_step"]) if i else -np.inf
        stop = int(f["run"].attrs["last_step"])
        ends.append((int(np.searchsorted(step, start, side="left")), int(np.searchsorted(step, stop, side="left"))))
    # A segment without a trace sample (stopped within record.dt_rec steps of its start, or one
    # that only ran phases record.trace_phases leaves out) writes empty weight traces and their
    # empty synapse lists: it adds no rows, and its lists are not compared.
    sampled = [i for i, f in enumerate(files) if f["traces/step"].shape[0] > 0]
    model = files[sampled[0]] if sampled else files[0]
    for key in ("neuron", "weight_pre", "weight_post"):
        if key in files[0]["traces"]:
            for f in files:
                checked(f, f"traces/{key}", label(f))
            for i, f in enumerate(files):
                if i in sampled and not np.array_equal(f["traces"][key][:], model["traces"][key][:]):
                    fail(f"{label(f)}: /traces/{key} differs from the first sampled segment's")
            out.copy(model["traces"][key], group, name=key)
    with_rows = [i for i in range(len(files)) if ends[i][1] > ends[i][0]] or [0]
    for key in files[0]["traces"]:
        if key in ("neuron", "weight_pre", "weight_post"):
            continue
        concat([files[i] for i in with_rows], f"traces/{key}", out, keep=lambda j, f: ends[with_rows[j]])


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
    # The training before the chain's first step is the first segment's (later segments count
    # their predecessors' training, which the joined file holds).
    if "prior_learning_steps" in attrs[0]:
        group.attrs["prior_learning_steps"] = attrs[0]["prior_learning_steps"]
    elif "prior_learning_steps" in group.attrs:
        del group.attrs["prior_learning_steps"]
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


def phase_list(f: h5py.File) -> list[tuple]:
    p = f["phases"]
    tasks = [text(t) for t in p["task"][:]] if "task" in p else ["pattern"] * p["name"].shape[0]
    return [(text(n), int(a), int(s), int(l), t) for n, a, s, l, t in
            zip(p["name"][:], p["first_step"][:], p["steps"][:], p["learning"][:], tasks)]


def continues(previous: h5py.File, f: h5py.File) -> bool:
    """Whether f's phases are what was left of previous's at f's first step (a plain
    continuation: its run.protocol is then the rest of the protocol, not a change)."""
    start = int(f["run"].attrs["first_step"])
    left = []
    for name, first, steps, learning, task in phase_list(previous):
        if first + steps > start:
            begin = max(first, start)
            left.append((name, begin, first + steps - begin, learning, task))
    return left == phase_list(f)


def config_segments(files: list[h5py.File], out: h5py.File, names: list[str]) -> list[str]:
    """/config_segments/NNN: each segment's own /config; returns the keys' changes (text)."""
    group = out.create_group("config_segments")
    group.attrs["about"] = "each segment's /config, in chain order (seqlearn-join)"
    reference = {k: text(v) for k, v in files[0]["config"].attrs.items()}
    changes = []
    for i, (f, name) in enumerate(zip(files, names)):
        entry = group.create_group(f"{i:03d}")
        copy_attrs(f["config"], entry)
        entry.attrs["segment_file"] = os.path.basename(name)
        entry.attrs["segment_first_step"] = int(f["run"].attrs["first_step"])
        entry.attrs["segment_last_step"] = int(f["run"].attrs["last_step"])
        mine = {k: text(v) for k, v in f["config"].attrs.items()}
        plain = i > 0 and continues(files[i - 1], f)
        for key in sorted(set(reference) | set(mine)):
            if key in ("output.file", "output.checkpoint_file", "output.overwrite") or (key == "run.protocol" and plain):
                continue
            if reference.get(key) != mine.get(key):
                changes.append(f"{os.path.basename(name)}: {key} {reference.get(key)} -> {mine.get(key)}")
    return changes


def join(segments: list[str], output: str, overwrite: bool = False, start_step: int = 0) -> None:
    check_output(output, overwrite)
    for segment in segments:
        check_regular(segment)
        if os.path.exists(output) and os.path.samefile(segment, output) or \
                os.path.abspath(output) == os.path.abspath(segment):
            fail("the output must not be one of the segments")
    files = []
    try:
        for segment in segments:
            files.append(open_segment(segment))
        check_chain(files, segments, start_step)
        with h5_output(output, overwrite) as out:
            copy_attrs(files[0], out)
            config = out.create_group("config")
            copy_attrs(files[0]["config"], config)
            config.attrs["output.file"] = output
            if "units" in files[0]["config"]:  # the units of the keys (docs/output.md)
                files[0].copy(files[0]["config/units"], config, name="units")
            changes = config_segments(files, out, segments)
            out.copy(files[-1]["network"], out, name="network")
            join_spikes(files, out, int(files[0]["network"].attrs["n_neurons"]))
            inp = out.create_group("input")
            copy_attrs(files[0]["input"], inp)
            keys = list(dict.fromkeys(key for f in files for key in f["input"]))
            for key in keys:
                item = next(f["input"][key] for f in files if key in f["input"])
                if key != "spikes" and isinstance(item, h5py.Group):
                    join_targets(files, key, out)
                elif isinstance(item, h5py.Group):
                    sub = inp.create_group(key)
                    copy_attrs(item, sub)
                    for name in item:
                        concat(files, f"input/{key}/{name}", out)
                else:
                    concat(files, f"input/{key}", out)  # per-step labels: first_step of segment 1
            join_phases(files, out)
            join_traces(files, out)
            join_run(files, out, segments)
            out["run"].attrs["config_changes"] = "\n".join(changes)
            done = {"config", "config_segments", "network", "spikes", "input", "phases", "traces", "run"}
            for key in files[-1]:  # anything else: the last segment's
                if key not in done:
                    out.copy(files[-1][key], out, name=key)
    finally:
        for f in files:
            f.close()
    print(f"seqlearn-join: {len(segments)} segment(s) -> {output}"
          + (f" ({len(changes)} config change(s) between segments: /run config_changes)" if changes else ""))


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="seqlearn-join", description=__doc__.split("\n\n")[0])
    parser.add_argument("inputs", nargs="+", help="a chain folder (segment-NNN.h5) or the segments in order")
    parser.add_argument("--out", help="joined file (default: CHAIN_DIR/run.h5)")
    parser.add_argument("--overwrite", action="store_true", help="replace an existing output (a regular file only)")
    parser.add_argument("--start-step", type=int, default=0, metavar="S",
                        help="the run's first step (default 0; S for a chain that began with --restore at step S)")
    args = parser.parse_args(argv)
    try:
        segments = segment_files(args.inputs)
        output = args.out
        if output is None:
            if len(args.inputs) == 1 and os.path.isdir(args.inputs[0]):
                output = os.path.join(args.inputs[0], "run.h5")
            else:
                parser.error("--out is needed when the segments are listed")
        join(segments, output, args.overwrite, args.start_step)
    except Refused as refusal:
        print(f"seqlearn-join: {refusal}", file=sys.stderr)
        return 2
    except (OSError, KeyError, ValueError, TypeError, IndexError, AttributeError, MemoryError, RuntimeError) as error:
        # a crafted or damaged file that passed the checks above: one line, no traceback
        reason = " ".join(str(error).split()) or type(error).__name__
        print(f"seqlearn-join: the segments could not be joined ({type(error).__name__}: {reason[:300]})", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
