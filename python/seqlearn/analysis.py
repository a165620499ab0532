"""Measures of seqlearn runs (what tools/seqlearn-analyze prints and writes as JSON; the JSON
is described in docs/analysis.md).

The measures follow docs/model.md sections 9 and 11:
  - activation order: circular mean of each neuron's spike times within pattern presentations;
  - locking: Rayleigh test of those spike phases (a neuron is locked to the pattern when
    p < 0.001 with at least 5 spikes);
  - trial-to-trial reproducibility: correlation of a neuron's rate trace between presentations
    of the same pattern, averaged over neurons whose mean rate trace reaches 90 Hz; and the
    reference code's own measure (11.5, `reproducibility_reference`) from the p traces;
  - linear readouts as the reference code computes them (11.3, `readouts`): least squares with
    a constant on the 20 ms-filtered network and input states, fitted on one test phase and
    scored (Pearson r) on later ones of the same task, per block of test phases between
    training phases, for the targets xor, memory, pattern, sequence and file labels;
  - persistence of circuit states: how long a circuit's winner keeps firing uninterrupted.

Files of every version are read: the two label columns and /phases/task of issue 11, or one
label column and no task (every phase a `pattern` phase).
"""

from __future__ import annotations

import math

import numpy as np

from .reader import CHUNK, Phase, Presentation, Run, no_gc, positive_number  # noqa: F401 (re-exported for the tools)

#: the version of analyze()'s result ("analysis_version"); seqlearn-sweep --collect re-analyses
#: a run whose RUN.analysis.json has another. 2: the readouts of docs/model.md 11.3 (issue 11);
#: 3: the time-warp measure of warped test phases ("warp" in untrained/trained, issue 19).
ANALYSIS_VERSION = 3
RAYLEIGH_P = 1e-3
MIN_LOCKED_SPIKES = 5


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
    # (mode "full" cut to the presentation: "same" returns the kernel's length when it is longer)
    rates = np.array([np.convolve(row, kernel)[half : half + length] for row in counts]) if len(neurons) else counts
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
            for p in presentations(run, phase.first, phase.end):
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


# --- labels and tasks of the files of issue 11 (two label columns, /phases/task) ----------
# python/seqlearn/reader.py gains Run.labels(..., stream) and Phase.task; these helpers read
# the same data from the file directly, so that the analysis works with either reader and on
# files of any version (1-D /input/pattern_id, no /phases/task: every phase is `pattern`).

TASKS = ("pattern", "xor", "file", "multi")


def phase_task(run: Run, phase: Phase) -> str:
    """The input task of a phase: /phases/task (issue 11), `pattern` for files without it."""
    task = getattr(phase, "task", None)
    if task:
        return str(task)
    cache = run.__dict__.setdefault("_phase_tasks", {})
    if not cache and "phases/task" in run.file:
        for i, value in enumerate(run.file["phases/task"][()]):
            text = value.decode("utf-8") if isinstance(value, (bytes, np.bytes_)) else str(value)
            cache[i] = text.strip("\0 ") or "pattern"
    return cache.get(phase.index, "pattern")


def _label_data(run, name: str):
    """input/NAME in memory when small enough (once per run: Run.label_data), else the dataset."""
    return getattr(run, "_run", run).label_data(name)


def stream_labels(run: Run, name: str, first: int, end: int, stream: int = 0) -> np.ndarray:
    """input/pattern_id (or sequence_id) for steps [first, end), column `stream` (int64):
    stream 0 = the pattern id / xor half 1 / the file's label, stream 1 = xor half 2. Files with
    one column (before issue 11) have stream 0 only: stream 1 reads as -1 (no label)."""
    dataset = _label_data(run, name)
    a, b = max(0, first - run.label_first_step), max(0, end - run.label_first_step)
    if dataset.ndim == 2:
        if stream < dataset.shape[1]:
            return dataset[a:b, stream].astype(np.int64)
    elif stream == 0:
        return dataset[a:b].astype(np.int64)
    return np.full(max(0, min(b, dataset.shape[0]) - a), -1, np.int64)


def presentations(run: Run, first: int, end: int, name: str = "pattern_id") -> list[Presentation]:
    """Pattern presentations wholly inside [first, end) (Run.presentations on stream 0). With
    name="sequence_id": sequence presentations (maximal stretches of one sequence id)."""
    if end - first < 3:
        return []  # a presentation wholly inside needs a step before and after it
    pattern = stream_labels(run, "pattern_id", first, end)
    sequence = stream_labels(run, "sequence_id", first, end)
    key = pattern if name == "pattern_id" else sequence
    change = np.flatnonzero(np.diff(key) != 0) + 1
    bounds = np.r_[0, change, len(key)]
    result = []
    for a, b in zip(bounds[:-1], bounds[1:]):
        if key[a] < 0 or a == 0 or b == len(key):
            continue  # noise, or cut by the window
        result.append(Presentation(first + int(a), int(b - a), int(pattern[a]), int(sequence[a])))
    return result


# --- readouts as the reference code computes them (MODEL 11.3) ----------------------------

MULTI_TARGETS = ("rate_1", "rate_2", "rate_product", "rate_product_delayed")
READOUT_TARGETS = ("xor", "memory", "pattern", "sequence", "labels") + MULTI_TARGETS
TASK_TARGETS = {"xor": ("xor", "memory"), "pattern": ("pattern", "sequence"), "file": ("labels",),
                "multi": MULTI_TARGETS}
MAX_CACHED_SPIKES = 20_000_000  # read once and kept (16 bytes each); more: read per phase


def task_targets(task: str) -> tuple:
    """The readout targets of a task's phases, by the task's name in /phases/task: a task not in
    TASK_TARGETS (a plug-in, docs/extending.md) is read out on its labels, as the file task."""
    return TASK_TARGETS.get(task, ("labels",))


def sampled_state(steps, ids, n_units, first, sample_steps, decay):
    """The filtered state x_j(n) = decay x_j(n - 1) + s_j(n), with x = 0 before step `first`,
    at each of the ascending `sample_steps` (>= first): [len(sample_steps), n_units].

    Vectorised: a spike at step n adds decay^(k - n) to the first sample k >= n (one bincount),
    then the samples are chained, x(k_i) = decay^(k_i - k_(i-1)) x(k_(i-1)) + added(k_i): the
    recursion's result up to rounding (1e-12 relative), in one pass over the samples."""
    sample_steps = np.asarray(sample_steps, np.int64)
    k = len(sample_steps)
    if k == 0 or n_units == 0:
        return np.zeros((k, n_units))
    steps, ids = np.asarray(steps, np.int64), np.asarray(ids, np.int64)
    keep = (steps >= first) & (steps <= sample_steps[-1])
    steps, ids = steps[keep], ids[keep]
    which = np.searchsorted(sample_steps, steps, side="left")
    weight = decay ** (sample_steps[which] - steps).astype(np.float64)
    x = np.bincount(which * n_units + ids, weights=weight, minlength=k * n_units).astype(np.float64).reshape(k, n_units)
    carry = decay ** np.diff(sample_steps).astype(np.float64)
    for i in range(1, k):
        x[i] += carry[i - 1] * x[i - 1]
    return x


def filtered_state(steps, ids, n_units, first, end, dt_ms, tau_ms=20.0, sample_ms=20.0, unit_index=None):
    """x_j <- x_j (1 - dt/tau) + s_j over [first, end), reset at `first`, sampled every
    `sample_ms` (steps first + every - 1, first + 2 every - 1, ...; docs/model.md 8 and 11.3):
    (samples [K, n_units], sample steps [K])."""
    every = max(1, int(round(sample_ms / dt_ms)))
    at = np.arange(first + every - 1, end, every, dtype=np.int64)
    ids = np.asarray(ids, np.int64)
    if unit_index is not None:
        ids = unit_index[ids]
    return sampled_state(steps, ids, n_units, first, at, 1.0 - dt_ms / tau_ms), at


def least_squares(x, targets):
    """Ordinary least squares of `targets` ([n] or [n, c]) on x [n, d] plus a constant column,
    no regularisation (numpy's lstsq: the minimum-norm solution when n <= d): weights [d + 1(, c)],
    the constant's weight last."""
    x = np.asarray(x, np.float64)
    a = np.c_[x, np.ones(len(x))]
    w, *_ = np.linalg.lstsq(a, np.asarray(targets, np.float64), rcond=None)
    return w


def readout_output(x, w):
    x = np.asarray(x, np.float64)
    return np.c_[x, np.ones(len(x))] @ w


def pearson(a, b) -> float:
    """Pearson correlation; NaN where either side is constant."""
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    a, b = a - a.mean(), b - b.mean()
    denominator = math.sqrt(float(a @ a) * float(b @ b))
    return float(a @ b) / denominator if denominator > 1e-12 * max(1.0, len(a)) else float("nan")


def readout_score(fit_x, fit_t, score_x, score_t) -> float:
    """Fit on (fit_x, fit_t), score on (score_x, score_t): the Pearson r of output and target,
    the mean over target columns (one-vs-rest targets) where it is defined (columns constant in
    the score targets or outputs are left out); NaN if none is."""
    fit_t, score_t = np.asarray(fit_t, np.float64), np.asarray(score_t, np.float64)
    if fit_t.ndim == 1:
        fit_t, score_t = fit_t[:, None], score_t[:, None]
    if len(fit_t) == 0 or len(score_t) == 0:
        return float("nan")
    out = readout_output(score_x, least_squares(fit_x, fit_t))
    r = [pearson(out[:, c], score_t[:, c]) for c in range(score_t.shape[1])]
    r = [v for v in r if not math.isnan(v)]
    return float(np.mean(r)) if r else float("nan")


def readout_blocks(run: Run):
    """Blocks of test phases (learning off) between training phases, in order:
    [{"trained_ms": training before the block (ms, of this file's phases), "phases": [...],
    "before": True for a block before any training when the run trains later}]."""
    with no_gc():
        return _readout_blocks(run)


def _readout_blocks(run: Run):
    prior = prior_learning_steps(run)
    blocks, current, trained_steps = [], None, prior or 0
    for phase in run.phases:
        if phase.learning:
            trained_steps += phase.steps
            current = None
            continue
        if current is None:
            current = {"trained_ms": trained_steps * run.dt_ms, "phases": []}
            if prior is None:  # a restored run whose earlier training the file does not record
                current["trained_ms_before_file"] = None
            blocks.append(current)
        current["phases"].append(phase)
    trains = any(p.learning for p in run.phases)
    for block in blocks:
        block["before"] = trains and block["trained_ms"] == 0 and prior is not None
    return blocks


def prior_learning_steps(run: Run):
    """Steps of training (learning on) before this file's first step: 0 for a run from step 0;
    for a restored run, /run `prior_learning_steps` where the program records it, else the
    learning phases of /phases before first_step when /phases starts at step 0 (a continued
    protocol lists it whole); None when unknown (a restore into new phases, --run.protocol,
    by a program that does not record it)."""
    base = getattr(run, "_run", run)
    if base.first_step == 0:
        return 0
    recorded = base.info.get("prior_learning_steps")
    if recorded is not None:
        return int(recorded)
    planned = base.planned_phases
    if planned and planned[0].first == 0:
        return int(sum(min(p.end, base.first_step) - p.first for p in planned
                       if p.learning and p.first < base.first_step))
    return None


def trained_label(entry) -> str:
    """'after 1.5 s' for a readout entry or block; 'after >=1.5 s' where a restored run's training
    before its checkpoint is not recorded in the file (only this file's training counted)."""
    if "trained_ms_before_file" in entry:  # (the table's column is narrow: the docs explain '>=')
        return f"after >={entry['trained_ms'] / 1000:g} s"
    return f"after {entry['trained_ms'] / 1000:g} s"


#: per-phase measures (readout blocks, 11.5 phases, the test phases of locking and
#: reproducibility) are computed for at most this many, the last ones (and the block before
#: training): a file may hold 10^6 phases; the JSON says how many were left out
MAX_PHASE_DETAIL = 1000


def readout_plan(run: Run, blocks=None):
    """Which phase fits and which score, per block and task (MODEL 11.3): in each block the first
    test phase of a task fits, the later ones of that task score; a task with a single test phase
    in a block is fitted on the first half of its sample steps and scored on the second half
    (seqlearn's choice, marked "split"). [(block, task, fit phase, [score phases], split)]."""
    plan = []
    blocks = readout_blocks(run) if blocks is None else blocks
    if len(blocks) > MAX_PHASE_DETAIL:
        before = [b for b in blocks[:1] if b["before"]]
        blocks = before + blocks[-MAX_PHASE_DETAIL:]
    for block in blocks:
        by_task = {}
        for phase in block["phases"]:
            by_task.setdefault(phase_task(run, phase), []).append(phase)
        for task, phases in by_task.items():
            plan.append((block, task, phases[0], phases[1:], len(phases) == 1))
    return plan


def xor_window_steps(run: Run) -> int:
    """input.t_pattern_xor (default 50 ms) in steps (ValueError naming it unless finite > 0)."""
    return Run.xor_window_steps(getattr(run, "_run", run))


def tau_ms(run: Run) -> float:
    """The readout state's tau: neuron.tau_decay (20 ms; ValueError naming it unless finite > 0)."""
    return positive_number(run.config_text, "neuron.tau_decay", 20.0, run.path)


def multi_window_steps(run: Run) -> int:
    """input.t_multi_window (default 100 ms) in steps (ValueError naming it unless finite > 0)."""
    base = getattr(run, "_run", run)
    return max(1, int(round(positive_number(base.config_text, "input.t_multi_window", 100.0, base.path) / base.dt_ms)))


def sample_steps(run: Run, phase: Phase, task: str, role: str = "fit") -> np.ndarray:
    """MODEL 11.3: xor, the last step of every (complete) window from the phase's first step;
    pattern and file, every tau = 20 ms (phase steps 19, 39, ...). multi (docs/model.md 11.6),
    as the reference code samples it: a fit phase every tau from tau/2 (phase steps 10, 30, ...),
    a score phase every input.t_multi_window from half of it (50, 150, ...)."""
    tau_steps = max(1, int(round(tau_ms(run) / run.dt_ms)))
    if task == "multi":
        every = tau_steps if role == "fit" else multi_window_steps(run)
        return np.arange(phase.first + every // 2, phase.end, every, dtype=np.int64)
    every = xor_window_steps(run) if task == "xor" else tau_steps
    return np.arange(phase.first + every - 1, phase.end, every, dtype=np.int64)


def multi_rates(run: Run, phase: Phase, at: np.ndarray) -> np.ndarray:
    """[len(at), G]: the multi task's group rates as the reference code measures them (its
    targets, docs/model.md 11.6): at step t, group g's input spikes in the tau steps up to and
    including t (counted from the phase's first step), per second (summed over its channels)."""
    base = getattr(run, "_run", run)
    groups = int(base.config.get("input.multi_groups", 2))
    size = base.n_inputs // max(1, groups)
    tau_steps = max(1, int(round(tau_ms(run) / run.dt_ms)))
    steps, channels, _ = base.input_spikes(phase.first, phase.end)
    out = np.zeros((len(at), groups))
    if size == 0:
        return out
    group = channels // size
    keep = group < groups
    steps, group = steps[keep], group[keep]
    tau_s = tau_steps * run.dt_ms / 1000.0
    for g in range(groups):
        s = np.sort(steps[group == g])
        out[:, g] = (np.searchsorted(s, at, side="right") - np.searchsorted(s, at - tau_steps, side="right")) / tau_s
    return out


def readout_targets(run: Run, phase: Phase, task: str, at: np.ndarray) -> dict:
    """{target: (rows, values)} at the sample steps `at` of a phase: `rows` index the samples
    that have a target; values [rows] (+1/-1: xor, memory) or labels [rows] (one-vs-rest
    targets: pattern, sequence, labels; the columns are made at fit time)."""
    rel = at - phase.first
    out = {}
    if task == "xor":
        window = xor_window_steps(run)
        half1 = stream_labels(run, "pattern_id", phase.first, phase.end, 0)
        half2 = stream_labels(run, "pattern_id", phase.first, phase.end, 1)
        a, b = half1[rel], half2[rel]
        rows = np.flatnonzero((a >= 0) & (b >= 0))
        out["xor"] = (rows, np.where(a[rows] != b[rows], 1.0, -1.0))
        prev = rel - window
        has_prev = prev >= 0
        previous = np.full(len(rel), -1, np.int64)
        previous[has_prev] = half2[prev[has_prev]]
        rows = np.flatnonzero(previous >= 0)
        out["memory"] = (rows, np.where(previous[rows] == 1, 1.0, -1.0))
    elif task == "pattern":
        for target, name in (("pattern", "pattern_id"), ("sequence", "sequence_id")):
            labels = stream_labels(run, name, phase.first, phase.end, 0)[rel]
            out[target] = (np.arange(len(rel)), labels)
    elif task == "multi":
        rates = multi_rates(run, phase, at)
        rows = np.arange(len(rel))
        r1 = rates[:, 0]
        r2 = rates[:, 1] if rates.shape[1] > 1 else None
        out["rate_1"] = (rows, r1)
        if r2 is not None:
            out["rate_2"] = (rows, r2)
            out["rate_product"] = (rows, r1 * r2)
            # the product one window earlier (0 within the phase's first window), as the reference
            window = multi_window_steps(run)
            earlier = multi_rates(run, phase, at - window)
            delayed = np.where(rel >= window, earlier[:, 0] * earlier[:, 1], 0.0)
            out["rate_product_delayed"] = (rows, delayed)
    else:  # file, and any task that labels its steps (a plug-in: docs/extending.md)
        labels = stream_labels(run, "pattern_id", phase.first, phase.end, 0)[rel]
        out["labels"] = (np.arange(len(rel)), labels)
    return out


ONE_VS_REST = ("pattern", "sequence", "labels")


def _no_score_reason(target, fit_values, score_values) -> str:
    """Why a readout fitted and scored has no score (Pearson r undefined everywhere)."""
    fit_values = np.asarray(fit_values)
    kinds = np.unique(fit_values)
    if len(kinds) == 1:
        value = kinds[0]
        what = f"label {int(value)}" if target in ONE_VS_REST else f"target {value:+g}"
        return (f"every fit sample has {what}: one class, nothing to tell apart (a constant target "
                "gives a constant output, whose correlation is undefined)")
    scored = np.concatenate([np.asarray(v) for v in score_values]) if score_values else np.zeros(0)
    if len(np.unique(scored)) <= 1:
        value = scored[0] if len(scored) else None
        what = "" if value is None else (f" (label {int(value)})" if target in ONE_VS_REST else f" ({value:+g})")
        return f"every score sample has the same target{what}: its correlation with the output is undefined"
    return "the readout's output is constant on the score samples: its correlation is undefined"


def _one_hot(labels, classes):
    return (np.asarray(labels)[:, None] == np.asarray(classes)[None, :]).astype(np.float64)


class _Spikes:
    """The network spikes of a run read once (by step), served by window: the analysis asks
    for many phases, and Run.spikes reads the whole dataset for each."""

    def __init__(self, run: Run):
        self.run = run
        total = run.file["spikes/step"].shape[0]
        self.cached = total <= MAX_CACHED_SPIKES
        if self.cached:
            self.steps, self.ids = run.spikes(run.first_step, run.last_step)

    def __call__(self, first, end, neurons=None):
        if not self.cached:
            return self.run.spikes(first, end, neurons)
        lo, hi = np.searchsorted(self.steps, [first, end], side="left")
        steps, ids = self.steps[lo:hi], self.ids[lo:hi]
        if neurons is not None:
            keep = np.isin(ids, neurons)
            steps, ids = steps[keep], ids[keep]
        return steps, ids


class _CachedRun:
    """A Run whose spikes() come from one read of the file (see _Spikes)."""

    def __init__(self, run: Run):
        self._run = run
        self.spikes = _Spikes(run)

    def __getattr__(self, name):
        return getattr(self._run, name)


def _states(run, spikes, phase, at, neurons, index):
    """Network state (of `neurons`) and input state at the steps `at` of a phase, reset at
    its first step."""
    decay = 1.0 - run.dt_ms / tau_ms(run)
    s, n = spikes(phase.first, phase.end, neurons)
    network = sampled_state(s, index[n], len(neurons), phase.first, at, decay)
    si, ci, _ = run.input_spikes(phase.first, phase.end)
    inputs = sampled_state(si, ci, run.n_inputs, phase.first, at, decay)
    return network, inputs


def readouts(run: Run, max_neurons=2000, seed=0, spikes=None) -> dict:
    """The readouts of MODEL 11.3 for every target the run's test phases allow:
    {"readout_xor": {...} or None, "readout_memory": ..., "readout_pattern": ...,
    "readout_sequence": ..., "readout_labels": ...} (None: no test phase of that task).

    Each readout: {"network", "input" (Pearson r of the last block), "n_fit", "n_score",
    "trained_ms", "before": {the block before any training} or None, "blocks": [...],
    "fit_samples_equalised": bool, "n_fit_available": [per block]}. Fit samples are the first
    n_fit sample steps of the fit phase, n_fit the smallest number any block has, so that
    readouts before and after training are fitted on equally many samples. A block's score is the
    mean over its score phases."""
    spikes = spikes or _Spikes(run)
    neurons = subsample(run.n_neurons, max_neurons, seed)
    index = np.full(run.n_neurons, -1, np.int64)
    index[neurons] = np.arange(len(neurons))
    all_blocks = readout_blocks(run)
    plan = readout_plan(run, all_blocks)
    n_blocks = len(all_blocks)
    plan_blocks = {id(block) for block, *_ in plan}

    # Pass 1, labels only: sample steps and targets per (block, task), fit sample counts.
    entries = {t: [] for t in READOUT_TARGETS}
    for block, task, fit, scores, split in plan:
        phases = [fit] if split else [fit, *scores]
        per_phase = {}
        for phase in phases:
            at = sample_steps(run, phase, task, "fit" if phase is fit else "score")
            targets = readout_targets(run, phase, task, at) if len(at) else \
                {t: (np.zeros(0, np.int64), np.zeros(0)) for t in task_targets(task)}
            per_phase[phase.index] = (phase, at, targets)
        for target in task_targets(task):
            if target not in per_phase[fit.index][2]:
                continue  # multi with one group: no second rate, no product
            if split:
                phase, at, targets = per_phase[fit.index]
                rows, values = targets[target]
                half = fit.first + fit.steps // 2
                fit_rows, score_rows = rows[at[rows] < half], rows[at[rows] >= half]
                fit_part = (fit.index, fit_rows, values[: len(fit_rows)])
                score_parts = [(fit.index, score_rows, values[len(fit_rows):])]
            else:
                rows, values = per_phase[fit.index][2][target]
                fit_part = (fit.index, rows, values)
                score_parts = [(p.index, *per_phase[p.index][2][target]) for p in scores]
            entries[target].append({"block": block, "task": task, "split": split, "per_phase": per_phase,
                                    "fit": fit_part, "scores": score_parts})

    # Pass 2: states (once per phase), fits and scores.
    state_cache = {}

    def states(phase, at):
        if phase.index not in state_cache:
            state_cache[phase.index] = _states(run, spikes, phase, at, neurons, index)
        return state_cache[phase.index]

    result = {}
    for target in READOUT_TARGETS:
        items = entries[target]
        if not items:
            result["readout_" + target] = None
            continue
        usable = [len(e["fit"][1]) for e in items if len(e["fit"][1]) > 0 and any(len(s[1]) for s in e["scores"])]
        n_fit = min(usable) if usable else 0
        blocks = []
        for e in items:
            block = e["block"]
            phase_index, fit_rows, fit_values = e["fit"]
            entry = {"trained_ms": block["trained_ms"], "before": block["before"], "task": e["task"],
                     **({"trained_ms_before_file": None} if "trained_ms_before_file" in block else {}),
                     "fit_phase": phase_index, "score_phases": [s[0] for s in e["scores"]], "split": e["split"],
                     "n_fit_available": int(len(fit_rows)), "n_fit": 0, "n_score": 0,
                     "network": float("nan"), "input": float("nan"), "score_network": [], "score_input": []}
            blocks.append(entry)
            score_total = sum(len(s[1]) for s in e["scores"])
            if len(fit_rows) == 0 or score_total == 0:
                entry["reason"] = "no fit samples" if len(fit_rows) == 0 else "no score samples"
                continue
            fit_rows, fit_values = fit_rows[:n_fit], fit_values[:n_fit]
            phase, at, _ = e["per_phase"][phase_index]
            net, inp = states(phase, at)
            if target in ONE_VS_REST:
                classes = np.unique(fit_values[fit_values >= 0])
                if len(classes) == 0:
                    entry["reason"] = "no labelled fit sample"
                    continue
                fit_t = _one_hot(fit_values, classes)
                entry["classes"] = [int(c) for c in classes]
            else:
                fit_t = fit_values
            w_net = least_squares(net[fit_rows], fit_t)
            w_inp = least_squares(inp[fit_rows], fit_t)
            for score_index, rows, values in e["scores"]:
                if len(rows) == 0:
                    continue
                phase, at, _ = e["per_phase"][score_index]
                net, inp = states(phase, at)
                t = _one_hot(values, classes) if target in ONE_VS_REST else values[:, None]
                for name, x, w in (("network", net, w_net), ("input", inp, w_inp)):
                    out = readout_output(x[rows], w)
                    out = out if out.ndim == 2 else out[:, None]
                    r = [pearson(out[:, c], t[:, c]) for c in range(t.shape[1])]
                    r = [v for v in r if not math.isnan(v)]
                    entry["score_" + name].append(float(np.mean(r)) if r else float("nan"))
                entry["n_score"] += int(len(rows))
            entry["n_fit"] = int(len(fit_rows))
            for name in ("network", "input"):
                values = [v for v in entry["score_" + name] if not math.isnan(v)]
                entry[name] = float(np.mean(values)) if values else float("nan")
            if math.isnan(entry["network"]) and math.isnan(entry["input"]):
                entry["reason"] = _no_score_reason(target, fit_values, [v for _, _, v in e["scores"]])
        last = blocks[-1]
        before = next((b for b in blocks if b["before"]), None)
        summary = {key: last[key] for key in ("network", "input", "n_fit", "n_score", "trained_ms")}
        if "trained_ms_before_file" in last:
            summary["trained_ms_before_file"] = None
        if last.get("reason"):
            summary["reason"] = last["reason"]
        summary["before"] = None if before is None else {
            key: before[key] for key in ("network", "input", "n_fit", "n_score", "trained_ms")}
        summary["fit_samples_equalised"] = any(b["n_fit_available"] > n_fit for b in blocks if b["n_fit"])
        summary["n_fit_available"] = [b["n_fit_available"] for b in blocks]
        summary["neurons"] = int(len(neurons))
        summary["blocks"] = blocks
        summary["blocks_omitted"] = n_blocks - len(plan_blocks)
        result["readout_" + target] = summary
    return result


# --- reproducibility as the reference code measures it (MODEL 11.5) -----------------------


def sequence_contents(run: Run) -> list:
    """The pattern ids of each sequence as tuples (input.pattern_sequences "0,1;2" -> [(0, 1), (2,)])."""
    try:
        return [tuple(seq) for seq in run.sequences()]
    except (KeyError, ValueError):
        return []


def reproducibility_reference(run: Run, threshold_hz=90.0) -> dict:
    """MODEL 11.5 (`spike_correlation`) per pattern-task test phase: the first three complete
    presentations of the stimulus first presented in the phase (sequences of the same patterns
    count as one stimulus); rate r_k = r_max p_k from
    /traces/p over each, resampled (linearly, on normalised time) to the first one's length;
    per neuron whose maximum rate exceeds `threshold_hz` in both presentations compared, the
    Pearson r of presentation 1 with 2 and of 1 with 3; their means over those neurons.

    Needs /traces/p of every neuron at every step of those presentations (record.neurons = all,
    record.dt_rec = 1, record.trace_phases = test); else the phase's values are null with a
    "reason". Returns {"corr_1_2", "corr_1_3", "n_neurons", "trained_ms" (the last phase's),
    "phases": [...]}."""
    r_max = float(run.config.get("neuron.r_max", 100.0))
    traced = run.file["traces/neuron"].shape[0] if "traces/neuron" in run.file else 0
    has_p = "traces/p" in run.file and traced > 0
    trace_steps = run.file["traces/step"][()].astype(np.int64) if has_p else np.zeros(0, np.int64)
    # record.dt_rec = 0 records no traces at all (its /traces datasets have no rows)
    dt_rec = run.config.get("record.dt_rec")
    dt_rec_steps = run.file["traces"].attrs.get("dt_rec_steps", 1) if "traces" in run.file else 1
    no_traces = "no traces (record.dt_rec = 0)" if dt_rec == 0 or dt_rec_steps == 0 else None
    prior = prior_learning_steps(run)
    chosen, trained_steps = [], prior or 0
    for phase in run.phases:
        if phase.learning:
            trained_steps += phase.steps
        elif phase_task(run, phase) == "pattern":
            chosen.append((phase, trained_steps))
    omitted = max(0, len(chosen) - MAX_PHASE_DETAIL)
    phases = []
    for phase, trained_steps in chosen[omitted:]:
        entry = {"phase": phase.index, "trained_ms": trained_steps * run.dt_ms, "corr_1_2": None, "corr_1_3": None,
                 "n_neurons": 0, "n_neurons_1_3": 0}
        if prior is None:
            entry["trained_ms_before_file"] = None
        phases.append(entry)
        if phase.steps < 3:
            entry["reason"] = "0 complete presentation(s) in the phase; 2 needed (3 for corr_1_3)"
            continue
        shown = presentations(run, phase.first, phase.end, "sequence_id")
        if shown:
            # Sequences with the same patterns are the same stimulus (the default
            # input.pattern_sequences 0;0 alternates two names for pattern 0).
            contents = sequence_contents(run)

            def stimulus(p):
                return contents[p.sequence] if 0 <= p.sequence < len(contents) else p.sequence

            entry["sequence"] = shown[0].sequence
            shown = [p for p in shown if stimulus(p) == stimulus(shown[0])][:3]
        if len(shown) < 2:
            entry["reason"] = f"{len(shown)} complete presentation(s) in the phase; 2 needed (3 for corr_1_3)"
            continue
        if no_traces:
            entry["reason"] = no_traces
            continue
        if not has_p:
            entry["reason"] = "no /traces/p in the file"
            continue
        if traced != run.n_neurons:
            entry["reason"] = f"/traces cover {traced} of {run.n_neurons} neurons; all needed (record.neurons = all)"
            continue
        rates = []
        for p in shown:
            lo = int(np.searchsorted(trace_steps, p.start))
            hi = lo + p.length
            if hi > len(trace_steps) or trace_steps[lo] != p.start or trace_steps[hi - 1] != p.end - 1:
                break
            rates.append(r_max * run.file["traces/p"][lo:hi, :])
        if len(rates) < len(shown):
            entry["reason"] = "the traces do not hold every step of the presentations (record.dt_rec = 1 needed)"
            continue
        length = rates[0].shape[0]
        grid = (np.arange(length) + 0.5) / length
        peaks = [r.max(axis=0) for r in rates]

        def resample(r):
            if r.shape[0] == length:
                return r
            old = (np.arange(r.shape[0]) + 0.5) / r.shape[0]
            return np.stack([np.interp(grid, old, r[:, k]) for k in range(r.shape[1])], axis=1)

        rates = [resample(r) for r in rates]
        for j, key, count in ((1, "corr_1_2", "n_neurons"), (2, "corr_1_3", "n_neurons_1_3")):
            if j >= len(rates):
                continue
            chosen = np.flatnonzero((peaks[0] > threshold_hz) & (peaks[j] > threshold_hz))
            a = rates[0][:, chosen] - rates[0][:, chosen].mean(axis=0)
            b = rates[j][:, chosen] - rates[j][:, chosen].mean(axis=0)
            with np.errstate(invalid="ignore", divide="ignore"):
                r = (a * b).sum(axis=0) / np.sqrt((a * a).sum(axis=0) * (b * b).sum(axis=0))
            r = r[np.isfinite(r)]
            entry[count] = int(len(r))
            entry[key] = float(r.mean()) if len(r) else None
        reasons = []
        if entry["corr_1_2"] is None:
            reasons.append(f"no neuron above {threshold_hz:g} Hz in presentations 1 and 2")
        if len(rates) < 3:
            reasons.append("2 complete presentations in the phase: corr_1_3 undefined")
        elif entry["corr_1_3"] is None:
            reasons.append(f"no neuron above {threshold_hz:g} Hz in presentations 1 and 3")
        if reasons:
            entry["reason"] = "; ".join(reasons)
    last = phases[-1] if phases else {}
    return {
        "corr_1_2": last.get("corr_1_2"),
        "corr_1_3": last.get("corr_1_3"),
        "n_neurons": last.get("n_neurons", 0),
        "trained_ms": last.get("trained_ms"),
        "threshold_hz": threshold_hz,
        "phases": phases,
        "phases_omitted": omitted,
    }


def locking_summary(run: Run, phases, max_neurons=None, seed=0):
    """Fraction of neurons locked to the pattern (Rayleigh p < 0.001, >= 5 spikes) in `phases`."""
    if not phases:
        return None
    neurons = subsample(run.n_neurons, max_neurons, seed) if max_neurons else None
    spikes = [run.spikes(phase.first, phase.end, neurons) for phase in phases]
    shown = [presentations(run, phase.first, phase.end) for phase in phases]
    # A neuron counts as locked if it is locked to any one pattern (phases differ between patterns).
    lock = np.zeros(run.n_neurons, bool)
    best_strength = np.zeros(run.n_neurons)
    for pattern in range(run.n_patterns()):
        ids = np.concatenate([pid for pid, _ in (spike_phases(s, n, p, pattern) for (s, n), p in zip(spikes, shown))])
        ph = np.concatenate([pph for _, pph in (spike_phases(s, n, p, pattern) for (s, n), p in zip(spikes, shown))])
        _, strength, count, p_value, _ = phase_locking(ids.astype(np.int64), ph, run.n_neurons)
        now = locked(count, p_value)
        best_strength = np.where(now & (strength > best_strength), strength, best_strength)
        lock |= now
    considered = run.n_neurons if neurons is None else len(neurons)
    return {
        "locked_fraction": float(lock.sum() / considered),
        "locked_neurons": int(lock.sum()),
        "neurons": int(considered),
        "presentations": int(sum(len(p) for p in shown)),
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


MIN_WARP_PRESENTATIONS = 3


def warp_scaling(steps, ids, shown, nominal, neurons):
    """How a neuron's response follows the time warp of the presentations `shown` (seqlearn's
    own measure, docs/analysis.md): per neuron of `neurons` that spikes in at least
    MIN_WARP_PRESENTATIONS presentations of different lengths, the Pearson r between a
    presentation's warp factor (length / `nominal` steps) and the neuron's mean spike time in it
    (steps from the presentation's start). r near 1: the neuron's activation time stretches
    with the presentation (the assembly sequence is time-warped with the input); near 0: a
    fixed latency. Returns (median r over those neurons, their number), (nan, 0) when none."""
    if not shown or len(steps) == 0:
        return float("nan"), 0
    starts = np.array([p.start for p in shown])
    lengths = np.array([p.length for p in shown])
    which = np.searchsorted(starts, steps, side="right") - 1
    valid = which >= 0
    offset = steps - starts[np.clip(which, 0, None)]
    valid &= offset < lengths[np.clip(which, 0, None)]
    valid &= np.isin(ids, neurons)
    ids, which, offset = ids[valid], which[valid], offset[valid]
    if len(ids) == 0:
        return float("nan"), 0
    key = ids.astype(np.int64) * len(shown) + which
    pairs, inverse = np.unique(key, return_inverse=True)
    mean_offset = np.bincount(inverse, weights=offset) / np.bincount(inverse)
    pair_neuron, pair_shown = pairs // len(shown), pairs % len(shown)
    warp = lengths[pair_shown] / float(nominal)
    values = []
    for k in np.unique(pair_neuron):
        rows = pair_neuron == k
        if rows.sum() < MIN_WARP_PRESENTATIONS:
            continue
        w, t = warp[rows], mean_offset[rows]
        if np.ptp(w) == 0 or np.ptp(t) == 0:
            continue
        values.append(np.corrcoef(w, t)[0, 1])
    return (float(np.median(values)), len(values)) if values else (float("nan"), 0)


def warp_summary(run: Run, phases, max_neurons=None, seed=0):
    """Time warp of the pattern presentations in `phases` and how the locked neurons follow it:
    {"presentations", "warp_min", "warp_max" (length / nominal pattern length), "scaling_r",
    "scaling_neurons" (warp_scaling over the neurons locked in these phases, per pattern, the
    neurons of all patterns together)}; None when no presentation is warped (every length
    nominal) or there are no presentations."""
    if not phases:
        return None
    shown = [presentations(run, phase.first, phase.end) for phase in phases]
    flat = [p for ps in shown for p in ps]
    if not flat:
        return None
    warps = np.array([p.length / run.pattern_steps(p.pattern) for p in flat])
    if np.all(np.array([p.length for p in flat]) == np.array([run.pattern_steps(p.pattern) for p in flat])):
        return None
    neurons = subsample(run.n_neurons, max_neurons, seed) if max_neurons else np.arange(run.n_neurons)
    spikes = [run.spikes(phase.first, phase.end, None) for phase in phases]
    rs, counts = [], []
    for pattern in range(run.n_patterns()):
        chosen = [[p for p in ps if p.pattern == pattern] for ps in shown]
        if not any(chosen):
            continue
        ids = np.concatenate([pid for pid, _ in (spike_phases(s, n, c) for (s, n), c in zip(spikes, chosen))])
        ph = np.concatenate([pph for _, pph in (spike_phases(s, n, c) for (s, n), c in zip(spikes, chosen))])
        _, _, count, p_value, _ = phase_locking(ids.astype(np.int64), ph, run.n_neurons)
        lock = np.intersect1d(np.flatnonzero(locked(count, p_value)), neurons)
        steps = np.concatenate([s for s, _ in spikes]) if spikes else np.zeros(0, np.int64)
        all_ids = np.concatenate([n for _, n in spikes]) if spikes else np.zeros(0, np.int64)
        order = np.argsort(steps, kind="stable")
        flat_chosen = sorted((p for c in chosen for p in c), key=lambda p: p.start)
        r, n = warp_scaling(steps[order], all_ids[order], flat_chosen, run.pattern_steps(pattern), lock)
        if n:
            rs.append(r * n)
            counts.append(n)
    return {
        "presentations": int(len(flat)),
        "warp_min": float(warps.min()),
        "warp_max": float(warps.max()),
        "scaling_r": float(sum(rs) / sum(counts)) if counts else float("nan"),
        "scaling_neurons": int(sum(counts)),
    }


def analyze(path: str, max_neurons=2000, seed=0):
    """All measures of one run. "untrained"/"trained": the measures of docs/model.md section 9
    (locking, persistence, reproducibility) on the `pattern`-task test phases before any
    learning and after some. "readout_xor", "readout_memory", "readout_pattern",
    "readout_sequence", "readout_labels": the readouts of MODEL 11.3 (see `readouts`; None where
    the run has no test phase of that task). "reproducibility_reference": MODEL 11.5. Carries
    the run's configuration (typed values) so that results group by parameter; NaN where a
    measure is undefined (see `jsonable` for JSON)."""
    with Run(path) as opened:
        run = _CachedRun(opened)
        untrained, trained = opened.test_phases()
        untrained = [p for p in untrained if phase_task(opened, p) == "pattern"]
        trained = [p for p in trained if phase_task(opened, p) == "pattern"]
        result = {
            "run": path,
            "analysis_version": ANALYSIS_VERSION,
            "n_neurons": run.n_neurons,
            "seed": run.config.get("run.seed"),
            "interrupted": run.interrupted,
            "first_step": run.first_step,
            "last_step": run.last_step,
            "phase_tasks": [p.task for p in opened.phases] if len(opened.phases) <= MAX_PHASE_DETAIL else None,
            "phase_task_counts": {t: sum(1 for p in opened.phases if p.task == t)
                                  for t in TASKS + tuple(sorted({p.task for p in opened.phases} - set(TASKS)))},
            "prior_learning_ms": None if prior_learning_steps(opened) is None
            else prior_learning_steps(opened) * opened.dt_ms,
            "config": dict(run.config),
        }
        for label, phases in (("untrained", untrained), ("trained", trained)):
            if not phases:
                result[label] = None
                continue
            omitted = max(0, len(phases) - MAX_PHASE_DETAIL)
            phases = phases[omitted:]
            entry = {"phases": [p.index for p in phases], "phases_omitted": omitted}
            entry["locking"] = locking_summary(run, phases)
            entry["persistence"] = winner_dwell(run, phases)
            entry["reproducibility"] = reproducibility(run, phases, max_neurons=max_neurons, seed=seed)
            entry["warp"] = warp_summary(run, phases, max_neurons=max_neurons, seed=seed)
            result[label] = entry
        result.update(readouts(opened, max_neurons, seed, spikes=run.spikes))
        result["reproducibility_reference"] = reproducibility_reference(opened)
        return result


def summary_columns(result) -> dict:
    """The scalar columns of the readouts and of MODEL 11.5's reproducibility for a sweep's
    summary.csv: readout_xor_network, readout_xor_input, readout_xor_before_network, ...,
    reproducibility_reference_corr_1_2, ..._corr_1_3 (None where undefined)."""
    out = {}
    for target in READOUT_TARGETS:
        entry = result.get("readout_" + target)
        if entry is None:
            continue
        before = entry.get("before") or {}
        for name in ("network", "input", "n_fit"):
            out[f"readout_{target}_{name}"] = entry.get(name)
        for name in ("network", "input"):
            out[f"readout_{target}_before_{name}"] = before.get(name)
    reference = result.get("reproducibility_reference") or {}
    if reference.get("phases"):
        for name in ("corr_1_2", "corr_1_3", "n_neurons"):
            out[f"reproducibility_reference_{name}"] = reference.get(name)
    return out


def jsonable(value):
    """`value` with NaN and infinities as None (JSON has no NaN) and numpy scalars as Python's."""
    if isinstance(value, dict):
        return {k: jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [jsonable(v) for v in value]
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def flatten(entry, prefix=""):
    """Numeric leaves of an analysis result as {"trained.locking.locked_fraction": value, ...}
    (phase lists and labels left out): the columns of a sweep's summary."""
    out = {}
    for key, value in entry.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            out.update(flatten(value, name + "."))
        elif isinstance(value, bool):
            out[name] = int(value)
        elif isinstance(value, (int, float)) or value is None:
            if key in ("train_phase", "test_phase", "threshold_hz"):
                continue
            out[name] = value
    return out
