"""Reading and measuring seqlearn output files (schema: docs/output.md).

Plain h5py and numpy: nothing here depends on the simulator. Spikes are read in chunks and
filtered to the time window asked for, so memory stays bounded by the window (and by the
neuron subsample, where one is given), not by the size of the run.

The measures follow docs/model.md section 9:
  - activation order: circular mean of each neuron's spike times within pattern presentations;
  - locking: Rayleigh test of those spike phases (a neuron is locked to the pattern when
    p < 0.001 with at least 5 spikes);
  - trial-to-trial reproducibility: correlation of a neuron's rate trace between presentations
    of the same pattern, averaged over neurons whose mean rate trace reaches 90 Hz;
  - linear readouts: least squares on the 20 ms-filtered network state, sampled every 20 ms,
    trained on one test phase and scored (correlation with the target) on another, next to the
    same readout on the input state;
  - persistence of circuit states: how long a circuit's winner keeps firing uninterrupted.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import h5py
import numpy as np

CHUNK = 1 << 22  # spikes read at a time
RAYLEIGH_P = 1e-3
MIN_LOCKED_SPIKES = 5


@dataclass
class Phase:
    index: int
    name: str
    first: int
    steps: int
    learning: bool

    @property
    def end(self) -> int:
        return self.first + self.steps


@dataclass
class Presentation:
    start: int  # first step
    length: int  # steps
    pattern: int
    sequence: int


def _text(value) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


class Run:
    """One output file, opened read-only."""

    def __init__(self, path: str):
        self.path = path
        self.file = h5py.File(path, "r")
        self.config = {key: _text(value) for key, value in self.file["config"].attrs.items()}
        self.dt_ms = float(self.config["neuron.dt"])
        network = self.file["network"]
        self.n_neurons = int(network.attrs["n_neurons"])
        self.n_inputs = int(network.attrs["n_inputs"])
        self.rows = int(network.attrs["rows"])
        self.cols = int(network.attrs["cols"])
        self.circuit_size = network["circuit_size"][:]
        phases = self.file["phases"]
        self.phases = [
            Phase(i, _text(name), int(first), int(steps), bool(learning))
            for i, (name, first, steps, learning) in enumerate(
                zip(phases["name"][:], phases["first_step"][:], phases["steps"][:], phases["learning"][:])
            )
        ]
        self.total_steps = sum(p.steps for p in self.phases)
        # A run restored from a checkpoint starts at a later step: label arrays begin there.
        self.first_step = int(self.file["input/pattern_id"].attrs.get("first_step", 0))
        # A run stopped by SIGTERM (exit 3) lists its whole protocol in /phases but covers only
        # [first_step, /run last_step): measure the part it ran (a chain's segments joined by
        # tools/seqlearn-join read as the whole run).
        run_attrs = self.file["run"].attrs if "run" in self.file else {}
        self.interrupted = bool(run_attrs.get("interrupted", 0))
        if "last_step" in run_attrs:
            last = int(run_attrs["last_step"])
            clipped = []
            for p in self.phases:
                first, end = max(p.first, self.first_step), min(p.end, last)
                if end > first:
                    clipped.append(Phase(len(clipped), p.name, first, end - first, p.learning))
            self.phases = clipped

    def close(self):
        self.file.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    # --- reading ------------------------------------------------------------------------

    def circuit_of(self, neurons: np.ndarray) -> np.ndarray:
        return self.file["network/circuit_of"][:][neurons] if len(neurons) else np.zeros(0, np.uint32)

    def spikes(self, first: int, end: int, neurons: np.ndarray | None = None):
        """Network spikes with first <= step < end (and neuron in `neurons`), ordered by step."""
        step_ds, neuron_ds = self.file["spikes/step"], self.file["spikes/neuron"]
        keep = None if neurons is None else np.asarray(neurons, dtype=np.int64)
        steps, ids = [], []
        for lo in range(0, step_ds.shape[0], CHUNK):
            s = step_ds[lo : lo + CHUNK]
            n = neuron_ds[lo : lo + CHUNK].astype(np.int64)
            mask = (s >= first) & (s < end)
            if keep is not None:
                mask &= np.isin(n, keep)
            steps.append(s[mask])
            ids.append(n[mask])
        steps = np.concatenate(steps) if steps else np.zeros(0, np.int64)
        ids = np.concatenate(ids) if ids else np.zeros(0, np.int64)
        order = np.argsort(steps, kind="stable")
        return steps[order], ids[order]

    def input_spikes(self, first: int, end: int):
        """Input spikes (step, channel, from_pattern) with first <= step < end; the file keeps
        them in step order, so the window is found by bisection without reading the rest."""
        step_ds = self.file["input/spikes/step"]
        lo, hi = _bisect(step_ds, first), _bisect(step_ds, end)
        return (
            step_ds[lo:hi],
            self.file["input/spikes/channel"][lo:hi].astype(np.int64),
            self.file["input/spikes/from_pattern"][lo:hi].astype(bool),
        )

    def labels(self, name: str, first: int, end: int) -> np.ndarray:
        """input/pattern_id or input/sequence_id for steps [first, end)."""
        return self.file["input/" + name][first - self.first_step : end - self.first_step]

    def presentations(self, first: int, end: int) -> list[Presentation]:
        """Pattern presentations wholly inside [first, end)."""
        pattern = self.labels("pattern_id", first, end)
        sequence = self.labels("sequence_id", first, end)
        change = np.flatnonzero(np.diff(pattern) != 0) + 1
        bounds = np.r_[0, change, len(pattern)]
        result = []
        for a, b in zip(bounds[:-1], bounds[1:]):
            if pattern[a] < 0 or a == 0 or b == len(pattern):
                continue  # noise, or cut by the window
            result.append(Presentation(first + int(a), int(b - a), int(pattern[a]), int(sequence[a])))
        return result

    def test_phases(self):
        """(untrained, trained): test phases before any learning, and after some."""
        untrained, trained, learned = [], [], False
        for phase in self.phases:
            learned |= phase.learning
            if not phase.learning:
                (trained if learned else untrained).append(phase)
        return untrained, trained

    def n_patterns(self) -> int:
        return int(self.config.get("input.n_patterns", "1"))

    def pattern_steps(self, pattern: int) -> int:
        """Unwarped length of a pattern, steps."""
        lengths = [float(x) for x in self.config["input.t_pattern"].split(",")]
        return int(lengths[min(pattern, len(lengths) - 1)] // self.dt_ms)

    def sequences(self) -> list[list[int]]:
        return [[int(x) for x in seq.split(",")] for seq in self.config["input.pattern_sequences"].split(";")]


def _bisect(dataset, value) -> int:
    lo, hi = 0, dataset.shape[0]
    while lo < hi:
        mid = (lo + hi) // 2
        if dataset[mid] < value:
            lo = mid + 1
        else:
            hi = mid
    return lo


# --- measures -----------------------------------------------------------------------------


def spike_phases(steps, ids, presentations, pattern=None):
    """For spikes inside presentations (of `pattern`, or all): (neuron, phase in [0, 2 pi))."""
    chosen = [p for p in presentations if pattern is None or p.pattern == pattern]
    if not chosen or len(steps) == 0:
        return np.zeros(0, np.int64), np.zeros(0)
    starts = np.array([p.start for p in chosen])
    lengths = np.array([p.length for p in chosen])
    which = np.searchsorted(starts, steps, side="right") - 1
    valid = which >= 0
    offset = steps - starts[np.clip(which, 0, None)]
    valid &= offset < lengths[np.clip(which, 0, None)]
    phase = 2 * math.pi * offset[valid] / lengths[which[valid]]
    return ids[valid], phase


def phase_locking(neurons_of_spikes, phases, n_neurons):
    """Per neuron: circular mean phase, vector strength R, spike count, Rayleigh p-value."""
    count = np.bincount(neurons_of_spikes, minlength=n_neurons).astype(float)
    c = np.bincount(neurons_of_spikes, weights=np.cos(phases), minlength=n_neurons)
    s = np.bincount(neurons_of_spikes, weights=np.sin(phases), minlength=n_neurons)
    with np.errstate(invalid="ignore", divide="ignore"):
        strength = np.where(count > 0, np.hypot(c, s) / np.maximum(count, 1), 0.0)
    mean_phase = np.mod(np.arctan2(s, c), 2 * math.pi)
    z = count * strength**2
    # Rayleigh test with the usual small-sample correction (Zar, Biostatistical Analysis).
    p_value = np.exp(np.sqrt(1 + 4 * count + 4 * (count**2 - (count * strength) ** 2)) - (1 + 2 * count))
    p_value = np.where(count > 0, np.minimum(p_value, 1.0), 1.0)
    return mean_phase, strength, count, p_value, z


def locked(count, p_value):
    return (count >= MIN_LOCKED_SPIKES) & (p_value < RAYLEIGH_P)


def activation_order(mean_phase, count, p_value):
    """Neurons ordered by mean activation time within the pattern; unlocked ones last (by id)."""
    is_locked = locked(count, p_value)
    first = np.flatnonzero(is_locked)
    first = first[np.argsort(mean_phase[first], kind="stable")]
    return np.r_[first, np.flatnonzero(~is_locked)]


def rate_traces(steps, ids, presentation, neurons, dt_ms, sigma_ms=10.0, bins=None):
    """Rate (Hz) of `neurons` over one presentation: spike counts convolved with a Gaussian,
    resampled to `bins` points of normalised time (to compare warped presentations)."""
    length = presentation.length
    index = {n: i for i, n in enumerate(neurons)}
    counts = np.zeros((len(neurons), length))
    sel = (steps >= presentation.start) & (steps < presentation.start + length)
    for s, n in zip(steps[sel], ids[sel]):
        i = index.get(int(n))
        if i is not None:
            counts[i, s - presentation.start] += 1
    sigma = sigma_ms / dt_ms
    half = int(math.ceil(4 * sigma))
    kernel = np.exp(-0.5 * (np.arange(-half, half + 1) / sigma) ** 2)
    kernel /= kernel.sum() * dt_ms * 1e-3
    rates = np.array([np.convolve(row, kernel, mode="same") for row in counts]) if len(neurons) else counts
    if bins is not None and bins != length:
        x_old = (np.arange(length) + 0.5) / length
        x_new = (np.arange(bins) + 0.5) / bins
        rates = np.array([np.interp(x_new, x_old, row) for row in rates]) if len(neurons) else rates
    return rates


def reproducibility(run: Run, phases, threshold_hz=90.0, max_neurons=2000, seed=0):
    """Mean trial-to-trial correlation of rate traces between presentations of the same pattern
    (docs/model.md section 9), over neurons whose trial-averaged rate reaches `threshold_hz`."""
    if not phases:
        return None
    neurons = subsample(run.n_neurons, max_neurons, seed)
    per_neuron, reaching = [], 0
    for pattern in range(run.n_patterns()):
        traces = []
        for phase in phases:
            steps, ids = run.spikes(phase.first, phase.end, neurons)
            nominal = run.pattern_steps(pattern)
            for p in run.presentations(phase.first, phase.end):
                if p.pattern == pattern:
                    traces.append(rate_traces(steps, ids, p, neurons, run.dt_ms, bins=nominal))
        if len(traces) < 2:
            continue
        stack = np.stack(traces)  # [presentations, neurons, time]
        mean = stack.mean(axis=0)
        for k in np.flatnonzero(mean.max(axis=1) >= threshold_hz):
            reaching += 1
            rows = stack[:, k, :]
            if np.any(rows.std(axis=1) == 0):
                continue
            c = np.corrcoef(rows)
            per_neuron.append(c[np.triu_indices(len(rows), 1)].mean())
    return {
        "mean_correlation": float(np.mean(per_neuron)) if per_neuron else float("nan"),
        "neurons_reaching_threshold": int(reaching),
        "threshold_hz": threshold_hz,
        "neurons_considered": int(len(neurons)),
    }


def subsample(n, k, seed):
    if k is None or k >= n:
        return np.arange(n)
    return np.sort(np.random.default_rng(seed).choice(n, size=k, replace=False))


def filtered_state(steps, ids, n_units, first, end, dt_ms, tau_ms=20.0, sample_ms=20.0, unit_index=None):
    """x_j <- x_j (1 - dt/tau) + s_j over [first, end), sampled every `sample_ms`
    (docs/model.md section 8)."""
    decay = 1.0 - dt_ms / tau_ms
    every = max(1, int(round(sample_ms / dt_ms)))
    x = np.zeros(n_units)
    samples, sample_steps = [], []
    order = np.argsort(steps, kind="stable")
    steps, ids = steps[order], ids[order]
    if unit_index is not None:
        ids = unit_index[ids]
    boundaries = np.searchsorted(steps, np.arange(first, end + 1))
    for n in range(first, end):
        x *= decay
        a, b = boundaries[n - first], boundaries[n - first + 1]
        if b > a:
            np.add.at(x, ids[a:b], 1.0)
        if (n - first) % every == every - 1:
            samples.append(x.copy())
            sample_steps.append(n)
    return np.array(samples), np.array(sample_steps, dtype=np.int64)


def readout_score(train_x, train_t, test_x, test_t):
    """Least squares with bias on (train_x, train_t); mean correlation over target columns on
    the test set (columns that are constant there are skipped)."""
    a = np.c_[train_x, np.ones(len(train_x))]
    w, *_ = np.linalg.lstsq(a, train_t, rcond=None)
    out = np.c_[test_x, np.ones(len(test_x))] @ w
    scores = []
    for c in range(test_t.shape[1]):
        if test_t[:, c].std() > 0 and out[:, c].std() > 0:
            scores.append(np.corrcoef(out[:, c], test_t[:, c])[0, 1])
    return float(np.mean(scores)) if scores else float("nan")


def readouts(run: Run, train_phase: Phase, test_phase: Phase, target="pattern", max_neurons=2000, seed=0):
    """Readout of the present pattern (or sequence) from the network and from the input state."""
    neurons = subsample(run.n_neurons, max_neurons, seed)
    index = np.full(run.n_neurons, -1, np.int64)
    index[neurons] = np.arange(len(neurons))
    n_classes = run.n_patterns() if target == "pattern" else len(run.sequences())
    label_name = "pattern_id" if target == "pattern" else "sequence_id"

    def states(phase):
        s, n = run.spikes(phase.first, phase.end, neurons)
        net, at = filtered_state(s, n, len(neurons), phase.first, phase.end, run.dt_ms, unit_index=index)
        si, ci, _ = run.input_spikes(phase.first, phase.end)
        inp, _ = filtered_state(si, ci, run.n_inputs, phase.first, phase.end, run.dt_ms)
        labels = run.labels(label_name, phase.first, phase.end)[at - phase.first]
        target_matrix = np.zeros((len(at), n_classes))
        for c in range(n_classes):
            target_matrix[:, c] = labels == c
        return net, inp, target_matrix

    net_a, inp_a, t_a = states(train_phase)
    net_b, inp_b, t_b = states(test_phase)
    return {
        "network": readout_score(net_a, t_a, net_b, t_b),
        "input": readout_score(inp_a, t_a, inp_b, t_b),
        "target": target,
        "train_phase": train_phase.index,
        "test_phase": test_phase.index,
    }


def split_phase(phase: Phase):
    half = phase.steps // 2
    return (
        Phase(phase.index, phase.name + "[first half]", phase.first, half, phase.learning),
        Phase(phase.index, phase.name + "[second half]", phase.first + half, phase.steps - half, phase.learning),
    )


def locking_summary(run: Run, phases, max_neurons=None, seed=0):
    """Fraction of neurons locked to the pattern (Rayleigh p < 0.001, >= 5 spikes) in `phases`."""
    if not phases:
        return None
    neurons = subsample(run.n_neurons, max_neurons, seed) if max_neurons else None
    spikes = [run.spikes(phase.first, phase.end, neurons) for phase in phases]
    presentations = [run.presentations(phase.first, phase.end) for phase in phases]
    # A neuron counts as locked if it is locked to any one pattern (phases differ between patterns).
    lock = np.zeros(run.n_neurons, bool)
    best_strength = np.zeros(run.n_neurons)
    for pattern in range(run.n_patterns()):
        ids = np.concatenate([pid for pid, _ in (spike_phases(s, n, p, pattern) for (s, n), p in zip(spikes, presentations))])
        ph = np.concatenate([pph for _, pph in (spike_phases(s, n, p, pattern) for (s, n), p in zip(spikes, presentations))])
        _, strength, count, p_value, _ = phase_locking(ids.astype(np.int64), ph, run.n_neurons)
        now = locked(count, p_value)
        best_strength = np.where(now & (strength > best_strength), strength, best_strength)
        lock |= now
    considered = run.n_neurons if neurons is None else len(neurons)
    return {
        "locked_fraction": float(lock.sum() / considered),
        "locked_neurons": int(lock.sum()),
        "neurons": int(considered),
        "presentations": int(sum(len(p) for p in presentations)),
        "mean_vector_strength_of_locked": float(best_strength[lock].mean()) if lock.any() else float("nan"),
    }


def winner_dwell(run: Run, phases):
    """Persistence of circuit states (paper Fig. 6A): within each circuit, a run is a stretch
    of consecutive spikes all from the same neuron; its dwell time is last - first spike + 1
    step. Returns the spike-weighted mean dwell time (ms) and mean spikes per run."""
    if not phases:
        return None
    durations, lengths = [], []
    for phase in phases:
        steps, ids = run.spikes(phase.first, phase.end)
        if len(steps) == 0:
            continue
        circuits = run.circuit_of(ids)
        order = np.lexsort((steps, circuits))
        c, s, n = circuits[order], steps[order], ids[order]
        starts = np.flatnonzero(np.r_[True, (c[1:] != c[:-1]) | (n[1:] != n[:-1])])
        ends = np.r_[starts[1:], len(s)]
        durations.append((s[ends - 1] - s[starts] + 1) * run.dt_ms)
        lengths.append(ends - starts)
    if not durations:
        return None
    d, k = np.concatenate(durations), np.concatenate(lengths)
    return {"mean_dwell_ms": float(np.average(d, weights=k)), "mean_spikes_per_run": float(np.average(k, weights=k))}


def analyze(path: str, max_neurons=2000, seed=0):
    """All measures of docs/model.md section 9 for one run: untrained (test phases before any
    learning) and trained (test phases after learning)."""
    with Run(path) as run:
        untrained, trained = run.test_phases()
        result = {"run": path, "n_neurons": run.n_neurons, "seed": run.config.get("run.seed")}
        for label, phases in (("untrained", untrained), ("trained", trained)):
            if not phases:
                result[label] = None
                continue
            entry = {"phases": [p.index for p in phases]}
            entry["locking"] = locking_summary(run, phases)
            entry["persistence"] = winner_dwell(run, phases)
            entry["reproducibility"] = reproducibility(run, phases, max_neurons=max_neurons, seed=seed)
            a, b = (phases[0], phases[1]) if len(phases) >= 2 else split_phase(phases[0])
            entry["readout_pattern"] = readouts(run, a, b, "pattern", max_neurons, seed)
            distinct = {tuple(seq) for seq in run.sequences()}
            if len(distinct) > 1 and len(distinct) == len(run.sequences()):
                entry["readout_sequence"] = readouts(run, a, b, "sequence", max_neurons, seed)
            result[label] = entry
        return result
