"""Reading one seqlearn output file (schema: docs/output.md).

Spikes are read in chunks and filtered to the window asked for, so memory stays bounded by
the window (and by the neuron subsample, where one is given), not by the size of the run.
Files of older versions (byte-string config, STP D/F in seconds, no units, no /run) read too.
"""

from __future__ import annotations

import contextlib
import gc
import math
import os
import re
import sys
from dataclasses import dataclass

import h5py
import numpy as np

CHUNK = 1 << 22  # spikes read at a time
MAX_CACHED_LABEL_ROWS = 20_000_000  # label arrays up to this many steps are read once and kept

#: Tasks whose label stream 0 holds the ids of what they show (pattern ids, xor half 1's id), not
#: labels of the input; every other task's (the file task's, a plug-in's: docs/extending.md) are
#: labels.
PATTERN_ID_TASKS = ("pattern", "xor")
#: A phase's epochs by its task's name in /phases/task: the Run method that lists them and what
#: they are called. A task not listed (multi, a plug-in) has its labels' stretches, as `file`.
TASK_EPOCHS = {"pattern": ("presentations", "pattern presentations"),
               "xor": ("xor_windows", "xor windows"),
               "file": ("label_epochs", "file labels")}


@(dataclass(slots=True) if sys.version_info >= (3, 10) else dataclass)  # slots: files may hold 10^6 phases
class Phase:
    """One phase of the protocol as it ran: steps [first, first + steps). `planned_steps` is
    the protocol's length; a run interrupted (or a chain segment) ran fewer (`complete` False)."""

    index: int
    name: str
    first: int
    steps: int
    learning: bool
    planned_steps: int | None = None
    #: the phase's input task: "pattern", "xor", "file" or "multi" ("pattern" for files without /phases/task)
    task: str = "pattern"

    @property
    def end(self) -> int:
        """One past the last step."""
        return self.first + self.steps

    @property
    def last(self) -> int:
        """The last step that ran."""
        return self.end - 1

    @property
    def complete(self) -> bool:
        return self.planned_steps is None or self.steps == self.planned_steps


@dataclass
class Presentation:
    start: int  # first step
    length: int  # steps
    pattern: int
    sequence: int

    @property
    def end(self) -> int:
        return self.start + self.length


@dataclass
class XorWindow:
    """One window of an `xor` phase (docs/model.md 11.2): both halves' pattern ids over
    [start, start + length); windows count from the phase's first step."""

    start: int  # first step
    length: int  # steps (input.t_pattern_xor / dt)
    half1: int  # pattern id of half 1 (channels [0, n/2)), -1: no label
    half2: int  # pattern id of half 2

    @property
    def end(self) -> int:
        return self.start + self.length

    @property
    def xor(self) -> int:
        """1 if the halves' ids differ, 0 if they are equal (the XOR target is +1 / -1)."""
        return int(self.half1 != self.half2)


@dataclass
class LabelEpoch:
    """A stretch of steps of a `file` phase with one label (the file's per-step labels)."""

    start: int
    length: int
    label: int

    @property
    def end(self) -> int:
        return self.start + self.length


def _text(value) -> str:
    if isinstance(value, (bytes, np.bytes_)):
        return value.decode("utf-8")
    if isinstance(value, np.ndarray) and value.shape == ():
        return _text(value[()])
    return str(value)


_INT = re.compile(r"[+-]?\d+\Z")
_FLOAT = re.compile(r"[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?\Z")


def parse_value(text: str):
    """A config value as a Python value: bool for true/false, int, float, else the text."""
    if text in ("true", "false"):
        return text == "true"
    if _INT.match(text):
        return int(text)
    if _FLOAT.match(text):
        return float(text)
    return text


def _attrs(group) -> dict:
    return {key: value for key, value in group.attrs.items()}


class Run:
    """One output file, opened read-only."""

    def __init__(self, path: str):
        self.path = path
        self.file = h5py.File(path, "r")
        try:
            self._read_header()
        except Exception:
            self.file.close()
            raise

    def _read_header(self):
        f = self.file
        config = f["config"]
        #: every /config attribute as the text the program wrote
        self.config_text = {key: _text(value) for key, value in config.attrs.items()}
        #: the same as typed values (int, float, bool, str)
        self.config = {key: parse_value(value) for key, value in self.config_text.items()}
        #: the unit of each config value that has one (files of this version)
        self.config_units = {k: _text(v) for k, v in config["units"].attrs.items()} if "units" in config else {}
        self.dt_ms = positive_number(self.config_text, "neuron.dt", path=self.path)
        network = f["network"]
        self.n_neurons = _count_attribute(network, "n_neurons", self.path)
        self.n_inputs = _count_attribute(network, "n_inputs", self.path)
        self.rows = int(network.attrs["rows"])
        self.cols = int(network.attrs["cols"])
        self._check_sizes(f, network)
        self.circuit_size = network["circuit_size"][:]
        #: /run attributes (timings, counters, first_step, last_step, interrupted); {} if none
        self.info = {k: v.item() if hasattr(v, "item") else v for k, v in _attrs(f["run"]).items()} if "run" in f else {}
        # A run restored from a checkpoint starts at a later step: label arrays begin there.
        self.label_first_step = int(f["input/pattern_id"].attrs.get("first_step", 0))
        self.first_step = int(self.info.get("first_step", self.label_first_step))
        planned_end = None
        phases = f["phases"]
        count = phases["name"].shape[0]
        for name in ("first_step", "steps", "learning") + (("task",) if "task" in phases else ()):
            if phases[name].shape != (count,):
                raise ValueError(f"{self.path}: /phases/{name} has shape {phases[name].shape}; /phases/name has ({count},)")
        # Read as arrays, decoded once per distinct text (files may hold 10^6 phases).
        names = _decode_all(phases["name"][()])
        tasks = _decode_all(phases["task"][()], "pattern") if "task" in phases else ["pattern"] * count
        firsts = phases["first_step"][()].astype(np.int64).tolist()
        lengths = phases["steps"][()].astype(np.int64).tolist()
        learning = phases["learning"][()].astype(bool).tolist()
        with no_gc():  # a million small objects: the collector would rescan them again and again
            self.planned_phases = [Phase(i, n, a, k, l, k, t)
                                   for i, (n, a, k, l, t) in enumerate(zip(names, firsts, lengths, learning, tasks))]
        if count:
            planned_end = firsts[-1] + lengths[-1]
        labelled_end = self.label_first_step + f["input/pattern_id"].shape[0]
        self.last_step = int(self.info.get("last_step", planned_end if planned_end is not None else labelled_end))
        self.last_step = min(self.last_step, labelled_end)
        #: stopped by SIGTERM/SIGINT before the end of its protocol
        self.interrupted = bool(self.info.get("interrupted", 0))
        # Phases cut to the steps that ran, [first_step, last_step); phases that did not run
        # at all are left out (a phase that ran whole is the planned phase's object).
        self.phases = []
        for phase in self.planned_phases:
            a, b = max(phase.first, self.first_step), min(phase.end, self.last_step)
            if b > a:
                whole = a == phase.first and b - a == phase.steps
                self.phases.append(phase if whole else Phase(phase.index, phase.name, a, b - a, phase.learning,
                                                             phase.steps, phase.task))
        self.total_steps = sum(p.steps for p in self.phases)

    def _check_sizes(self, f, network):
        """Counts taken from attributes must match the file's own datasets before anything is
        sized by them (a crafted n_neurons would otherwise allocate gigabytes)."""
        where = self.path
        if "circuit_of" in network and network["circuit_of"].shape != (self.n_neurons,):
            raise ValueError(f"{where}: /network n_neurons is {self.n_neurons} but /network/circuit_of has "
                             f"{network['circuit_of'].shape[0] if network['circuit_of'].ndim else 0} entries")
        size = network["circuit_size"]
        if size.ndim != 1:
            raise ValueError(f"{where}: /network/circuit_size is not 1-D")
        if size.shape[0] <= MAX_CACHED_SIZE and int(np.sum(size[()].astype(np.int64))) != self.n_neurons:
            raise ValueError(f"{where}: /network n_neurons is {self.n_neurons} but /network/circuit_size sums to "
                             f"{int(np.sum(size[()].astype(np.int64)))}")
        if "stp/U" in network and network["stp/U"].shape[0] != self.n_inputs + self.n_neurons:
            raise ValueError(f"{where}: /network n_inputs + n_neurons is {self.n_inputs + self.n_neurons} but "
                             f"/network/stp/U has {network['stp/U'].shape[0]} entries (one per source)")
        # What is left is a count as large as the file's own datasets: still refuse one whose
        # per-unit arrays (about 64 bytes per neuron and input) would not fit the memory.
        need = 64 * (self.n_neurons + self.n_inputs)
        free = _available_memory()
        if free and need > free:
            raise ValueError(f"{where}: {self.n_neurons} neurons and {self.n_inputs} inputs need about "
                             f"{need / 2**30:.1f} GiB to analyse; {free / 2**30:.1f} GiB available")

    def close(self):
        self.file.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def __repr__(self):
        state = ", interrupted" if self.interrupted else ""
        return (f"<seqlearn run {self.path!r}: {self.n_neurons} neurons, {len(self.phases)} phases, "
                f"steps [{self.first_step}, {self.last_step}){state}>")

    # --- network ------------------------------------------------------------------------

    def circuit_of(self, neurons: np.ndarray | None = None) -> np.ndarray:
        """The circuit of each neuron in `neurons` (of every neuron without)."""
        all_ = self.file["network/circuit_of"][:].astype(np.int64)
        if neurons is None:
            return all_
        return all_[np.asarray(neurons, dtype=np.int64)] if len(neurons) else np.zeros(0, np.int64)

    def stp(self) -> dict:
        """STP parameters per source (input channels, then neurons): U, and D, F in ms."""
        stp = self.file["network/stp"]
        scale = 1.0 if _text(stp["D"].attrs.get("units", "s")) == "ms" else 1e3  # older files: s
        return {"U": stp["U"][:], "D_ms": stp["D"][:] * scale, "F_ms": stp["F"][:] * scale}

    def units(self, dataset: str) -> str | None:
        """The `units` attribute of a dataset (None where it has none)."""
        value = self.file[dataset].attrs.get("units")
        return None if value is None else _text(value)

    # --- spikes -------------------------------------------------------------------------

    def spikes(self, first: int | None = None, end: int | None = None, neurons: np.ndarray | None = None):
        """Network spikes with first <= step < end (and neuron in `neurons`), ordered by step:
        (steps, neuron ids), both int64."""
        steps, ids, _ = self.spike_values(None, first, end, neurons)
        return steps, ids

    @property
    def spike_quantities(self) -> list[str]:
        """The spike quantities the file holds: /spikes/NAME beside step and neuron, one value
        per spike (docs/extending.md; none built in)."""
        return [name for name in self.file["spikes"] if name not in ("step", "neuron")]

    @property
    def input_labels(self) -> list[str]:
        """The input's labels the file holds, one row per step: /input/NAME datasets
        (pattern_id, sequence_id, and a program's own: docs/extending.md); read with labels()."""
        return [name for name, item in self.file["input"].items() if isinstance(item, h5py.Dataset)]

    def spike_values(self, name: str | None, first: int | None = None, end: int | None = None,
                     neurons: np.ndarray | None = None):
        """As spikes(), with spike quantity `name`'s value of each spike (float64; None for
        name None): (steps, neuron ids, values)."""
        first = self.first_step if first is None else first
        end = self.last_step if end is None else end
        step_ds, neuron_ds = self.file["spikes/step"], self.file["spikes/neuron"]
        if name is not None and name not in self.spike_quantities:
            raise KeyError(f"{self.path} has no spike quantity {name!r} (it holds "
                           f"{self.spike_quantities or 'none'}; record.quantities chooses them)")
        value_ds = None if name is None else self.file["spikes/" + name]
        if value_ds is not None and value_ds.shape != step_ds.shape:
            raise ValueError(f"{self.path}: /spikes/{name} is not one value per spike")
        keep = None if neurons is None else np.asarray(neurons, dtype=np.int64)
        steps, ids, values = [], [], []
        for lo in range(0, step_ds.shape[0], CHUNK):
            s = step_ds[lo : lo + CHUNK].astype(np.int64)
            n = neuron_ds[lo : lo + CHUNK].astype(np.int64)
            mask = (s >= first) & (s < end)
            if keep is not None:
                mask &= np.isin(n, keep)
            steps.append(s[mask])
            ids.append(n[mask])
            if value_ds is not None:
                values.append(value_ds[lo : lo + CHUNK].astype(np.float64)[mask])
        steps = np.concatenate(steps) if steps else np.zeros(0, np.int64)
        ids = np.concatenate(ids) if ids else np.zeros(0, np.int64)
        order = np.argsort(steps, kind="stable")
        if value_ds is None:
            return steps[order], ids[order], None
        values = np.concatenate(values) if values else np.zeros(0, np.float64)
        return steps[order], ids[order], values[order]

    def spike_steps(self, first: int | None = None, end: int | None = None) -> list[np.ndarray]:
        """Per neuron (list index = neuron id): its spike steps in [first, end), int64, ascending."""
        steps, ids = self.spikes(first, end)
        return _split(steps, ids, self.n_neurons)

    def spike_times(self, first: int | None = None, end: int | None = None) -> list[np.ndarray]:
        """Per neuron: spike times in ms (step * dt: the start of the spike's step)."""
        return [s * self.dt_ms for s in self.spike_steps(first, end)]

    # --- inputs -------------------------------------------------------------------------

    def input_spikes(self, first: int | None = None, end: int | None = None):
        """Input spikes (step, channel, from_pattern) with first <= step < end; the file keeps
        them in step order, so the window is found by bisection without reading the rest."""
        first = self.first_step if first is None else first
        end = self.last_step if end is None else end
        step_ds = self.file["input/spikes/step"]
        lo, hi = _bisect(step_ds, first), _bisect(step_ds, end)
        return (
            step_ds[lo:hi].astype(np.int64),
            self.file["input/spikes/channel"][lo:hi].astype(np.int64),
            self.file["input/spikes/from_pattern"][lo:hi].astype(bool),
        )

    def input_spike_steps(self, first: int | None = None, end: int | None = None) -> list[np.ndarray]:
        """Per input channel: its spike steps in [first, end)."""
        steps, channels, _ = self.input_spikes(first, end)
        return _split(steps, channels, self.n_inputs)

    def input_spike_times(self, first: int | None = None, end: int | None = None) -> list[np.ndarray]:
        """Per input channel: spike times in ms."""
        return [s * self.dt_ms for s in self.input_spike_steps(first, end)]

    def task_targets(self) -> dict:
        """The tasks' targets (docs/output.md /input/NAME: the multi task's rate, a plug-in
        task's): {NAME: (steps int64 [R], values float64 [R, width], unit or None)}, row i in
        force from steps[i] on."""
        out = {}
        for name, group in self.file["input"].items():
            if name == "spikes" or not isinstance(group, h5py.Group):
                continue
            if "step" not in group or "value" not in group:
                continue
            steps, values = group["step"][:].astype(np.int64), group["value"][:].astype(np.float64)
            if values.ndim != 2 or values.shape[0] != steps.shape[0]:
                raise ValueError(f"{self.path}: /input/{name}/value is not one row per step")
            out[name] = (steps, values, self.units(f"input/{name}/value"))
        return out

    def labels(self, name: str, first: int | None = None, end: int | None = None, stream: int = 0) -> np.ndarray:
        """input/pattern_id or input/sequence_id for steps [first, end) (-1: noise, no label).

        pattern_id has one column per stream ([T, 2]): stream 0 = the pattern task's pattern
        id, xor half 1's id, the file task's label; stream 1 = xor half 2's id (-1 for the
        one-stream tasks). Files of older versions (1-D pattern_id) have stream 0 only."""
        first = self.first_step if first is None else first
        end = self.last_step if end is None else end
        dataset = self.label_data(name)
        rows = slice(max(0, first - self.label_first_step), max(0, end - self.label_first_step))
        if dataset.ndim == 1:
            if stream != 0:
                raise ValueError(f"input/{name} of {self.path} has one stream; stream {stream} asked for")
            return dataset[rows]
        if not 0 <= stream < dataset.shape[1]:
            raise ValueError(f"input/{name} of {self.path} has {dataset.shape[1]} streams; stream {stream} asked for")
        return dataset[rows, stream]

    def label_data(self, name: str):
        """input/NAME ("pattern_id", "sequence_id"): read once and kept when it has at most
        MAX_CACHED_LABEL_ROWS rows (labels are asked for phase by phase, and one HDF5 read
        costs ~100 us), else the dataset itself."""
        cache = self.__dict__.setdefault("_label_cache", {})
        if name not in cache:
            dataset = self.file["input/" + name]
            cache[name] = dataset[()] if dataset.shape[0] <= MAX_CACHED_LABEL_ROWS else dataset
        return cache[name]

    def pattern_id(self, first: int | None = None, end: int | None = None, stream: int = 0) -> np.ndarray:
        return self.labels("pattern_id", first, end, stream)

    def sequence_id(self, first: int | None = None, end: int | None = None) -> np.ndarray:
        return self.labels("sequence_id", first, end)

    def phases_of_task(self, task, first: int | None = None, end: int | None = None):
        """The phases of `task` ("pattern", "xor", "file", ...; or a test of the task's name)
        that ran, each as (phase, a, b): its steps [a, b) inside [first, end)."""
        wanted = task if callable(task) else (lambda name: name == task)
        first = self.first_step if first is None else first
        end = self.last_step if end is None else end
        if "_phase_ends" not in self.__dict__:
            self._phase_ends = np.array([p.end for p in self.phases], np.int64)
        # phases are in step order: only those from the first that ends after `first` (bisection,
        # not a scan: a file may hold 10^6 phases and this is asked once per phase)
        out = []
        for i in range(int(np.searchsorted(self._phase_ends, first, side="right")), len(self.phases)):
            phase = self.phases[i]
            if phase.first >= end:
                break
            a, b = max(first, phase.first), min(end, phase.end)
            if wanted(phase.task) and b > a:
                out.append((phase, a, b))
        return out

    def presentations(self, first: int | None = None, end: int | None = None) -> list[Presentation]:
        """Pattern presentations wholly inside [first, end) and inside one phase of the `pattern`
        task (column 0 of the labels of `xor` and `file` phases are no pattern ids: see
        xor_windows and label_epochs). A presentation cut by the window or by its phase's
        start or end is left out."""
        result = []
        for _, a, b in self.phases_of_task("pattern", first, end):
            pattern = self.labels("pattern_id", a, b)
            sequence = self.labels("sequence_id", a, b)
            change = np.flatnonzero(np.diff(pattern) != 0) + 1
            bounds = np.r_[0, change, len(pattern)]
            for lo, hi in zip(bounds[:-1], bounds[1:]):
                if pattern[lo] < 0 or lo == 0 or hi == len(pattern):
                    continue  # noise, or cut by the window
                result.append(Presentation(a + int(lo), int(hi - lo), int(pattern[lo]), int(sequence[lo])))
        return result

    def xor_window_steps(self) -> int:
        """The xor task's window, input.t_pattern_xor (default 50 ms), in steps."""
        window = positive_number(self.config_text, "input.t_pattern_xor", 50.0, self.path)
        steps = round(window / self.dt_ms)
        if steps > MAX_COUNT:
            raise ValueError(f"{self.path}: /config attribute input.t_pattern_xor is {window:g} ms: "
                             f"{steps:g} steps, more than any run")
        return max(1, int(steps))

    def xor_windows(self, first: int | None = None, end: int | None = None) -> list[XorWindow]:
        """The complete windows of the `xor` phases wholly inside [first, end), with both
        halves' ids (label streams 0 and 1). Windows count from each phase's first step (of the
        protocol: a restored run's first phase may start mid-window)."""
        width = self.xor_window_steps()
        result = []
        for phase, a, b in self.phases_of_task("xor", first, end):
            origin = self.planned_phases[phase.index].first
            starts = np.arange(origin + -(-(a - origin) // width) * width, b - width + 1, width, dtype=np.int64)
            if len(starts) == 0:
                continue
            half1 = self.labels("pattern_id", a, b, 0)[starts - a]
            half2 = self.labels("pattern_id", a, b, 1)[starts - a] if self._streams() > 1 \
                else np.full(len(starts), -1)
            result += [XorWindow(int(s), width, int(h1), int(h2)) for s, h1, h2 in zip(starts, half1, half2)]
        return result

    def label_epochs(self, first: int | None = None, end: int | None = None) -> list[LabelEpoch]:
        """The labels in [first, end) of the phases whose tasks label their steps (`file`, and
        every task but `pattern` and `xor`, whose stream 0 holds pattern ids) as stretches of
        one label value >= 0 (steps labelled -1 left out). A stretch is cut at the window and at
        its phase's ends: a file phase replays the file from its step 0."""
        result = []
        for _, a, b in self.phases_of_task(lambda task: task not in PATTERN_ID_TASKS, first, end):
            label = self.labels("pattern_id", a, b)
            change = np.flatnonzero(np.diff(label) != 0) + 1
            bounds = np.r_[0, change, len(label)]
            result += [LabelEpoch(a + int(lo), int(hi - lo), int(label[lo]))
                       for lo, hi in zip(bounds[:-1], bounds[1:]) if label[lo] >= 0]
        return result

    def task_epochs(self, phase: Phase, first: int | None = None, end: int | None = None):
        """The epochs of `phase`'s task inside [first, end) (default: the phase), found by the
        task's name in /phases/task (TASK_EPOCHS): (the Run method that lists them, what they
        are called, the epochs)."""
        first = phase.first if first is None else max(first, phase.first)
        end = phase.end if end is None else min(end, phase.end)
        method, name = TASK_EPOCHS.get(phase.task, ("label_epochs", f"{phase.task} labels"))
        return method, name, getattr(self, method)(first, end)

    def _streams(self) -> int:
        dataset = self.file["input/pattern_id"]
        return 1 if dataset.ndim == 1 else int(dataset.shape[1])

    def _table(self, items, columns) -> dict:
        start = np.array([x.start for _, x in items], np.int64)
        end = np.array([x.end for _, x in items], np.int64)
        table = {"phase": np.array([i for i, _ in items], np.int64)}
        table.update({c: np.array([getattr(x, c) for _, x in items], np.int64) for c in columns})
        table.update({"start_step": start, "end_step": end, "start_ms": start * self.dt_ms, "end_ms": end * self.dt_ms})
        return table

    def presentation_table(self) -> dict:
        """Every pattern presentation wholly inside a `pattern`-task phase, as columns (numpy
        arrays): phase, pattern, sequence, start_step, end_step (one past the last), start_ms,
        end_ms. The other tasks: xor_window_table, label_table."""
        rows = [(phase.index, p) for phase in self.phases for p in self.presentations(phase.first, phase.end)]
        return self._table(rows, ("pattern", "sequence"))

    def xor_window_table(self) -> dict:
        """Every complete window of the `xor` phases: phase, half1, half2, xor (1: the ids
        differ), start_step, end_step, start_ms, end_ms."""
        rows = [(phase.index, w) for phase in self.phases for w in self.xor_windows(phase.first, phase.end)]
        return self._table(rows, ("half1", "half2", "xor"))

    def label_table(self) -> dict:
        """The `file` phases' labels as stretches of one value: phase, label, start_step,
        end_step, start_ms, end_ms."""
        rows = [(phase.index, e) for phase in self.phases for e in self.label_epochs(phase.first, phase.end)]
        return self._table(rows, ("label",))

    # --- protocol and config --------------------------------------------------------------

    def test_phases(self):
        """(untrained, trained): test phases before any learning, and after some."""
        untrained, trained, learned = [], [], False
        for phase in self.phases:
            learned |= phase.learning
            if not phase.learning:
                (trained if learned else untrained).append(phase)
        return untrained, trained

    def n_patterns(self) -> int:
        return int(self.config_text.get("input.n_patterns", "1"))

    def pattern_steps(self, pattern: int) -> int:
        """Unwarped length of a pattern, steps."""
        texts = self.config_text["input.t_pattern"].split(",")
        text = texts[min(pattern, len(texts) - 1)]
        length = positive_number({"input.t_pattern": text}, "input.t_pattern", path=self.path)
        if length / self.dt_ms > MAX_COUNT:
            raise ValueError(f"{self.path}: /config attribute input.t_pattern is {text!r}: more steps than any run")
        return int(length // self.dt_ms)

    def sequences(self) -> list[list[int]]:
        return [[int(x) for x in seq.split(",")] for seq in self.config_text["input.pattern_sequences"].split(";")]

    # --- Neo ------------------------------------------------------------------------------

    def to_neo(self, inputs: bool = True, phases=None, max_trains: int | None = 200_000):
        """A neo.Block: one Segment per phase (the steps that ran; annotation `task`), a
        SpikeTrain per neuron (and per input channel with `inputs`), an Epoch of pattern
        presentations (empty in `xor` and `file` phases), and in `xor` phases an Epoch of the
        windows, in `file` phases one of the labels; the Block's groups "neurons" and "inputs"
        hold the neurons' and the inputs' SpikeTrains. `phases`: the phase indices to include;
        more than `max_trains` SpikeTrains is refused (ValueError) before anything is built.
        Needs python3-neo."""
        from .neo_io import to_neo

        return to_neo(self, inputs=inputs, phases=phases, max_trains=max_trains)


@contextlib.contextmanager
def no_gc():
    """The cyclic garbage collector paused (for building many small acyclic objects)."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


MAX_CACHED_SIZE = 1 << 26
MAX_COUNT = 1 << 40  # neurons or inputs: more is no file this program writes


def positive_number(config_text: dict, key: str, default=None, path: str = "") -> float:
    """The /config value `key` as a finite number > 0, else ValueError naming the attribute."""
    text = config_text.get(key)
    if text is None:
        if default is None:
            raise ValueError(f"{path}: /config has no attribute {key}")
        return float(default)
    try:
        value = float(text)
    except ValueError:
        value = float("nan")
    if not math.isfinite(value) or value <= 0:
        raise ValueError(f"{path}: /config attribute {key} is {text!r}; expected a finite number > 0")
    return value


def _count_attribute(group, name: str, path: str) -> int:
    value = group.attrs.get(name)
    try:
        number = int(value)
        ok = float(value) == number and 0 <= number <= MAX_COUNT
    except (TypeError, ValueError, OverflowError):
        ok = False
    if not ok:
        raise ValueError(f"{path}: /network attribute {name} is {value!r}; expected an integer in [0, 2^40]")
    return number


def _available_memory() -> int:
    try:
        return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (ValueError, OSError, AttributeError):
        return 0


def _decode_all(values, empty: str = "") -> list:
    """Texts of an array of (fixed- or variable-length) strings, each distinct value decoded once."""
    if len(values) == 0:
        return []
    unique, inverse = np.unique(np.asarray(values), return_inverse=True)
    texts = [_text(u).rstrip("\0") or empty for u in unique]
    return [texts[i] for i in inverse.tolist()]


def _split(steps: np.ndarray, ids: np.ndarray, n: int) -> list[np.ndarray]:
    order = np.lexsort((steps, ids))
    steps, ids = steps[order], ids[order]
    bounds = np.searchsorted(ids, np.arange(n + 1))
    return [steps[bounds[i] : bounds[i + 1]] for i in range(n)]


def _bisect(dataset, value) -> int:
    lo, hi = 0, dataset.shape[0]
    while lo < hi:
        mid = (lo + hi) // 2
        if dataset[mid] < value:
            lo = mid + 1
        else:
            hi = mid
    return lo
