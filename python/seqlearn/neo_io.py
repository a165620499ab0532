"""A seqlearn run as a Neo Block (https://neo.readthedocs.io; Debian: python3-neo).

Neo is imported here only, so the rest of the package works without it.
"""

from __future__ import annotations

import os

import numpy as np

from .reader import _split


def _annotation(value):
    return value if isinstance(value, (bool, int, float, str)) else str(value)


#: to_neo refuses to build more SpikeTrains than this (one per neuron, and per input channel
#: with inputs, in each phase's Segment: about 50 us and 4 KB each in Neo) unless max_trains
#: says otherwise: a file of 5,000 phases would otherwise take a minute and gigabytes
MAX_TRAINS = 200_000


def to_neo(run, inputs: bool = True, phases=None, max_trains: int | None = MAX_TRAINS):
    """One Segment per phase (the steps that ran: t_start = first step * dt, t_stop = one past
    the last; annotations phase, kind, task, learning, ...), holding a SpikeTrain per neuron
    (annotations: neuron_id, circuit, source "neuron"), with `inputs` one per input channel
    too (channel, source "input"), and the Epochs of its task:
      - every phase: "pattern presentations", an entry per presentation wholly inside a
        `pattern`-task phase (label "pattern P", array annotations pattern and sequence);
        empty in `xor` and `file` phases, whose labels are no pattern ids;
      - `xor` phases: "xor windows", an entry per complete window (label "h1=A h2=B", array
        annotations half1, half2, xor: 1 if the ids differ, else 0);
      - `file` phases: "file labels", an entry per stretch of one label value >= 0 (label
        "label L", array annotation label).
    A neuron's SpikeTrain carries each spike quantity of the file (/spikes/NAME) as an array
    annotation NAME, one value per spike; a task's targets in the phase (/input/NAME: the multi
    task's rate) are an IrregularlySampledSignal "targets NAME"; each label of the input
    (/input/NAME: pattern_id, sequence_id, a program's own) an AnalogSignal "label NAME", one
    sample per step and a channel per stream.
    The Block's `groups`: Group "neurons" (every neuron SpikeTrain of every Segment) and, with
    `inputs`, Group "inputs" (every input channel's).
    `phases`: the indices (Phase.index) of the phases to include (default: every phase that
    ran). More than `max_trains` SpikeTrains in all is refused (ValueError) before anything is
    built; pass phases=, inputs=False or a larger max_trains (None: no limit). Times in ms."""
    try:
        import neo
        import quantities as pq
    except ImportError as error:  # pragma: no cover - depends on the machine
        raise ImportError("seqlearn: to_neo() needs Neo (Debian: apt-get install python3-neo; "
                          "pip install neo)") from error

    chosen = run.phases
    if phases is not None:
        wanted = {int(i) for i in phases}
        chosen = [p for p in run.phases if p.index in wanted]
        missing = wanted - {p.index for p in chosen}
        if missing:
            raise ValueError(f"to_neo: phase(s) {sorted(missing)[:10]} did not run in {run.path} "
                             f"(phases that ran: {len(run.phases)})")
    per_segment = run.n_neurons + (run.n_inputs if inputs else 0)
    if max_trains is not None and len(chosen) * per_segment > max_trains:
        raise ValueError(f"to_neo: {len(chosen)} phases x {per_segment} spike trains = {len(chosen) * per_segment} "
                         f"SpikeTrains, more than max_trains = {max_trains} (about 50 us and 4 KB each in Neo); "
                         "choose phases (phases=[...]), leave out the inputs (inputs=False) or raise max_trains")

    dt = run.dt_ms
    block = neo.Block(
        name=os.path.basename(run.path),
        file_origin=run.path,
        description="seqlearn run",
    )
    block.annotate(
        n_neurons=run.n_neurons,
        n_inputs=run.n_inputs,
        dt_ms=dt,
        interrupted=run.interrupted,
        first_step=run.first_step,
        last_step=run.last_step,
        **{"config": {k: _annotation(v) for k, v in run.config.items()}},
    )
    neuron_group = neo.Group(name="neurons", description="network neurons: one SpikeTrain per neuron and Segment")
    neuron_group.annotate(source="neuron")
    input_group = neo.Group(name="inputs", description="input channels: one SpikeTrain per channel and Segment")
    input_group.annotate(source="input")
    circuits = run.circuit_of()
    # Spikes read once (in step order) and cut per phase by bisection, not one read per phase.
    lo_all = chosen[0].first if chosen else run.first_step
    hi_all = chosen[-1].end if chosen else run.first_step
    net_steps, net_ids = run.spikes(lo_all, hi_all) if chosen else (np.zeros(0, np.int64),) * 2
    # Spike quantities (/spikes/NAME): one value per spike, as the trains' array annotations.
    spike_values = {name: run.spike_values(name, lo_all, hi_all)[2] for name in run.spike_quantities} \
        if chosen else {}
    targets = run.task_targets()
    if inputs and chosen:
        in_steps, in_channels, _ = run.input_spikes(lo_all, hi_all)
    for phase in chosen:
        t_start, t_stop = phase.first * dt * pq.ms, phase.end * dt * pq.ms
        segment = neo.Segment(name=f"phase {phase.index}: {phase.name}", index=phase.index)
        segment.annotate(phase=phase.index, kind=phase.name, task=phase.task, learning=phase.learning,
                         first_step=phase.first, last_step=phase.last, complete=phase.complete)
        a, b = np.searchsorted(net_steps, [phase.first, phase.end])
        values = {name: _split_values(net_steps[a:b], net_ids[a:b], v[a:b], run.n_neurons)
                  for name, v in spike_values.items()}
        for neuron, steps in enumerate(_split(net_steps[a:b], net_ids[a:b], run.n_neurons)):
            train = neo.SpikeTrain(steps * dt, units="ms", t_start=t_start, t_stop=t_stop,
                                   name=f"neuron {neuron}",
                                   array_annotations={name: v[neuron] for name, v in values.items()})
            train.annotate(neuron_id=neuron, circuit=int(circuits[neuron]), source="neuron")
            segment.spiketrains.append(train)
            neuron_group.add(train)
        if inputs:
            a, b = np.searchsorted(in_steps, [phase.first, phase.end])
            for channel, steps in enumerate(_split(in_steps[a:b], in_channels[a:b], run.n_inputs)):
                train = neo.SpikeTrain(steps * dt, units="ms", t_start=t_start, t_stop=t_stop,
                                       name=f"input {channel}")
                train.annotate(channel=channel, source="input")
                segment.spiketrains.append(train)
                input_group.add(train)
        presentations = run.presentations(phase.first, phase.end)
        segment.epochs.append(_epoch(neo, pq, dt, presentations, "pattern presentations",
                                     [f"pattern {p.pattern}" for p in presentations],
                                     pattern=[p.pattern for p in presentations],
                                     sequence=[p.sequence for p in presentations]))
        if phase.task != "pattern":  # its presentations are above
            method, name, epochs = run.task_epochs(phase)
            if method == "xor_windows":
                segment.epochs.append(_epoch(neo, pq, dt, epochs, name,
                                             [f"h1={w.half1} h2={w.half2}" for w in epochs],
                                             half1=[w.half1 for w in epochs], half2=[w.half2 for w in epochs],
                                             xor=[w.xor for w in epochs]))
            elif epochs or phase.task == "file":  # a task without labels (multi) has none
                segment.epochs.append(_epoch(neo, pq, dt, epochs, name, [f"label {e.label}" for e in epochs],
                                             label=[e.label for e in epochs]))
        for name in run.input_labels:  # one sample per step of the phase
            data = run.label_data(name)
            lo, hi = phase.first - run.label_first_step, phase.end - run.label_first_step
            rows = np.asarray(data[max(0, lo):max(0, hi)])
            signal = neo.AnalogSignal(rows.reshape(len(rows), -1), units=pq.dimensionless,
                                      sampling_period=dt * pq.ms,
                                      t_start=max(phase.first, run.label_first_step) * dt * pq.ms,
                                      name=f"label {name}")
            segment.analogsignals.append(signal)
        for name, (steps, rows, unit) in targets.items():  # a task's targets in force in the phase
            a, b = np.searchsorted(steps, [phase.first, phase.end])
            if b > a:
                segment.irregularlysampledsignals.append(_targets(neo, pq, dt, name, steps[a:b], rows[a:b], unit))
        block.segments.append(segment)
    block.groups.append(neuron_group)
    if inputs:
        block.groups.append(input_group)
    if hasattr(block, "create_relationship"):  # Neo < 0.12: parents set explicitly
        block.create_relationship()
    return block


def _split_values(steps, ids, values, n):
    """`values` per neuron, in the order _split gives each neuron's steps."""
    order = np.lexsort((steps, ids))
    bounds = np.searchsorted(ids[order], np.arange(n + 1))
    values = values[order]
    return [values[bounds[i] : bounds[i + 1]] for i in range(n)]


def _targets(neo, pq, dt, name, steps, rows, unit):
    """A task's targets (/input/NAME) as an IrregularlySampledSignal: row i from steps[i] on."""
    try:
        units = pq.Quantity(1.0, unit or "dimensionless").units
    except (LookupError, ValueError):  # a plug-in's unit that quantities does not know
        units = pq.dimensionless
    signal = neo.IrregularlySampledSignal(steps * dt * pq.ms, rows, units=units, name=f"targets {name}",
                                          description=f"/input/{name}: value[i] from step[i] on")
    signal.annotate(targets=name, unit=unit or "")
    return signal


def _epoch(neo, pq, dt, items, name, labels, **columns):
    """A neo.Epoch of `items` (each with start and length in steps), times in ms."""
    return neo.Epoch(
        times=np.array([x.start for x in items], float) * dt * pq.ms,
        durations=np.array([x.length for x in items], float) * dt * pq.ms,
        labels=np.array(labels, dtype="U"),
        name=name,
        array_annotations={key: np.array(values, np.int64) for key, values in columns.items()},
    )
